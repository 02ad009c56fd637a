"""Every torch / torchvision name the code uses exists in the installed versions.

The GPU machines run torch 2.11.0 / torchvision 0.26.0 (docs/gpu-check.md); this test runs
there through benchmarks/gpu_check.sh, and here on torch 2.11 in ``nox -s tests_torch211``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.torch_api import resolves, used_apis  # noqa: E402


def test_the_scan_finds_names_through_every_import_form(tmp_path):
    pkg = tmp_path / "fsvae"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
        "from torch.utils.data import DataLoader\n"
        "def f(x):\n"
        "    torch.backends.cudnn.allow_tf32 = False\n"
        "    return F.mse_loss(x, x), nn.Linear(1, 1), torch.cat([x]).sum(), DataLoader\n"
    )
    found = used_apis(tmp_path)
    assert {
        "torch.backends.cudnn.allow_tf32",
        "torch.nn.functional.mse_loss",
        "torch.nn.Linear",
        "torch.cat",
        "torch.utils.data.DataLoader",
    } <= found
    assert not any(name.endswith(".sum") for name in found)  # a method of a result


def test_resolves_reports_a_missing_name():
    assert resolves("torch.nn.functional.mse_loss")
    assert resolves("torch.utils.flop_counter.FlopCounterMode")  # a submodule import
    assert not resolves("torch.nn.functional.no_such_function")
    assert not resolves("torch.no_such_module.thing")


def test_every_name_the_project_uses_exists_in_this_torch():
    names = used_apis()
    assert len(names) > 50
    assert [n for n in sorted(names) if not resolves(n)] == []
