"""Process settings: load-aware thread count and the one-call opt-in."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from pipelines.process import threads as runtime


@pytest.fixture
def keep_threads():
    """Restore the test process's thread count afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("cores", "busy", "cap", "expected"),
    [
        (2, 0.0, 2, 2),
        (2, 0.4, 2, 2),
        (2, 0.6, 2, 1),
        (2, 2.0, 2, 1),
        (8, 3.0, 4, 4),
        (8, 5.2, 8, 3),
    ],
)
def test_choose_num_threads_leaves_busy_cores(monkeypatch, cores, busy, cap, expected):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert runtime.choose_num_threads(max_threads=cap, busy=busy) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_busy_cpus_counts_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert runtime.busy_cpus(samples=3) >= 0.9
    finally:
        spinner.kill()
        spinner.wait()


def test_tune_process_respects_pinned_threads(monkeypatch, keep_threads):
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(runtime, "busy_cpus", lambda: pytest.fail("must not measure"))
    assert runtime.tune_process() == 1


def test_tune_process_sets_the_chosen_count(monkeypatch, keep_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "choose_num_threads", lambda: 1)
    assert runtime.tune_process(allocator=False) == 1
    assert torch.get_num_threads() == 1
    torch.set_num_threads(2)
    assert runtime.tune_process(allocator=False, threads=False) == 2


def test_build_model_changes_no_process_setting(keep_threads):
    from pipelines.registry import build_model

    torch.set_num_threads(2)
    build_model("fsvae", "mnist", n_steps=2)
    assert torch.get_num_threads() == 2


def test_fsvae_runtime_shim_resolves_lazily():
    """The old import path still works, warns, and ``import fsvae`` imports no pipelines."""
    code = (
        "import sys, warnings, fsvae, fsvae.runtime;"
        "assert not any(m.startswith('pipelines') for m in sys.modules), 'eager';"
        "warnings.simplefilter('error');"
        "import pytest\n"
        "with pytest.warns(DeprecationWarning):\n"
        "    from fsvae.runtime import tune_process\n"
        "from pipelines.process import tune_process as new\n"
        "assert tune_process is new"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
