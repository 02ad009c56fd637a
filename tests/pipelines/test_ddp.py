"""DDP on the CPU (gloo, 2 processes) against a single process with the same global batch."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from benchcore.contract import GenerativeModel, ModelConfig
from pipelines.train import Trainer
from pipelines.train_config import TrainConfig

SETTINGS = dict(
    model="tests.pipelines.test_ddp:TinyAE",
    dataset="mnist",
    epochs=2,
    batch_size=32,
    train_limit=128,
    test_limit=32,
    seed=5,
    lr=1e-2,
)


class TinyAE(GenerativeModel):
    """A deterministic autoencoder without batch norm: DDP must equal one big batch."""

    config_class = ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        flat = config.in_channels * config.image_size**2
        self.enc = nn.Linear(flat, 16)
        self.dec = nn.Linear(16, flat)

    def reconstruct(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Encode and decode."""
        return torch.tanh(self.dec(torch.relu(self.enc(x.flatten(1))))).view_as(x)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean squared reconstruction error."""
        return {"loss": F.mse_loss(self.reconstruct(x), x)}

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode random codes."""
        z = torch.randn(n, 16, generator=generator)
        return torch.tanh(self.dec(z)).view(n, *self.input_shape)


def _worker(rank: int, prepared: str, run_dir: str, init: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        trainer = Trainer(TrainConfig(**SETTINGS), prepared, run_dir, progress=False)
        trainer.resume()
        trainer.fit()
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_equals_one_process(prepared_mnist, tmp_path):
    single = Trainer(TrainConfig(**SETTINGS), prepared_mnist, tmp_path / "one", progress=False)
    single.fit()
    init = f"file://{tmp_path / 'pg'}"
    mp.spawn(_worker, args=(str(prepared_mnist), str(tmp_path / "two"), init), nprocs=2)
    saved = torch.load(tmp_path / "two" / "last.pt", weights_only=False)
    assert saved["step"] == single.state.step == 8
    assert len(saved["rng_ranks"]) == 2
    for key, value in single.model.state_dict().items():
        assert torch.allclose(saved["model_state"][key], value, atol=1e-6), key
    # Only rank 0 wrote: one set of logs, with the global-batch loss.
    assert (tmp_path / "two" / "train_log.csv").exists()
    single_log = [round(r["loss"], 5) for r in single.state.train_log]
    assert [round(r["loss"], 5) for r in saved["train_log"]] == single_log
