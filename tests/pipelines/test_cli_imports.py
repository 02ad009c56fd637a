"""Stage commands that read prepared arrays do not import torchvision (seconds per stage)."""

import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, sys
from pipelines.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main([{command!r}, "--help"])
    except SystemExit:
        pass
watched = ("torchvision", "torch._dynamo", "pipelines.metrics.fid")
print(sorted(m for m in watched if m in sys.modules))
"""


@pytest.mark.parametrize("command", ["train", "sample", "tables"])
def test_stage_command_imports_no_torchvision(command):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(command=command)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]", out


def test_evaluate_still_gets_its_metrics():
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(command="evaluate")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "torchvision" in out  # the probe sees imports, so [] above means none


def test_unknown_command_lists_every_command(capsys):
    from pipelines.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["nosuchcommand", "--help"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuchcommand'" in err
    for name in ("train", "sample", "evaluate", "prepare", "fid-stats"):
        assert f"'{name}'" in err


def test_top_level_help_imports_no_command_and_no_torch():
    """`fsvae-bench --help` lists every command from the sources alone (under 2 s)."""
    probe = (
        "import contextlib, io, sys\n"
        "from pipelines.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "loaded = [m for m in sys.modules if m == 'torch' or m.startswith('pipelines.commands.')]\n"
        "print(sorted(loaded))\n"
        "print(out.getvalue())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded, text = out.split("\n", 1)
    assert loaded == "[]"
    for name in ("train", "score", "leaderboard", "prepare", "fid-stats", "readme"):
        assert f"    {name}" in text
    assert "score an image set (.npz or folder)" in text  # score's HELP, read from source
