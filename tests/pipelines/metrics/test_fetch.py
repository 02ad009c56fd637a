"""Asset fetching against a real HTTP server on 127.0.0.1 (standard library, in a thread).

The server serves a folder in the mirror layout ``<host>/<path>``; the store's download
base points at it, exactly as ``$FSVAE_ASSET_URL`` does for a user's static mirror.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.metrics.assets import ASSETS, DATASETS, Asset, assets_for, get_asset
from pipelines.metrics.fetch import (
    MIRROR_ENV,
    URL_ENV,
    AssetCorrupt,
    AssetStore,
    AssetUnavailable,
)
from pipelines.metrics.protocol import git_blob_id


@dataclass
class Server:
    """What the test server serves and what it was asked."""

    root: Path
    base: str = ""
    requests: list[str] = field(default_factory=list)
    drop: dict[str, int] = field(default_factory=dict)  # URL path -> times to cut mid-file


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    state = Server(tmp_path / "served")
    state.root.mkdir()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state.requests.append(self.path)
            path = state.root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if state.drop.get(self.path, 0) > 0:
                state.drop[self.path] -= 1
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True  # the server hangs up mid-file
                return
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _asset(content: bytes, name: str = "demo") -> Asset:
    # A declared asset for bytes made here (only the fetch mechanics are under test).
    digest = hashlib.sha1(f"blob {len(content)}\0".encode() + content).hexdigest()
    url = f"https://files.example.org/pinned/abc123/{name}.bin"
    return Asset(name, url, "git-blob", digest, len(content), "demo file", ("x",), "test")


def _serve(server: Server, asset: Asset, content: bytes) -> str:
    path = server.root / asset.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return "/" + asset.rel


def _store(server: Server, cache: Path, **kw: object) -> AssetStore:
    return AssetStore(cache_dir=cache, base_url=server.base, progress=False, **kw)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


CONTENT = os.urandom(300_000)


def test_download_verifies_caches_and_the_second_run_asks_nothing(server, tmp_path):
    asset = _asset(CONTENT)
    url_path = _serve(server, asset, CONTENT)
    store = _store(server, tmp_path / "cache")
    first = store.provide(asset)
    assert first.how == f"downloaded from {server.base}{url_path}"
    assert first.path == tmp_path / "cache" / "files.example.org/pinned/abc123/demo.bin"
    assert first.path.read_bytes() == CONTENT and git_blob_id(first.path) == asset.digest
    second = store.provide(asset)
    assert second.how == "cached" and second.path == first.path
    assert server.requests == [url_path]  # one request in all
    assert _files(tmp_path / "cache") == [first.path]


def test_one_flipped_byte_is_refused_and_nothing_is_cached(server, tmp_path):
    asset = _asset(CONTENT)
    flipped = bytearray(CONTENT)
    flipped[1234] ^= 0x01
    _serve(server, asset, bytes(flipped))
    wrong = hashlib.sha1(f"blob {len(flipped)}\0".encode() + bytes(flipped)).hexdigest()
    with pytest.raises(AssetCorrupt) as err:
        _store(server, tmp_path / "cache").provide(asset)
    message = str(err.value)
    assert "demo.bin" in message and asset.digest in message and wrong in message
    assert "\n" not in message
    assert _files(tmp_path / "cache") == []


def test_404_gives_one_line_and_nothing_cached(server, tmp_path):
    asset = _asset(CONTENT)
    with pytest.raises(AssetUnavailable) as err:
        _store(server, tmp_path / "cache").provide(asset)
    message = str(err.value)
    assert "HTTP 404" in message and asset.url in message and "\n" not in message
    assert _files(tmp_path / "cache") == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_gives_one_line(tmp_path):
    asset = _asset(CONTENT)
    store = AssetStore(
        cache_dir=tmp_path / "cache", base_url=f"http://127.0.0.1:{_closed_port()}", progress=False
    )
    with pytest.raises(AssetUnavailable, match="cannot reach .*refused") as err:
        store.provide(asset)
    assert "\n" not in str(err.value) and _files(tmp_path / "cache") == []


def test_interrupted_download_leaves_nothing_and_the_next_run_completes(server, tmp_path):
    asset = _asset(CONTENT)
    url_path = _serve(server, asset, CONTENT)
    server.drop[url_path] = 1
    store = _store(server, tmp_path / "cache", retries=1)
    with pytest.raises(AssetUnavailable, match="dropped 1 times .*closed after 150000 of 300000"):
        store.provide(asset)
    assert _files(tmp_path / "cache") == []  # no partial file, no temporary left
    assert store.provide(asset).path.read_bytes() == CONTENT
    assert len(server.requests) == 2


def test_a_dropped_connection_is_retried_within_one_run(server, tmp_path):
    asset = _asset(CONTENT)
    url_path = _serve(server, asset, CONTENT)
    server.drop[url_path] = 2
    fetched = _store(server, tmp_path / "cache", retries=3).provide(asset)
    assert fetched.path.read_bytes() == CONTENT and len(server.requests) == 3


def test_a_cache_file_changed_after_download_is_refetched_or_refused(server, tmp_path):
    asset = _asset(CONTENT)
    _serve(server, asset, CONTENT)
    store = _store(server, tmp_path / "cache")
    path = store.provide(asset).path
    path.write_bytes(CONTENT[:-1] + b"\0")
    again = store.provide(asset)  # online: detected, removed, downloaded again
    assert again.how.startswith("downloaded") and path.read_bytes() == CONTENT
    assert len(server.requests) == 2
    path.write_bytes(b"tampered")
    offline = AssetStore(cache_dir=tmp_path / "cache", online=False, progress=False)
    with pytest.raises(AssetUnavailable, match="had changed .* and was removed; offline"):
        offline.provide(asset)
    assert not path.exists()  # never left for a later reader


def test_stale_temporaries_of_dead_fetches_are_removed(tmp_path):
    cache = tmp_path / "cache" / "host"
    cache.mkdir(parents=True)
    dead = cache / ".demo.bin.999999999.deadbeef.tmp"
    live = cache / f".demo.bin.{os.getpid()}.cafef00d.tmp"
    dead.write_bytes(b"x")
    live.write_bytes(b"x")
    assert AssetStore(cache_dir=tmp_path / "cache").clean_stale() == [dead]
    assert live.exists() and not dead.exists()


def test_manifest_declares_every_asset_once():
    names = [a.name for a in ASSETS]
    assert len(names) == len(set(names)) == 14
    for kind in ("fid_stats", "ae_weights", "ae_stats"):
        assert {a.dataset for a in ASSETS if a.name.startswith(kind + "/")} == set(DATASETS)
    for asset in ASSETS:
        assert asset.url.startswith("https://") and asset.url.endswith(asset.rel)
        if asset.dataset:  # the authors' files, at the pinned commit
            assert "/raw/ffadb3d4bf4fe02927acb241ac11e6ad693c22dc/metrics/" in asset.url
            assert asset.kind == "git-blob" and len(asset.digest) == 40
    assert get_asset("is_weights").digest == "0cc3c7bd"
    assert {a.name for a in assets_for("mnist")} == {
        "fid_weights",
        "is_weights",
        "fid_stats/mnist",
        "ae_weights/mnist",
        "ae_stats/mnist",
    }


def test_command_without_any_source_lists_each_missing_file_once(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.chdir(tmp_path)
    assert main(["assets", "--dataset", "celeba", "--no-progress"]) == 0
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == len(assets_for("celeba")) and "Traceback" not in err
    for asset, line in zip(assets_for("celeba"), lines, strict=True):
        assert line.startswith(f"missing  {asset.name}:") and asset.url in line
        assert f"cache/assets/{asset.rel}" in line and f"${MIRROR_ENV}/{asset.rel}" in line
        assert str(tmp_path) not in line
    status = json.loads((tmp_path / "cache/assets/status.json").read_text())
    assert [s["available"] for s in status] == [False] * len(lines)


def test_command_downloads_from_the_url_base_then_reuses_the_cache(server, tmp_path, monkeypatch):
    # The real manifest entries, served by the test server (bytes from the asset mirror).
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        pytest.skip(f"{MIRROR_ENV} is not set: the authors' MNIST statistics come from it")
    asset = get_asset("ae_stats/mnist")
    _serve(server, asset, (Path(mirror) / asset.rel).read_bytes())
    monkeypatch.delenv(MIRROR_ENV)
    monkeypatch.chdir(tmp_path)
    argv = ["assets", "--dataset", "mnist", "--url", server.base, "--no-progress"]
    assert main(argv) == 0
    assert main(argv) == 0
    assert server.requests.count("/" + asset.rel) == 1  # the second run asked nothing of it
    cached = tmp_path / "cache/assets" / asset.rel
    assert git_blob_id(cached) == asset.digest


def test_offline_copy_from_the_real_asset_mirror(asset_mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["assets", "--dataset", "mnist", "--offline", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    for name in ("ae_weights/mnist", "ae_stats/mnist"):
        asset = get_asset(name)
        assert f"ok       {name}: copied from ${MIRROR_ENV}" in out
        assert git_blob_id(tmp_path / "cache/assets" / asset.rel) == asset.digest
    # What the mirror lacks is listed with its URL and place; the command still succeeds.
    for name in ("fid_weights", "is_weights", "fid_stats/mnist"):
        if not (asset_mirror / get_asset(name).rel).is_file():
            assert f"missing  {name}:" in err and get_asset(name).url in err
    assert "Traceback" not in err and str(asset_mirror) not in out + err
