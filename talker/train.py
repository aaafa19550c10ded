"""Training entry point: ``accelerate launch -m talker.train --config base --data SHARDS``.

Also runs as plain ``python -m talker.train`` (one process; ``--config tiny`` on a CPU).
``--dry-run`` builds the model on PyTorch's "meta" device (so even ``base`` costs no memory),
prints its parameter counts and exits.

The loop: AdamW, linear warm-up then cosine decay, gradient clipping, an exponential moving
average of the weights (the EMA is what inference loads), bf16 autocast on CUDA, a CSV loss
log and a PNG of it, checkpoints every ``--save-every`` steps that ``--resume`` continues
exactly: batch order and flow-matching noise are functions of (seed, step) only, so a resumed
run reproduces the losses of an uninterrupted one.

Checkpoint folder ``OUT/checkpoints/step_NNNNNNN/``: ``ema/`` and ``model/`` (each loadable
with :func:`talker.model.checkpoint.load_model`) and ``trainer.pt`` (optimizer, EMA, step).
``OUT/checkpoints/latest`` names the newest one.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import sys
import time
from pathlib import Path

from .errors import TalkerError
from .model.config import CONFIGS, get_config

LOG_FIELDS = ["step", "epoch", "loss", "audio", "motion", "lr", "grad_norm", "frames", "sec_per_step", "wall_s"]


def _parse_override(item: str) -> tuple[str, object]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"override must be key=value, got {item!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def describe(config_name: str, overrides: dict | None = None) -> dict:
    import torch

    from .model.dit import TalkerDiT

    cfg = get_config(config_name, **(overrides or {}))
    with torch.device("meta"):
        model = TalkerDiT(cfg)
    counts = model.parameter_counts()
    return {"config": cfg.name, "counts": counts, "audio_layers": cfg.audio_layers,
            "motion_layers": cfg.motion_layers, "joint_depth": cfg.joint_depth, "dim": cfg.dim,
            "text_num_embeds": cfg.text_num_embeds}


def _fmt(n: int) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e9 else f"{n / 1e6:.2f} M"


# --------------------------------------------------------------------------- pieces


class EMA:
    """Exponential moving average of a model's floating-point state (parameters and buffers).

    The effective decay ramps up as ``min(decay, (1 + n) / (10 + n))`` so the average is not
    dominated by the random initialisation early on; shadows are float32 whatever the
    training precision.
    """

    def __init__(self, model, decay: float = 0.999) -> None:
        self.decay = float(decay)
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model.float()

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def update(self, model) -> None:
        import torch

        d = self.current_decay()
        with torch.no_grad():
            src = model.state_dict()
            for k, v in self.model.state_dict().items():
                s = src[k].detach().to(v.device)
                if v.is_floating_point():
                    v.mul_(d).add_(s.to(v.dtype), alpha=1 - d)
                else:
                    v.copy_(s)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "weights": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay = float(state["decay"])
        self.updates = int(state["updates"])
        self.model.load_state_dict(state["weights"])


def lr_at(step: int, base_lr: float, warmup: int, max_steps: int, min_ratio: float = 0.1) -> float:
    """Linear warm-up to ``base_lr`` over ``warmup`` steps, then cosine down to ``min_ratio * base_lr``."""
    if warmup > 0 and step < warmup:
        return base_lr * (step + 1) / warmup
    span = max(1, max_steps - warmup)
    frac = min(1.0, (step - warmup) / span)
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


class _Forward:
    """What :func:`flow_matching_loss` needs from a model: a call (through DDP) and ``.motion``."""

    def __init__(self, wrapped, inner) -> None:
        self.wrapped, self.motion = wrapped, inner.motion

    def __call__(self, *args, **kwargs):
        return self.wrapped(*args, **kwargs)


def step_generator(seed: int, step: int, rank: int, device):
    """Noise, time and masks of a step depend on (seed, step, rank) only: resumable bit for bit."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + step) * 64 + rank)
    return g


def compute_loss(model, batch: dict, generator, cfm=None, inner=None) -> dict:
    """Flow-matching loss of one collated batch (motion normalised with the model's own stats)."""
    from .model.cfm import flow_matching_loss

    inner = inner or model
    motion = inner.normalize_motion(batch["motion"]) if inner.motion is not None else None
    fwd = _Forward(model, inner)
    return flow_matching_loss(fwd, batch["mel"], batch["text"], motion=motion, lens=batch["lens"],
                              motion_valid=batch["motion_valid"], cfg=cfm, generator=generator)


