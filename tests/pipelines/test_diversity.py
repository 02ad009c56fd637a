"""Sample diversity: the distance, the collapse flag, and the sample command's record."""

import json

import numpy as np
import pytest

from pipelines.cli import main
from pipelines.data import load_split
from pipelines.metrics.diversity import (
    Diversity,
    diversity_path,
    load_diversity,
    mean_pairwise_distance,
    measure,
    write_diversity,
)
from pipelines.train import Trainer
from pipelines.train_config import TrainConfig


def test_distance_is_the_rms_pixel_difference_in_unit_range():
    black, white = np.zeros((1, 4, 4, 1), np.uint8), np.full((1, 4, 4, 1), 255, np.uint8)
    assert mean_pairwise_distance(np.concatenate([black, white])) == pytest.approx(1.0)
    assert mean_pairwise_distance(np.concatenate([black, black, black])) == 0.0
    # Pairs (b, b), (b, w), (b, w): mean of 0, 1, 1.
    assert mean_pairwise_distance(np.concatenate([black, black, white])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least 2 images"):
        mean_pairwise_distance(black)


def test_real_images_are_diverse_and_one_repeated_image_is_collapsed(prepared_mnist):
    real = load_split(prepared_mnist, "mnist", "test")
    varied = measure(real[:32], real[32:64])
    assert not varied.collapsed and 0.5 < varied.ratio < 2 and varied.distinct_images == 32
    same = measure(np.repeat(real[:1], 32, axis=0), real[32:64])
    assert same.collapsed and same.distinct_images == 1 and same.ratio == 0
    assert "1 distinct of 32 samples" in same.note()
    # Mostly one image with a few others: too few distinct images.
    few = measure(np.concatenate([np.repeat(real[:1], 20, axis=0), real[1:12]]), real[32:63])
    assert few.collapsed and few.distinct_images == 12


def test_record_round_trips(tmp_path):
    d = Diversity(64, 1, 0.0, 0.31)
    path = diversity_path(tmp_path, "celeba_fsvae")
    write_diversity(path, d)
    assert load_diversity(path) == d
    assert json.loads(path.read_text())["collapsed"] is True
    assert load_diversity(tmp_path / "none.json") is None


def test_sample_command_writes_the_diversity_record(prepared_mnist, tmp_path):
    config = TrainConfig(model="ann_vae", dataset="mnist", epochs=1, batch_size=64, test_limit=16)
    Trainer(config, prepared_mnist, tmp_path / "run", progress=False).fit()
    args = ["sample", "--checkpoint", str(tmp_path / "run" / "last.pt"), "--no-progress"]
    args += ["--prepared", str(prepared_mnist), "--out-dir", str(tmp_path / "out")]
    assert main([*args, "--num-samples", "1", "--name", "one"]) == 2  # no diversity of one
    assert not (tmp_path / "out").exists()
    assert main([*args, "--num-samples", "16", "--name", "m"]) == 0
    record = json.loads((tmp_path / "out" / "m_diversity.json").read_text())
    assert record["num_samples"] == 16 and record["real_mean_pairwise_distance"] > 0
    assert set(record) >= {"distinct_images", "mean_pairwise_distance", "collapsed"}
