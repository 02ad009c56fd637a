"""The autoencoder whose bottleneck codes feed the autoencoder Fréchet distance.

Architecture (docs/reference.md §5.4): the ANN VAE's conv stack (Conv + BatchNorm +
LeakyReLU(0.01), stride 2) with one linear bottleneck ``latent_layer`` instead of
the (mu, logvar) heads; the decoder mirrors it. Its state-dict keys equal the
authors' published checkpoints, which load with ``strict=True``. ``train_autoencoder``
trains our own copy per dataset (MSE only, AdamW lr 1e-3, seeded) as a pipeline stage.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipelines.data import load_split, to_model_range
from pipelines.data.atomic import save_torch_atomic
from pipelines.metrics.frechet import gaussian_stats
from pipelines.metrics.protocol import version_of
from pipelines.process.device import describe

SMALL_DIMS = (32, 64, 128, 256)


LARGE_DIMS = (32, 64, 128, 256, 512)
_SLOPE = 0.01


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU(_SLOPE)
    )


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(_SLOPE),
    )


class AutoEncoder(nn.Module):
    """The reference's ``AE`` / ``AELarge`` (bottleneck 2x2 spatial, linear code).

    Args:
        in_channels: Image channels.
        latent_dim: Code size (64 for MNIST/Fashion-MNIST, 128 otherwise in the paper).
        hidden_dims: Encoder channels; five levels for 64x64 CelebA.

    """

    def __init__(
        self, in_channels: int = 1, latent_dim: int = 64, hidden_dims: tuple[int, ...] = SMALL_DIMS
    ) -> None:
        super().__init__()
        self.config = {
            "in_channels": in_channels,
            "latent_dim": latent_dim,
            "hidden_dims": list(hidden_dims),
        }
        dims = list(hidden_dims)
        pairs = zip([in_channels, *dims], dims, strict=False)
        self.encoder = nn.Sequential(*[_down(a, b) for a, b in pairs])
        flat = dims[-1] * 4
        self.latent_layer = nn.Linear(flat, latent_dim)
        self.decoder_input = nn.Linear(latent_dim, flat)
        rev = dims[::-1]
        self.decoder = nn.Sequential(*[_up(a, b) for a, b in zip(rev, rev[1:], strict=False)])
        # Flat Sequential (indices 0..4), as in the published state dicts.
        self.final_layer = nn.Sequential(
            nn.ConvTranspose2d(dims[0], dims[0], 3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(dims[0]),
            nn.LeakyReLU(_SLOPE),
            nn.ConvTranspose2d(dims[0], in_channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the bottleneck codes (N, latent) of images in [-1, 1]."""
        return self.latent_layer(self.encoder(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Return images in (-1, 1) from codes."""
        c = self.config["hidden_dims"][-1]
        return self.final_layer(self.decoder(self.decoder_input(z).view(-1, c, 2, 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct images."""
        return self.decode(self.encode(x))


def paper_autoencoder(dataset: str) -> AutoEncoder:
    """Return an untrained autoencoder with the paper's shape for a dataset."""
    if dataset in ("mnist", "fashion-mnist"):
        return AutoEncoder(1, 64, SMALL_DIMS)
    if dataset == "cifar10":
        return AutoEncoder(3, 128, SMALL_DIMS)
    if dataset == "celeba":
        return AutoEncoder(3, 128, LARGE_DIMS)
    raise ValueError(f"unknown dataset {dataset!r}")


@torch.no_grad()
def encode_batches(
    ae: AutoEncoder, images: torch.Tensor, batch_size: int, train_mode_bn: bool
) -> np.ndarray:
    """Return codes (N, latent) float64 of images in [-1, 1], batch by batch.

    Args:
        ae: The autoencoder (left unchanged).
        images: Images (N, C, H, W) in [-1, 1].
        batch_size: Batch size; with train-mode BN it sets the normalisation groups.
        train_mode_bn: Normalise with each batch's statistics, as the reference's
            never-``eval()``-ed autoencoder did; running statistics are not touched
            because BN momentum is 0 on a private copy.

    Returns:
        The codes.

    """
    if train_mode_bn:
        ae = copy.deepcopy(ae).train()
        for m in ae.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.0
    else:
        ae = ae.eval()
    device = next(ae.parameters()).device
    codes = [
        ae.encode(images[s : s + batch_size].to(device).float()).double().cpu()
        for s in range(0, images.shape[0], batch_size)
    ]
    return torch.cat(codes).numpy()


def train_autoencoder(
    dataset: str,
    prepared_root: str | Path,
    out_path: str | Path,
    steps: int,
    batch_size: int = 250,
    seed: int = 0,
    latent_dim: int | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Train our own feature autoencoder on a training split and store its test statistics.

    Deterministic for a given seed on one machine: weights and batch order come from
    seeded generators; MSE only, AdamW(lr 1e-3, betas (0.9, 0.999), weight decay 0.01).

    Args:
        dataset: Dataset name.
        prepared_root: Folder of prepared splits.
        out_path: Output ``.pt`` file (state dict, config, test statistics).
        steps: Optimiser steps.
        batch_size: Training batch size.
        seed: Seed of weights and batch order.
        latent_dim: Code size (default: the paper's for the dataset).
        device: Where to train (weights are initialised and batches drawn on the CPU,
            so only the float arithmetic differs between devices).

    Returns:
        The saved record without the state dict.

    """
    shape = paper_autoencoder(dataset).config
    dims = tuple(shape["hidden_dims"])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ae = AutoEncoder(shape["in_channels"], latent_dim or shape["latent_dim"], dims)
    ae.to(device)
    train = to_model_range(torch.from_numpy(load_split(prepared_root, dataset, "train")))
    train = train.permute(0, 3, 1, 2).contiguous()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(ae.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01)
    ae.train()
    order = torch.randperm(len(train), generator=gen)
    pos, loss = 0, torch.tensor(float("nan"))
    for _ in range(steps):
        if pos + batch_size > len(order):
            order, pos = torch.randperm(len(train), generator=gen), 0
        x = train[order[pos : pos + batch_size]].to(device)
        pos += batch_size
        loss = F.mse_loss(ae(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    test = to_model_range(torch.from_numpy(load_split(prepared_root, dataset, "test")))
    mu, sigma = gaussian_stats(encode_batches(ae, test.permute(0, 3, 1, 2), 256, False))
    record: dict[str, Any] = {
        "dataset": dataset,
        "config": ae.config,
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "final_train_mse": float(loss.detach()),
        "runtime": describe(device),
        "optimizer": "AdamW lr 1e-3 betas (0.9, 0.999) weight_decay 0.01; MSE only",
        "test_mu": mu,
        "test_sigma": sigma,
        "test_count": int(len(test)),
        "torch": version_of("torch"),
    }
    state = {k: v.cpu() for k, v in ae.state_dict().items()}  # loads on any machine
    save_torch_atomic({**record, "state_dict": state}, out_path)
    return record


def load_own_autoencoder(path: str | Path) -> tuple[AutoEncoder, dict[str, Any]]:
    """Load an autoencoder written by :func:`train_autoencoder`.

    Args:
        path: The ``.pt`` file.

    Returns:
        The autoencoder (eval mode) and its record (config, test statistics, ...).

    """
    record = torch.load(path, map_location="cpu", weights_only=False)
    cfg = record["config"]
    ae = AutoEncoder(cfg["in_channels"], cfg["latent_dim"], tuple(cfg["hidden_dims"]))
    ae.load_state_dict(record.pop("state_dict"), strict=True)
    return ae.eval(), record
