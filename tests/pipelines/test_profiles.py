"""The profiles train FSVAE in the mode docs/differences-from-reference.md decided."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.params import load_params, train_config
from pipelines.registry import build_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("profile", "mode"),
    [("profiles/paper.yaml", "prefix"), ("profiles/quick.yaml", "stream")],
)
def test_fsvae_posterior_sampling_per_profile(profile, mode):
    """Paper: the reference's prefix re-runs; quick: stream (issue 10's evidence)."""
    config = train_config(load_params(ROOT / profile), "fsvae", "mnist")
    assert config.model_options["posterior_sampling"] == mode
    model = build_model("fsvae", "mnist", **{**config.model_options, "n_steps": 2})
    assert model.config.posterior_sampling == mode
