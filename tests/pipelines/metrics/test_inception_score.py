import numpy as np
import pytest
import torch
from torch import nn

from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.inception import IS_WEIGHTS_ENV, resolve_is_weights
from pipelines.metrics.inception_score import InceptionScore, inception_score
from pipelines.metrics.protocol import MetricUnavailable


def test_uniform_predictions_score_one():
    mean, std = inception_score(np.full((100, 7), 1 / 7), splits=10)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_balanced_one_hot_scores_number_of_classes():
    probs = np.eye(5)[np.arange(100) % 5]  # every split of 10 holds each class twice
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(5.0) and std == pytest.approx(0.0, abs=1e-12)


class _FakeClassifier(nn.Module):
    """Logits that make class = (mean pixel bucket): one-hot-like, balanced by construction."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1:] == (3, 299, 299)
        level = x.mean(dim=(1, 2, 3))
        classes = torch.bucketize(level, torch.linspace(level.min(), level.max(), 5)[1:-1])
        return torch.nn.functional.one_hot(classes, 4).float() * 100.0


def test_metric_class_with_fake_classifier():
    values = torch.linspace(-1, 1, 4).repeat(10)  # 4 distinct grey levels, 10 images each
    images = values.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).contiguous()
    metric = InceptionScore(None, "standard", splits=10, progress=False, net=_FakeClassifier())
    out = metric(images)
    assert out["is"] == pytest.approx(4.0, rel=1e-6)
    assert out["is_protocol"] == "standard" and out["is_splits"] == 10
    paper = InceptionScore(None, "paper", splits=10, progress=False, net=_FakeClassifier())
    assert paper(images)["is_paper"] == pytest.approx(4.0, rel=1e-6)


def test_missing_weights_are_unavailable(monkeypatch, tmp_path):
    monkeypatch.delenv(IS_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    # Offline, empty cache, no mirror: nothing to find and nothing downloaded.
    store = AssetStore(cache_dir=tmp_path / "assets", mirror=None, online=False)
    with pytest.raises(MetricUnavailable, match="inception_v3_google-0cc3c7bd.pth") as caught:
        resolve_is_weights(None, store=store)
    message = str(caught.value)
    assert "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth" in message
    assert not (tmp_path / "assets").exists() or not any((tmp_path / "assets").rglob("*.pth"))
