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


JUMP_SOURCES = 48  # with cut costs: how many nearest frames each frame may be cut into from


def viterbi_path(unary: np.ndarray, costs: PathCosts = PathCosts(), jump_extra: np.ndarray | None = None,
                 start: tuple[int, int] | None = None, return_state: bool = False, settle: int = 0,
                 seams: np.ndarray | None = None, end_cost: np.ndarray | None = None):
    """Frame index per output time minimising unary + transition costs; ``unary`` is (T, N).

    The state is (frame, direction): playing forwards or backwards is a state kept from step
    to step, and only a turn costs, so a path cannot flicker between two neighbouring frames.
    ``jump_extra`` (N, N), optional: what a cut from frame i to frame j costs on top of
    ``costs.jump`` — e.g. how far the head moves — so cuts land where they show least. A cut into
    j then comes from the cheapest of j's ``JUMP_SOURCES`` nearest frames (by ``jump_extra``) or
    the best state overall, which keeps a step O(N·JUMP_SOURCES), not O(N²).

    ``start`` (direction, frame): the state just before the first output time — the end of the
    previous piece of a video made in pieces — so the path goes on from it at the transition
    costs (playing on is free, a cut costs a cut). ``return_state``: also return the final
    (direction, frame), to start the next piece from. ``settle``: no cut in the first ``settle``
    steps (from ``start`` on), so a join shows the source playing on, as it does mid-piece.
    ``seams`` (N-1,), optional: what playing from frame i to i+1 (or back) costs on top — a cut
    inside the source itself (a template made of several clips) costs what a cut costs.
    ``end_cost`` (2, N), optional: added to the final states' costs (where the next piece will
    have to go on from).
    """
    T, N = unary.shape
    if N == 1:
        zeros = np.zeros(T, dtype=np.int64)
        return (zeros, (0, 0)) if return_state else zeros
    inf = np.inf
    # codes: 0 from (j-1, fwd), 1 from (j+1, bwd), 2 hold same state, 3 from other direction, 4 jump
    back = np.empty((T, 2, N), dtype=np.int8)
    jump_from = np.empty((T, N), dtype=np.int64)  # flat (direction, frame) index a cut to j came from
    cost = np.stack([unary[0], unary[0] + costs.backward]).astype(np.float64)  # [fwd, bwd]
    cols = np.arange(N)
    seam = np.zeros(N - 1) if seams is None else np.asarray(seams, dtype=np.float64)
    into_fwd = np.concatenate(([0.0], seam))  # moving into j from j-1
    into_bwd = np.concatenate((seam, [0.0]))  # moving into j from j+1
    if start is not None:
        cost = _first_step(costs, start, N, jump_extra, cut=settle <= 0, seams=seam) + unary[0][None, :]
    if jump_extra is not None:
        extra = np.asarray(jump_extra, dtype=np.float64)
        k = min(N, JUMP_SOURCES)
        near = np.argpartition(extra, k - 1, axis=0)[:k] if k < N else np.repeat(cols[None], N, axis=0)
        near_extra = extra[near, cols]  # (k, N): the k cheapest sources of a cut into each frame
    for t in range(1, T):
        if jump_extra is None:
            jump_from[t] = best = int(np.argmin(cost))
            jump_cost = cost.flat[best] + costs.jump
        else:
            jump_cost, jump_from[t] = _cuts_into(cost, extra, near, near_extra, costs.jump)
        if start is not None and t < settle:
            jump_cost = np.full(N, inf)
        new = np.empty_like(cost)
        for d in (0, 1):
            move = (np.concatenate(([inf], cost[d, :-1])) + costs.forward + into_fwd if d == 0
                    else np.concatenate((cost[d, 1:], [inf])) + costs.backward + into_bwd)
            other = 1 - d
            turn = (np.concatenate(([inf], cost[other, :-1])) + into_fwd if d == 0
                    else np.concatenate((cost[other, 1:], [inf])) + into_bwd) + costs.turn + (
                costs.forward if d == 0 else costs.backward)
            stack = np.stack([move, np.full(N, inf), cost[d] + costs.hold, turn, np.full(N, jump_cost)])
            choice = np.argmin(stack, axis=0)
            back[t, d] = choice
            new[d] = stack[choice, np.arange(N)] + unary[t]
        cost = new
    path = np.empty(T, dtype=np.int64)
    d, j = np.unravel_index(int(np.argmin(cost if end_cost is None else cost + end_cost)), cost.shape)
    d, j = int(d), int(j)
    end_state = (d, j)
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
            d, j = divmod(int(jump_from[t, j]), N)
    return (path, end_state) if return_state else path


def _cuts_into(cost: np.ndarray, extra: np.ndarray, near: np.ndarray, near_extra: np.ndarray,
               jump: float) -> tuple[np.ndarray, np.ndarray]:
    """(cost of the cheapest cut into each frame, the flat (direction, frame) it comes from): from
    one of the frame's ``near`` sources or from the best state overall."""
    n = cost.shape[1]
    cols = np.arange(n)
    src_dir = np.argmin(cost, axis=0)
    src_cost = cost[src_dir, cols]
    via = src_cost[near] + near_extra
    pick = np.argmin(via, axis=0)
    src = near[pick, cols]
    jump_cost = via[pick, cols]
    b = int(np.argmin(cost)) % n
    from_best = src_cost[b] + extra[b]
    use_best = from_best < jump_cost
    src = np.where(use_best, b, src)
    return np.where(use_best, from_best, jump_cost) + jump, src_dir[src] * n + src


def _first_step(costs: PathCosts, start: tuple[int, int], n: int, jump_extra: np.ndarray | None,
                cut: bool = True, seams: np.ndarray | None = None) -> np.ndarray:
    """(2, N): what it costs to go from ``start`` (direction, frame) to each state in one step
    (``cut``: whether a cut may be one of them)."""
    d0, j0 = int(start[0]), int(np.clip(start[1], 0, n - 1))
    trans = np.full((2, n), costs.jump if cut else np.inf, dtype=np.float64)
    if jump_extra is not None and cut:
        trans += np.asarray(jump_extra, dtype=np.float64)[j0][None, :]
    ahead, behind = j0 + 1, j0 - 1
    seam = np.zeros(max(n - 1, 0)) if seams is None else seams
    if ahead < n:  # forwards: play on, or turn round from playing backwards
        trans[0, ahead] = min(trans[0, ahead], costs.forward + seam[j0] + (costs.turn if d0 == 1 else 0.0))
    if behind >= 0:
        trans[1, behind] = min(trans[1, behind], costs.backward + seam[behind] + (costs.turn if d0 == 0 else 0.0))
    trans[d0, j0] = min(trans[d0, j0], costs.hold)
    return trans


def sq_distance(target: np.ndarray, pool: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, N) weighted squared distances between target rows (T, C) and pool rows (N, C)."""
    a = target * weights
    b = pool * weights
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)
