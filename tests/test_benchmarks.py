"""The benchmark's background load stops, and the README block shows quiet and loaded speed."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.background_load import background_load  # noqa: E402
from benchmarks.render_readme import END, START, render  # noqa: E402


def _children() -> set[int]:
    """Our spawned worker processes (not multiprocessing's resource tracker)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "spawn_main" in " ".join(p.cmdline())
    }


def test_background_load_runs_and_stops_even_on_ctrl_c():
    before = _children()
    with pytest.raises(KeyboardInterrupt), background_load(threads=1, max_seconds=60):
        started = _children() - before
        assert len(started) == 1, "no load process"
        assert psutil.Process(started.pop()).cpu_percent(interval=0.5) > 10
        started = _children() - before
        raise KeyboardInterrupt
    assert not (_children() - before) & started


def test_render_shows_quiet_and_loaded_speed_and_ratios():
    row = {"model": "fsvae", "dataset": "mnist", "phase": "sample", "batch": 64, "plain": False}
    report = {
        "settings": {
            "device": "cpu",
            "batch": 64,
            "n_steps": 16,
            "amp": False,
            "compile": False,
            "memory_batch": 0,
            "load": "2 threads of matmul",
        },
        "matmul_gflops": 100.0,
        "flops_counted_with": "x",
        "memory": "y",
        "ratios": {"esvae_over_fsvae_train_step_mnist": 0.5},
        "results": [
            {
                **row,
                "setup": "cli",
                "threads": 2,
                "loaded_threads": 1,
                "images_per_s": 300.0,
                "loaded_images_per_s": 150.0,
                "load_ratio": 0.5,
                "gflop_per_image": 0.2,
                "achieved_gflops": 60.0,
                "pct_of_matmul": 60.0,
                "peak_mib": 700.0,
            },
            {
                **row,
                "phase": "sample command",
                "setup": "cli",
                "batch": 500,
                "images_per_s": 90.0,
                "loaded_images_per_s": 45.0,
                "load_ratio": 0.5,
            },
        ],
    }
    text = render(report)
    assert text.startswith(START) and text.endswith(END)
    assert "| fsvae | mnist | sample | cli | 2 / 1 | 64 | 300.0 | 150.0 | 0.50 |" in text
    assert "| sample command | cli |" in text
    assert "ESVAE / FSVAE training step time (mnist, same run): 0.50." in text


def test_render_labels_compiled_rows_and_their_ratio():
    row = {"model": "esvae", "dataset": "mnist", "phase": "train", "batch": 32, "setup": "cli"}
    report = {
        "settings": {"device": "cpu", "batch": 32, "n_steps": 4, "amp": False, "compile": True},
        "matmul_gflops": 100.0,
        "flops_counted_with": "x",
        "memory": "y",
        "ratios": {
            "esvae_over_fsvae_train_step_mnist": 0.5,
            "compiled_over_eager_train_esvae_mnist": 1.25,
        },
        "results": [
            {**row, "compile": False, "images_per_s": 40.0},
            {**row, "compile": True, "images_per_s": 50.0},
        ],
    }
    text = render(report)
    assert "| esvae (compiled) | mnist | train | cli |" in text
    assert "torch.compile / eager throughput (train esvae, mnist): 1.25." in text
    assert "ESVAE / FSVAE training step time (mnist, same run): 0.50." in text
