"""The training loop and every stage off the CPU: resume on ``meta``, device changes, reach.

``meta`` tensors have shapes but no data, and PyTorch raises where one meets a CPU
tensor: a fit -> kill -> resume cycle on ``meta`` shows the loop (and its checkpoint
round trip) would keep every tensor on a GPU. Loss values are read through the
Trainer's ``read_scalar`` seam, the one place the loop reads tensor data.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from pipelines.checkpoint import load_checkpoint
from pipelines.cli import main
from pipelines.data.atomic import save_torch_atomic
from pipelines.params import train_config
from pipelines.process.settings import RuntimeSettings
from pipelines.train import Trainer
from pipelines.train_config import TrainConfig
from tests.pipelines.test_train import TINY


class Kill(Exception):
    pass


def _trainer(prepared, run_dir, device="cpu", kill_at=None, **changes):
    def on_step(step):
        if kill_at is not None and step == kill_at:
            raise Kill

    return Trainer(
        TrainConfig(**{**TINY, **changes}),
        prepared,
        run_dir,
        progress=False,
        on_step=on_step,
        runtime=RuntimeSettings(device=device),
        read_scalar=(lambda t: 0.0) if device == "meta" else float,
    )


@pytest.mark.parametrize("model", ["ann_vae", "fsvae", "esvae"])
def test_fit_kill_resume_on_meta(prepared_mnist, tmp_path, model):
    """Today's resume mapped the RNG states onto the device: TypeError on restore."""
    run = tmp_path / "run"
    with warnings.catch_warnings():
        # load_state_dict into meta parameters is a no-op and says so.
        warnings.simplefilter("ignore", UserWarning)
        options = {} if model == "ann_vae" else {"n_steps": 4}  # T = 4: a shorter test
        killed = _trainer(prepared_mnist, run, "meta", 4, model=model, model_options=options)
        assert next(killed.model.parameters()).device.type == "meta"
        with pytest.raises(Kill):
            killed.fit()
        saved = load_checkpoint(run / "last.pt")
        assert saved["step"] == 3 and saved["runtime"]["device"] == "meta"
        assert saved["rng"]["torch"].dtype == torch.uint8
        resumed = _trainer(prepared_mnist, run, "meta", model=model, model_options=options)
        assert resumed.resume()
        state = resumed.fit()
    assert state.finished and state.step == 6
    assert all(p.device.type == "meta" for p in resumed.model.parameters())


