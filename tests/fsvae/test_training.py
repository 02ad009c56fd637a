import pytest
import torch

from fsvae.model import FSVAE
from tests.fsvae.mnist_idx import load_mnist_images


@pytest.mark.slow
def test_fifty_steps_on_real_mnist_lower_the_loss():
    torch.manual_seed(0)
    batch, steps = 16, 50
    data = load_mnist_images(batch * steps)
    model = FSVAE.build("mnist", n_steps=4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-3)
    model.begin_epoch(0, 10, steps)
    losses = []
    for i in range(steps):
        out = model.loss(data[i * batch : (i + 1) * batch])
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)
