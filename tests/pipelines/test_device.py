"""pipelines.process.device and the DDP context: device resolution, numerics, seeding.

No GPU here: CUDA is mocked where a code path must be shown to pick the right device,
and ``meta`` stands in for a GPU where tensors must not meet CPU ones.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.distributed as dist

from pipelines import train as train_mod
from pipelines.checkpoint import rng_states
from pipelines.process import device as device_mod
from pipelines.process.device import apply_numerics, describe, resolve_device, seeded_fork
from pipelines.process.distributed import DistContext
from pipelines.process.settings import RuntimeSettings
from pipelines.train_config import TrainConfig


@pytest.fixture
def numerics():
    """Restore the process-wide float switches a test changes."""
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.get_float32_matmul_precision(),
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[:2]
    torch.set_float32_matmul_precision(saved[2])
    torch.use_deterministic_algorithms(saved[3])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[4:]


def _fake_gpus(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def test_auto_is_the_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto", env={}) == "cpu"
    assert resolve_device("meta", env={}) == "meta"


def test_auto_and_cuda_mean_the_local_rank_under_torchrun(monkeypatch):
    _fake_gpus(monkeypatch, 2)
    env = {"WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    assert resolve_device("auto", env) == "cuda:1"
    assert resolve_device("cuda", env) == "cuda:1"
    assert resolve_device("cuda", {}) == "cuda:0"
    assert resolve_device("cuda:1", {}) == "cuda:1"


@pytest.mark.parametrize(
    ("requested", "gpus", "message"),
    [
        ("cuda", 0, "CUDA is not available here"),
        ("cuda:0", 0, "CUDA is not available here"),
        ("cuda:2", 2, "cuda:2 does not exist: this machine has 2 CUDA device(s)"),
        ("gpu", 0, "unknown device 'gpu'"),
        ("mps", 0, "not supported"),
    ],
)
def test_bad_devices_are_one_line_errors(monkeypatch, requested, gpus, message):
    if gpus:
        _fake_gpus(monkeypatch, gpus)
    else:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError) as err:
        resolve_device(requested, env={})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_tf32_is_off_unless_asked_and_determinism_is_selectable(numerics, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default for convolutions
    apply_numerics(RuntimeSettings())
    record = describe("cpu")
    assert not record["tf32_cudnn"] and not record["tf32_matmul"]
    assert record["float32_matmul_precision"] == "highest"
    assert not record["deterministic"] and not record["cudnn_benchmark"]
    apply_numerics(RuntimeSettings(tf32=True, deterministic=True))
    record = describe("cpu")
    assert record["tf32_cudnn"] and record["tf32_matmul"]
    assert record["deterministic"] and record["cudnn_deterministic"]
    assert record["cublas_workspace_config"] == device_mod.CUBLAS_WORKSPACE


def test_describe_names_device_versions_and_threads():
    record = describe("cpu")
    assert record["device"] == "cpu" and record["gpu"] is None
    assert record["torch"] == torch.__version__ and record["cuda"] == torch.version.cuda
    assert record["cpu_threads"] == torch.get_num_threads()
    assert {"cudnn", "tf32_cudnn", "deterministic"} <= set(record)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __call__(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))

        return record


def test_seeded_fork_touches_only_the_active_cuda_device(monkeypatch):
    calls = _Recorder()
    forks = []

    @contextlib.contextmanager
    def fork_rng(devices=None, enabled=True, device_type="cuda", **_):
        forks.append((list(devices), device_type))
        yield

    monkeypatch.setattr(torch.random, "fork_rng", fork_rng)
    monkeypatch.setattr(torch.cuda, "device", lambda index: contextlib.nullcontext(index))
    monkeypatch.setattr(torch.cuda, "manual_seed", calls("cuda.manual_seed"))
    monkeypatch.setattr(torch.cuda, "manual_seed_all", calls("cuda.manual_seed_all"))
    monkeypatch.setattr(torch, "manual_seed", calls("manual_seed"))
    with seeded_fork("cuda:1", 5):
        pass
    assert forks == [([1], "cuda")]
    assert [name for name, *_ in calls.calls] == ["cuda.manual_seed"]


def test_test_loss_never_reseeds_every_device(monkeypatch):
    """torch.manual_seed also seeds every CUDA device: a GPU run replayed its stream."""
    model = torch.nn.Module()
    model.loss = lambda x: {"loss": x.mean()}  # type: ignore[assignment]
    calls = _Recorder()
    monkeypatch.setattr(torch, "manual_seed", calls("manual_seed"))
    monkeypatch.setattr(torch.cuda, "manual_seed_all", calls("cuda.manual_seed_all"))
    before = torch.get_rng_state()
    images = torch.zeros(6, 1, 4, 4)
    terms = train_mod.test_loss(model, images, TrainConfig(batch_size=4), "cpu")  # type: ignore[arg-type]
    assert terms == {"loss": 0.0}
    assert calls.calls == []
    assert torch.equal(torch.get_rng_state(), before)


def test_each_rank_saves_only_its_own_gpu_rng_state(monkeypatch):
    asked = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda i: asked.append(i) or torch.ones(8))

    def every_gpu():
        raise AssertionError("every GPU's state was read")

    monkeypatch.setattr(torch.cuda, "get_rng_state_all", every_gpu)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    states = rng_states("cuda:1")
    assert asked == [1] and states["cuda"]["index"] == 1
    assert "cuda" not in rng_states("cpu")


class _Stop(Exception):
    pass


def test_ddp_sums_on_the_group_device(monkeypatch):
    """NCCL has no CPU backend: the logging all-reduce must use the rank's GPU tensor."""
    seen = []

    def all_reduce(t, *args, **kwargs):
        seen.append(t.device.type)
        raise _Stop

    monkeypatch.setattr(dist, "all_reduce", all_reduce)
    with pytest.raises(_Stop):
        DistContext(rank=0, world=2, device="meta").sum([1.0, 2.0])
    assert seen == ["meta"]


def test_ddp_sets_the_cuda_device_before_the_nccl_group(monkeypatch):
    order = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(
        dist, "init_process_group", lambda backend, **_: order.append(("init", backend))
    )
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: order.append(("set_device", str(d))))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(dist, "get_backend", lambda: "nccl")
    ctx = DistContext.from_env("cuda:1")
    assert order == [("set_device", "cuda:1"), ("init", "nccl")]
    assert (ctx.rank, ctx.world, ctx.local_rank, ctx.device) == (1, 2, 1, "cuda:1")