def batch_to(batch: dict, device) -> dict:
    return {k: (v.to(device, non_blocking=True) if hasattr(v, "to") else v) for k, v in batch.items()}


def checkpoint_dirs(out: Path) -> list[Path]:
    root = out / "checkpoints"
    return sorted(p for p in root.glob("step_*") if (p / "trainer.pt").is_file()) if root.is_dir() else []


def find_resume(out: Path, resume: str) -> Path | None:
    if resume in ("", "none"):
        return None
    if resume == "auto":
        dirs = checkpoint_dirs(out)
        return dirs[-1] if dirs else None
    path = Path(resume)
    if (path / "trainer.pt").is_file():
        return path
    dirs = checkpoint_dirs(path)
    if dirs:
        return dirs[-1]
    raise FileNotFoundError(f"no checkpoint (trainer.pt) at {resume}")


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def plot_log(log_csv: str | Path, png: str | Path, title: str = "") -> Path:
    """Loss curve (raw and smoothed, total and per stream) on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = read_log(Path(log_csv))
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.array([r["step"] for r in rows])
    for key, color in (("loss", "k"), ("audio", "tab:blue"), ("motion", "tab:orange")):
        y = np.array([r.get(key, np.nan) for r in rows])
        if not len(y) or np.all(np.isnan(y)):
            continue
        k = max(1, min(50, len(y) // 10))
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        ax[0].plot(steps, y, color=color, alpha=0.2, lw=0.7)
        ax[0].plot(steps[k - 1:], smooth, color=color, lw=1.6, label=f"{key} (running mean, {k} points)")
    ax[0].set_yscale("log")
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("flow-matching MSE")
    ax[0].legend()
    ax[0].grid(alpha=0.3, which="both")
    ax[0].set_title(title or "training loss")
    if rows:
        ax[1].plot(steps, [r["lr"] for r in rows], color="tab:green", label="lr")
        ax2 = ax[1].twinx()
        ax2.plot(steps, [r["grad_norm"] for r in rows], color="tab:red", alpha=0.5, lw=0.7, label="grad norm")
        ax2.set_ylabel("grad norm (before clipping)")
        ax[1].set_xlabel("step")
        ax[1].set_ylabel("learning rate")
        ax[1].set_title("schedule and gradient norm")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return Path(png)


# --------------------------------------------------------------------------- the loop


def _run_config(args, resume_dir: Path | None):
    """The model config, the command line's overrides (F5's vocabulary added) and F5 weights to load, if any."""
    from .model.checkpoint import load_config
    from .model.text import load_vocab

    overrides = dict(args.overrides)
    f5_weights = None
    if resume_dir is not None:  # the checkpoint's own architecture wins over the command line
        cfg = load_config(resume_dir / "model")
    else:
        if args.init_f5:  # F5's token ids come from its vocab.txt: the model takes that vocabulary
            from .model.f5_compat import resolve_f5_files

            f5_weights, f5_vocab = resolve_f5_files(args.init_f5)
            overrides.update(vocab=str(f5_vocab), text_num_embeds=len(load_vocab(f5_vocab)))
        cfg = get_config(args.config, **overrides)
    return cfg, overrides, f5_weights


def _load_data(args, cfg, acc):
    """The shards, tokenised with the model's vocabulary (a warning names tokens it does not know)."""
    from .data.shards import ShardDataset
    from .model.text import load_vocab

    vocab = load_vocab(cfg.vocab or None)
    data = ShardDataset(args.data, preload=True, vocab=vocab)
    unknown = data.unknown_tokens()
    if unknown:
        tokens = sorted({t for u in unknown.values() for t in u})
        acc.print(f"warning: {len(unknown)} of {len(data)} items have tokens the model's vocabulary "
                  f"({vocab.source}) does not know, read as id 0: {' '.join(tokens[:20])}")
    return data


def _build_model(args, cfg, data, f5_weights, acc):
    """The model, seeded with ``args.seed`` just before it is built, with the data's motion stats
    and, for ``--init-f5``, F5's weights in its audio stream."""
    import torch

    from .model.checkpoint import read_state_dict
    from .model.dit import TalkerDiT

    torch.manual_seed(args.seed)
    model = TalkerDiT(cfg)
    mean, std = data.motion_stats()
    if model.motion is not None:
        model.motion_mean.copy_(mean)
        model.motion_std.copy_(std)
    if f5_weights is not None:
        from .model.f5_compat import load_f5_state_into

        left = load_f5_state_into(model, read_state_dict(f5_weights))
        acc.print(f"initialised the audio stream from {args.init_f5}; {len(left)} tensors left at random init")
    return model


