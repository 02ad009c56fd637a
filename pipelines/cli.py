"""The ``fsvae-bench`` command: one subcommand per module in :mod:`pipelines.commands`.

Each command module defines ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``; adding a module adds a subcommand.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines import commands
from pipelines.lifecycle import Stopped, stoppable
from pipelines.process.threads import apply_command_threads


def _help_line(name: str) -> str | None:
    """Read a command module's ``HELP`` constant from its source, without importing it.

    Importing the commands means importing torch and the metrics stack (10+ s on 2
    cores); the command list of ``fsvae-bench --help`` needs only these lines.
    """
    spec = importlib.util.find_spec(f"{commands.__name__}.{name}")
    if spec is None or spec.origin is None:
        return None
    for node in ast.parse(Path(spec.origin).read_text()).body:
        targets = getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == "HELP" for t in targets):
            value = getattr(node, "value", None)
            return value.value if isinstance(value, ast.Constant) else None
    return None


def build_parser(only: str | None = None, *, all_options: bool = False) -> argparse.ArgumentParser:
    """Return the top-level parser with every discovered subcommand.

    Args:
        only: Register just this command, with its options (its module alone is
            imported): a stage then does not import every other command's dependencies
            (torchvision through the metrics costs seconds: docs/performance.md). None,
            or a name that is no command: every command, named with its help line but
            without options and without importing any command module (``fsvae-bench
            --help`` in under 2 s).
        all_options: Register every command with its options (imports them all).

    """
    parser = argparse.ArgumentParser(
        prog="fsvae-bench",
        description=(
            "Reproduce the Fully Spiking VAE (Kamata et al., AAAI 2022) and score your own "
            "generative models under the same protocol. Settings come from params.yaml; "
            "flags override them."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    found = sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name)
    if all_options:
        only = None
    elif only is None or not any(i.name.replace("_", "-") == only for i in found):
        for info in found:
            line = _help_line(info.name)
            if line is None:  # a computed HELP: import the module after all
                line = importlib.import_module(f"{commands.__name__}.{info.name}").HELP
            sub.add_parser(info.name.replace("_", "-"), help=line)
        return parser
    found = [i for i in found if only is None or i.name.replace("_", "-") == only]
    for info in found:
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        name = info.name.replace("_", "-")
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=module.__doc__ or module.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    # Like ``python -m``: models in the user's project folder import by path
    # (``mymodels.tiny:TinyVAE``) without installing them.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    args = build_parser(only=command).parse_args(words)
    # Every command runs with the settings the benchmark measures (glibc heap kept); those
    # that report numbers with params.yaml's declared thread count, the others with the
    # cores other processes leave free. build_model alone changes neither.
    try:
        apply_command_threads(args.command, getattr(args, "params", None) or "params.yaml")
        with stoppable():
            return int(args._run(args) or 0)
    except Stopped as stop:
        # Files are written atomically, so what is on disk is complete; train resumes.
        print(f"fsvae-bench {args.command}: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum
    except (ValueError, FileNotFoundError) as err:
        # Bad input is reported in one line; programming errors keep their traceback.
        print(f"fsvae-bench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
