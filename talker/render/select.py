"""Choosing reference frames for each output frame: a Viterbi path over the reference.

Playing real frames in order looks real; jumping looks like a cut. So the path prefers
j → j+1 (play on), allows j → j−1 (play backwards: head motion reversed still looks natural)
at a small cost, holding a frame at a larger one, and any other jump at a price. The unary
cost says how well frame j matches what the output needs at time t. Pure numpy, O(T·N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PathCosts:
    forward: float = 0.0  # play on: j → j+1 in the forward direction
    backward: float = 0.1  # play on backwards: j → j−1, once reversed
    turn: float = 1.0  # reverse direction (a one-off, so playback never jitters back and forth)
    hold: float = 0.6  # show the same frame again
    jump: float = 4.0  # cut to any other frame


def viterbi_path(unary: np.ndarray, costs: PathCosts = PathCosts()) -> np.ndarray:
    """Frame index per output time minimising unary + transition costs; ``unary`` is (T, N).

    The state is (frame, direction): playing forwards or backwards is a state kept from step
    to step, and only a turn costs, so a path cannot flicker between two neighbouring frames.
    """
    T, N = unary.shape
    if N == 1:
        return np.zeros(T, dtype=np.int64)
    inf = np.inf
    # codes: 0 from (j-1, fwd), 1 from (j+1, bwd), 2 hold same state, 3 from other direction, 4 jump
    back = np.empty((T, 2, N), dtype=np.int8)
    jump_from = np.empty(T, dtype=np.int64)
    cost = np.stack([unary[0], unary[0] + costs.backward]).astype(np.float64)  # [fwd, bwd]
    for t in range(1, T):
        best = int(np.argmin(cost))
        jump_cost = cost.flat[best] + costs.jump
        jump_from[t] = best
        new = np.empty_like(cost)
        for d in (0, 1):
            move = (np.concatenate(([inf], cost[d, :-1])) + costs.forward if d == 0
                    else np.concatenate((cost[d, 1:], [inf])) + costs.backward)
            other = 1 - d
            turn = (np.concatenate(([inf], cost[other, :-1])) if d == 0
                    else np.concatenate((cost[other, 1:], [inf]))) + costs.turn + (costs.forward if d == 0 else costs.backward)
            stack = np.stack([move, np.full(N, inf), cost[d] + costs.hold, turn, np.full(N, jump_cost)])
            choice = np.argmin(stack, axis=0)
            back[t, d] = choice
            new[d] = stack[choice, np.arange(N)] + unary[t]
        cost = new
    path = np.empty(T, dtype=np.int64)
    d, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    d, j = int(d), int(j)
    for t in range(T - 1, -1, -1):
        path[t] = j
        if t == 0:
            break
        c = back[t, d, j]
        if c == 0 or c == 3:  # came by moving one frame in direction d
            prev_d = d if c == 0 else 1 - d
            j = j - 1 if d == 0 else j + 1
            d = prev_d
        elif c == 4:
            d, j = divmod(int(jump_from[t]), N)
    return path


def sq_distance(target: np.ndarray, pool: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, N) weighted squared distances between target rows (T, C) and pool rows (N, C)."""
    a = target * weights
    b = pool * weights
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)
