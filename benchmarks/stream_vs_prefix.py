"""Outcome evidence for FSVAE's posterior sampling: ``stream`` against ``prefix`` (issue 10).

Trains FSVAE on real MNIST in both modes (``posterior_sampling``, fsvae/config.py) for a
fixed number of steps and several seeds through the pipeline's own :class:`Trainer`
(the recipe of ``--params``, default the paper profile), evaluates each final model in
eval mode with the pipeline's metric code (:func:`evaluate_checkpoint`: reconstruction
MSE, the authors' autoencoder FD and our pytorch-fid FID), and reports per mode the mean
and sample std over seeds and the difference of means against the seed spread. It also
times the training steps of each mode and extrapolates the full 150-epoch run.

Usage (evidence run; ``--metrics none`` times training only)::

    FSVAE_DATA_MIRROR=... FSVAE_ASSET_MIRROR=... python benchmarks/stream_vs_prefix.py \
        --steps 300 --seeds 0 1 2 --T 16 --batch 64 --num-test 2000 --num-samples 1000

On a 2-core CPU run the modes as two single-thread processes (``--modes stream --threads 1
--out A.json`` and ``--modes prefix --threads 1 --out B.json``) and combine them with
``--merge A.json B.json --out C.json``, which checks that both used the same settings.

MNIST is prepared (from ``$FSVAE_DATA_MIRROR``, else downloaded) into ``--prepared``
when missing; FID weights, FID reference statistics and the authors' files are cached
under ``--cache-dir`` (both default under ``benchmarks/.cache``, ignored by git).

Longer than the project's ~350-line module guideline on purpose: one experiment in one
file (training, evaluation, statistics, report and merge), so the evidence cited in
docs/differences-from-reference.md is rerun and read in a single place.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipelines.data import load_split, prepare_dataset  # noqa: E402
from pipelines.data.atomic import write_json_atomic  # noqa: E402
from pipelines.metrics.evaluate import (  # noqa: E402
    EvalSettings,
    build_sample_metric,
    evaluate_checkpoint,
)
from pipelines.metrics.fid import FID  # noqa: E402
from pipelines.metrics.protocol import MetricUnavailable  # noqa: E402
from pipelines.params import load_params, train_config  # noqa: E402
from pipelines.process.settings import RuntimeSettings  # noqa: E402
from pipelines.train import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = ("stream", "prefix")
METRICS = ("recon_mse", "afd_paper", "fid")
MNIST_TRAIN, PAPER_EPOCHS = 60_000, 150


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="optimizer steps per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--T", type=int, default=16, help="time steps (n_steps)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--num-test", type=int, default=2000, help="test images for recon MSE")
    p.add_argument("--num-samples", type=int, default=1000, help="samples for AFD and FID")
    p.add_argument("--num-ref", type=int, help="real test images for FID statistics (all)")
    p.add_argument("--metrics", default=",".join(METRICS), help="subset of %(default)s, or none")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the timing")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:i]")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's; 1 on a busy CPU)")
    # Relative paths are taken from the repository root, so the JSON holds no machine path.
    p.add_argument("--params", default="profiles/paper.yaml", help="training recipe")
    p.add_argument("--prepared", default="benchmarks/.cache/prepared", help="has mnist/")
    p.add_argument("--cache-dir", default="benchmarks/.cache/metrics")
    p.add_argument("--fid-weights", help="FID Inception weights file (else found/converted)")
    p.add_argument("--out", default="benchmarks/results/stream_vs_prefix.json")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="combine the JSON files of split runs (paths from the repository root); no run",
    )
    args = p.parse_args(argv)
    args.metrics = [] if args.metrics == "none" else args.metrics.split(",")
    args.modes = args.modes.split(",")
    for name in ("params", "prepared", "cache_dir", "out"):
        setattr(args, name, (ROOT / getattr(args, name)).resolve())
    args.merge = [(ROOT / m).resolve() for m in args.merge or []]
    if set(args.metrics) - set(METRICS) or set(args.modes) - set(MODES) or not args.modes:
        p.error(f"--metrics from {METRICS} (or none), --modes from {MODES}")
    if min(args.steps, args.T, args.batch, args.num_test, args.num_samples) < 1:
        p.error("--steps, --T, --batch, --num-test and --num-samples must be >= 1")
    return args


def eval_settings(args: argparse.Namespace, device: str, seed: int) -> EvalSettings:
    """The pipeline's evaluation settings for one run (offline: mirrors and caches only)."""
    cache = Path(args.cache_dir)
    return EvalSettings(
        num_samples=args.num_samples,
        num_afd_samples=args.num_samples,
        num_recon=args.num_test,
        num_ref=args.num_ref,
        seed=seed,
        metrics=args.metrics,
        fid_weights=args.fid_weights,
        fid_weights_dir=str(cache / "weights"),
        cache_dir=str(cache / "mnist"),
        asset_dir=str(cache / "assets"),
        offline=True,
        device=device,
        progress=False,
    )


