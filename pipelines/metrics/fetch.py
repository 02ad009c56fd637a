"""Provide the manifest's assets: verified cache, offline mirror copy, or download.

A file reaches its cache place ``<cache>/<host>/<path>`` only after its hash matched
the manifest: it is written to a temporary sibling, verified, then renamed (readers
never see a partial or wrong file). The cache is verified again on every use; a file
that changed after download is removed and fetched again. Sources, in order: a local
mirror (``$FSVAE_ASSET_MIRROR``, same layout), then the download, from the original
URL or from ``$FSVAE_ASSET_URL/<host>/<path>``. torch hub's ``download_url_to_file``
is not used because it has no timeout and moves a short read into place when the
server closes early; here a short read is retried and never renamed.
"""

from __future__ import annotations

import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from pipelines.data.atomic import atomic_target
from pipelines.metrics.assets import Asset
from pipelines.metrics.protocol import MetricUnavailable

MIRROR_ENV = "FSVAE_ASSET_MIRROR"
URL_ENV = "FSVAE_ASSET_URL"
DEFAULT_CACHE = "cache/assets"
_CHUNK = 1 << 20


class AssetUnavailable(MetricUnavailable):  # noqa: N818 - a metric's unavailable signal
    """An asset cannot be had here; the message says where to get it and where to put it."""


class AssetCorrupt(AssetUnavailable):
    """A file's hash differs from the manifest's; the message names the file and both hashes."""


class _Dropped(Exception):  # noqa: N818 - internal retry signal
    """The connection dropped mid-transfer (worth retrying)."""


@dataclass(frozen=True)
class Fetched:
    """Where an asset is and how it got there.

    Attributes:
        path: The verified file in the cache.
        how: ``cached``, ``copied from <mirror>`` or ``downloaded from <url>``.

    """

    path: Path
    how: str


def _shown(path: Path) -> str:
    # Messages and records name paths relative to the project, never this machine's root.
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(path)


