"""The training loop on the device: fit, kill, resume; evaluate; one-process DDP (NCCL)."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist

from pipelines.checkpoint import load_checkpoint
from pipelines.metrics.evaluate import EvalSettings, evaluate_checkpoint
from pipelines.process.distributed import DistContext
from pipelines.process.settings import RuntimeSettings
from pipelines.train import Trainer
from pipelines.train_config import TrainConfig
from pipelines.train_parts import LossModule
from tests.gpu.conftest import MODELS, on_device

pytestmark = pytest.mark.gpu
IDS = [m[0] for m in MODELS]


class Killed(Exception):
    pass


def _config(gpu, name, options, **changes):
    lr = {"esvae": 3e-3}.get(name, 1e-3)
    values = dict(
        model=name,
        dataset="mnist",
        model_options=gpu.options(name, options),
        epochs=2,
        batch_size=gpu.batch,
        train_limit=3 * gpu.batch,
        test_limit=gpu.batch,
        checkpoint_every=1,
        lr=lr,
    )
    return TrainConfig(**{**values, **changes})


def _fit(config, prepared, run_dir, device, kill_at=None):
    def on_step(step):
        if step == kill_at:
            raise Killed

    runtime = RuntimeSettings(device=device)
    trainer = Trainer(config, prepared, run_dir, progress=False, on_step=on_step, runtime=runtime)
    resumed = trainer.resume()
    trainer.fit()
    return trainer, resumed


@pytest.mark.parametrize(("label", "name", "options"), MODELS, ids=IDS)
def test_fit_kill_resume_finishes_like_the_uninterrupted_run(
    gpu, label, name, options, prepared_mnist, tmp_path
):
    config = _config(gpu, name, options)
    full, _ = _fit(config, prepared_mnist, tmp_path / "full", gpu.device)
    with pytest.raises(Killed):
        _fit(
            config, prepared_mnist, tmp_path / "killed", gpu.device, kill_at=4
        )  # in the second epoch
    saved = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert saved["step"] == 3 and not saved["finished"]
    resumed, was_resumed = _fit(config, prepared_mnist, tmp_path / "killed", gpu.device)
    assert was_resumed and resumed.state.finished and resumed.state.step == full.state.step == 6
    for p in resumed.model.parameters():
        assert on_device(p, gpu.device)
    # Exact on the CPU (tests/pipelines/test_train.py); CUDA kernels may reorder sums, and a
    # flipped spike changes a gradient, so the weights must agree closely, not bit for bit.
    a = torch.cat([p.detach().flatten().double().cpu() for p in full.model.parameters()])
    b = torch.cat([p.detach().flatten().double().cpu() for p in resumed.model.parameters()])
    assert (a - b).norm() <= 1e-2 * a.norm()
    assert len(resumed.state.test_log) == len(full.state.test_log) == 2


@pytest.mark.parametrize(("label", "name", "options"), MODELS, ids=IDS)
def test_evaluate_checkpoint_on_the_device(gpu, label, name, options, prepared_mnist, tmp_path):
    config = _config(gpu, name, options, epochs=1, checkpoint_every=None)
    _fit(config, prepared_mnist, tmp_path / "run", gpu.device)
    settings = EvalSettings(
        num_samples=2 * gpu.batch,
        num_recon=2 * gpu.batch,
        num_cost_samples=4,
        gen_batch_size=gpu.batch,
        metrics=["recon_mse", "cost", "afd_paper"],
        asset_dir=str(tmp_path / "assets"),
        cache_dir=str(tmp_path / "cache"),
        offline=True,
        device=gpu.device,
        progress=False,
    )
    record = evaluate_checkpoint(
        tmp_path / "run" / "last.pt", prepared_mnist, tmp_path / "m.json", settings
    )
    metrics = record["metrics"]
    assert metrics["recon_mse"] is not None and metrics["recon_mse"] >= 0
    if name != "ann_vae":
        assert metrics["cost_sample_firing_rate_mean"] is not None
    # The authors' autoencoder comes from $FSVAE_ASSET_MIRROR; without it the record says why.
    assert metrics["afd_paper"] is not None or metrics["afd_paper_unavailable"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_process_ddp_step_and_collectives(gpu):
    backend = "nccl" if gpu.device.startswith("cuda") else "gloo"
    device = "cuda:0" if backend == "nccl" else "cpu"
    if backend == "nccl":
        torch.cuda.set_device(0)
    dist.init_process_group(
        backend, init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1
    )
    try:
        from pipelines.registry import build_model

        torch.manual_seed(0)
        model = build_model("fsvae", "mnist", n_steps=gpu.n_steps).to(device)
        ids = [device] if backend == "nccl" else None
        ddp = torch.nn.parallel.DistributedDataParallel(LossModule(model), device_ids=ids)
        x = torch.rand(gpu.batch, *model.input_shape, device=device) * 2 - 1
        torch.manual_seed(1)
        ddp(x)["loss"].backward()  # gradients all-reduced over the group
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)
        model.loss(x)["loss"].backward()
        plain = [p.grad for p in model.parameters() if p.grad is not None]
        for g, h in zip(grads, plain, strict=True):
            torch.testing.assert_close(g, h, rtol=1e-3, atol=1e-5)
        # DistContext's helpers return early at world 1; a context that claims 2 ranks on
        # this 1-rank group runs their real collectives (what a torchrun job calls).
        ctx = DistContext(rank=0, world=2, local_rank=0)
        assert ctx.sum([1.5, 2.0]) == [1.5, 2.0]
        assert ctx.broadcast({"loss": 1.0}) == {"loss": 1.0}
        assert ctx.all_gather({"rank": 0})[0] == {"rank": 0}
        ctx.barrier()
    finally:
        dist.destroy_process_group()