def test_resume_keeps_rng_states_on_the_cpu(prepared_mnist, tmp_path):
    """Issue 20 item 1: resume loaded last.pt with map_location=device, RNG states too.

    A checkpoint in the older format (device in its settings, no runtime record)
    resumed on ``meta`` is what a GPU resume did: set_rng_state raised "RNG state must
    be a torch.ByteTensor".
    """
    _trainer(prepared_mnist, tmp_path, max_steps=2).fit()
    ckpt = load_checkpoint(tmp_path / "last.pt")
    ckpt.pop("runtime", None)
    ckpt["train_config"]["device"] = "meta"  # older checkpoints named it in their settings
    save_torch_atomic(ckpt, tmp_path / "last.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert _trainer(prepared_mnist, tmp_path, "meta", max_steps=2).resume()


def test_checkpoint_records_the_runtime(prepared_mnist, tmp_path):
    trainer = _trainer(prepared_mnist, tmp_path, max_steps=1)
    trainer.fit()
    record = load_checkpoint(tmp_path / "last.pt")["runtime"]
    assert record["device"] == "cpu" and record["torch"] == torch.__version__
    assert record["tf32_cudnn"] is False and record["deterministic"] is False


def test_trainer_turns_tf32_off(prepared_mnist, tmp_path):
    """PyTorch enables TF32 for cuDNN convolutions by default; a run must not use it."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        Trainer(TrainConfig(**TINY), prepared_mnist, tmp_path, progress=False)
        assert torch.backends.cudnn.allow_tf32 is False
        assert torch.backends.cuda.matmul.allow_tf32 is False
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _pretend_written_on(path, device):
    ckpt = load_checkpoint(path)
    ckpt["runtime"] = {**ckpt["runtime"], "device": device}
    save_torch_atomic(ckpt, path)


def test_gpu_checkpoint_on_the_cpu_is_one_clear_line(prepared_mnist, tmp_path):
    _trainer(prepared_mnist, tmp_path, max_steps=2).fit()
    _pretend_written_on(tmp_path / "last.pt", "cuda:0")
    with pytest.raises(ValueError, match="written on cuda:0, this run is on cpu") as err:
        _trainer(prepared_mnist, tmp_path, max_steps=2).resume()
    assert "\n" not in str(err.value)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2  # nothing touched
    restarted = _trainer(prepared_mnist, tmp_path, max_steps=2)
    assert not restarted.resume("restart")
    assert not (tmp_path / "last.pt").exists()


def test_cpu_checkpoint_on_another_device_is_refused_too(prepared_mnist, tmp_path):
    """The reverse direction; ``meta`` stands in for the GPU."""
    _trainer(prepared_mnist, tmp_path, max_steps=2).fit()
    with pytest.raises(ValueError, match="written on cpu, this run is on meta"):
        _trainer(prepared_mnist, tmp_path, "meta", max_steps=2).resume()


def test_checkpoint_from_another_gpu_resumes(prepared_mnist, tmp_path):
    """cuda:0 -> cuda:1 (and checkpoints older than the record) is the same device type."""
    _trainer(prepared_mnist, tmp_path, max_steps=2).fit()
    ckpt = load_checkpoint(tmp_path / "last.pt")
    del ckpt["runtime"]
    ckpt["train_config"]["device"] = "auto"  # where older checkpoints kept it
    save_torch_atomic(ckpt, tmp_path / "last.pt")
    assert _trainer(prepared_mnist, tmp_path, max_steps=2).resume()


def test_train_device_in_params_points_to_runtime():
    with pytest.raises(ValueError, match="set runtime.device"):
        train_config({"train": {"device": "cuda"}}, "ann_vae", "mnist")


@pytest.fixture
def no_cuda_params(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    params = tmp_path / "params.yaml"
    params.write_text("runtime: {device: cuda}\n")
    return params


def _fake_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"format": 1, "dataset": "mnist", "model_name": "ann_vae"}, path)
    return path


def _commands(tmp_path, out):
    ckpt = _fake_checkpoint(tmp_path)
    images = tmp_path / "images.npz"
    np.savez(images, images=np.zeros((4, 32, 32, 1), np.uint8))
    common = ["--prepared", str(tmp_path / "prepared")]
    return {
        "train": ["--model", "ann_vae", "--dataset", "mnist", "--run-dir", str(out)],
        "autoencoder": ["--dataset", "mnist", "--out", str(out / "ae.pt"), *common],
        "fid-stats": ["--dataset", "mnist", "--cache-dir", str(out), *common],
        "sample": ["--checkpoint", str(ckpt), "--out-dir", str(out), *common],
        "evaluate": ["--checkpoint", str(ckpt), "--out", str(out / "m.json"), *common],
        "score": [str(images), "--dataset", "mnist", "--cache-dir", str(out), *common],
    }


@pytest.mark.parametrize(
    "command", ["train", "autoencoder", "fid-stats", "sample", "evaluate", "score"]
)
def test_every_stage_reads_runtime_device(tmp_path, no_cuda_params, capsys, command):
    """runtime.device reaches every stage; CUDA asked for without one: one line, no file."""
    out = tmp_path / "out"
    args = _commands(tmp_path, out)[command]
    assert main([command, *args, "--params", str(no_cuda_params)]) == 2
    err = capsys.readouterr().err.strip()
    assert "CUDA is not available here" in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["autoencoder", "sample", "evaluate"])
def test_device_flag_overrides_params(tmp_path, no_cuda_params, capsys, command):
    out = tmp_path / "out"
    args = _commands(tmp_path, out)[command]
    argv = [command, *args, "--params", str(no_cuda_params), "--device", "cuda:3"]
    assert main(argv) == 2
    assert "'cuda:3': CUDA is not available" in capsys.readouterr().err


def test_metrics_json_records_the_runtime(prepared_mnist, tmp_path, capsys):
    _trainer(prepared_mnist, tmp_path / "run", max_steps=1).fit()
    out = tmp_path / "m.json"
    argv = ["evaluate", "--checkpoint", str(tmp_path / "run" / "last.pt"), "--out", str(out)]
    argv += ["--prepared", str(prepared_mnist), "--metrics", "recon_mse", "--num-recon", "8"]
    argv += ["--params", str(tmp_path / "none.yaml"), "--device", "cpu", "--no-progress"]
    assert main(argv) == 0
    record = json.loads(out.read_text())["runtime"]
    assert record["device"] == "cpu" and record["tf32_cudnn"] is False
