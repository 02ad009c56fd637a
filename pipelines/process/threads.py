"""CPU intra-op thread count: load-aware choice, and the one-call opt-in.

PyTorch's intra-op threads meet at a barrier after every parallel op. When other
processes keep some of the cores busy, one of our threads is often descheduled and the
others wait for it for a whole scheduler time slice, thousands of times per FSVAE step
(the LIF loop is many small ops; measurements in docs/performance.md).
:func:`choose_num_threads` therefore uses only the cores other processes leave free.

The load-aware choice is for speed only: float sums depend on the thread count, so a
count chosen from the load makes weights and metrics depend on what else the machine ran.
Every command that feeds a reported number (:data:`REPORTING_COMMANDS`) therefore runs
with the count params.yaml declares (``runtime.cpu_threads``, :func:`declared_threads`)
and records it in its output; ``OMP_NUM_THREADS`` does not override it there (it pins the
count of the other commands). The load-aware choice remains for commands that report
nothing.

Neither setting is applied on import or by ``build_model``: the ``fsvae-bench`` command
line applies both (:func:`apply_command_threads`, :func:`tune_process`) and library users
opt in with the same calls.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

# torch is imported inside the functions that set threads: pipelines.cli imports this
# module before it parses, and `fsvae-bench --help` never loads torch
# (tests/pipelines/test_cli_imports.py).
from pipelines.params import load_params
from pipelines.process.allocator import tune_allocator
from pipelines.process.settings import RuntimeSettings

# Commands whose outputs hold, or feed, a reported number (weights, statistics, samples,
# metrics): they run with the declared thread count, never one chosen from the load.
REPORTING_COMMANDS = frozenset(
    {"train", "autoencoder", "fid-stats", "sample", "evaluate", "score", "cost"}
)


def busy_cpus(samples: int = 3, interval_s: float = 0.01) -> float:
    """How many cores other processes keep busy right now (Linux; 0.0 elsewhere).

    Counts the runnable threads of every other process in ``/proc``, each weighted by
    its scheduler share against a thread of ours (a ``nice 10`` job beside our
    ``nice 0`` threads counts 0.1), and takes the median of a few snapshots so a
    short-lived command does not count.

    Args:
        samples: Snapshots to take.
        interval_s: Seconds between snapshots.

    Returns:
        The weighted number of other runnable threads.

    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        return 0.0
    me = os.getpid()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    counts = []
    for i in range(samples):
        if i:
            time.sleep(interval_s)
        busy = 0.0
        for pid in (e.name for e in os.scandir(proc) if e.name.isdigit()):
            if int(pid) == me:
                continue
            try:
                tasks = [t.path for t in os.scandir(proc / pid / "task")]
            except OSError:  # the process just ended, or is not ours to see
                continue
            for task in tasks:
                try:
                    with open(f"{task}/stat", "rb") as handle:
                        stat = handle.read()
                except OSError:
                    continue
                fields = stat[stat.rfind(b")") + 2 :].split()
                if fields[0] == b"R":
                    # CFS weights fall by 1.25x per nice level.
                    busy += min(1.0, 1.25 ** (ours - int(fields[16])))
        counts.append(busy)
    return sorted(counts)[len(counts) // 2]


def default_num_threads() -> int:
    """PyTorch's default thread count: ``OMP_NUM_THREADS``, else the usable physical cores."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return max(1, min(physical, usable or physical))


def choose_num_threads(max_threads: int | None = None, busy: float | None = None) -> int:
    """Intra-op threads to use now: the cores other processes leave free, at least 1.

    Args:
        max_threads: Upper bound (default :func:`default_num_threads`).
        busy: Cores busy with other work (default: measured by :func:`busy_cpus`).

    Returns:
        The thread count.

    """
    max_threads = max_threads or default_num_threads()
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    busy = busy_cpus() if busy is None else busy
    return max(1, min(max_threads, cores - int(busy + 0.5)))


def declared_threads(params_path: str | Path = "params.yaml") -> int:
    """The thread count params.yaml declares (``runtime.cpu_threads``).

    Without the file (a user scoring images outside the repository) the default of
    :class:`~pipelines.process.settings.RuntimeSettings` applies, so the count is still a
    constant, not a function of the load.

    Raises:
        ValueError: On an unknown runtime key or a count below 1.

    """
    params: dict = {}
    if Path(params_path).is_file():
        params = load_params(params_path)
    count = RuntimeSettings.from_params(params).cpu_threads
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"runtime.cpu_threads in {params_path}: {count!r} is not an integer >= 1")
    return count


def apply_command_threads(command: str, params_path: str | Path = "params.yaml") -> int:
    """Set this process's threads for one ``fsvae-bench`` command; return the count used.

    Reporting commands (:data:`REPORTING_COMMANDS`) get :func:`declared_threads`, whatever
    ``OMP_NUM_THREADS`` or the load say; the others keep :func:`tune_process`'s choice.
    Called once, before the command runs, so a run never changes its summation order.

    Args:
        command: The subcommand's name (``train``, ``autoencoder``, ...).
        params_path: The params file the command reads.

    """
    if command not in REPORTING_COMMANDS:
        return tune_process()
    # OMP_NUM_THREADS is not consulted here: a value set for another program (or by a
    # shell profile) must not change reported numbers. The count is in every output.
    count = declared_threads(params_path)
    tune_process(threads=False)
    import torch

    torch.set_num_threads(count)
    return count


def tune_process(allocator: bool = True, threads: bool = True) -> int:
    """Apply the benchmarked CPU settings to this process (one line for library users).

    ``fsvae-bench`` calls this once per command; ``build_model`` never does (both
    settings are process-wide). The thread count is chosen once, at this call, so a
    run does not change its float summation order half way; ``OMP_NUM_THREADS`` in the
    environment pins it (for bit-identical repeats on one machine).

    Args:
        allocator: Keep freed memory in glibc's heap (:func:`tune_allocator`).
        threads: Use only the cores other processes leave free (:func:`choose_num_threads`).

    Returns:
        The intra-op thread count now in use.

    """
    import torch

    if allocator:
        tune_allocator()
    if threads and not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(choose_num_threads())
    return torch.get_num_threads()