def _optimizer(model, args):
    """AdamW; biases, norms, embeddings and other 1-d parameters get no weight decay."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "embed" in name or "norm" in name else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=args.lr, betas=(0.9, 0.999), eps=1e-8)


def _resume(resume_dir: Path | None, model, opt, ema: EMA, acc) -> int:
    """Load weights, optimizer, EMA and torch's RNG from a checkpoint; the step to go on from (0 when new)."""
    import torch

    from .model.checkpoint import read_state_dict

    if resume_dir is None:
        return 0
    state = torch.load(resume_dir / "trainer.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(read_state_dict(resume_dir / "model" / "model.safetensors"))
    opt.load_state_dict(state["optimizer"])
    ema.load_state_dict(state["ema"])
    step = int(state["step"])
    if state.get("torch_rng") is not None:
        torch.set_rng_state(state["torch_rng"])
    acc.print(f"resumed from {resume_dir} at step {step}")
    return step


def _write_run_files(out: Path, log_csv: Path, step: int, args, overrides: dict, cfg, counts: dict, data) -> None:
    """Start ``log.csv`` (keeping the rows up to a resumed step) and write ``train_args.json``."""
    rows = [r for r in read_log(log_csv) if r["step"] <= step] if step else []
    with open(log_csv, "w", newline="") as f:  # drop rows past the resumed step (a crash after the save)
        w = csv.DictWriter(f, LOG_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (int(r[k]) if k in ("step", "epoch", "frames") else r[k]) for k in LOG_FIELDS if k in r})
    (out / "train_args.json").write_text(json.dumps(
        {**{k: v for k, v in vars(args).items() if k != "overrides"}, "overrides": overrides,
         "model_config": cfg.to_dict(), "parameters": counts, "data_stats": data.index.get("stats")},
        indent=1, default=str) + "\n")


