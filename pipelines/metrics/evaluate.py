"""Run the evaluation protocol over a checkpoint or an image set and collect flat dicts.

``evaluate_checkpoint`` (the ``evaluate`` command and DVC stage) and ``score_images``
(the ``score`` command) build the requested metric objects, feed them the same
generated (or given) images, and record each metric's value with its protocol. A
metric that cannot run is recorded as unavailable with the reason; the others go on.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fsvae.contract import GenerativeModel
from pipelines.data import load_split, to_model_range
from pipelines.data.atomic import write_json_atomic
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.image_input import (
    check_model_images,
    check_sample_counts,
    preprocessing_fields,
)
from pipelines.metrics.inception import WeightsFile, resolve_fid_weights
from pipelines.metrics.protocol import MetricUnavailable, unavailable, version_of
from pipelines.metrics.registry import MetricContext, metric_names, metric_spec, resolve_metrics
from pipelines.metrics.spikes import SpikingCost
from pipelines.process.device import describe
from pipelines.sampling import generate


@dataclass
class EvalSettings:
    """Knobs of the evaluation (all recorded in the output).

    Attributes:
        num_samples: Generated images per sample metric (paper: 5,000).
        num_afd_samples: Generated images for the AFD (None: ``num_samples``; paper 5,120).
        num_recon: Test images for the reconstruction MSE (None: the whole split).
        num_ref: Real test images for the FID reference statistics (None: all).
        num_cost_samples: Images for the spiking-cost measurement.
        batch_size: Images per feature-network pass.
        gen_batch_size: Images per ``model.sample`` / ``reconstruct`` call.
        seed: Seed of the ``torch.Generator`` for sampling and reconstruction.
        metrics: Metric names to compute (:func:`pipelines.metrics.registry.metric_names`),
            or ``"all"``.
        fid_weights: Local FID Inception weights (else ``$FSVAE_FID_WEIGHTS``, cache, conversion).
        fid_weights_dir: Where a converted file is written (None: torch hub checkpoints).
        fid_download: Allow pytorch-fid's download when nothing local exists.
        is_weights: torchvision ImageNet inception_v3 weights (else ``$FSVAE_IS_WEIGHTS``).
        cache_dir: Folder for reference statistics and our autoencoders.
        paper_fid_stats: The authors' clean-fid statistics file or folder.
        asset_dir: The asset cache (``fsvae-bench assets``): weights and authors' files.
        offline: Never download a missing asset (the mirror ``$FSVAE_ASSET_MIRROR`` still
            serves); a missing asset makes its metrics unavailable, with the reason.
        paper_ae_weights: Explicit authors' autoencoder weights file.
        own_ae: Our autoencoder file (None: ``<cache_dir>/autoencoders/<dataset>.pt``).
        is_splits: Inception Score splits.
        device: Torch device.
        progress: Show progress bars.

    """

    num_samples: int = 5000
    num_afd_samples: int | None = None
    num_recon: int | None = None
    num_ref: int | None = None
    num_cost_samples: int = 16
    batch_size: int = 50
    gen_batch_size: int = 250
    seed: int = 0
    metrics: Sequence[str] = ("all",)
    fid_weights: str | None = None
    fid_weights_dir: str | None = None
    fid_download: bool = False
    is_weights: str | None = None
    cache_dir: str = "cache"
    paper_fid_stats: str | None = None
    asset_dir: str = "cache/assets"
    offline: bool = False
    paper_ae_weights: str | None = None
    own_ae: str | None = None
    is_splits: int = 10
    device: str = "cpu"
    progress: bool = True
    _fid_weights: list[WeightsFile] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.metrics = resolve_metrics(self.metrics)

    def wanted(self, needs: str) -> list[str]:
        """The chosen metrics that need ``"samples"`` or ``"model"``, in the order chosen."""
        return [m for m in self.metrics if metric_spec(m).needs == needs]

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON values (private caches left out)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if not k.startswith("_")}
        out["metrics"] = list(self.metrics)
        return out

    def fid_weights_file(self) -> WeightsFile:
        """Resolve the FID weights once per settings object (conversion runs at most once)."""
        if not self._fid_weights:
            self._fid_weights.append(
                resolve_fid_weights(
                    self.fid_weights, self.fid_weights_dir, self.fid_download, self.asset_store()
                )
            )
        return self._fid_weights[0]

    def asset_store(self) -> AssetStore:
        """The asset cache with the environment's mirror / download base."""
        return AssetStore.configure(self.asset_dir, online=not self.offline, progress=self.progress)


def build_sample_metric(
    name: str, dataset: str, prepared_root: str | Path, s: EvalSettings
) -> Callable[[torch.Tensor], dict[str, Any]]:
    """Construct one sample metric from its declaration (MetricUnavailable when it cannot run).

    Args:
        name: A registered metric that needs samples.
        dataset: Dataset name.
        prepared_root: Folder of prepared splits.
        s: The settings.

    Returns:
        A callable taking images in [-1, 1] (N, C, H, W) and returning a flat dict.

    """
    spec = metric_spec(name)
    if spec.needs != "samples":
        raise ValueError(f"{name!r} is not a sample metric (it needs the {spec.needs})")
    return spec.build(MetricContext(dataset, prepared_root, s))


