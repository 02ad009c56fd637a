"""Every torch / torchvision name the project's code uses, and which of them this install lacks.

The GPU machines we borrow run their own PyTorch (2.11.0, torchvision 0.26.0), older than the
pinned one; ``benchmarks/gpu_check.sh`` records this check there, and
``tests/test_torch_api.py`` runs it wherever the suite runs (``nox -s tests_torch211`` on
2.11). Names are read from the source, not imported from it: every dotted chain rooted at a
name bound by ``import torch...`` / ``from torch... import ...`` (aliases followed), e.g.
``torch.nn.functional.mse_loss``, ``torch.backends.cudnn.allow_tf32``,
``torch._dynamo.explain``. A chain stops at a call or subscript, so methods of tensors are
not covered (their names are not knowable statically).

Usage: python benchmarks/torch_api.py   (prints the missing names; exit 1 if any)
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchcore", "fsvae", "baselines", "pipelines", "benchmarks", "tests")
ROOTS = ("torch", "torchvision")


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted torch path it is bound to, from every import in a file."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ROOTS:
                    # `import torch.nn` binds `torch`; `import torch.nn as nn` binds `nn`.
                    local = alias.asname or alias.name.split(".")[0]
                    names[local] = alias.name if alias.asname else local
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] in ROOTS
        ):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _chain(node: ast.Attribute) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def used_apis(root: Path = ROOT) -> set[str]:
    """Return every dotted torch / torchvision name used in the project's packages."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            aliases = _aliases(tree)
            found |= set(aliases.values())
            inner = set()  # attributes that are part of a longer chain
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                    inner.add(id(node.value))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and id(node) not in inner:
                    parts = _chain(node)
                    if parts and parts[0] in aliases:
                        found.add(".".join([aliases[parts[0]], *parts[1:]]))
    return found


def resolves(name: str) -> bool:
    """Whether a dotted name exists in the installed packages (importing submodules as needed)."""
    parts = name.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return False
    for i in range(1, len(parts)):
        if hasattr(obj, parts[i]):
            obj = getattr(obj, parts[i])
            continue
        try:
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except ImportError:
            return False
    return True


def check(root: Path = ROOT) -> dict[str, object]:
    """The record gpu_check writes: versions, how many names were checked, which are missing."""
    import torch
    import torchvision

    names = sorted(used_apis(root))
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "checked": len(names),
        "missing": [n for n in names if not resolves(n)],
    }


if __name__ == "__main__":
    result = check()
    checked, missing = result["checked"], result["missing"]
    print(f"torch {result['torch']}: {checked} names checked, missing: {missing}")
    sys.exit(1 if result["missing"] else 0)