class _Checkpointer:
    """Writes ``OUT/checkpoints/step_NNNNNNN/`` (model, EMA, trainer state), points ``latest`` at it,
    drops checkpoints beyond ``--keep`` and redraws the loss plot."""

    def __init__(self, acc, args, out: Path, inner, opt, ema: EMA, plot: tuple[Path, Path, str]) -> None:
        self.acc, self.args, self.out = acc, args, out
        self.inner, self.opt, self.ema = inner, opt, ema
        self.log_csv, self.png, self.title = plot

    def replicas_identical(self) -> bool:
        """DDP keeps every process's weights bit-identical; a checksum per process proves it."""
        import torch

        acc = self.acc
        flat = torch.cat([p.detach().double().reshape(-1) for p in self.inner.parameters()])
        sums = acc.gather(torch.stack([flat.sum(), flat.square().sum()])[None].to(acc.device))
        return bool((sums == sums[:1]).all())

    def save(self, at_step: int) -> Path:
        """Every process calls this (the replica check and the barrier are collective); the main one writes."""
        acc = self.acc
        d = self.out / "checkpoints" / f"step_{at_step:07d}"
        if acc.num_processes > 1:
            same = self.replicas_identical()
            acc.print(f"step {at_step}: the {acc.num_processes} replicas' weights are "
                      + ("identical" if same else "DIFFERENT (gradient synchronisation failed)"))
            if not same:
                raise RuntimeError("data-parallel replicas diverged; refusing to save one of them")
        if acc.is_main_process:
            self._write(d, at_step)
        acc.wait_for_everyone()
        return d

    def _write(self, d: Path, at_step: int) -> None:
        """The checkpoint's files, the ``latest`` pointer, pruning and the plot (main process only)."""
        import torch

        from .model.checkpoint import save_model

        args, ema, out = self.args, self.ema, self.out
        meta = {"step": at_step, "data": str(Path(args.data).resolve()), "audio_given": args.audio_given}
        save_model(self.inner, d / "model", metadata=meta)
        save_model(ema.model, d / "ema", metadata={**meta, "ema_decay": ema.decay, "ema_updates": ema.updates})
        torch.save({"optimizer": self.opt.state_dict(), "ema": ema.state_dict(), "step": at_step,
                    "torch_rng": torch.get_rng_state(), "args": {k: str(v) for k, v in vars(args).items()}},
                   d / "trainer.tmp")
        (d / "trainer.tmp").replace(d / "trainer.pt")
        (out / "checkpoints" / "latest").write_text(d.name + "\n")
        for old in checkpoint_dirs(out)[: -args.keep] if args.keep > 0 else []:
            for f in sorted(old.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
            old.rmdir()
        plot_log(self.log_csv, self.png, self.title)


class _Loop:
    """The optimisation loop over a prepared (accelerate) model, optimizer and data."""

    def __init__(self, acc, args, data, model, inner, opt, ema: EMA, cfm, log_csv: Path) -> None:
        self.acc, self.args, self.data = acc, args, data
        self.model, self.inner, self.opt, self.ema, self.cfm = model, inner, opt, ema, cfm
        self.log_csv = log_csv
        self.t_start = self.t_last = time.perf_counter()

    def step(self, step: int, idx) -> tuple[dict, dict, float, object]:
        """One optimizer step on the items ``idx``: (loss terms, batch, learning rate, gradient norm)."""
        import torch

        from .data.shards import collate

        acc, args, opt = self.acc, self.args, self.opt
        batch = batch_to(collate([self.data[i] for i in idx]), acc.device)
        lr = lr_at(step, args.lr, args.warmup, args.max_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        gen = step_generator(args.seed, step, acc.process_index, acc.device)
        with acc.autocast():
            res = compute_loss(self.model, batch, gen, self.cfm, self.inner)
        acc.backward(res["loss"])
        grad_norm = (acc.clip_grad_norm_(self.model.parameters(), args.grad_clip) if args.grad_clip > 0
                     else torch.tensor(0.0))
        opt.step()
        opt.zero_grad(set_to_none=True)
        self.ema.update(self.inner)
        return res, batch, lr, grad_norm

    def log(self, step: int, epoch: int, res: dict, batch: dict, lr: float, grad_norm) -> None:
        """Append a row (losses averaged over processes) to log.csv, and print one in ``--print-every``."""
        import torch

        acc, args = self.acc, self.args
        vals = torch.stack([res["loss"].detach().float(), res["audio"].detach().float(),
                            res.get("motion", res["audio"] * 0).detach().float(),
                            torch.as_tensor(grad_norm, device=acc.device).float()])
        vals = acc.reduce(vals, reduction="mean")
        now = time.perf_counter()
        row = {"step": step, "epoch": epoch, "loss": round(float(vals[0]), 6), "audio": round(float(vals[1]), 6),
               "motion": round(float(vals[2]), 6), "lr": f"{lr:.3e}", "grad_norm": round(float(vals[3]), 4),
               "frames": int(batch["lens"].sum()),
               "sec_per_step": round((now - self.t_last) / (args.log_every if step > 1 else 1), 3),
               "wall_s": round(now - self.t_start, 1)}
        self.t_last = now
        if acc.is_main_process:
            with open(self.log_csv, "a", newline="") as f:
                csv.DictWriter(f, LOG_FIELDS).writerow(row)
            if step % (args.log_every * args.print_every) == 0 or step == 1:
                acc.print(f"step {step:6d} ep {epoch:4d} loss {row['loss']:.4f} (audio {row['audio']:.4f}, "
                          f"motion {row['motion']:.4f}) lr {lr:.2e} |g| {row['grad_norm']:.2f} "
                          f"{row['sec_per_step']:.2f} s/step")

    def run(self, step: int, sampler, saver: _Checkpointer) -> int:
        """Train from ``step`` until ``--max-steps``, ``--stop-after`` or ``--max-minutes``; the step reached."""
        args, acc = self.args, self.acc
        last_saved = step
        self.model.train()
        it = sampler.iterate(step)
        stop = min(args.max_steps, step + args.stop_after) if args.stop_after else args.max_steps
        while step < stop:
            if args.max_minutes and (time.perf_counter() - self.t_start) / 60 > args.max_minutes:
                acc.print(f"time limit of {args.max_minutes} min reached at step {step}")
                break
            _, epoch, idx = next(it)
            res, batch, lr, grad_norm = self.step(step, idx)
            step += 1
            if step % args.log_every == 0 or step == 1:
                self.log(step, epoch, res, batch, lr, grad_norm)
            if args.save_every and step % args.save_every == 0:
                saver.save(step)
                last_saved = step
        if step != last_saved or not checkpoint_dirs(saver.out):
            saver.save(step)
        return step


def train(args) -> int:
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from .data.shards import FrameBatchSampler
    from .model.cfm import CFMConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    mp = args.mixed_precision or ("bf16" if torch.cuda.is_available() else "no")
    acc = Accelerator(mixed_precision=mp, cpu=args.cpu)
    set_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_csv, png = out / "log.csv", out / "loss.png"

    resume_dir = find_resume(out, args.resume)
    cfg, overrides, f5_weights = _run_config(args, resume_dir)
    data = _load_data(args, cfg, acc)
    model = _build_model(args, cfg, data, f5_weights, acc)
    counts = model.parameter_counts()
    acc.print(f"model {cfg.name}: {counts['total']:,} parameters ({_fmt(counts['total'])}); "
              f"mixed precision {mp}; {acc.num_processes} process(es) on {acc.device}")

    opt = _optimizer(model, args)
    ema = EMA(model, args.ema_decay)
    step = _resume(resume_dir, model, opt, ema, acc)
    ema.model.to(acc.device)
    model, opt = acc.prepare(model, opt)
    inner = acc.unwrap_model(model)

    sampler = FrameBatchSampler(data.frames, args.batch_frames, seed=args.seed, rank=acc.process_index,
                                world=acc.num_processes, max_items=args.max_items)
    if len(sampler) == 0:
        acc.print("error: no batches (too few items for the number of processes)")
        return 2
    cfm = CFMConfig(motion_weight=args.motion_weight, audio_given_prob=args.audio_given)

    if acc.is_main_process:
        _write_run_files(out, log_csv, step, args, overrides, cfg, counts, data)
    saver = _Checkpointer(acc, args, out, inner, opt, ema,
                          (log_csv, png, f"{cfg.name} ({counts['total'] / 1e6:.1f} M params)"))
    step = _Loop(acc, args, data, model, inner, opt, ema, cfm, log_csv).run(step, sampler, saver)
    acc.print(f"done at step {step}; log {log_csv}; plot {png}; checkpoints {out / 'checkpoints'}")
    acc.end_training()
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m talker.train", description="Train the audio-visual DiT.")
    ap.add_argument("--config", default="base", choices=sorted(CONFIGS))
    ap.add_argument("--set", dest="overrides", action="append", default=[], type=_parse_override,
                    metavar="KEY=VALUE", help="override a config field (repeatable)")
    ap.add_argument("--dry-run", action="store_true", help="build the model, print parameter counts, exit")
    ap.add_argument("--json", action="store_true", help="print the dry-run summary as JSON")
    ap.add_argument("--data", help="folder written by `python -m talker.data prepare`")
    ap.add_argument("--out", default="runs/talker", help="run folder: log.csv, loss.png, checkpoints/")
    ap.add_argument("--max-steps", type=int, default=100_000)
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop (and save) after this wall time")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop (and save) after this many steps of this invocation; the schedule still spans "
                         "--max-steps (for jobs split across time-limited allocations)")
    ap.add_argument("--save-every", type=int, default=1000)
    ap.add_argument("--keep", type=int, default=3, help="checkpoints to keep (0 = all)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--print-every", type=int, default=10, help="print one log row in this many")
    ap.add_argument("--batch-frames", type=int, default=38400, help="padded mel frames per batch and process")
    ap.add_argument("--max-items", type=int, default=64, help="items per batch at most")
    ap.add_argument("--lr", type=float, default=7.5e-5)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--ema-decay", type=float, default=0.999)
    ap.add_argument("--motion-weight", type=float, default=1.0)
    ap.add_argument("--audio-given", type=float, default=0.0, metavar="P",
                    help="share of items trained audio-driven: whole mel given, motion infilled")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", default="", help="checkpoint folder, run folder, or 'auto' (newest in --out)")
    ap.add_argument("--init-f5", default="", metavar="SOURCE",
                    help="F5-TTS weights for the audio stream: a file (vocab.txt beside it), a folder, or a repo id "
                         "such as SWivid/F5-TTS (v1 Base); the model takes F5's vocabulary")
    ap.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], default=None,
                    help="default: bf16 on CUDA, else no")
    ap.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU is present")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave as is)")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        info = describe(args.config, dict(args.overrides))
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            c = info["counts"]
            print(f"config {info['config']}: dim {info['dim']}, {info['joint_depth']} joint blocks, "
                  f"audio {info['audio_layers']} layers, motion {info['motion_layers']} layers")
            print(f"  total   {c['total']:>12,d}  ({_fmt(c['total'])})")
            print(f"  audio   {c['audio']:>12,d}  ({_fmt(c['audio'])})")
            print(f"  motion  {c['motion']:>12,d}  ({_fmt(c['motion'])})")
            print(f"  shared  {c['shared']:>12,d}  ({_fmt(c['shared'])})  timestep embedding")
        return 0
    if not args.data:
        print("error: --data SHARDS is required to train (or pass --dry-run)", file=sys.stderr)
        return 2
    try:
        return train(args)
    except (FileNotFoundError, TalkerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
