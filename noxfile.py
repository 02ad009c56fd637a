"""Development sessions: ``nox -s tests`` (CI), ``lint``, ``typecheck``, ``bench``,
``tests_torch211`` (the suite on the GPU machines' torch 2.11).

Installs use uv and the pinned ``requirements.lock``. On machines whose pip is set up
with local wheel indexes (``pip config debug``), the same indexes are handed to uv,
which does not read pip's configuration.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "lint"]

LOCK = "requirements.lock"
# The GPU machines' own PyTorch (docs/gpu-check.md); the lock's torch stack is replaced.
GPU_MACHINE_TORCH = ("torch==2.11.0", "torchvision==0.26.0")
# Lock lines that belong to the pinned torch (2.11 brings its own CUDA, triton, setuptools).
TORCH_STACK = ("torch==", "torchvision==", "triton==", "setuptools==", "cuda-", "nvidia-")


def _pip_config(key: str) -> list[str]:
    """Values of one pip setting (any scope), e.g. ``find-links``."""
    try:
        out = subprocess.run(
            ["python3", "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return []
    values: list[str] = []
    for line in out.splitlines():
        name, _, value = line.partition("=")
        if name.split(".", 1)[-1] == key:
            values += value.strip().strip("'\"").split()
    return values


def _uv_env() -> dict[str, str]:
    env: dict[str, str] = {"UV_INDEX_STRATEGY": "unsafe-best-match"}
    find_links = _pip_config("find-links") + os.environ.get("PIP_FIND_LINKS", "").split()
    if find_links:
        env["UV_FIND_LINKS"] = " ".join(dict.fromkeys(find_links))
    extra = _pip_config("extra-index-url")
    if extra:
        env["UV_EXTRA_INDEX_URL"] = " ".join(extra)
    constraints = _pip_config("constraint")
    if constraints:
        env["UV_CONSTRAINT"] = constraints[0]
    return env


def _install(session: nox.Session) -> None:
    env = _uv_env()
    session.install("-r", LOCK, env=env)
    session.install("--no-deps", "-e", ".", env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (CPU, real data from FSVAE_DATA_MIRROR) on two workers.

    Each test file stays on one worker (``--dist loadfile``: the end-to-end DVC project is
    a module fixture). Extra arguments go to pytest last, e.g. ``-- -n 0`` for one process.
    """
    _install(session)
    workers = ["-n", "2", "--dist", "loadfile"]
    session.run("pytest", *workers, *session.posargs, env={"DVC_NO_ANALYTICS": "1"})


@nox.session(name="tests_torch211")
def tests_torch211(session: nox.Session) -> None:
    """Run the tests on torch 2.11.0 / torchvision 0.26.0, the GPU machines' versions.

    Installs the lock without its torch stack, plus the two pins (uv resolves their CUDA
    wheels, about 3 GB). Extra arguments go to pytest, e.g. ``-- tests/fsvae``.
    """
    env = _uv_env()
    pins = [
        line
        for line in Path(LOCK).read_text().splitlines()
        if line[:1].isalpha() and not line.startswith(TORCH_STACK)
    ]
    requirements = Path(session.create_tmp()) / "requirements-torch211.txt"
    requirements.write_text("\n".join([*pins, *GPU_MACHINE_TORCH]) + "\n")
    session.install("-r", str(requirements), env=env)
    session.install("--no-deps", "-e", ".", env=env)
    session.run("python", "-c", "import torch; assert torch.__version__.startswith('2.11.0')")
    session.run("pytest", *session.posargs, env={"DVC_NO_ANALYTICS": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the packages with mypy."""
    _install(session)
    session.run("mypy", "benchcore", "fsvae", "baselines", "pipelines")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark FSVAE and the ANN VAE (JSON in benchmarks/results), then render the README.

    Extra arguments go to benchmarks/bench_models.py, e.g. ``nox -s bench -- --device cuda``.
    """
    _install(session)
    out = (
        "benchmarks/results/cuda.json"
        if "cuda" in session.posargs
        else "benchmarks/results/cpu.json"
    )
    session.run("python", "benchmarks/bench_models.py", "--out", out, *session.posargs)
    session.run("python", "benchmarks/render_readme.py", out, "README.md")
