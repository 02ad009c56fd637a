"""No committed file names a path of the build machine or looks for a folder beside the checkout.

External files reach the code only through documented environment variables
(``FSVAE_DATA_MIRROR``, ``FSVAE_ASSET_MIRROR``, ...), so a fresh clone anywhere behaves the
same. Excluded: lock files (``*.lock``: pinned package hashes and DVC's records) and
``.ci/`` (CI's own machine set-up).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
PATTERNS = ["/" + "work/", "/" + "root/", "/" + "home/", ".." + "/shared"]
FORBIDDEN = re.compile("|".join(re.escape(p) for p in PATTERNS))


def _committed_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the committed tree cannot be listed")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [
        name
        for name in out.split("\0")
        if name and not name.endswith(".lock") and not name.startswith(".ci/")
    ]


def test_no_committed_file_names_a_machine_path():
    hits = []
    for name in _committed_files():
        path = REPO / name
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, arrays): no paths to read
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not hits, "committed files name a machine path:\n" + "\n".join(hits)
