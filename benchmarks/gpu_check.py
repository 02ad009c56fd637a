"""One call on a lent GPU: the GPU tests, throughput, the paper's training loop, FID / AE-FD.

Run through ``benchmarks/gpu_check.sh`` (docs/gpu-check.md: what it needs, what it writes,
how long it takes). Writes into OUT_DIR, each file as soon as its part is measured:

* ``environment.json``: device, GPU, torch / CUDA versions, TF32 and determinism settings,
  package versions, the torch API check, the sizes; rewritten at the end with every part's
  status and wall time.
* ``a_pytest_gpu.txt`` / ``a_pytest_gpu.xml``: ``pytest -m gpu`` (tests/gpu).
* ``b_throughput.json``: images/s per model x phase x precision (fp32, bf16 autocast).
* ``c_train_paper.json``: the paper profile's MNIST FSVAE through ``pipelines.train.Trainer``
  for a fixed wall time: images/s and the extrapolated time of the whole run.
* ``d_metrics.json``: samples from that model -> FID (when weights are given) and AE-FD.

``--cpu-dry-run`` runs the same parts on the CPU at tiny sizes (tests/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.gpu_check_parts import (  # noqa: E402
    Sizes,
    measure_metrics,
    measure_throughput,
    measure_training,
    run_gpu_tests,
)
from pipelines.data.atomic import write_json_atomic  # noqa: E402
from pipelines.process.device import describe, prepare  # noqa: E402
from pipelines.process.settings import RuntimeSettings  # noqa: E402

FILES = (
    "environment.json",
    "a_pytest_gpu.txt",
    "a_pytest_gpu.xml",
    "b_throughput.json",
    "c_train_paper.json",
    "d_metrics.json",
    "gpu_check.log",  # written by gpu_check.sh (stdout and stderr of the whole call)
)
# Sized so the whole call fits 8 minutes on an H100 (estimate in docs/gpu-check.md).
GPU_SIZES = Sizes(
    batch=250,
    n_steps=16,
    iters=5,
    row_cap_s=6.0,
    throughput_budget_s=100.0,
    train_budget_s=60.0,
    warmup_steps=3,
    test_images=1000,
    samples=500,
    train_limit=None,
    test_limit=None,
    pytest_select=None,
    pytest_timeout_s=200,
)
DRY_SIZES = Sizes(
    batch=4,
    n_steps=2,
    iters=1,
    row_cap_s=2.0,
    throughput_budget_s=40.0,
    train_budget_s=3.0,
    warmup_steps=1,
    test_images=8,
    samples=16,
    train_limit=64,
    test_limit=32,
    # One model's tests and DDP: every model's variant is the same test code (tests/gpu).
    pytest_select="ann_vae or ddp",
    pytest_timeout_s=120,
)


def select_device(dry_run: bool) -> tuple[str, dict[str, Any]]:
    """The device of this check and the record of it (the only device-specific glue here).

    Args:
        dry_run: Use the CPU.

    Returns:
        The device string and a JSON record: device, GPU name and capability, torch, CUDA
        and cuDNN versions, TF32 and determinism settings as this process has them.

    Raises:
        SystemExit: Without CUDA when not a dry run.

    """
    if not dry_run and not torch.cuda.is_available():
        raise SystemExit(
            "gpu_check: no CUDA device (torch.cuda.is_available() is False); "
            "use --cpu-dry-run to check the script on the CPU"
        )
    # The project's one device set-up: TF32 off, determinism as the params default.
    device = prepare(RuntimeSettings(device="cpu" if dry_run else "cuda"))
    return device, describe(device)


class OutDir:
    """The output folder: only the files in ``FILES``, each written whole (temporary + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, name: str) -> Path:
        """Return the path of one of ``FILES``."""
        if name not in FILES:
            raise ValueError(f"{name} is not one of the check's files {FILES}")
        return self.path / name

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write a JSON file atomically."""
        write_json_atomic(self.file(name), data, default=str)


def _part(env: dict[str, Any], out: OutDir, name: str, fn: Callable[[], Any]) -> Any:
    """Run one part; record its wall time and status; a failing part does not stop the rest."""
    started = time.perf_counter()
    print(f"gpu_check: {name} ...", flush=True)
    try:
        result = fn()
        status = "ok"
    except Exception as err:  # noqa: BLE001 - the other parts still run and report
        traceback.print_exc()
        result, status = None, f"failed: {type(err).__name__}: {err}"
    env["parts"][name] = {"status": status, "wall_s": round(time.perf_counter() - started, 2)}
    print(f"gpu_check: {name} {status} ({env['parts'][name]['wall_s']} s)", flush=True)
    out.write_json("environment.json", env)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the check; return 0 when every part ran and every GPU test passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="empty or new folder for the files ($OUT)")
    parser.add_argument("--cpu-dry-run", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument(
        "--data-mirror", default=os.environ.get("FSVAE_DATA_MIRROR"), help="has MNIST/raw/*.gz"
    )
    parser.add_argument(
        "--asset-mirror",
        default=os.environ.get("FSVAE_ASSET_MIRROR"),
        help="<host>/<path> mirror with the authors' MNIST autoencoder (AE-FD)",
    )
    parser.add_argument("--fid-weights", help="pytorch-fid Inception weights (else no FID)")
    ns = parser.parse_args(argv)
    # gpu_check.sh starts its log there first; anything else would mix two runs.
    if ns.out.exists() and (
        not ns.out.is_dir() or {p.name for p in ns.out.iterdir()} - {"gpu_check.log"}
    ):
        parser.error(f"{ns.out} must be an empty folder or not exist")
    if not ns.data_mirror or not (Path(ns.data_mirror) / "MNIST" / "raw").is_dir():
        parser.error(f"--data-mirror {ns.data_mirror!r} has no MNIST/raw (docs/gpu-check.md)")
    started = time.perf_counter()
    device, device_record = select_device(ns.cpu_dry_run)  # before anything is written
    ns.out.mkdir(parents=True, exist_ok=True)
    out = OutDir(ns.out)
    sizes = DRY_SIZES if ns.cpu_dry_run else GPU_SIZES
    from benchmarks.torch_api import check as torch_api_check
    from pipelines.checkpoint import package_versions

    env: dict[str, Any] = {
        "dry_run": ns.cpu_dry_run,
        **device_record,
        "versions": package_versions(),
        "sizes": dataclasses.asdict(sizes),
        "parts": {},
    }
    out.write_json("environment.json", env)
    env["torch_api"] = _part(env, out, "torch_api", torch_api_check)
    with tempfile.TemporaryDirectory(prefix="gpu_check.") as tmp:
        work = Path(tmp)
        prepared = _part(env, out, "prepare", lambda: _prepare(ns.data_mirror, work, sizes))
        mirrors = {"FSVAE_DATA_MIRROR": ns.data_mirror, "FSVAE_ASSET_MIRROR": ns.asset_mirror}
        tests = _part(
            env, out, "a_pytest", lambda: run_gpu_tests(out, device, sizes, mirrors, ROOT)
        )
        env["pytest"] = tests
        if prepared is not None:
            _part(env, out, "b_throughput", lambda: measure_throughput(out, device, sizes))
            model = _part(
                env, out, "c_train", lambda: measure_training(out, device, sizes, prepared, work)
            )
            if model is not None:
                _part(
                    env,
                    out,
                    "d_metrics",
                    lambda: measure_metrics(out, device, sizes, model, prepared, work, ns),
                )
    env["wall_s"] = round(time.perf_counter() - started, 1)
    out.write_json("environment.json", env)
    failed = [k for k, v in env["parts"].items() if v["status"] != "ok"]
    tests_ok = bool(tests) and tests.get("returncode") == 0
    print(
        f"gpu_check: done in {env['wall_s']} s; failed parts: {failed or 'none'}; "
        f"tests: {tests and tests.get('summary')}"
    )
    return 0 if not failed and tests_ok else 1


def _prepare(mirror: str, work: Path, sizes: Sizes) -> Path:
    """Prepare MNIST from the raw IDX files (prepared arrays are too big to carry)."""
    from pipelines.data import prepare_dataset

    root = work / "prepared"
    prepare_dataset(
        "mnist",
        data_root=work / "data",
        prepared_root=root,
        mirror=mirror,
        download=False,
        train_limit=sizes.train_limit,
        test_limit=sizes.test_limit,
    )
    return root


if __name__ == "__main__":
    sys.exit(main())
