"""Seeded fuzzing of score's image loader and ``leaderboard add`` with malformed inputs.

Each case must end in a valid result or in the error the CLI prints as one line
(``ValueError`` / ``FileNotFoundError``, exit 2), and must leave every existing file
byte-for-byte unchanged (``add`` may only append after a fully valid input). The loader
and ``add_rows`` are called in-process; a few cases go through ``main(argv)`` as well.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from benchcore.datasets import dataset_shape
from pipelines.cli import main
from pipelines.data import DATASETS
from pipelines.metrics import evaluate
from pipelines.metrics.image_input import VALUE_RANGES, InputOptions, load_for_scoring
from pipelines.metrics.registry import variants
from pipelines.report.leaderboard import quoted_rows, read_csv, to_csv_text
from pipelines.report.leaderboard_commands import add_rows, validate_row
from pipelines.report.measurements import TEST_SPLITS

REPO = Path(__file__).resolve().parents[2]
QUOTED = REPO / "quoted" / "published-results.csv"
CASES = 240
CLEAR_ERRORS = (ValueError, FileNotFoundError)  # what the CLI reports in one line, exit 2
DTYPES = ("uint8", "int8", "int16", "int64", "uint16", "float16", "float32", "float64", "bool")
DTYPES += ("complex64",)
SIZES = (0, 1, 3, 20, 28, 32, 64)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def random_array(rng: np.random.Generator, dataset: str) -> np.ndarray:
    channels, height, width = dataset_shape(dataset)
    near = rng.random() < 0.6  # near the protocol, so valid results are exercised too
    if near:
        hw = [(height, width), (28, 28), (32, 32)][rng.integers(3)]
        c = channels if rng.random() < 0.7 else 4 - channels
        shape: tuple[int, ...] = (int(rng.integers(1, 4)), *hw, c)
        shape = shape[:3] if rng.random() < 0.3 else shape
    else:
        dims = [int(rng.choice(SIZES)) for _ in range(rng.integers(0, 6))]
        while np.prod(dims) > 50_000:  # small arrays keep the test fast
            dims[int(np.argmax(dims))] = 1
        shape = tuple(dims)
    odd = rng.random() < (0.3 if near else 0.6)
    dtype = np.dtype(DTYPES[rng.integers(len(DTYPES))] if odd else "uint8")
    lo, hi = [(0, 1), (-1, 1), (0, 255), (-1e30, 1e30)][rng.integers(4)]
    values = rng.uniform(lo, hi, size=shape)
    if dtype.kind == "f" and values.size and rng.random() < 0.3:
        values.flat[rng.integers(values.size)] = [np.nan, np.inf, -np.inf, 1e300][rng.integers(4)]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(values, info.min, info.max)
    with np.errstate(invalid="ignore", over="ignore"):
        return values.astype(dtype)


def write_image_case(rng: np.random.Generator, folder: Path, dataset: str) -> Path:
    """Write one (mostly malformed) image set and return the path to give the loader."""
    kind = int(rng.integers(10))
    path = folder / "set.npz"
    buffer = io.BytesIO()
    np.savez(buffer, images=random_array(rng, dataset))
    valid_npz = buffer.getvalue()
    if kind <= 3:
        path.write_bytes(valid_npz)
    elif kind == 4:  # empty, random bytes or truncated
        choice = rng.integers(3)
        cut = int(rng.integers(0, len(valid_npz)))
        data = [b"", rng.bytes(int(rng.integers(1, 400))), valid_npz[:cut]][choice]
        path.write_bytes(data)
    elif kind == 5:  # one byte flipped inside the stored array (bad CRC or header)
        data = bytearray(valid_npz)
        data[int(rng.integers(len(data)))] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == 6:  # wrong key, pickled objects, or a .npy under an .npz name
        choice = rng.integers(3)
        if choice == 0:
            np.savez(path, pixels=np.zeros((2, 32, 32), np.uint8))
        elif choice == 1:
            np.savez(path, images=np.array([{"a": 1}, None], dtype=object))
        else:
            with open(path, "wb") as handle:
                np.save(handle, np.zeros((2, 32, 32), np.uint8))
    elif kind == 7:  # a zip holding something else
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("images.npy", rng.bytes(int(rng.integers(0, 300))))
    elif kind == 8:  # a folder of images of random sizes and modes, maybe a broken file
        path = folder / "pngs"
        path.mkdir()
        for i in range(int(rng.integers(0, 4))):
            mode = ["L", "RGB", "RGBA", "P"][rng.integers(4)]
            size = [(32, 32), (28, 28), (64, 64), (5, 9)][rng.integers(4)]
            Image.new(mode, size, color=int(rng.integers(256))).save(path / f"{i}.png")
        if rng.random() < 0.4:
            (path / "broken.png").write_bytes(rng.bytes(int(rng.integers(0, 200))))
    else:
        path = folder / "missing.npz"
    return path


def random_options(rng: np.random.Generator) -> InputOptions:
    ranges = [None, None, None, *VALUE_RANGES]
    return InputOptions(
        bool(rng.random() < 0.4), bool(rng.random() < 0.4), ranges[rng.integers(len(ranges))]
    )


def check_ends_clearly(run: Callable[[], Any]) -> Any:
    """Run one case: a result, or None after one of the CLI's one-line errors."""
    try:
        return run()
    except CLEAR_ERRORS as err:
        assert str(err).strip() and "\n" not in str(err).strip(), repr(err)
        return None