def ensure_mnist(args: argparse.Namespace) -> None:
    """Prepare MNIST when missing and check the test split is large enough."""
    if not (Path(args.prepared) / "mnist").is_dir():
        data_root = Path(args.prepared).parent / "raw"
        prepare_dataset("mnist", data_root=data_root, prepared_root=args.prepared)
    n_test = len(load_split(args.prepared, "mnist", "test"))
    if args.metrics and n_test < args.num_test:
        raise SystemExit(f"--num-test {args.num_test} > {n_test} test images in {args.prepared}")


def preflight(args: argparse.Namespace, device: str) -> None:
    """Build every sample metric once so a missing asset fails before any training.

    FID's reference statistics are computed here too, so processes started one after the
    other on a split run share the cached file instead of each computing it.
    """
    s = eval_settings(args, device, 0)
    for name in [m for m in args.metrics if m != "recon_mse"]:
        try:
            metric = build_sample_metric(name, "mnist", args.prepared, s)
        except MetricUnavailable as err:
            raise SystemExit(f"{name} unavailable: {err}") from None
        if isinstance(metric, FID):
            metric.reference.get(metric.features)


def train_one(args: argparse.Namespace, mode: str, seed: int, run_dir: Path, bar: tqdm) -> dict:
    """Train one run; return its config, step times and the checkpoint path."""
    params = load_params(args.params)  # the same recipe as the pipeline's train stage
    config = train_config(params, "fsvae", "mnist", batch_size=args.batch, seed=seed)
    options = {**config.model_options, "n_steps": args.T, "posterior_sampling": mode}
    config = dataclasses.replace(
        config,
        model_options=options,
        max_steps=args.steps,
        epochs=max(config.epochs, 1),
        train_limit=None,
        test_limit=args.batch,  # the loop's end-of-run test loss: one batch is enough here
        checkpoint_every=None,
        num_workers=0,
    )
    marks: list[float] = []

    def on_step(step: int) -> None:
        marks.append(time.perf_counter())
        bar.update(1)

    runtime = RuntimeSettings(device=args.device)  # the device is a runtime setting
    trainer = Trainer(
        config, args.prepared, run_dir, progress=False, on_step=on_step, runtime=runtime
    )
    start = time.perf_counter()
    trainer.fit()
    times = [b - a for a, b in zip([start, *marks], marks, strict=False)]
    timed = times[min(args.warmup, len(times) - 1) :]
    s_per_step = sum(timed) / len(timed)
    return {
        "train_config": config.to_dict(),
        "device": trainer.device,
        "train_seconds": marks[-1] - start,
        "s_per_step": s_per_step,
        "images_per_s": args.batch / s_per_step,
        "timed_steps": len(timed),
        "checkpoint": trainer.last_path,
    }


def _shown(path: Path) -> str:
    """A path as recorded: relative to the repository, else only its name (no machine path)."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def evaluate_run(args: argparse.Namespace, device: str, run: dict[str, Any]) -> None:
    """Evaluate a trained run in eval mode with the pipeline's metrics; add them to ``run``."""
    start = time.perf_counter()
    s = eval_settings(args, device, run["seed"])
    found = evaluate_checkpoint(run["checkpoint"], args.prepared, None, s)["metrics"]
    missing = [m for m in args.metrics if found.get(m) is None]
    if missing:
        reasons = [found.get(f"{m}_unavailable") for m in missing]
        raise SystemExit(f"{run['mode']} seed {run['seed']}: {missing} unavailable: {reasons}")
    run["metrics"] = {m: float(found[m]) for m in args.metrics}
    run["eval_seconds"] = time.perf_counter() - start


