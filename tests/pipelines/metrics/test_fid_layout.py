"""Our channels-last Inception pass gives pytorch-fid's NCHW features, to float precision."""

from __future__ import annotations

import pytest
import torch

from pipelines.metrics.fid import MEMORY_FORMAT, nhwc_to_nchw
from pipelines.metrics.inception import build_fid_inception

pytestmark = pytest.mark.slow


def test_channels_last_features_match_pytorch_fid_nchw(features, fid_weights, mnist_test):
    images = mnist_test[:4]
    ours = torch.from_numpy(features(nhwc_to_nchw(images)))
    # pytorch-fid's own network, NCHW, its own resize and scaling inside.
    net = build_fid_inception(fid_weights)
    x = nhwc_to_nchw(torch.from_numpy(images)).float().div(255).expand(-1, 3, -1, -1)
    with torch.inference_mode():
        theirs = net(x)[0].flatten(1).double()
    rel = float((ours - theirs).norm() / theirs.norm())
    assert rel < 1e-5, rel
    assert float(theirs.norm()) > 1.0
    convs = [p for p in features.net.parameters() if p.dim() == 4]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs), MEMORY_FORMAT
