"""Stage processes stop cleanly when told to and never outlive the ``dvc repro`` that ran them.

``dvc repro`` starts each stage as a child and ignores SIGINT while it waits (Ctrl-C
reaches the whole process group, so the stage sees it). It does not forward SIGTERM or
SIGHUP: ``kill <dvc pid>`` ends dvc alone and the stage would run on as an orphan,
writing into DVC-tracked folders. So every command here

- turns SIGTERM and SIGHUP into :class:`Stopped`, an exception, so that ``finally``
  blocks run and atomic writers remove their temporary files (a checkpoint is either the
  old file or the new one, never torn); a signal ignored at start (``nohup``) stays ignored;
- when run as a DVC stage (``$DVC_STAGE`` set), watches its ancestors up to the ``dvc``
  process and stops itself the same way once one of them is gone.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import psutil

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
WATCH_INTERVAL_S = 1.0


class Stopped(BaseException):  # noqa: N818 - reads as "the command was stopped"
    """Raised in the main thread when the process is asked to stop (not an error of ours).

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` cleanup code
    does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


def _is_dvc(proc: psutil.Process) -> bool:
    """Whether a process runs the dvc command line (``dvc ...`` or ``python -m dvc``)."""
    try:
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    return any(Path(part).name in ("dvc", "dvc.exe") for part in cmdline[:3])


def dvc_ancestors(proc: psutil.Process | None = None) -> list[psutil.Process]:
    """The ancestors of ``proc`` up to and including the nearest ``dvc`` process.

    Without a ``dvc`` ancestor, just the parent: a stage is then stopped when its parent
    goes, but never because of processes above dvc (``nohup dvc repro &`` outlives its shell).
    """
    parents = (proc or psutil.Process()).parents()
    for i, parent in enumerate(parents):
        if _is_dvc(parent):
            return parents[: i + 1]
    return parents[:1]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _watch(ancestors: list[psutil.Process], done: threading.Event) -> None:
    while not done.wait(WATCH_INTERVAL_S):
        if not all(_alive(p) for p in ancestors):
            # Delivered to the main thread, which raises Stopped at its next bytecode.
            os.kill(os.getpid(), signal.SIGTERM)
            return


@contextmanager
def stoppable(watch_dvc: bool | None = None) -> Iterator[None]:
    """Run the body with SIGTERM/SIGHUP raising :class:`Stopped`; restore the handlers after.

    Args:
        watch_dvc: Stop when the ``dvc`` process that started us ends; None decides by
            ``$DVC_STAGE`` (set by DVC for every stage command).

    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    # Only default handlers are replaced: SIG_IGN (nohup) and handlers set outside
    # Python (getsignal gives None) are kept as they are.
    previous = {
        sig: handler
        for sig in STOP_SIGNALS
        if (handler := signal.getsignal(sig)) not in (signal.SIG_IGN, None)
    }
    for sig in previous:
        signal.signal(sig, _raise_stopped)
    done = threading.Event()
    if watch_dvc if watch_dvc is not None else bool(os.environ.get("DVC_STAGE")):
        ancestors = dvc_ancestors()
        threading.Thread(target=_watch, args=(ancestors, done), daemon=True).start()
    try:
        yield
    finally:
        done.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["STOP_SIGNALS", "Stopped", "dvc_ancestors", "stoppable"]
