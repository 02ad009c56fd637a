"""How far ``stream``'s tdBN running statistics are from ``prefix``'s after a few train steps.

Builds FSVAE twice from the same seed (float64, ``posterior_sampling`` stream / prefix),
runs the same train-mode loss + backward on real MNIST images (first ``--batch`` training
images, ``$FSVAE_DATA_MIRROR``) ``--steps`` times from the same RNG state, and prints, for
every latent tdBN, ``||stream - prefix|| / ||prefix - initial||`` of the running mean and
variance (issue 10, docs/differences-from-reference.md row 5).

Usage: FSVAE_DATA_MIRROR=... python benchmarks/stream_running_stats.py [--steps 3] [--T 16]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from fsvae.model import FSVAE  # noqa: E402
from fsvae.tdbn import TdBatchNorm  # noqa: E402
from pipelines.data.real_batch import first_mnist_images  # noqa: E402


def running_stats(model: FSVAE) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Running mean and variance of every latent (posterior / prior) tdBN."""
    return {
        name: (m.running_mean.clone(), m.running_var.clone())
        for name, m in model.named_modules()
        if isinstance(m, TdBatchNorm) and name.startswith(("posterior", "prior"))
    }


def main() -> None:
    """Parse the command line, train both modes, print the relative differences."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--T", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    x = first_mnist_images(args.batch).double()
    stats, initial = {}, None
    for mode in ("stream", "prefix"):
        torch.manual_seed(0)
        model = FSVAE.build("mnist", n_steps=args.T, posterior_sampling=mode).double().train()
        initial = running_stats(model)
        torch.manual_seed(1)
        for _ in range(args.steps):
            model.loss(x)["loss"].backward()
        stats[mode] = running_stats(model)
    for name, (p_mean, p_var) in stats["prefix"].items():
        s_mean, s_var = stats["stream"][name]
        i_mean, i_var = initial[name]
        rel_mean = ((s_mean - p_mean).norm() / (p_mean - i_mean).norm()).item()
        rel_var = ((s_var - p_var).norm() / (p_var - i_var).norm()).item()
        print(f"{name:24s} running mean {rel_mean:.3e}  running var {rel_var:.3e}")


if __name__ == "__main__":
    main()
