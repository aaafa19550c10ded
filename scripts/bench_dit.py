"""CPU speed of the DiT: parameters and seconds to generate 10 s (mel + motion) per config and NFE.

Weights are random (speed does not depend on them); the prompt is 3 s, the new part 10 s,
with classifier-free guidance on (batch 2 per step, as in real use) and a ~150-character text.
The vocoder is not included (it is the same for every config). Real-time factor = seconds
taken / 10 s generated; below 1 is faster than real time.

Usage: .venv/bin/python scripts/bench_dit.py [--configs tiny small] [--nfe 16 32] [--threads 1] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT = ("The quick brown fox jumps over the lazy dog, and then it runs back home again before the rain "
        "starts falling on the quiet little town.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", nargs="+", default=["tiny", "small"])
    ap.add_argument("--nfe", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--prompt-seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per cell (the fastest is reported)")
    args = ap.parse_args(argv)

    import torch

    from talker.model.config import get_config
    from talker.model.dit import MEL_FPS, TalkerDiT
    from talker.model.sampler import sample
    from talker.model.text import encode_batch

    torch.set_num_threads(args.threads)
    p = int(args.prompt_seconds * MEL_FPS)
    new = int(round(args.seconds * MEL_FPS))
    ids = encode_batch(["Hello there, this is the prompt. " + TEXT])
    rows = []
    for name in args.configs:
        torch.manual_seed(0)
        model = TalkerDiT(get_config(name)).eval()
        params = sum(x.numel() for x in model.parameters())
        mel_p = torch.randn(1, p, model.config.mel_dim)
        mot_p = torch.randn(1, p, model.config.motion_dim)
        sample(model, ids, mel_p, p + 20, motion_prompt=mot_p, nfe_steps=1, seed=0)  # warm-up
        for nfe in args.nfe:
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                sample(model, ids, mel_p, p + new, motion_prompt=mot_p, nfe_steps=nfe, seed=0)
                best = min(best, time.perf_counter() - t)
            rows.append((name, params, nfe, best))
            print(f"{name}: {params:,} params, NFE {nfe}: {best:.1f} s for {args.seconds:.0f} s "
                  f"(RTF {best / args.seconds:.2f})", flush=True)
    print()
    print(f"CPU, {args.threads} thread(s), torch {torch.__version__}; prompt {args.prompt_seconds:.0f} s + "
          f"{args.seconds:.0f} s new ({p + new} mel frames), CFG on, vocoder excluded")
    print("| config | parameters | NFE | seconds for 10 s | real-time factor |")
    print("|---|---|---|---|---|")
    for name, params, nfe, sec in rows:
        print(f"| {name} | {params / 1e6:.2f} M | {nfe} | {sec:.1f} | {sec / args.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
