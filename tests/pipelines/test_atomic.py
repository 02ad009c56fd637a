"""Every atomic writer leaves the old file or the new one, and no temporary file, on error."""

import json

import numpy as np
import pytest
import torch

from pipelines.data.atomic import (
    atomic_target,
    save_npz_atomic,
    save_torch_atomic,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle")


class Boom(Exception):
    pass


def _fail_inside(path):
    with atomic_target(path) as tmp:
        tmp.write_bytes(b"half a file")
        raise Boom


FAILING_WRITES = {
    "context": _fail_inside,
    "json": lambda p: write_json_atomic(p, {"x": object()}),
    "torch": lambda p: save_torch_atomic({"x": Unpicklable()}, p),
    "npz": lambda p: save_npz_atomic(p, a=np.zeros(3), b=Unpicklable()),
    "text": lambda p: write_text_atomic(p, "\ud800"),  # a lone surrogate cannot be encoded
}


@pytest.mark.parametrize("kind", sorted(FAILING_WRITES))
def test_a_failing_write_leaves_the_old_file_and_nothing_else(tmp_path, kind):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises((Boom, TypeError, RuntimeError, UnicodeEncodeError, ValueError)):
        FAILING_WRITES[kind](path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert path.read_bytes() == b"old"


def test_each_format_round_trips_and_creates_the_folder(tmp_path):
    write_text_atomic(tmp_path / "a" / "t.csv", "x,y\r\n1,2\n")
    assert (tmp_path / "a" / "t.csv").read_bytes() == b"x,y\r\n1,2\n"  # line ends as given
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    write_json_atomic(tmp_path / "c.json", {"k": [1, 2]})
    assert (tmp_path / "c.json").read_text() == json.dumps({"k": [1, 2]}, indent=2) + "\n"
    save_torch_atomic({"w": torch.ones(2)}, tmp_path / "d.pt")
    assert torch.equal(torch.load(tmp_path / "d.pt")["w"], torch.ones(2))
    save_npz_atomic(tmp_path / "e.npz", compressed=True, a=np.arange(4))
    with np.load(tmp_path / "e.npz") as data:
        assert data["a"].tolist() == [0, 1, 2, 3]
    assert not list(tmp_path.rglob(".*.tmp"))
