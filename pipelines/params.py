"""Read ``params.yaml`` (the pipeline's single source of settings) into dataclasses.

Layout (see params.yaml for the values and profiles/ for the two profiles)::

    profile: quick | paper
    seed: 0
    runtime: {device, cpu_threads, tf32, deterministic}  # every stage (RuntimeSettings)
    data: {root, prepared, mirror, download, train_limit, test_limit}
    train: {epochs, batch_size, max_steps, checkpoint_every, num_workers}
    models:
      <name>: {class: package.module:Class,                # optional: a model of your own
               optim: {lr, betas, weight_decay}, options: {<model config field>: value},
               train: {<train field>: value},            # per-model training overrides
               per_dataset: {<dataset>: {<train field>: value}}}  # per (model, dataset)
    datasets:
      <name>: {train: {...}, options: {...}}             # per-dataset overrides
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipelines.train_config import TrainConfig


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Load the params file.

    Args:
        path: YAML file.

    Returns:
        The parsed mapping.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If it is not a YAML mapping.

    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file not found: {path}")
    params = yaml.safe_load(path.read_text())
    if not isinstance(params, dict):
        raise ValueError(f"{path} must hold a YAML mapping")
    return params


def _section(params: dict[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = params
    for key in keys:
        node = (node or {}).get(key, {}) if isinstance(node, dict) else {}
    return dict(node or {})


def model_options(params: dict[str, Any], model: str, dataset: str) -> dict[str, Any]:
    """Model config overrides for (model, dataset): model-wide, then dataset-specific."""
    return {
        **_section(params, "models", model, "options"),
        **_section(params, "datasets", dataset, "options", model),
    }


def model_class_path(params: dict[str, Any], model: str) -> str:
    """Return what the registry should resolve for a params model name.

    A section ``models.<name>.class: package.module:Class`` lets a user's model take
    part under a short name; otherwise the name itself is used (registered or a path).
    """
    path = _section(params, "models").get(model, {}) or {}
    return str(path.get("class", model)) if isinstance(path, dict) else model


def train_config(params: dict[str, Any], model: str, dataset: str, **overrides: Any) -> TrainConfig:
    """Build the :class:`TrainConfig` of one (model, dataset) run.

    Later sources win: ``train``, ``data`` limits, ``models.<m>.optim``,
    ``models.<m>.train``, ``datasets.<d>.train``, ``models.<m>.per_dataset.<d>`` (a
    model's recipe for one dataset, e.g. ESVAE's CelebA batch and learning rate), then
    ``overrides`` (CLI flags, None values ignored).

    Args:
        params: Parsed params.yaml.
        model: Model name.
        dataset: Dataset name.
        **overrides: Explicit settings.

    Returns:
        The run's settings.

    """
    data = _section(params, "data")
    values: dict[str, Any] = {
        **_section(params, "train"),
        **{k: data[k] for k in ("train_limit", "test_limit") if k in data},
        **_section(params, "models", model, "optim"),
        **_section(params, "models", model, "train"),
        **_section(params, "datasets", dataset, "train"),
        **_section(params, "models", model, "per_dataset", dataset),
    }
    if "seed" in params:
        values["seed"] = params["seed"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["model"], values["dataset"] = model_class_path(params, model), dataset
    values["label"] = model
    values.setdefault("model_options", model_options(params, model, dataset))
    return TrainConfig.from_dict(values)
