"""Compute every metric of a trained checkpoint and write one JSON file.

Metrics (``--metrics``, comma-separated, or ``all``): every metric of the registry
(:mod:`pipelines.metrics.registry`; ``--help`` lists them with what each needs). A metric
that cannot run here is written as ``{"<name>": null, "<name>_unavailable": "<reason>"}``
and the others go on. See docs/metrics.md for the protocol of each.

Example: ``fsvae-bench evaluate --checkpoint runs/mnist/fsvae/last.pt --num-samples 500``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipelines.metrics.evaluate import EvalSettings, evaluate_checkpoint
from pipelines.metrics.registry import metric_specs, resolve_metrics
from pipelines.options import add_dataset_argument, add_runtime_arguments, runtime_settings
from pipelines.process.device import prepare

HELP = "compute all metrics of a checkpoint (JSON with values and protocol)"


def _default(name: str) -> object:
    """The default of an :class:`EvalSettings` field: the one table of evaluation defaults."""
    return EvalSettings.__dataclass_fields__[name].default


def metrics_help(needs: tuple[str, ...] = ("model", "samples")) -> str:
    """The ``--metrics`` help: every registered metric that needs one of ``needs``."""
    listed = "; ".join(f"{s.name}: {s.help}" for s in metric_specs() if s.needs in needs)
    return f"comma-separated subset, or all (default): {listed}"


def add_settings_options(
    parser: argparse.ArgumentParser,
    num_samples_default: int | None,
    needs: tuple[str, ...] = ("model", "samples"),
) -> None:
    """Add the options shared by ``evaluate`` and ``score`` (defaults from EvalSettings)."""
    parser.add_argument("--prepared", default="prepared", help="prepared data folder")
    parser.add_argument("--metrics", default="all", help=metrics_help(needs))
    parser.add_argument(
        "--num-samples", type=int, default=num_samples_default, help="images per sample metric"
    )
    parser.add_argument("--num-afd-samples", type=int, help="images for the AFD (paper: 5120)")
    parser.add_argument("--num-ref", type=int, help="real test images for FID statistics (all)")
    parser.add_argument(
        "--seed", type=int, default=_default("seed"), help="sampling / reconstruction seed"
    )
    parser.add_argument(
        "--batch-size", type=int, default=_default("batch_size"), help="feature-network batch"
    )
    parser.add_argument("--fid-weights", help="pytorch-fid FID Inception weights file")
    parser.add_argument("--fid-download", action="store_true", help="allow downloading them")
    parser.add_argument("--is-weights", help="torchvision ImageNet inception_v3 weights file")
    parser.add_argument("--paper-fid-stats", help="authors' *_clean_custom_na.npz (file/folder)")
    parser.add_argument("--asset-dir", default=_default("asset_dir"), help="asset cache")
    parser.add_argument("--offline", action="store_true", help="never download a missing asset")
    parser.add_argument("--paper-ae-weights", help="authors' autoencoder .pth (CIFAR-10, CelebA)")
    parser.add_argument(
        "--own-ae",
        help="our autoencoder (default CACHE/autoencoders/<ds>.pt, else the published one "
        "when it fits the prepared data)",
    )
    parser.add_argument(
        "--cache-dir",
        help="reference statistics and our autoencoder (default: cache/<dataset>, the pipeline's)",
    )
    add_runtime_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def settings_from_args(args: argparse.Namespace, **extra: object) -> EvalSettings:
    """Build :class:`EvalSettings` from the shared options (resolves the device).

    Raises:
        ValueError: For a device this machine does not have.

    """
    device = prepare(runtime_settings(args))
    return EvalSettings(
        num_samples=args.num_samples,
        num_afd_samples=args.num_afd_samples,
        num_ref=args.num_ref,
        batch_size=args.batch_size,
        seed=args.seed,
        metrics=resolve_metrics(args.metrics),
        fid_weights=args.fid_weights,
        fid_download=args.fid_download,
        is_weights=args.is_weights,
        cache_dir=args.cache_dir,
        paper_fid_stats=args.paper_fid_stats,
        asset_dir=args.asset_dir,
        offline=args.offline,
        paper_ae_weights=args.paper_ae_weights,
        own_ae=args.own_ae,
        device=device,
        progress=not args.no_progress,
        **extra,  # type: ignore[arg-type]
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/mnist/fsvae/last.pt")
    add_dataset_argument(parser, required=False, what="check the checkpoint was trained on")
    parser.add_argument("--out", help="JSON output (results/metrics/<dataset>_<model>.json)")
    parser.add_argument("--num-recon", type=int, help="test images for the MSE (default all)")
    parser.add_argument(
        "--num-cost-samples", type=int, default=_default("num_cost_samples"), help="for cost"
    )
    add_settings_options(parser, num_samples_default=_default("num_samples"))


def run(args: argparse.Namespace) -> int:
    """Evaluate and write the JSON."""
    from pipelines.checkpoint import load_checkpoint, model_label

    meta = load_checkpoint(args.checkpoint)
    dataset, model = meta["dataset"], model_label(meta).replace(":", ".")
    if args.dataset and args.dataset != dataset:
        raise ValueError(f"{args.checkpoint} was trained on {dataset}, not {args.dataset}")
    del meta
    out = Path(args.out or f"results/metrics/{dataset}_{model}.json")
    args.cache_dir = args.cache_dir or str(Path("cache") / dataset)
    settings = settings_from_args(
        args, num_recon=args.num_recon, num_cost_samples=args.num_cost_samples
    )
    record = evaluate_checkpoint(args.checkpoint, args.prepared, out, settings)
    shown = {k: v for k, v in record["metrics"].items() if "/" not in k}
    print(json.dumps(shown, indent=2))
    print(f"wrote {out}")
    return 0
