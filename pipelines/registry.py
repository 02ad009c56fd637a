"""Find models by name: a registered short name or a ``package.module:Class`` import path.

A user's model joins the suite without editing this file: name it by import path in
``params.yaml`` (``models: [mypkg.mymodel:MyVAE]``) and it is trained and scored like ours.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from benchcore.contract import GenerativeModel, ModelConfig

# Registered short names -> import paths. Read-only: register by import path instead.
REGISTERED_MODELS: Mapping[str, str] = MappingProxyType(
    {
        "fsvae": "fsvae.model:FSVAE",
        "esvae": "fsvae.esvae:ESVAE",
        "ann_vae": "baselines.ann_vae:VanillaVAE",
    }
)


def resolve_model_class(name: str) -> type[GenerativeModel]:
    """Return the model class for a registered name or an import path.

    Args:
        name: ``fsvae``, ``esvae``, ``ann_vae`` or ``package.module:Class``.

    Returns:
        The class.

    Raises:
        ValueError: If the name is neither registered nor an importable path to a
            :class:`~benchcore.contract.GenerativeModel` subclass.

    """
    path = REGISTERED_MODELS.get(name, name)
    if ":" not in path:
        known = ", ".join(sorted(REGISTERED_MODELS))
        raise ValueError(
            f"unknown model {name!r}: use a registered name ({known}) "
            "or an import path 'package.module:Class'"
        )
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import module {module_name!r} for model {name!r}: {err}") from err
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, GenerativeModel)):
        raise ValueError(
            f"{path!r} is not a subclass of benchcore.contract.GenerativeModel "
            "(see docs/adding-a-model.md)"
        )
    return cls


def build_model(name: str, dataset: str, **overrides: Any) -> GenerativeModel:
    """Build a model with the paper's defaults for a dataset.

    Args:
        name: Registered name (``fsvae``, ``esvae``, ``ann_vae``) or ``package.module:Class``.
        dataset: ``mnist``, ``fashion-mnist``, ``cifar10`` or ``celeba``.
        **overrides: Config fields to change (e.g. ``n_steps=4``).

    Returns:
        The model, in training mode, on the CPU.

    """
    return resolve_model_class(name).build(dataset, **overrides)


def model_from_config(name: str, config: Mapping[str, Any]) -> GenerativeModel:
    """Rebuild a model from the config dict stored in a checkpoint.

    Args:
        name: The model name the checkpoint was trained under.
        config: The saved config (``ModelConfig.to_dict()``).

    Returns:
        The model with freshly initialised weights.

    """
    cls = resolve_model_class(name)
    base: ModelConfig = cls.config_class()
    return cls.from_config(base.replace(**dict(config)))


def list_models() -> list[str]:
    """Return the registered model names."""
    return sorted(REGISTERED_MODELS)
