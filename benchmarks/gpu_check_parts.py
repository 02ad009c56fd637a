"""The four measured parts of ``benchmarks/gpu_check.py`` (docs/gpu-check.md)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchmarks.bench_models import PHASES_OF, VARIANTS


@dataclass(frozen=True)
class Sizes:
    """How much each part measures (GPU sizes or the dry run's tiny ones).

    Attributes:
        batch: Images per step (paper: 250).
        n_steps: Spiking time steps T (paper: 16).
        iters: Timed iterations per throughput row (after one warm-up).
        row_cap_s: Stop timing a row after this long, even before ``iters``.
        throughput_budget_s: Rows not started within this are recorded as not measured.
        train_budget_s: Wall time of the paper training loop after its warm-up steps.
        warmup_steps: Training steps left out of the timing.
        test_images: Test images timed through the per-epoch test loss.
        samples: Generated images for FID / AE-FD.
        train_limit: Training images prepared (None: all 60,000).
        test_limit: Test images prepared (None: all 10,000).
        pytest_select: ``pytest -k`` expression (None: every GPU test).
        pytest_timeout_s: Wall-time limit of the test run.

    """

    batch: int
    n_steps: int
    iters: int
    row_cap_s: float
    throughput_budget_s: float
    train_budget_s: float
    warmup_steps: int
    test_images: int
    samples: int
    train_limit: int | None
    test_limit: int | None
    pytest_select: str | None
    pytest_timeout_s: int


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_gpu_tests(
    out: Any, device: str, sizes: Sizes, mirrors: dict[str, str | None], root: Path
) -> dict[str, Any]:
    """(a) ``pytest -m gpu tests/gpu``: log and JUnit XML into the output folder."""
    env = {**os.environ, **{k: v for k, v in mirrors.items() if v}}
    env["FSVAE_GPU_TEST_DEVICE"] = device
    # -v: each result is in the log as it happens, so a run stopped at its limit still tells.
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "tests/gpu", "-v", "-rA"]
    cmd += ["-p", "no:cacheprovider", f"--junitxml={out.file('a_pytest_gpu.xml')}"]
    if sizes.pytest_select:
        cmd += ["-k", sizes.pytest_select]
    with open(out.file("a_pytest_gpu.txt"), "w") as log:
        try:
            rc = subprocess.run(
                cmd,
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=sizes.pytest_timeout_s,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = None
            log.write(f"\ngpu_check: pytest stopped after {sizes.pytest_timeout_s} s\n")
    counts: dict[str, int] = {}
    xml = out.file("a_pytest_gpu.xml")
    if xml.is_file():
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no JUnit report"
    return {"command": " ".join(cmd), "returncode": rc, "summary": summary, **counts}


def _step_fn(label: str, phase: str, device: str, sizes: Sizes, amp: bool):
    """The timed call of one throughput row (as benchmarks/bench_models.py times it)."""
    from pipelines.registry import build_model

    name, overrides = VARIANTS[label]
    if name != "ann_vae":
        overrides = {**overrides, "n_steps": sizes.n_steps}
    torch.manual_seed(0)
    model = build_model(name, "mnist", **overrides).to(device)
    x = torch.rand(sizes.batch, *model.input_shape, device=device) * 2 - 1
    gen = torch.Generator(device=device).manual_seed(0)
    autocast = torch.autocast(torch.device(device).type, torch.bfloat16, enabled=amp)
    if phase == "train":
        model.train()
        model.begin_epoch(75, 150, 240)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = model.loss(x)["loss"]
            loss.backward()
            opt.step()

        return step
    model.eval()

    def infer() -> None:
        with torch.no_grad(), autocast:
            if phase == "reconstruct":
                model.reconstruct(x, gen)
            else:
                model.sample(sizes.batch, gen)

    return infer


def measure_throughput(out: Any, device: str, sizes: Sizes) -> dict[str, Any]:
    """(b) images/s per model x phase x precision; the file is rewritten after every row."""
    deadline = time.perf_counter() + sizes.throughput_budget_s
    rows: list[dict[str, Any]] = []
    report = {"batch": sizes.batch, "n_steps": sizes.n_steps, "device": device, "rows": rows}
    if device.startswith("cuda"):
        report["gpu_name"] = torch.cuda.get_device_name(0)
    for label in VARIANTS:
        for phase in PHASES_OF.get(label, ("train", "reconstruct", "sample")):
            for precision in ("fp32", "bf16"):
                row: dict[str, Any] = {"model": label, "phase": phase, "precision": precision}
                if time.perf_counter() > deadline:
                    row["not_measured"] = f"out of the {sizes.throughput_budget_s} s budget"
                else:
                    row |= _time_row(
                        _step_fn(label, phase, device, sizes, precision == "bf16"), device, sizes
                    )
                rows.append(row)
                print(row, flush=True)
                out.write_json("b_throughput.json", report)
    return report


def _time_row(step, device: str, sizes: Sizes) -> dict[str, Any]:
    first = time.perf_counter()
    step()  # warm-up: allocator, cuDNN algorithm choice
    _sync(device)
    warmup_s = time.perf_counter() - first
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times: list[float] = []
    cap = time.perf_counter() + sizes.row_cap_s
    while len(times) < sizes.iters and (not times or time.perf_counter() < cap):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    row = {"images_per_s": sizes.batch / median, "step_s": median, "timed_steps": len(times)}
    row["warmup_s"] = warmup_s
    if device.startswith("cuda"):
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return row


class _Budget(Exception):
    """Raised from the Trainer's step hook when the timed window is over."""


def measure_training(out: Any, device: str, sizes: Sizes, prepared: Path, work: Path):
    """(c) profiles/paper.yaml's MNIST FSVAE through the Trainer for a fixed wall time.

    Returns:
        The trained model (for part d).

    """
    from pipelines.params import load_params, train_config
    from pipelines.process.settings import RuntimeSettings
    from pipelines.train import Trainer, test_loss

    root = Path(__file__).resolve().parents[1]
    overrides: dict[str, Any] = {}
    if sizes.train_limit is not None:  # dry run: tiny data and model
        overrides |= {"batch_size": sizes.batch, "num_workers": 0}
    config = train_config(
        load_params(root / "profiles" / "paper.yaml"), "fsvae", "mnist", **overrides
    )
    if sizes.train_limit is not None:
        options = {**config.model_options, "n_steps": sizes.n_steps}
        config = dataclasses.replace(config, model_options=options)
    runtime = RuntimeSettings(device=device)
    trainer = Trainer(config, prepared, work / "run", progress=False, runtime=runtime)
    steps_per_epoch = -(-len(trainer.train_set) // config.batch_size)
    marks: list[float] = []

    def on_step(step: int) -> None:
        marks.append(time.perf_counter())  # the loop reads the loss each step: synchronised
        timed = len(marks) - 1 - sizes.warmup_steps
        # Stop inside the first epoch: its end (test pass, checkpoint) is timed separately.
        if timed >= 1 and (
            marks[-1] - marks[sizes.warmup_steps] >= sizes.train_budget_s
            or step >= steps_per_epoch - 1
        ):
            raise _Budget

    trainer.on_step = on_step
    started = time.perf_counter()
    try:
        trainer.fit()
        raise RuntimeError("the training loop ended before its time budget (too few images)")
    except _Budget:
        pass
    timed_steps = len(marks) - 1 - sizes.warmup_steps
    window = marks[-1] - marks[sizes.warmup_steps]
    step_s = window / timed_steps
    n_test = min(sizes.test_images, len(trainer.test_set))
    subset = torch.utils.data.Subset(trainer.test_set, range(n_test))
    _sync(device)
    start = time.perf_counter()
    test_loss(trainer.model, subset, config, trainer.device)
    _sync(device)
    test_s_per_image = (time.perf_counter() - start) / n_test
    epoch_s = steps_per_epoch * step_s + len(trainer.test_set) * test_s_per_image
    report = {
        "profile": "paper",
        "model": "fsvae",
        "dataset": "mnist",
        "train_config": config.to_dict(),
        "train_images": len(trainer.train_set),
        "test_images": len(trainer.test_set),
        "steps_per_epoch": steps_per_epoch,
        "warmup_steps": sizes.warmup_steps,
        "warmup_s": marks[sizes.warmup_steps] - started,
        "timed_steps": timed_steps,
        "timed_s": window,
        "step_s": step_s,
        "images_per_s": config.batch_size / step_s,
        "test_loss_s_per_image": test_s_per_image,
        "epoch_s_estimate": epoch_s,
        "run_s_estimate": config.epochs * epoch_s,
        "run_h_estimate": config.epochs * epoch_s / 3600,
        "estimate": "epochs x (steps_per_epoch x step_s + test images x test_loss_s_per_image); "
        "checkpoints every checkpoint_every steps are inside step_s only if one fell in the "
        "timed window",
    }
    out.write_json("c_train_paper.json", report)
    return trainer.model


FID_TOO_BIG = (
    "no FID Inception weights on this machine: pytorch-fid's weights file (and the 87 MB "
    "TorchScript copy it can be converted from) is larger than the 64 MiB a GPU call "
    "carries; pass --fid-weights FILE where the file exists"
)


def measure_metrics(
    out: Any, device: str, sizes: Sizes, model: Any, prepared: Path, work: Path, ns: Any
) -> dict[str, Any]:
    """(d) ``sizes.samples`` samples from the trained model -> FID and AE-FD on the device."""
    from pipelines.metrics.evaluate import EvalSettings, run_sample_metrics
    from pipelines.metrics.protocol import unavailable
    from pipelines.sampling import generate

    metrics = ["afd_paper"] + (["fid"] if ns.fid_weights else [])
    settings = EvalSettings(
        num_samples=sizes.samples,
        metrics=metrics,
        fid_weights=ns.fid_weights,
        asset_dir=str(work / "assets"),
        cache_dir=str(work / "cache"),
        offline=True,
        device=device,
        progress=False,
        gen_batch_size=sizes.batch,
        batch_size=min(100, sizes.samples),
    )
    if ns.asset_mirror:
        os.environ["FSVAE_ASSET_MIRROR"] = ns.asset_mirror
    _sync(device)
    start = time.perf_counter()
    images = generate(model, sizes.samples, settings.seed, settings.gen_batch_size, progress=False)
    _sync(device)
    sample_s = time.perf_counter() - start
    start = time.perf_counter()
    values = run_sample_metrics(images, "mnist", prepared, settings)
    _sync(device)
    report: dict[str, Any] = {
        "num_samples": sizes.samples,
        "sample_s": sample_s,
        "samples_per_s": sizes.samples / sample_s,
        "metrics_s": time.perf_counter() - start,
        "eval_settings": settings.to_dict(),
        "note": "the model of part c after its short timed run: plumbing and timing, not a result",
        "metrics": values if ns.fid_weights else {**values, **unavailable("fid", FID_TOO_BIG)},
    }
    out.write_json("d_metrics.json", report)
    return report
