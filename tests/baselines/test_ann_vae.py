import pytest
import torch

from baselines.ann_vae import VanillaVAE
from pipelines.registry import build_model


@pytest.mark.parametrize(
    ("dataset", "expected", "levels"),
    [
        ("mnist", 1_180_641, 4),
        ("fashion-mnist", 1_180_641, 4),
        ("cifar10", 1_181_795, 4),
        ("celeba", 3_937_635, 5),  # the reference's VanillaVAELarge network
    ],
)
def test_parameter_counts_match_reference(dataset, expected, levels):
    model = build_model("ann_vae", dataset)
    assert type(model) is VanillaVAE
    assert len(model.config.hidden_dims) == levels
    assert model.num_parameters() == expected


@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "celeba"])
def test_contract_shapes_and_range(dataset):
    model = build_model("ann_vae", dataset)
    c, h, w = model.input_shape
    x = torch.rand(4, c, h, w) * 2 - 1
    terms = model.loss(x)
    assert {"loss", "recon", "kld"} <= set(terms)
    assert all(t.dim() == 0 for t in terms.values())
    model.eval()
    with torch.no_grad():
        for out in (model.reconstruct(x), model.sample(3)):
            assert out.shape[1:] == (c, h, w)
            assert out.min() >= -1 and out.max() <= 1


def test_kld_weight_follows_batches_per_epoch():
    model = build_model("ann_vae", "mnist")
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    model.begin_epoch(0, 10, batches_per_epoch=240)
    torch.manual_seed(0)
    terms = model.loss(x)
    assert torch.allclose(terms["loss"], terms["recon"] + terms["kld"] / 240)


def test_sampling_is_reproducible_with_a_generator():
    model = build_model("ann_vae", "mnist").eval()
    a = model.sample(2, generator=torch.Generator().manual_seed(3))
    b = model.sample(2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_override_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown option"):
        build_model("ann_vae", "mnist", latnt_dim=3)