@dataclass(frozen=True)
class AssetStore:
    """The asset cache and where missing files come from.

    Attributes:
        cache_dir: Cache root (project-relative ``cache/assets`` by default).
        mirror: Local mirror root (layout ``<host>/<path>``), or None.
        mirror_label: How messages name the mirror (``$FSVAE_ASSET_MIRROR`` when it came
            from the environment, so no machine path lands in a record).
        base_url: Download base replacing the original host (``BASE/<host>/<path>``).
        online: Whether downloading is allowed.
        retries: Attempts per download when the connection drops mid-file.
        timeout_s: Socket timeout of a download.
        progress: Show a progress bar while downloading.

    """

    cache_dir: Path = Path(DEFAULT_CACHE)
    mirror: Path | None = None
    mirror_label: str = f"${MIRROR_ENV}"
    base_url: str | None = None
    online: bool = True
    retries: int = 3
    timeout_s: float = 30.0
    progress: bool = True

    @classmethod
    def configure(
        cls,
        cache_dir: str | Path | None = None,
        mirror: str | Path | None = None,
        base_url: str | None = None,
        online: bool = True,
        progress: bool = True,
    ) -> AssetStore:
        """Build a store; explicit values (flags, params) win over the environment.

        Args:
            cache_dir: Cache root (default ``cache/assets``).
            mirror: Mirror root (default ``$FSVAE_ASSET_MIRROR``).
            base_url: Download base (default ``$FSVAE_ASSET_URL``).
            online: Allow downloads.
            progress: Show progress bars.

        Returns:
            The store.

        """
        label = str(mirror) if mirror else f"${MIRROR_ENV}"
        mirror = mirror or os.environ.get(MIRROR_ENV) or None
        return cls(
            cache_dir=Path(cache_dir or DEFAULT_CACHE),
            mirror=Path(mirror) if mirror else None,
            mirror_label=label,
            base_url=(base_url or os.environ.get(URL_ENV) or None),
            online=online,
            progress=progress,
        )

    def target(self, asset: Asset) -> Path:
        """The asset's place in the cache."""
        return self.cache_dir / asset.rel

    def url_of(self, asset: Asset) -> str:
        """The URL a download uses: the original, or the same path under ``base_url``."""
        return f"{self.base_url.rstrip('/')}/{asset.rel}" if self.base_url else asset.url

    def path(self, asset: Asset) -> Path:
        """Return the verified cache file of an asset, fetching it if needed.

        Raises:
            AssetUnavailable: If it cannot be had (the message says where to put it).
            AssetCorrupt: If a source served a file with the wrong hash.

        """
        return self.provide(asset).path

    def provide(self, asset: Asset) -> Fetched:
        """Verify the cached file, or fetch it from the mirror or the download.

        A cached file with a wrong hash is removed before anything else happens, so it
        is never used.

        Args:
            asset: The declared asset.

        Returns:
            The verified file and how it got there.

        Raises:
            AssetUnavailable: If no source has it.
            AssetCorrupt: If a source served a file with the wrong hash.

        """
        target = self.target(asset)
        note = ""
        if target.is_file():
            found = asset.hash_of(target)
            if asset.matches(found):
                return Fetched(target, "cached")
            target.unlink()
            note = (
                f"cache file {_shown(target)} had changed ({asset.kind} {found}, expected "
                f"{asset.digest}) and was removed; "
            )
        if self.mirror is not None and (self.mirror / asset.rel).is_file():
            self._copy(asset, self.mirror / asset.rel, f"{self.mirror_label}/{asset.rel}")
            return Fetched(target, f"copied from {self.mirror_label}")
        if not self.online:
            why = "offline" + ("" if self.mirror is None else f" and not in {self.mirror_label}")
            raise AssetUnavailable(self.missing(asset, note + why))
        url = self.url_of(asset)
        self._download(asset, url, note)
        return Fetched(target, f"downloaded from {url}")

    def missing(self, asset: Asset, why: str) -> str:
        """One line: what is missing, why, its URL and the exact place to put it."""
        return (
            f"{asset.what} {asset.filename} ({asset.name}) is not available: {why}; download "
            f"{asset.url} to {_shown(self.target(asset))} (or put it at "
            f"${MIRROR_ENV}/{asset.rel}) and run `fsvae-bench assets`"
        )

    def _verify(self, asset: Asset, tmp: Path, shown: str) -> None:
        found = asset.hash_of(tmp)
        if not asset.matches(found):
            raise AssetCorrupt(
                f"{shown}: {asset.kind} {found} does not match the published {asset.digest} "
                f"({asset.filename}, {asset.name}); refused, nothing was cached"
            )

    def _copy(self, asset: Asset, src: Path, shown: str) -> None:
        self.target(asset).parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(self.target(asset)) as tmp:
            with open(src, "rb") as inp, open(tmp, "xb") as out:
                shutil.copyfileobj(inp, out, _CHUNK)
            self._verify(asset, tmp, shown)

    def _download(self, asset: Asset, url: str, note: str) -> None:
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                with atomic_target(self.target(asset)) as tmp:
                    self._transfer(asset, url, tmp)
                    self._verify(asset, tmp, url)
                return
            except _Dropped as err:
                last = str(err)
                if attempt < self.retries:
                    time.sleep(min(0.5 * attempt, 5.0))
            except urllib.error.HTTPError as err:
                raise AssetUnavailable(
                    self.missing(asset, f"{note}{url} answered HTTP {err.code} {err.reason}")
                ) from None
            except urllib.error.URLError as err:
                raise AssetUnavailable(
                    self.missing(asset, f"{note}cannot reach {urlsplit(url).netloc} ({err.reason})")
                ) from None
        raise AssetUnavailable(
            self.missing(asset, f"{note}download of {url} dropped {self.retries} times ({last})")
        )

    def _transfer(self, asset: Asset, url: str, tmp: Path) -> None:
        request = urllib.request.Request(url, headers={"User-Agent": "fsvae-bench"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                length = resp.headers.get("Content-Length")
                total = int(length) if length else asset.size
                got = 0
                tmp.parent.mkdir(parents=True, exist_ok=True)  # only once a server answered
                with (
                    open(tmp, "xb") as out,
                    tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=asset.filename,
                        disable=not self.progress,
                    ) as bar,
                ):
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        got += len(chunk)
                        bar.update(len(chunk))
        except (http.client.HTTPException, ConnectionError, TimeoutError) as err:
            raise _Dropped(f"{type(err).__name__}: {err}") from None
        # http.client ends a sized read early without an error when the peer closes.
        if length and got != int(length):
            raise _Dropped(f"connection closed after {got} of {length} bytes")

    def clean_stale(self) -> list[Path]:
        """Remove temporary files that a killed fetch left behind (their process is gone).

        Returns:
            The removed files.

        """
        removed = []
        for tmp in self.cache_dir.rglob(".*.tmp") if self.cache_dir.is_dir() else []:
            parts = tmp.name.rsplit(".", 3)  # .<name>.<pid>.<uuid>.tmp
            pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None
            if pid is None or not _alive(pid):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
