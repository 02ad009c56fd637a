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


def _run_reporting_commands(prepared, out, monkeypatch, busy):
    """Tiny train + autoencoder through the CLI while ``busy`` cores look taken."""
    from pipelines import cli

    monkeypatch.setattr(runtime, "busy_cpus", lambda *a, **k: busy)
    monkeypatch.setattr(runtime, "default_num_threads", lambda: 2)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: {0, 1})
    common = ["--dataset", "mnist", "--prepared", str(prepared)]
    train = ["train", "--model", "ann_vae", *common, "--run-dir", str(out / "run")]
    train += ["--epochs", "1", "--batch-size", "32", "--train-limit", "96", "--test-limit", "32"]
    assert cli.main([*train, "--seed", "3", "--no-progress"]) == 0
    ae = ["autoencoder", *common, "--out", str(out / "ae.pt"), "--steps", "3"]
    assert cli.main([*ae, "--batch-size", "32"]) == 0
    ckpt = torch.load(out / "run" / "last.pt", map_location="cpu", weights_only=False)
    ae_record = torch.load(out / "ae.pt", map_location="cpu", weights_only=False)
    return ckpt, ae_record


def test_reported_weights_do_not_depend_on_the_load(prepared_mnist, tmp_path, monkeypatch):
    """Train and autoencoder use runtime.cpu_threads, whatever the load or OMP_NUM_THREADS."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("runtime: {cpu_threads: 2}\n")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    run = _run_reporting_commands
    idle_ckpt, idle_ae = run(prepared_mnist, tmp_path / "idle", monkeypatch, 0.0)
    busy_ckpt, busy_ae = run(prepared_mnist, tmp_path / "busy", monkeypatch, 1.0)
    for key, value in idle_ckpt["model_state"].items():
        assert torch.equal(value, busy_ckpt["model_state"][key]), key
    for key, value in idle_ae["state_dict"].items():
        assert torch.equal(value, busy_ae["state_dict"][key]), key
    assert idle_ckpt["num_threads"] == busy_ckpt["num_threads"] == 2


def test_declared_threads_win_over_omp_num_threads(tmp_path, monkeypatch, keep_threads):
    params = tmp_path / "params.yaml"
    params.write_text("runtime: {cpu_threads: 2}\n")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert runtime.apply_command_threads("evaluate", params) == 2
    assert torch.get_num_threads() == 2


def test_commands_that_report_nothing_keep_the_load_aware_choice(monkeypatch, keep_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runtime, "choose_num_threads", lambda: 1)
    assert runtime.apply_command_threads("tables", "no-such-params.yaml") == 1


def test_declared_threads_refuses_a_bad_count(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("runtime: {cpu_threads: 0}\n")
    with pytest.raises(ValueError, match="cpu_threads"):
        runtime.declared_threads(path)
    assert runtime.declared_threads(tmp_path / "missing.yaml") == 2
