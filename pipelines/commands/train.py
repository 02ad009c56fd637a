"""Train a model on a prepared dataset; resumes automatically from RUN_DIR/last.pt.

Settings come from params.yaml (train, models.<model>, datasets.<dataset>); flags
override them. Example, a 20-step smoke run::

    fsvae-bench prepare --dataset mnist
    fsvae-bench train --model fsvae --dataset mnist --max-steps 20 --set n_steps=4

Several GPUs (one process each; rank 0 writes RUN_DIR)::

    torchrun --nproc_per_node 4 -m pipelines.cli train --model fsvae --dataset celeba

Outputs in RUN_DIR (default runs/<dataset>/<model>): last.pt (full state, resumable),
best.pt (lowest test loss), train_log.csv and test_log.csv.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipelines.options import (
    add_dataset_argument,
    add_runtime_arguments,
    parse_overrides,
    runtime_settings,
)
from pipelines.params import load_params, model_options, train_config
from pipelines.train import Trainer

HELP = "train a model (resumable; settings from params.yaml, flags override)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--model", required=True, help="registered name or package.module:Class")
    add_dataset_argument(parser)
    add_runtime_arguments(parser)
    parser.add_argument(
        "--prepared", help="prepared data folder (default: data.prepared in params)"
    )
    parser.add_argument("--run-dir", help="output folder (default: runs/<dataset>/<model>)")
    parser.add_argument("--epochs", type=int, help="number of epochs")
    parser.add_argument("--batch-size", type=int, help="images per step")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument(
        "--amp", action="store_true", default=None, help="bf16 autocast (mixed precision)"
    )
    parser.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the training step"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field (repeatable), e.g. --set n_steps=4",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="discard a saved run in RUN_DIR whose settings differ, instead of failing",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Train, then print a JSON summary."""
    params = load_params(args.params) if Path(args.params).exists() else {}
    options = {**model_options(params, args.model, args.dataset), **parse_overrides(args.set)}
    config = train_config(
        params,
        args.model,
        args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_steps=args.max_steps,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        seed=args.seed,
        amp=args.amp,
        compile=args.compile,
        model_options=options,
    )
    prepared = args.prepared or params.get("data", {}).get("prepared", "prepared")
    run_dir = Path(args.run_dir or Path("runs") / args.dataset / args.model.replace(":", "."))
    runtime = runtime_settings(args)
    trainer = Trainer(config, prepared, run_dir, progress=not args.no_progress, runtime=runtime)
    resumed = trainer.resume("restart" if args.restart else "error")
    try:
        state = trainer.fit()
    finally:
        trainer.dist.shutdown()
    if not trainer.dist.is_main:
        return 0
    summary = {
        "run_dir": str(run_dir),
        "resumed": resumed,
        "epochs_done": state.epoch,
        "steps": state.step,
        "best_test_loss": state.best_test_loss,
        "device": trainer.device,
        "last_test": (state.test_log or [{}])[-1],
    }
    print(json.dumps(summary, indent=2))
    return 0
