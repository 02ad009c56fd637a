"""The training loop every model shares: seeded, resumable, atomic checkpoints.

A run lives in one folder: ``last.pt`` (full state, rewritten each epoch and every
``checkpoint_every`` steps), ``best.pt`` (lowest test loss), ``train_log.csv`` and
``test_log.csv`` (DVC plots). Running again with the same config resumes from
``last.pt``, reproducing the uninterrupted run exactly on the CPU: the data order of
each epoch is derived from (seed, epoch), and every RNG state is in the checkpoint.

Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped in DistributedDataParallel:
``batch_size`` stays the global batch, each rank takes every ``world``-th image of it,
only rank 0 writes checkpoints and logs, and every rank's RNG state (CPU and its own
GPU's) is saved, so resume stays exact. Options ``amp`` (bf16 autocast) and ``compile``
are off by default.

The device comes from ``runtime`` (:class:`RuntimeSettings`, resolved once by
:mod:`pipelines.process.device`) and is recorded in every checkpoint (``runtime``). A run
resumes only on the device type it was started on (CPU and CUDA draw different random
streams); checkpoints are read on the CPU, so a GPU's checkpoint loads anywhere.
Python scalars are read through one seam, ``read_scalar``, so the loop also runs on
PyTorch's ``meta`` device (tests prove no stray CPU tensor meets a GPU one).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from pipelines.checkpoint import (
    FORMAT_VERSION,
    load_checkpoint,
    package_versions,
    remove_stale_temporaries,
    restore_rng_states,
    rng_states,
)
from pipelines.data import ImageArrayDataset, load_split, uses_hflip
from pipelines.data.atomic import save_torch_atomic
from pipelines.optim import param_groups
from pipelines.process.allocator import tune_allocator
from pipelines.process.device import describe, device_type, prepare
from pipelines.process.distributed import DistContext
from pipelines.process.settings import RuntimeSettings
from pipelines.registry import build_model
from pipelines.seeding import seed_everything
from pipelines.train_config import TrainConfig
from pipelines.train_parts import (
    LossModule,
    RunState,
    device_change,
    epoch_batches,
    same_settings,
    test_loss,
    to_float,
    write_csv_atomic,
)

__all__ = ["RunState", "Trainer", "epoch_batches", "test_loss"]

LOG_EVERY_STEPS = 10


class Trainer:
    """Train one model on one dataset.

    Args:
        config: The run's settings.
        prepared_root: Folder of preprocessed datasets (``fsvae-bench prepare``).
        run_dir: Folder for checkpoints and logs.
        progress: Show a tqdm progress bar.
        on_step: Called with the global step after each optimizer step (tests use it
            to simulate a crash).
        runtime: Device and numerics (``runtime`` in params.yaml); None: the defaults.
        read_scalar: Turns a 0-d loss tensor into a float (default ``float``, a device
            sync). The only place the loop reads tensor values: on ``meta``, which has
            no values, tests pass e.g. ``lambda t: 0.0``.

    Raises:
        ValueError: For a device this machine does not have (before anything is written).

    """

    def __init__(
        self,
        config: TrainConfig,
        prepared_root: str | Path,
        run_dir: str | Path,
        progress: bool = True,
        on_step: Callable[[int], None] | None = None,
        runtime: RuntimeSettings | None = None,
        read_scalar: Callable[[torch.Tensor], float] = to_float,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.on_step = on_step
        self.read_scalar = read_scalar
        # Resolved once (cuda:LOCAL_RANK under torchrun); a bad device fails here.
        self.device = prepare(runtime or RuntimeSettings())
        if config.tune_allocator:
            tune_allocator()
        self.dist = DistContext.from_env(self.device)
        if self.dist.is_main:
            remove_stale_temporaries(self.run_dir)  # left by a run killed mid-save
        train_images = load_split(prepared_root, config.dataset, "train")[: config.train_limit]
        test_images = load_split(prepared_root, config.dataset, "test")[: config.test_limit]
        self.train_set = ImageArrayDataset(train_images, hflip=uses_hflip(config.dataset))
        self.test_set = ImageArrayDataset(test_images, hflip=False)
        seed_everything(config.seed)
        self.model = build_model(config.model, config.dataset, **config.model_options)
        self.model.to(self.device)
        if self.dist.rank:
            # Same initial weights on every rank, different random draws afterwards.
            seed_everything(config.seed + 1_000_003 * self.dist.rank)
        self.step_module: nn.Module = LossModule(self.model)
        if self.dist.world > 1:
            ids = [self.device] if device_type(self.device) == "cuda" else None
            self.step_module = DistributedDataParallel(self.step_module, device_ids=ids)
        if config.compile:
            # fallback_random: compiled code draws from PyTorch's generator as eager does, so
            # a compiled run sees the same random numbers (else inductor uses its own RNG).
            self.step_module = torch.compile(self.step_module, options={"fallback_random": True})
        self.optimizer = torch.optim.AdamW(
            param_groups(self.model, config.lr, config.lr_multipliers),
            lr=config.lr,
            betas=config.betas,
            weight_decay=config.weight_decay,
        )
        self.state = RunState(train_log=[], test_log=[])

    @property
    def last_path(self) -> Path:
        """The resumable checkpoint."""
        return self.run_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        """The checkpoint with the lowest test loss."""
        return self.run_dir / "best.pt"

    def _checkpoint(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "model_name": self.config.model,
            "model_label": self.config.label or self.config.model,
            "dataset": self.config.dataset,
            "config": self.model.config.to_dict(),
            "train_config": self.config.to_dict(),
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "rng": rng_states(self.device),
            "rng_ranks": (
                self.dist.all_gather(rng_states(self.device)) if self.dist.world > 1 else None
            ),
            "versions": package_versions(),
            # Where it ran: device, GPU, CUDA/cuDNN versions, TF32 and determinism.
            "runtime": describe(self.device),
            # The CPU thread count changes float summation order; a resumed run uses it again.
            "num_threads": torch.get_num_threads(),
            **{k: v for k, v in vars(self.state).items()},
        }

    def _save(self, path: Path) -> None:
        ckpt = self._checkpoint()  # a collective under DDP: every rank gathers RNG states
        if self.dist.is_main:
            save_torch_atomic(ckpt, path)
            write_csv_atomic(self.run_dir / "train_log.csv", self.state.train_log or [])
            write_csv_atomic(self.run_dir / "test_log.csv", self.state.test_log or [])
        self.dist.barrier()

    def resume(self, if_config_changed: str = "error") -> bool:
        """Load ``last.pt`` if the run folder has one.

        Args:
            if_config_changed: ``error`` or ``restart`` when the saved run used other settings.

        Returns:
            Whether a checkpoint was loaded.

        Raises:
            ValueError: If the saved config differs and ``if_config_changed`` is ``error``.

        """
        if not self.last_path.exists():
            return False
        # Read on the CPU: load_state_dict copies to the parameters' device, and the RNG
        # states must stay CPU ByteTensors (a map_location of the GPU moved them too).
        ckpt = load_checkpoint(self.last_path, map_location="cpu")
        moved = device_change(ckpt, self.device)
        if not same_settings(ckpt, self.config) or moved:
            if if_config_changed == "restart":
                if moved and self.dist.is_main:
                    print(f"{self.run_dir}: {moved}; restarting", file=sys.stderr)
                self.dist.barrier()  # every rank has read the old checkpoint
                for name in ("last.pt", "best.pt", "train_log.csv", "test_log.csv"):
                    if self.dist.is_main:
                        (self.run_dir / name).unlink(missing_ok=True)
                self.dist.barrier()
                return False
            if moved:
                raise ValueError(
                    f"{self.run_dir}: {moved}, and a resumed run would continue another "
                    "random stream; run on that device, pass --restart to discard it or "
                    "choose another --run-dir"
                )
            raise ValueError(
                f"{self.run_dir} holds a run with different settings; pass --restart to "
                "discard it or choose another --run-dir"
            )
        self.model.load_state_dict(ckpt["model_state"])
        self.optimizer.load_state_dict(ckpt["optimizer_state"])
        saved_threads = ckpt.get("num_threads")
        if saved_threads and not os.environ.get("OMP_NUM_THREADS"):
            # fsvae-bench picks the thread count from the machine's load at start; resuming
            # with another count would continue a different float computation.
            torch.set_num_threads(int(saved_threads))
        per_rank = ckpt.get("rng_ranks") or [ckpt["rng"]]
        restore_rng_states(
            per_rank[self.dist.rank] if self.dist.rank < len(per_rank) else ckpt["rng"],
            self.device,
        )
        self.state = RunState(**{k: ckpt[k] for k in vars(RunState()) if k in ckpt})
        return True

    def _out_of_steps(self) -> bool:
        return self.config.max_steps is not None and self.state.step >= self.config.max_steps

    def _end_of_period(self) -> None:
        """Measure the test loss, log it, and checkpoint (best too if it improved)."""
        terms = None
        if self.dist.is_main:
            terms = test_loss(self.model, self.test_set, self.config, self.device, self.read_scalar)
        terms = self.dist.broadcast(terms)
        row = {"epoch": self.state.epoch, "step": self.state.step, **terms}
        assert self.state.test_log is not None
        self.state.test_log.append(row)
        improved = terms["loss"] < self.state.best_test_loss
        if improved:
            self.state.best_test_loss = terms["loss"]
        self._save(self.last_path)
        if improved:
            self._save(self.best_path)

    def fit(self) -> RunState:
        """Train until the configured epochs or steps are done; return the final state."""
        cfg, state = self.config, self.state
        n = len(self.train_set)
        batches_per_epoch = math.ceil(n / cfg.batch_size)
        while not state.finished and state.epoch < cfg.epochs and not self._out_of_steps():
            self._run_epoch(batches_per_epoch)
        if not state.finished:
            state.finished = True
            self._save(self.last_path)
        return state

    def _run_epoch(self, batches_per_epoch: int) -> None:
        cfg, state, model = self.config, self.state, self.model
        model.begin_epoch(state.epoch, cfg.epochs, batches_per_epoch)
        model.train()
        batches = epoch_batches(len(self.train_set), cfg.batch_size, cfg.seed, state.epoch)
        if self.dist.world > 1:
            # Shard each global batch by rank; a last batch too small to split is dropped.
            world, rank = self.dist.world, self.dist.rank
            batches = [b[rank::world] for b in batches if len(b) >= world]
        # A DataLoader draws a worker base seed when iterated; a generator of its own keeps
        # that draw off the global RNG, so a resumed epoch sees the same random stream.
        loader = DataLoader(
            self.train_set,
            batch_sampler=batches[state.batch_in_epoch :],
            num_workers=cfg.num_workers,
            generator=torch.Generator().manual_seed(cfg.seed + state.epoch),
        )
        bar = tqdm(
            loader,
            desc=f"{cfg.model}/{cfg.dataset} epoch {state.epoch + 1}/{cfg.epochs}",
            total=len(batches),
            initial=state.batch_in_epoch,
            disable=not self.progress,
            dynamic_ncols=True,
        )
        window_loss, window_images, window_start = 0.0, 0, time.perf_counter()
        # No autocast context at all without amp: torch.autocast refuses "meta".
        autocast = (
            torch.autocast(device_type(self.device), dtype=torch.bfloat16)
            if cfg.amp
            else contextlib.nullcontext()
        )
        for x in bar:
            with autocast:
                terms = self.step_module(x.to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            self.optimizer.step()
            state.step += 1
            state.batch_in_epoch += 1
            loss = self.read_scalar(terms["loss"].detach())
            loss_sum, count = self.dist.sum([loss * len(x), len(x)])
            window_loss += loss_sum
            window_images += int(count)
            if state.step % LOG_EVERY_STEPS == 0 or state.batch_in_epoch == len(batches):
                rate = window_images / (time.perf_counter() - window_start)
                mean_loss = window_loss / window_images
                assert state.train_log is not None
                state.train_log.append(
                    {
                        "epoch": state.epoch,
                        "step": state.step,
                        "loss": mean_loss,
                        "images_per_s": rate,
                    }
                )
                bar.set_postfix(loss=f"{mean_loss:.4f}", img_s=f"{rate:.1f}")
                window_loss, window_images, window_start = 0.0, 0, time.perf_counter()
            if self.on_step is not None:
                self.on_step(state.step)
            if self._out_of_steps():
                break
            if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                self._save(self.last_path)
        bar.close()
        if state.batch_in_epoch == len(batches):
            state.epoch += 1
            state.batch_in_epoch = 0
        self._end_of_period()
