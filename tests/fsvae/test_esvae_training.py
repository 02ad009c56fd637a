"""ESVAE trains: a short run on real MNIST lowers the loss (reference recipe's optimizer)."""

import pytest
import torch

from fsvae.esvae import ESVAE
from pipelines.optim import param_groups
from tests.fsvae.mnist_idx import load_mnist_images


@pytest.mark.slow
def test_fifty_steps_on_real_mnist_lower_the_loss():
    torch.manual_seed(0)
    batch, steps = 16, 50
    data = load_mnist_images(batch * steps)
    model = ESVAE.build("mnist", n_steps=4)
    # The reference's MNIST recipe: lr 0.003 * 256 / 250, sample_layer at 10x, AdamW 1e-3.
    groups = param_groups(model, 0.003072, {"sample_layer": 10.0})
    opt = torch.optim.AdamW(groups, lr=0.003072, betas=(0.9, 0.999), weight_decay=1e-3)
    losses = []
    for i in range(steps):
        out = model.loss(data[i * batch : (i + 1) * batch])
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)
