"""Generate images from a trained checkpoint.

Writes OUT_DIR/<dataset>_<model>.npz (uint8 images (N, H, W, C), the seed and the
checkpoint's step), OUT_DIR/<dataset>_<model>_samples.png (a grid of the first 64) and
OUT_DIR/<dataset>_<model>_recon.png (test images, each row followed by its
reconstruction) and OUT_DIR/<dataset>_<model>_diversity.json (how diverse the samples are
beside real test images, and whether the model collapsed; see pipelines/metrics/diversity.py).
The npz can be scored with ``fsvae-bench score``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from pipelines.checkpoint import load_model, model_label
from pipelines.data import ImageArrayDataset, load_split, to_uint8
from pipelines.data.atomic import save_npz_atomic
from pipelines.metrics.diversity import diversity_path, measure, write_diversity
from pipelines.options import add_runtime_arguments, runtime_settings
from pipelines.process.device import prepare
from pipelines.sampling import (
    generate,
    reconstruct,
    reconstruction_grid,
    save_grid,
)

HELP = "generate samples (npz + PNG grids) and test reconstructions from a checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/mnist/fsvae/best.pt")
    parser.add_argument("--num-samples", type=int, default=64, help="images to generate")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--prepared", default="prepared", help="prepared data (for test images)")
    parser.add_argument("--out-dir", default="results/samples", help="output folder")
    parser.add_argument("--name", help="file stem (default: <dataset>_<model>)")
    add_runtime_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate and save."""
    device = prepare(runtime_settings(args))  # a bad device fails before any file
    model, meta = load_model(args.checkpoint, map_location=device)
    stem = args.name or f"{meta['dataset']}_{model_label(meta).replace(':', '.')}"
    out_dir = Path(args.out_dir)
    samples = generate(model, args.num_samples, args.seed, progress=not args.no_progress)
    images = to_uint8(samples).permute(0, 2, 3, 1).numpy()  # uint8 (N, H, W, C)
    real = load_split(args.prepared, meta["dataset"], "test")
    diversity = measure(images, real)  # before any file: bad input writes nothing
    save_npz_atomic(
        out_dir / f"{stem}.npz",
        compressed=True,
        images=images,
        seed=np.int64(args.seed),
        step=np.int64(meta["step"]),
    )
    save_grid(samples[:64], out_dir / f"{stem}_samples.png")
    write_diversity(diversity_path(out_dir, stem), diversity)
    if diversity.collapsed:
        print(f"warning: the samples look collapsed: {diversity.note()}")
    test = ImageArrayDataset(real[:32])
    originals = torch.stack([test[i] for i in range(len(test))])
    recons = reconstruct(model, originals, args.seed)
    save_grid(reconstruction_grid(originals, recons), out_dir / f"{stem}_recon.png")
    print(f"wrote {out_dir / stem}.npz ({len(samples)} images) and PNG grids")
    return 0
