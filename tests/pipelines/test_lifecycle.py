"""Stage processes stop on SIGTERM/SIGHUP and with their dvc; no torn or stale temporaries."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import torch

from pipelines.checkpoint import remove_stale_temporaries
from pipelines.data.atomic import save_torch_atomic
from pipelines.lifecycle import Stopped, dvc_ancestors, stoppable
from pipelines.train import Trainer
from pipelines.train_config import TrainConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_raise_stopped_and_handlers_come_back(sig):
    # As in a terminal: a test run under nohup (or a CI job) may inherit SIGHUP ignored,
    # which stoppable rightly keeps (next test).
    inherited = signal.signal(sig, signal.SIG_DFL)
    try:
        with pytest.raises(Stopped) as caught, stoppable(watch_dvc=False):
            os.kill(os.getpid(), sig)
            time.sleep(5)  # not reached: the handler raises at the next bytecode
        assert caught.value.signum == sig
        assert signal.getsignal(sig) is signal.SIG_DFL
    finally:
        signal.signal(sig, inherited)


def test_an_ignored_hangup_stays_ignored():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with stoppable(watch_dvc=False):
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)


def test_stop_during_checkpoint_save_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_torch_atomic({"version": 1}, path)
    real_save = torch.save

    def save_then_stop(obj, handle):
        real_save(obj, handle)
        handle.write(b"half of the next write")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(torch, "save", save_then_stop)
    with pytest.raises(Stopped), stoppable(watch_dvc=False):
        save_torch_atomic({"version": 2}, path)
    assert torch.load(path)["version"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_stale_temporaries_are_removed_at_the_start_of_training(prepared_mnist, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stale = [".last.pt.k3j2.tmp", ".best.pt.x9.tmp", ".train_log.csv.q1.tmp"]
    for name in stale:
        (run_dir / name).write_bytes(b"torn")
    (run_dir / "notes.txt").write_text("kept")
    config = TrainConfig(model="ann_vae", dataset="mnist", epochs=1, batch_size=32)
    Trainer(config, prepared_mnist, run_dir, progress=False)
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]
    assert remove_stale_temporaries(run_dir) == []


def test_dvc_ignores_temporary_checkpoints():
    names = ["runs/mnist/fsvae/.last.pt.k3j2.tmp", "runs/celeba/ann_vae/.best.pt.a1.tmp"]
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "check-ignore", *names, "runs/mnist/fsvae/last.pt"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    assert out.stdout.split() == names, out.stderr


FAKE_DVC = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env={**__import__("os").environ,
                         "DVC_STAGE": "train@mnist-fsvae"})
print(child.pid, flush=True)
time.sleep(600)
"""

STAGE = """
import sys, time
from pipelines.lifecycle import Stopped, dvc_ancestors, stoppable
marker = sys.argv[1] if len(sys.argv) > 1 else {marker!r}
try:
    with stoppable():
        open(marker, "w").write("running " + str(dvc_ancestors()[-1].cmdline()[1]))
        time.sleep(120)
except Stopped as stop:
    open(marker, "w").write("stopped by " + str(stop))
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_stage_ends_when_its_dvc_is_killed(tmp_path):
    """``kill -9 <dvc>`` does not forward anything; the stage notices and stops itself."""
    marker = tmp_path / "marker"
    fake_dvc = tmp_path / "dvc"  # the watcher finds dvc by its command name
    fake_dvc.write_text(FAKE_DVC)
    stage = textwrap.dedent(STAGE).format(marker=str(marker))
    proc = subprocess.Popen(
        [sys.executable, str(fake_dvc), stage], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    child = int(proc.stdout.readline())
    deadline = time.time() + 60
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == f"running {fake_dvc}"
    proc.kill()
    proc.wait()
    deadline = time.time() + 20
    while not _gone(child) and time.time() < deadline:
        time.sleep(0.1)
    assert _gone(child), "the stage outlived its dvc process"
    assert marker.read_text() == "stopped by SIGTERM"


def test_without_dvc_only_the_parent_is_watched():
    assert dvc_ancestors() == psutil.Process().parents()[:1]
