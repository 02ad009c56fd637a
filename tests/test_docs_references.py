"""Every fact a comment, docstring or docs page relies on is in the repository, cited by path.

The reference implementations' facts live in ``docs/reference.md`` with numbered sections
(``§2.1``, ``§E2``, ...). A source, docs, config or script file may cite ``docs/<file>``
only if that file exists, and a section ``§N`` (``docs/reference.md §N``, a range
``§N-§M``, a cross-reference inside the page) only if ``§N`` is a heading of
``docs/reference.md``: the sign is used for nothing else. No file may point to the design
notes or specifications that live outside the repository (users of a clone do not have them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = "docs/" + "reference.md"
# Source and documentation (the issue: .py and .md), plus configuration and scripts.
TEXT_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".sh")
# Built from parts so that this file does not match itself.
OUTSIDE = [
    "spec " + "§",
    "DESIGN" + ".md",
    ".." + "/shared",
    "fsvae-" + "spec.md",
    "esvae-" + "spec.md",
]
FORBIDDEN = re.compile("|".join(re.escape(p) for p in OUTSIDE))
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w/-]+(?:\.\w+)*")
# "§3.4", "§1-§4" (two), "§E2"; a heading is "## §3 Latent" or "### §3.4 Losses".
SECTION = re.compile(r"§([A-Z]?\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+§([A-Z]?\d+(?:\.\d+)*)\s", re.MULTILINE)


def _files() -> list[str]:
    """Committed source, docs and config files plus new ones not yet committed (not ignored)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the repository's files cannot be listed")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    own = Path(__file__).resolve().relative_to(REPO).as_posix()
    names = {n for n in out.split("\0") if n.endswith(TEXT_SUFFIXES) and n != own}
    return sorted(n for n in names if (REPO / n).is_file())


def _lines():
    for name in _files():
        text = (REPO / name).read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            yield f"{name}:{number}", line


def reference_sections() -> set[str]:
    """Section numbers that are headings of ``docs/reference.md`` (``"2.1"``, ``"E2"``)."""
    return set(HEADING.findall((REPO / REFERENCE).read_text(encoding="utf-8")))


def test_reference_page_has_numbered_sections():
    sections = reference_sections()
    assert {"2.1", "3.3", "3.4", "5.5", "9.2", "E2", "E3"} <= sections, sorted(sections)


def test_nothing_cites_a_file_outside_the_repository():
    hits = [f"{where}: {line.strip()[:120]}" for where, line in _lines() if FORBIDDEN.search(line)]
    assert not hits, "cites files users do not have (use docs/):\n" + "\n".join(hits)


def test_every_cited_docs_file_exists():
    hits = [
        f"{where}: {path}"
        for where, line in _lines()
        for path in DOCS_PATH.findall(line)
        if not (REPO / path).exists()
    ]
    assert not hits, "cites docs files that do not exist:\n" + "\n".join(hits)


def test_every_cited_reference_section_is_a_heading():
    sections = reference_sections()
    hits = [
        f"{where}: §{number}"
        for where, line in _lines()
        for number in SECTION.findall(line)
        if number not in sections
    ]
    assert not hits, f"cites sections that are no heading of {REFERENCE}:\n" + "\n".join(hits)


def test_the_checks_catch_what_they_should():
    """The patterns match the forms they exist for (guards against a test that cannot fail)."""
    assert FORBIDDEN.search("follows the reference (spec " + "§3.4)")
    assert FORBIDDEN.search("contract (DESIGN" + ".md §2)")
    assert DOCS_PATH.findall("see docs/nowhere.md.") == ["docs/nowhere.md"]
    assert not DOCS_PATH.findall("benchmarks/docs/x.md")
    assert SECTION.findall(REFERENCE + " §1-§4, §E2.") == ["1", "4", "E2"]
    assert SECTION.findall(f"({REFERENCE} §9.2 item 13, §10.1)") == ["9.2", "10.1"]
    assert HEADING.findall("## §3 Latent\n### §3.4. Losses\nno §5 here") == ["3"]