def mean_std(values: list[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (None from a single value)."""
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "n": len(values),
    }


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Difference of means against the seed spread (pooled std, and the larger std)."""
    diff = a["mean"] - b["mean"]
    if a["std"] is None or b["std"] is None:
        return {"diff": diff, "pooled_std": None, "diff_over_pooled": None, "within": None}
    pooled = math.sqrt((a["std"] ** 2 + b["std"] ** 2) / 2)
    return {
        "diff": diff,
        "pooled_std": pooled,
        "diff_over_pooled": diff / pooled if pooled > 0 else None,
        "within": abs(diff) < max(a["std"], b["std"]),
    }


def _value(run: dict[str, Any], key: str) -> float:
    return run[key] if key == "s_per_step" else run["metrics"][key]


def paired(runs: list[dict], key: str) -> dict[str, Any] | None:
    """Stream minus prefix per seed (same seed: same initial weights and batches).

    The seed-to-seed spread includes what both modes share; the per-seed difference
    removes it, so a small systematic difference shows here first. ``t`` is the mean
    difference over its standard error (None with fewer than two seeds).
    """
    by_seed = {(r["mode"], r["seed"]): _value(r, key) for r in runs}
    seeds = sorted(s for m, s in by_seed if m == "stream" and ("prefix", s) in by_seed)
    if not seeds:
        return None
    diffs = [by_seed["stream", s] - by_seed["prefix", s] for s in seeds]
    out = {"seeds": seeds, "diffs": diffs, **mean_std(diffs)}
    out["positive"] = sum(d > 0 for d in diffs)
    std = out["std"]
    out["t"] = out["mean"] / (std / math.sqrt(len(diffs))) if std else None
    return out


def summarize(runs: list[dict], metrics: list[str], modes: list[str]) -> dict[str, Any]:
    """Per metric and mode mean ± std; stream minus prefix against the spread, and per seed."""
    out: dict[str, Any] = {}
    for key in [*metrics, "s_per_step"]:
        per_mode = {m: mean_std([_value(r, key) for r in runs if r["mode"] == m]) for m in modes}
        out[key] = {"per_mode": per_mode}
        if len(modes) == 2:
            out[key]["stream_minus_prefix"] = compare(per_mode[modes[0]], per_mode[modes[1]])
            out[key]["paired"] = paired(runs, key)
    return out


def extrapolate(summary: dict[str, Any], batch: int) -> dict[str, dict[str, float]]:
    """Per mode: images/s and the time of the paper's 150 epochs of MNIST at this batch."""
    steps = math.ceil(MNIST_TRAIN / batch) * PAPER_EPOCHS
    return {
        m: {
            "s_per_step": v["mean"],
            "images_per_s": batch / v["mean"],
            "steps": steps,
            "hours": steps * v["mean"] / 3600,
        }
        for m, v in summary["s_per_step"]["per_mode"].items()
    }


def report(summary: dict[str, Any], batch: int) -> None:
    """Print the summary table and the 150-epoch extrapolation."""
    fmt = "{:.4g}".format
    for key, entry in summary.items():
        cells = [
            f"{m} {fmt(v['mean'])} ± {fmt(v['std']) if v['std'] is not None else 'n/a'}"
            for m, v in entry["per_mode"].items()
        ]
        line = f"{key:>10}: " + " | ".join(cells)
        c = entry.get("stream_minus_prefix")
        if c:
            ratio = f"{c['diff_over_pooled']:.2f}" if c["diff_over_pooled"] is not None else "n/a"
            line += f" | diff {fmt(c['diff'])}, diff/pooled std {ratio}"
            line += f", |diff| < max std: {c['within']}"
        d = entry.get("paired")
        if d and d["t"] is not None:
            line += f" | per seed {fmt(d['mean'])} ± {fmt(d['std'])}, t {d['t']:.2f}"
            line += f", {d['positive']}/{d['n']} positive"
        print(line)
    for m, v in extrapolate(summary, batch).items():
        print(
            f"{m}: {v['s_per_step']:.4f} s/step, {v['images_per_s']:.1f} images/s; "
            f"full {PAPER_EPOCHS}-epoch MNIST run at batch {batch} ({v['steps']} steps): "
            f"{v['hours']:.2f} h"
        )


def markdown(summary: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (per-seed values, mean ± std, difference vs spread)."""
    fmt = "{:.4g}".format
    modes = list(next(iter(summary.values()))["per_mode"])
    head = ["quantity", *[f"{m}: per seed; mean ± std" for m in modes]]
    if len(modes) == 2:
        head += ["stream - prefix", "diff / pooled std", "abs(diff) < larger std"]
        head += ["per seed: stream - prefix; mean ± std", "t (paired)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, entry in summary.items():
        cells = [key]
        for m, v in entry["per_mode"].items():
            mine = sorted((r for r in runs if r["mode"] == m), key=lambda r: r["seed"])
            seeds = ", ".join(fmt(_value(r, key)) for r in mine)
            std = fmt(v["std"]) if v["std"] is not None else "n/a"
            cells.append(f"{seeds}; **{fmt(v['mean'])} ± {std}**")
        c = entry.get("stream_minus_prefix")
        if c:
            ratio = f"{c['diff_over_pooled']:.2f}" if c["diff_over_pooled"] is not None else "n/a"
            cells += [fmt(c["diff"]), ratio, "n/a" if c["within"] is None else str(c["within"])]
            d = entry.get("paired")
            if d:
                std = fmt(d["std"]) if d["std"] is not None else "n/a"
                diffs = ", ".join(fmt(x) for x in d["diffs"])
                cells += [
                    f"{diffs}; {fmt(d['mean'])} ± {std}",
                    "n/a" if d["t"] is None else f"{d['t']:.2f}",
                ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# Settings that must agree between the parts of a split run.
SAME_IN_PARTS = ("steps", "T", "batch", "num_test", "num_samples", "num_ref", "metrics", "params")
PART_KEYS = ("command", "device", "device_name", "torch", "threads", "settings", "runs")


def merge(paths: list[Path], out: Path) -> dict[str, Any]:
    """Combine split runs (e.g. one process per mode) into one record and summary.

    Args:
        paths: JSON files written by this script.
        out: Where the combined record goes.

    Returns:
        The combined record.

    Raises:
        SystemExit: On a part that is missing or not this script's record, parts run with
            different settings, or parts repeating a (mode, seed); nothing is written then.

    """
    parts = []
    for path in paths:
        try:
            part = json.loads(Path(path).read_text())
            missing = [k for k in SAME_IN_PARTS if k not in part["settings"]]
            missing += [k for k in PART_KEYS if k not in part]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise SystemExit(f"--merge {_shown(Path(path))}: cannot read it: {err}") from None
        if missing:
            raise SystemExit(f"--merge {_shown(Path(path))}: not a part record, lacks {missing}")
        parts.append(part)
    first = parts[0]["settings"]
    for path, part in zip(paths, parts, strict=True):
        differ = [k for k in SAME_IN_PARTS if part["settings"][k] != first[k]]
        if differ or part["device_name"] != parts[0]["device_name"]:
            here, there = _shown(Path(path)), _shown(Path(paths[0]))
            raise SystemExit(f"{here}: settings differ from {there}: {differ or 'device'}")
    runs = [r for part in parts for r in part["runs"]]
    keys = [(r["mode"], r["seed"]) for r in runs]
    if len(set(keys)) != len(keys):
        raise SystemExit(f"the parts repeat a (mode, seed): {sorted(keys)}")
    modes = [m for m in MODES if any(r["mode"] == m for r in runs)]
    summary = summarize(runs, first["metrics"], modes)
    record = {
        "commands": [p["command"] for p in parts],
        "merged_from": [Path(p).name for p in paths],
        **{k: parts[0][k] for k in ("device", "device_name", "torch")},
        "threads": [p["threads"] for p in parts],
        "settings": {k: first[k] for k in SAME_IN_PARTS},
        "summary": summary,
        "full_run_extrapolated": extrapolate(summary, first["batch"]),
        "runs": runs,
    }
    report(summary, first["batch"])
    print(markdown(summary, runs))
    write_json_atomic(out, record)
    print(f"wrote {_shown(out)}")
    return record


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every (mode, seed), evaluate, summarise, print and write the JSON."""
    given = sys.argv[1:] if argv is None else argv
    args = parse_args(given)
    if args.merge:
        return merge(args.merge, args.out)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    if args.threads:
        # More threads than free cores make OpenMP's barriers spin (docs/performance.md).
        torch.set_num_threads(args.threads)
    ensure_mnist(args)
    preflight(args, device)
    runs = []
    total = len(args.modes) * len(args.seeds) * args.steps
    with tempfile.TemporaryDirectory() as tmp, tqdm(total=total, disable=args.no_progress) as bar:
        for seed in args.seeds:
            for mode in args.modes:
                bar.set_description(f"{mode} seed {seed} train")
                run = train_one(args, mode, seed, Path(tmp) / f"{mode}_{seed}", bar)
                run.update(mode=mode, seed=seed, metrics={})
                if args.metrics:
                    bar.set_description(f"{mode} seed {seed} eval")
                    evaluate_run(args, device, run)
                del run["checkpoint"]
                runs.append(run)
    summary = summarize(runs, args.metrics, args.modes)
    record = {
        "command": "python benchmarks/stream_vs_prefix.py " + shlex.join(given),
        "settings": {
            **{k: _shown(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "fid_weights": Path(args.fid_weights).name if args.fid_weights else None,
        },
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "summary": summary,
        "full_run_extrapolated": extrapolate(summary, args.batch),
        "runs": runs,
    }
    report(summary, args.batch)
    print(markdown(summary, runs))
    write_json_atomic(args.out, record)
    print(f"wrote {_shown(args.out)}")
    return record


if __name__ == "__main__":
    main()
