"""Fetch, verify and cache every external file the metrics need (a pipeline stage).

Each asset of the manifest (``pipelines/metrics/assets.py``: FID and IS Inception
weights, the authors' clean-fid statistics, autoencoders and their statistics) lands
at ``CACHE_DIR/<host>/<path of its URL>`` after its hash matched. Sources: the cache
itself (verified again), a local mirror in the same layout (``--mirror`` /
``assets.mirror`` / ``$FSVAE_ASSET_MIRROR``), then a download from the original URL
or from ``--url`` / ``assets.url`` / ``$FSVAE_ASSET_URL`` + ``/<host>/<path>``.
A file no source has is listed once with its URL and the place to put it; the
command still succeeds and the metrics that need it are recorded as unavailable. A
file served with the wrong hash is refused and makes the command fail (exit 1).
Writes ``CACHE_DIR/status.json``: each asset's availability or reason (no timestamps, so
an unchanged cache keeps its hash).

Example: ``fsvae-bench assets --dataset mnist --offline``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.data.atomic import write_json_atomic
from pipelines.metrics.assets import ASSETS, assets_for
from pipelines.metrics.fetch import DEFAULT_CACHE, AssetCorrupt, AssetStore, AssetUnavailable
from pipelines.options import add_dataset_argument
from pipelines.params import load_params

HELP = "fetch, verify and cache the metric assets (weights, authors' statistics)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    add_dataset_argument(parser, required=False, what="only this dataset's assets (default all)")
    parser.add_argument("--offline", action="store_true", help="never download; mirror only")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE, help="asset cache folder")
    parser.add_argument("--mirror", help="local mirror <host>/<path> (default $FSVAE_ASSET_MIRROR)")
    parser.add_argument("--url", help="download base URL instead of the original hosts")
    parser.add_argument("--params", help="read assets.mirror and assets.url from this file")
    parser.add_argument("--no-progress", action="store_true", help="hide download progress")


def run(args: argparse.Namespace) -> int:
    """Provide every asset; print one line each; write the status file."""
    section = (load_params(args.params).get("assets") or {}) if args.params else {}
    store = AssetStore.configure(
        cache_dir=args.cache_dir,
        mirror=args.mirror or section.get("mirror"),
        base_url=args.url or section.get("url"),
        online=not args.offline,
        progress=not args.no_progress,
    )
    store.clean_stale()
    status, corrupt = [], 0
    for asset in assets_for(args.dataset):
        entry = {"name": asset.name, "path": asset.rel, asset.kind: asset.digest}
        try:
            fetched = store.provide(asset)
            print(f"ok       {asset.name}: {fetched.how} -> {store.target(asset)}")
            entry["available"] = True
        except AssetCorrupt as err:
            corrupt += 1
            print(f"REFUSED  {asset.name}: {err}", file=sys.stderr)
            entry.update(available=False, reason=str(err))
        except AssetUnavailable as err:
            print(f"missing  {asset.name}: {err}", file=sys.stderr)
            entry.update(available=False, reason=str(err))
        status.append(entry)
    _write_status(store.cache_dir / "status.json", status)
    return 1 if corrupt else 0


def _write_status(path: Path, entries: list[dict]) -> None:
    # Merge with earlier runs (e.g. another --dataset), in manifest order.
    known = {}
    if path.is_file():
        known = {e["name"]: e for e in json.loads(path.read_text()) if "name" in e}
    known.update({e["name"]: e for e in entries})
    ordered = [known[a.name] for a in ASSETS if a.name in known]
    write_json_atomic(path, ordered)
