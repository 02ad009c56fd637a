"""Training loop: determinism, exact resume after a crash or a kill, atomic checkpoints."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from pipelines.checkpoint import load_checkpoint, load_model
from pipelines.data.atomic import save_torch_atomic
from pipelines.train import Trainer, epoch_batches
from pipelines.train_config import TrainConfig

TINY = dict(
    model="ann_vae",
    dataset="mnist",
    epochs=2,
    batch_size=32,
    train_limit=96,
    test_limit=32,
    checkpoint_every=1,
    seed=7,
    weight_decay=0.01,
)


class Crash(Exception):
    pass


def _train(prepared, run_dir, crash_at=None, **changes):
    def on_step(step):
        if crash_at is not None and step == crash_at:
            raise Crash

    trainer = Trainer(
        TrainConfig(**{**TINY, **changes}), prepared, run_dir, progress=False, on_step=on_step
    )
    trainer.resume()
    trainer.fit()
    return trainer


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_epoch_batches_are_a_function_of_seed_and_epoch():
    assert epoch_batches(10, 3, 1, 0) == epoch_batches(10, 3, 1, 0)
    assert epoch_batches(10, 3, 1, 0) != epoch_batches(10, 3, 1, 1)
    assert sorted(i for b in epoch_batches(10, 3, 1, 0) for i in b) == list(range(10))


def test_same_seed_gives_identical_weights(prepared_mnist, tmp_path):
    a = _train(prepared_mnist, tmp_path / "a")
    b = _train(prepared_mnist, tmp_path / "b")
    _assert_same_weights(a.model, b.model)
    c = _train(prepared_mnist, tmp_path / "c", seed=8)
    assert not torch.equal(a.model.fc_mu.weight, c.model.fc_mu.weight)


def test_resume_after_crash_equals_uninterrupted_run(prepared_mnist, tmp_path):
    full = _train(prepared_mnist, tmp_path / "full")
    with pytest.raises(Crash):
        _train(prepared_mnist, tmp_path / "crashed", crash_at=4)  # mid second epoch
    saved = load_checkpoint(tmp_path / "crashed" / "last.pt")
    assert saved["step"] == 3 and not saved["finished"]
    resumed = _train(prepared_mnist, tmp_path / "crashed")
    _assert_same_weights(full.model, resumed.model)
    assert full.state.test_log == resumed.state.test_log
    assert resumed.state.finished and resumed.state.step == 6


def test_resume_continues_with_the_saved_thread_count(prepared_mnist, tmp_path, monkeypatch):
    """fsvae-bench picks threads from the load; a resumed run must use the saved count."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with pytest.raises(Crash):
            _train(prepared_mnist, tmp_path / "run", crash_at=2)
        assert load_checkpoint(tmp_path / "run" / "last.pt")["num_threads"] == 1
        torch.set_num_threads(2)
        _train(prepared_mnist, tmp_path / "run")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_kill_during_training_then_resume(prepared_mnist, tmp_path):
    """SIGKILL the CLI mid-run; running it again resumes and matches a clean run."""

    def command(run_dir):
        return [
            sys.executable,
            "-m",
            "pipelines.cli",
            "train",
            "--model",
            "ann_vae",
            "--dataset",
            "mnist",
            "--prepared",
            str(prepared_mnist),
            "--run-dir",
            str(run_dir),
            "--params",
            "none.yaml",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--train-limit",
            "96",
            "--test-limit",
            "16",
            "--seed",
            "3",
            "--no-progress",
        ]

    run_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    args = command(run_dir)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (run_dir / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(args, check=True, capture_output=True)
    subprocess.run(command(clean_dir), check=True, capture_output=True)
    killed, _ = load_model(run_dir / "last.pt")
    clean, _ = load_model(clean_dir / "last.pt")
    _assert_same_weights(killed, clean)


def test_checkpoint_is_self_describing(prepared_mnist, tmp_path):
    trainer = _train(prepared_mnist, tmp_path / "run", epochs=1)
    model, meta = load_model(tmp_path / "run" / "best.pt")
    assert not model.training
    assert meta["model_name"] == "ann_vae" and meta["dataset"] == "mnist"
    assert meta["train_config"]["seed"] == 7
    assert {"torch", "snntorch", "python"} <= set(meta["versions"])
    assert (tmp_path / "run" / "train_log.csv").read_text().startswith("epoch,step,loss")
    _assert_same_weights(model, trainer.model) if meta["step"] == trainer.state.step else None


def test_changed_settings_refuse_to_resume(prepared_mnist, tmp_path):
    _train(prepared_mnist, tmp_path / "run", epochs=1)
    with pytest.raises(ValueError, match="different settings"):
        _train(prepared_mnist, tmp_path / "run", epochs=1, lr=5e-4)


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_torch_atomic({"a": 1}, path)

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_torch_atomic({"a": 2}, path)
    monkeypatch.undo()
    assert torch.load(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_bad_train_settings_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"epoch": 3})


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")


def test_amp_option_trains_and_resumes_old_checkpoints(prepared_mnist, tmp_path):
    """bf16 autocast runs end to end; a checkpoint without the newer options still resumes."""
    trainer = _train(prepared_mnist, tmp_path / "amp", epochs=1, amp=True)
    assert all(math.isfinite(r["loss"]) for r in trainer.state.train_log)
    ckpt = load_checkpoint(tmp_path / "amp" / "last.pt")
    for name in ("amp", "compile", "tune_allocator"):
        del ckpt["train_config"][name]
    ckpt["train_config"]["amp"] = True  # as if saved before the field existed but equal
    save_torch_atomic(ckpt, tmp_path / "amp" / "last.pt")
    again = Trainer(
        TrainConfig(**{**TINY, "epochs": 1, "amp": True}), prepared_mnist, tmp_path / "amp"
    )
    assert again.resume()


@pytest.mark.slow
def test_compile_option_matches_eager(prepared_mnist, tmp_path, monkeypatch):
    """The compiled training step computes the eager loss and gradients (compiling is slow)."""
    # The ANN VAE draws noise: the Trainer compiles with fallback_random, so compiled code
    # draws from PyTorch's generator as eager does.
    cfg = TrainConfig(**{**TINY, "epochs": 1, "max_steps": 1, "compile": True})
    trainer = Trainer(cfg, prepared_mnist, tmp_path / "run", progress=False)
    x = torch.stack([trainer.train_set[i] for i in range(8)])
    terms = []
    for fn in (trainer.step_module, trainer.model.loss):
        trainer.optimizer.zero_grad(set_to_none=True)
        torch.manual_seed(0)
        loss = fn(x)["loss"]
        loss.backward()
        terms.append((loss.detach(), [p.grad.clone() for p in trainer.model.parameters()]))
    assert torch.allclose(terms[0][0], terms[1][0], rtol=1e-5)
    for a, b in zip(terms[0][1], terms[1][1], strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-5)  # fused kernels round differently