def _guarded(name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return compute()
    except MetricUnavailable as err:
        return unavailable(name, str(err))
    except Exception as err:  # noqa: BLE001 - one failing metric must not lose the others
        traceback.print_exc(file=sys.stderr)
        return unavailable(name, f"failed: {type(err).__name__}: {err}")


def run_sample_metrics(
    images: torch.Tensor | Callable[[int], torch.Tensor],
    dataset: str,
    prepared_root: str | Path,
    s: EvalSettings,
) -> dict[str, Any]:
    """Run every requested sample metric on the same images.

    Args:
        images: Images in [-1, 1] (N, C, H, W), or a function returning the first n of them.
        dataset: Dataset name.
        prepared_root: Folder of prepared splits.
        s: The settings.

    Returns:
        The merged flat dicts.

    """
    out: dict[str, Any] = {}
    for name in s.wanted("samples"):
        n = metric_spec(name).sample_count(s)

        def compute(name: str = name, n: int = n) -> dict[str, Any]:
            metric = build_sample_metric(name, dataset, prepared_root, s)
            batch = images(n) if callable(images) else images[:n]
            return metric(batch)

        out.update(_guarded(name, compute))
    return out


def evaluate_checkpoint(
    checkpoint_path: str | Path,
    prepared_root: str | Path,
    out_path: str | Path | None,
    settings: EvalSettings,
) -> dict[str, Any]:
    """Compute every requested metric of a trained checkpoint and write one JSON file.

    Args:
        checkpoint_path: Checkpoint written by the training loop.
        prepared_root: Folder of prepared splits.
        out_path: JSON output (None: do not write).
        settings: The evaluation settings.

    Returns:
        The record: model identity, settings, versions and the flat ``metrics`` dict.

    """
    from pipelines.checkpoint import load_model

    s = settings
    model, meta = load_model(checkpoint_path, map_location=s.device)
    dataset = meta["dataset"]
    metrics: dict[str, Any] = {}
    # Model metrics in declaration order, whatever order they were chosen in.
    on_model = [name for name in metric_names() if name in s.wanted("model")]
    if on_model:
        test = load_split(prepared_root, dataset, "test")
        context = MetricContext(dataset, prepared_root, s)
        for name in on_model:

            def compute(name: str = name) -> dict[str, Any]:
                return metric_spec(name).build(context)(model, test)

            metrics.update(_guarded(name, compute))
    if s.wanted("samples"):
        n_max = max(s.num_samples, s.num_afd_samples or 0)
        samples = generate(model, n_max, s.seed, s.gen_batch_size, progress=s.progress)
        metrics["samples_num"] = n_max
        metrics["samples_seed"] = s.seed
        metrics.update(run_sample_metrics(samples, dataset, prepared_root, s))
    record = {
        "checkpoint": str(checkpoint_path),
        "model": meta.get("model_label") or meta.get("model_name"),
        "model_class": meta.get("model_name"),
        "dataset": dataset,
        "epoch": meta.get("epoch"),
        "step": meta.get("step"),
        "config": meta.get("config"),
        "eval_settings": s.to_dict(),
        "versions": {p: version_of(p) for p in ("torch", "pytorch-fid", "clean-fid", "scipy")},
        "runtime": describe(s.device),  # device, GPU, CUDA, TF32, determinism, cpu_threads
        "metrics": metrics,
    }
    if out_path is not None:
        write_json_atomic(out_path, record)
    return record


def measure_cost(model: GenerativeModel, test: np.ndarray, s: EvalSettings) -> dict[str, Any]:
    """The ``cost`` metric: spiking cost of reconstructing and sampling the first test images."""
    n = min(s.num_cost_samples, len(test))
    x = to_model_range(torch.from_numpy(test[:n])).permute(0, 3, 1, 2).contiguous().to(s.device)
    model.eval()
    gen = torch.Generator(device=s.device).manual_seed(s.seed)
    out = SpikingCost("recon")(model, lambda: model.reconstruct(x, generator=gen), n)
    gen = torch.Generator(device=s.device).manual_seed(s.seed)
    out.update(SpikingCost("sample")(model, lambda: model.sample(n, generator=gen), n))
    return out


def score_images(
    images_uint8: np.ndarray,
    dataset: str,
    prepared_root: str | Path,
    settings: EvalSettings,
    preprocessing: str = "uint8 pixels as given, no conversion",
) -> dict[str, Any]:
    """Score an image set from any source with every requested sample metric.

    Args:
        images_uint8: uint8 (N, H, W, C) images at the dataset's model resolution, e.g. from
            ``pipelines.metrics.image_input.load_for_scoring``.
        dataset: Dataset whose reference the images are scored against.
        prepared_root: Folder of prepared splits.
        settings: The settings (each metric uses its first ``num_samples`` images).
        preprocessing: What was done to the user's images (recorded with every metric).

    Returns:
        ``{"dataset", "num_images", "eval_settings", "metrics": {flat}}``.

    Raises:
        ImageInputError: On images off the model resolution, or fewer than a metric's count.

    """
    s = dataclasses.replace(settings, metrics=settings.wanted("samples"))
    # Checked before any network is built: a wrong input must never produce a number.
    check_model_images(images_uint8, dataset)
    check_sample_counts(len(images_uint8), s.metrics, s.num_samples, s.num_afd_samples)
    images = to_model_range(torch.from_numpy(np.ascontiguousarray(images_uint8)))
    images = images.permute(0, 3, 1, 2).contiguous()
    metrics = run_sample_metrics(images, dataset, prepared_root, s)
    metrics.update(preprocessing_fields(s.metrics, preprocessing))
    return {
        "dataset": dataset,
        "num_images": int(images.shape[0]),
        "image_shape": list(images.shape[1:]),
        "input_preprocessing": preprocessing,
        "eval_settings": s.to_dict(),
        "runtime": describe(s.device),
        "metrics": metrics,
    }