def test_score_loader_fuzz(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    outcomes = {"valid": 0, "error": 0}
    for case in range(CASES):
        folder = tmp_path / str(case)
        folder.mkdir()
        dataset = DATASETS[rng.integers(len(DATASETS))]
        path = write_image_case(rng, folder, dataset)
        options = random_options(rng)
        before = snapshot(folder)
        got = check_ends_clearly(lambda: load_for_scoring(path, dataset, options))  # noqa: B023
        assert snapshot(folder) == before, f"case {case} changed a file"
        if got is None:
            outcomes["error"] += 1
            continue
        outcomes["valid"] += 1
        channels, height, width = dataset_shape(dataset)
        assert got.images.dtype == np.uint8 and len(got.images) > 0
        assert got.images.shape[1:] == (height, width, channels), (case, got.images.shape)
        assert got.preprocessing
    assert outcomes["valid"] >= 10 and outcomes["error"] >= 100, outcomes


def good_row() -> dict[str, Any]:
    return {
        "kind": "measured",
        "model": "my_vae",
        "dataset": "MNIST",
        "metric": "FID",
        "value": 150.5,
        "metric_variant": "fid_paper",
        "protocol": "fsvae-paper",
        "feature_network": variants()[3].network,
        "reference_split": "authors' statistics",
        "source": "mine",
    }


def random_cell(rng: np.random.Generator) -> Any:
    pool: list[Any] = [
        "",
        None,
        0,
        -1,
        3,
        1e308,
        float("inf"),
        float("nan"),
        10**400,
        True,
        [1, 2],
        {"a": 1},
        "é ü 漢字",
        "a\x00b",
        "two\nlines",
        "x" * 5000,
        "all",
        "0,1",
        *(v.key for v in variants()),
        *(v.protocol for v in variants()),
        *(v.network for v in variants()),
        *TEST_SPLITS,
        "authors' statistics",
        "IS",
        "FAD",
        "CIFAR10",
        "quoted",
    ]
    return pool[rng.integers(len(pool))]


def write_rows_case(rng: np.random.Generator, folder: Path) -> Path:
    kind = int(rng.integers(8))
    columns = list(good_row()) + ["std", "num_samples", "seeds", "year", "T", "note", "bogus"]
    rows = []
    for _ in range(int(rng.integers(1, 4))):
        row = good_row()
        for _ in range(int(rng.integers(0, 3))):
            row[columns[rng.integers(len(columns))]] = random_cell(rng)
        rows.append(row)
    if kind <= 3:
        path = folder / "rows.json"
        path.write_text(json.dumps(rows if rng.random() < 0.7 else rows[0]))
    elif kind == 4:  # broken JSON: truncated, deeply nested, scalar, empty, random bytes
        path = folder / "rows.json"
        text = json.dumps(rows)
        choice = rng.integers(5)
        data = [
            text[: int(rng.integers(len(text)))].encode(),
            b"[" * 100_000,
            b"42",
            b"",
            rng.bytes(int(rng.integers(1, 300))),
        ][choice]
        path.write_bytes(data)
    elif kind in (5, 6):  # CSV: latin-1 (not UTF-8), NUL, ragged, BOM, header only
        path = folder / "rows.csv"
        cells = [{k: str(v) for k, v in r.items()} for r in rows]
        header = list(dict.fromkeys(k for r in cells for k in r))
        lines = [",".join(header)] + [",".join(f'"{r.get(k, "")}"' for k in header) for r in cells]
        text = "\n".join(lines) + "\n"
        choice = rng.integers(5)
        data = [
            text.encode("latin-1", errors="replace") + "é".encode("latin-1"),
            text.encode().replace(b",", b"\x00", 1),
            text.encode() + b"a,b,c," * 30 + b"\n",
            b"\xef\xbb\xbf" + text.encode(),
            lines[0].encode(),
        ][choice]
        path.write_bytes(data)
    else:  # wrong suffix or missing file
        path = folder / ["rows.txt", "missing.json"][rng.integers(2)]
        if path.name == "rows.txt":
            path.write_text(json.dumps(rows))
    return path


def write_board(rng: np.random.Generator, folder: Path) -> Path:
    board = folder / "board" / "leaderboard.csv"
    board.parent.mkdir()
    text = to_csv_text(quoted_rows(QUOTED)[:4]).encode()
    choice = rng.integers(14)
    if choice == 0:
        text += b"\xff\xfe broken\n"
    elif choice == 1:
        text = text.replace(b"\n", b"\r\n")  # CRLF must survive an append untouched
    elif choice == 2:
        text = b"kind,model\n"
    elif choice == 3:
        text = b""
    if choice != 4:  # else: no board yet, created with its header
        board.write_bytes(text)
    return board


def test_leaderboard_add_fuzz(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    outcomes = {"valid": 0, "error": 0}
    for case in range(CASES):
        folder = tmp_path / str(case)
        folder.mkdir()
        rows_file = write_rows_case(rng, folder)
        board = write_board(rng, folder)
        before = snapshot(folder)
        added = check_ends_clearly(lambda: add_rows(board, rows_file))  # noqa: B023
        after = snapshot(folder)
        if added is None:
            outcomes["error"] += 1
            assert after == before, f"case {case} changed a file on error"
            continue
        outcomes["valid"] += 1
        old = before.get(str(board), b"")
        assert {k: v for k, v in after.items() if k != str(board)} == {
            k: v for k, v in before.items() if k != str(board)
        }
        assert after[str(board)].startswith(old), f"case {case} rewrote existing rows"
        rows = read_csv(board)
        assert rows[-len(added) :] == added
        for row in rows:
            validate_row(row)
    assert outcomes["valid"] >= 10 and outcomes["error"] >= 100, outcomes


@pytest.mark.parametrize("seed", range(4))
def test_cli_fuzz_cases_exit_cleanly(seed: int, tmp_path: Path, capsys, monkeypatch) -> None:
    """A few cases through the command line: exit 0, or exit 2 with one line on stderr."""
    monkeypatch.setattr(evaluate, "build_sample_metric", lambda name, *_: lambda b: {name: 0.0})
    rng = np.random.default_rng(100 + seed)
    dataset = DATASETS[seed]
    images = write_image_case(rng, tmp_path, dataset)
    argv = ["score", "--dataset", dataset, str(images), "--metrics", "fid", "--no-progress"]
    rows_file = write_rows_case(rng, tmp_path)
    board = write_board(rng, tmp_path)
    before = snapshot(tmp_path)
    for args in (argv, ["leaderboard", "add", str(rows_file), "--leaderboard", str(board)]):
        code = main(args)
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and "error:" in err
    unchanged = {k: v for k, v in before.items() if k != str(board)}
    assert {k: v for k, v in snapshot(tmp_path).items() if k in unchanged} == unchanged
