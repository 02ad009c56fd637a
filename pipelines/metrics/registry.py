"""Every metric, declared once: what it needs, how many images, where it is reported.

A :class:`MetricSpec` is the whole declaration of a metric. The evaluator
(:mod:`pipelines.metrics.evaluate`: ``evaluate`` and ``score``), the sample-count checks of
``score``, the CLI's metric list, the tables (:mod:`pipelines.report.measurements`) and the
leaderboard rules (:mod:`pipelines.report.leaderboard_rules`) all read :func:`metric_specs`;
none of them names a metric. docs/adding-a-metric.md shows how to add one.

The metric classes are imported inside the builders: the tables, the leaderboard and
``--help`` read the declarations without loading torch or a feature network.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAPER_PROTOCOL = "fsvae-paper"
# Extra metrics from outside the package (docs/adding-a-metric.md): "module:ATTRIBUTE,...",
# each attribute a MetricSpec or a sequence of them.
EXTRA_METRICS_ENV = "FSVAE_EXTRA_METRICS"
NEEDS = ("model", "samples")
# The paper's Table 1 columns, in its order; a variant fills one (or none: leaderboard only).
TABLE1_METRICS = ("recon_mse", "IS", "FID", "FAD")


@dataclass(frozen=True)
class Variant:
    """Where a metric's value is reported: its Table 1 column and leaderboard protocol fields.

    Attributes:
        key: Key in our metrics JSON (``fid_paper``): the metric's name.
        metric: Table 1 / quoted metric name (``FID``).
        protocol: Protocol name in the leaderboard (``fsvae-paper`` = the reference's code).
        network: Feature network, as written in the leaderboard.
        label: Short human label used in tables and figures.
        paper_count: The reference protocol's count (docs/reference.md §5.5), or "all" for the
            whole test split; only meaningful for paper-protocol variants.
        reference: What the samples are compared with, when fixed by the variant
            (``authors' statistics``, ``none``); "" = a test split (``TEST_SPLITS``).
        on_test_split: Computed on test images themselves (reconstructions): its count is
            ``num_images`` and its reference a bare split, with no image count.
        hashed_network: The network is told apart by its weights' sha256 (our own
            autoencoders), written after ``network`` in the leaderboard.

    """

    key: str
    metric: str
    protocol: str
    network: str
    label: str
    paper_count: str = ""
    reference: str = ""
    on_test_split: bool = False
    hashed_network: bool = False

    @property
    def is_paper_protocol(self) -> bool:
        """Whether numbers of this variant are comparable in protocol with Table 1."""
        return self.protocol == PAPER_PROTOCOL

    @property
    def count_field(self) -> str:
        """The protocol field holding the number of images the value came from."""
        return "num_images" if self.on_test_split else "num_gen"


@dataclass(frozen=True)
class MetricContext:
    """What a builder gets: the dataset, the prepared data and the evaluation settings."""

    dataset: str
    prepared_root: str | Path
    settings: Any  # pipelines.metrics.evaluate.EvalSettings (imported there, not here)


@dataclass(frozen=True)
class MetricSpec:
    """The one declaration of a metric.

    Attributes:
        name: Key of its value in the metrics JSON (``<name>``, ``<name>_<field>``, and
            ``<name>_unavailable`` with the reason when it cannot run).
        needs: ``"samples"``: images in [-1, 1] (N, C, H, W), generated or given to
            ``score``; ``"model"``: the trained model and the prepared test split (uint8
            NHWC), ``evaluate`` only.
        build: ``build(context)`` returns the computation: ``f(images)`` for samples,
            ``f(model, test)`` for a model metric, each returning the flat dict. Raise
            :class:`pipelines.metrics.protocol.MetricUnavailable` when it cannot run here.
        help: One line for ``--help``: what it measures and the networks or assets it needs.
        count_setting: The :class:`EvalSettings` field with its image count (a sample
            metric; ``num_afd_samples`` falls back to ``num_samples`` when unset).
        uses_inception: Runs an Inception network (``score`` estimates its CPU time).
        variant: Its Table 1 column and leaderboard fields (None: in the JSON only).

    """

    name: str
    needs: str
    build: Callable[[MetricContext], Callable[..., dict[str, Any]]]
    help: str
    count_setting: str = "num_samples"
    uses_inception: bool = False
    variant: Variant | None = None

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"metric {self.name!r}: needs must be one of {NEEDS}")
        if self.variant is not None and self.variant.key != self.name:
            raise ValueError(f"metric {self.name!r}: its variant's key is {self.variant.key!r}")

    def sample_count(self, settings: Any) -> int:
        """Images this sample metric uses under ``settings``."""
        return getattr(settings, self.count_setting) or settings.num_samples

    def count_option(self, settings: Any) -> str:
        """The command-line option that set :meth:`sample_count`."""
        if self.count_setting != "num_samples" and getattr(settings, self.count_setting):
            return "--" + self.count_setting.replace("_", "-")
        return "--num-samples"


def _fid(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.fid import FID, InceptionFeatures, ReferenceStats

    s = ctx.settings
    features = InceptionFeatures(s.fid_weights_file(), s.batch_size, s.device, s.progress)
    stats = ReferenceStats(ctx.dataset, ctx.prepared_root, s.cache_dir, "test", s.num_ref)
    return FID(features, stats)


def _fid_paper(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.clean_fid import CleanFIDPaper

    s = ctx.settings
    weights, stats, store = s.fid_weights_file(), s.paper_fid_stats, s.asset_store()
    return CleanFIDPaper(ctx.dataset, stats, weights, s.batch_size, s.device, s.progress, store)


def _inception_score(variant: str) -> Callable[[MetricContext], Callable[..., dict[str, Any]]]:
    def build(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
        from pipelines.metrics.inception import resolve_is_weights
        from pipelines.metrics.inception_score import InceptionScore

        s = ctx.settings
        weights = resolve_is_weights(s.is_weights, s.asset_store())
        return InceptionScore(weights, variant, s.is_splits, s.batch_size, s.device, s.progress)

    return build


def _afd_paper(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.afd import AutoencoderFD

    s = ctx.settings
    return AutoencoderFD(ctx.dataset, "paper", s.asset_store(), s.paper_ae_weights)


def _afd_own(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.afd import AutoencoderFD
    from pipelines.metrics.autoencoder_identity import published_for, verified_path
    from pipelines.metrics.protocol import MetricUnavailable

    s = ctx.settings
    own = s.own_ae or Path(s.cache_dir) / "autoencoders" / f"{ctx.dataset}.pt"
    if not s.own_ae and not Path(own).is_file():
        # No autoencoder stage ran here: the published network, if it fits the data.
        ref, _ = published_for(ctx.dataset, ctx.prepared_root)
        if ref is not None:
            try:
                own = verified_path(ref)
            except (OSError, ValueError) as err:
                raise MetricUnavailable(str(err)) from None
            # Recorded in afd_own_ref_stats: no machine's folder in a shared record.
            if own.is_relative_to(Path.cwd()):
                own = own.relative_to(Path.cwd())
    return AutoencoderFD(ctx.dataset, "own", own_path=own)


def _recon_mse(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.recon import ReconstructionMSE

    s = ctx.settings
    recon = ReconstructionMSE("test", s.gen_batch_size, s.seed, s.device, s.progress)
    return lambda model, test: recon(model, test if s.num_recon is None else test[: s.num_recon])


def _cost(ctx: MetricContext) -> Callable[..., dict[str, Any]]:
    from pipelines.metrics.evaluate import measure_cost

    return lambda model, test: measure_cost(model, test, ctx.settings)


_AE = "autoencoder"
BUILTIN = (
    MetricSpec(
        "recon_mse",
        "model",
        _recon_mse,
        "reconstruction MSE in [-1, 1] on the test split",
        variant=Variant(
            "recon_mse", "recon_mse", PAPER_PROTOCOL, "none", "MSE in [-1, 1], test split", "all",
            on_test_split=True,
        ),
    ),
    MetricSpec(
        "cost", "model", _cost, "firing rates, synaptic operations, energy estimate (no files)"
    ),
    MetricSpec(
        "fid",
        "samples",
        _fid,
        "FID, pytorch-fid protocol (FID Inception weights; our reference statistics)",
        uses_inception=True,
        variant=Variant(
            "fid", "FID", "pytorch-fid", "FID Inception TF 2015-12-05, pytorch-fid",
            "FID, pytorch-fid (our reference stats)",
        ),
    ),
    MetricSpec(
        "fid_paper",
        "samples",
        _fid_paper,
        "FID as the paper ran it: clean-fid (FID Inception weights; the authors' statistics)",
        uses_inception=True,
        variant=Variant(
            "fid_paper", "FID", PAPER_PROTOCOL, "FID Inception TF 2015-12-05, clean-fid clean mode",
            "FID, paper protocol (clean-fid, authors' stats)", "5000", "authors' statistics",
        ),
    ),
    MetricSpec(
        "is",
        "samples",
        _inception_score("standard"),
        "Inception Score, standard (torchvision's ImageNet inception_v3 weights)",
        uses_inception=True,
        variant=Variant(
            "is", "IS", "standard-IS", "torchvision inception_v3 (ImageNet), normalised",
            "IS, standard", reference="none",
        ),
    ),
    MetricSpec(
        "is_paper",
        "samples",
        _inception_score("paper"),
        "Inception Score as the paper ran it (torchvision's ImageNet inception_v3 weights)",
        uses_inception=True,
        variant=Variant(
            "is_paper", "IS", PAPER_PROTOCOL,
            "torchvision inception_v3 (ImageNet), un-normalised [0, 255] input",
            "IS, paper protocol", "2560", "none",
        ),
    ),
    MetricSpec(
        "afd_paper",
        "samples",
        _afd_paper,
        f"{_AE} Frechet distance with the authors' {_AE} and statistics (assets)",
        count_setting="num_afd_samples",
        variant=Variant(
            "afd_paper", "FAD", PAPER_PROTOCOL, "authors' autoencoder (FSVAE repository)",
            "AFD, authors' autoencoder", "5120", "authors' statistics",
        ),
    ),
    MetricSpec(
        "afd_own",
        "samples",
        _afd_own,
        f"{_AE} Frechet distance with our {_AE} (the {_AE} stage's file, else the published one)",
        count_setting="num_afd_samples",
        variant=Variant(
            "afd_own", "FAD", "own-autoencoder", "our autoencoder", "AFD, our autoencoder",
            hashed_network=True,
        ),
    ),
)  # fmt: skip


def _extra_specs(text: str) -> list[MetricSpec]:
    out: list[MetricSpec] = []
    for ref in filter(None, (part.strip() for part in text.split(","))):
        module, _, attr = ref.partition(":")
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as err:
            raise ValueError(f"${EXTRA_METRICS_ENV}: cannot load {ref!r}: {err}") from err
        specs = [found] if isinstance(found, MetricSpec) else list(found)
        if not all(isinstance(s, MetricSpec) for s in specs):
            raise ValueError(f"${EXTRA_METRICS_ENV}: {ref!r} is not a MetricSpec (or a tuple)")
        out.extend(specs)
    return out


def metric_specs() -> tuple[MetricSpec, ...]:
    """Every metric: the built-in ones, then those named by ``$FSVAE_EXTRA_METRICS``.

    Raises:
        ValueError: On an extra metric that cannot be loaded or reuses a name.

    """
    specs = (*BUILTIN, *_extra_specs(os.environ.get(EXTRA_METRICS_ENV, "")))
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"metric name(s) {repeated} declared twice (${EXTRA_METRICS_ENV})")
    return specs


def metric_names() -> tuple[str, ...]:
    """Every metric's name, in evaluation order."""
    return tuple(s.name for s in metric_specs())


def metric_spec(name: str) -> MetricSpec:
    """The declaration of one metric (ValueError naming the known ones)."""
    for spec in metric_specs():
        if spec.name == name:
            return spec
    raise ValueError(f"unknown metric {name!r}; choose from {list(metric_names())}")


def resolve_metrics(chosen: str | Iterable[str]) -> list[str]:
    """Turn ``"all"``, ``"a,b"`` or a list into metric names, refusing unknown ones.

    Raises:
        ValueError: Naming the unknown metric(s) and the known ones.

    """
    names = [m.strip() for m in chosen.split(",")] if isinstance(chosen, str) else list(chosen)
    names = [m for m in names if m]
    if names == ["all"]:
        return list(metric_names())
    unknown = sorted(set(names) - set(metric_names()))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(metric_names())}")
    return names


def variants() -> tuple[Variant, ...]:
    """The reported variants in Table 1 order: per column, the paper protocol's first."""
    found = [s.variant for s in metric_specs() if s.variant is not None]

    def order(v: Variant) -> tuple[int, bool]:
        column = TABLE1_METRICS.index(v.metric) if v.metric in TABLE1_METRICS else 99
        return column, not v.is_paper_protocol

    return tuple(sorted(found, key=order))  # stable: declaration order within a column
