"""Watch PyTorch's dispatcher: ops per call (each a kernel launch on a GPU), output devices.

Used by the tests that bound the GPU path's launches and prove device cleanliness on
``meta`` (tests/fsvae/test_dispatch_budget.py, test_device_clean.py) and by
benchmarks/gpu_estimate.py; one counter, so the docs' counts and the tests' bounds agree.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class OpCounter(TorchDispatchMode):
    """Count every op that reaches a kernel (views included: each is a dispatcher call).

    On a GPU each non-view op is (at least) one kernel launch, so the count bounds the
    launches of a step; on ``meta`` it is computed without doing any work.

    Attributes:
        total: Ops dispatched.
        by_op: Count per op overload name.
        cpu_outputs: Per op name, how many CPU tensors it returned.
        generator_mismatches: Ops given a generator of another device than their
            output's (CUDA raises there; ``meta`` ignores the generator silently).

    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.by_op: Counter[str] = Counter()
        self.cpu_outputs: Counter[str] = Counter()
        self.generator_mismatches: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = str(func)
        gen = (kwargs or {}).get("generator")
        if gen is not None and isinstance(out, torch.Tensor) and gen.device != out.device:
            self.generator_mismatches.append(f"{name}: {gen.device} -> {out.device}")
        self.total += 1
        self.by_op[name] += 1
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor) and leaf.device.type == "cpu":
                self.cpu_outputs[name] += 1
        return out
