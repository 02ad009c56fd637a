"""A user's image set is checked against the protocol before any metric; one test per rule.

No metric network is built here: ``build_sample_metric`` is replaced by a stub that records
what it was given, so the tests run in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from pipelines.cli import main
from pipelines.metrics import evaluate
from pipelines.metrics.evaluate import EvalSettings, score_images
from pipelines.metrics.image_input import (
    ImageInputError,
    InputOptions,
    check_sample_counts,
    load_for_scoring,
    parse_value_range,
    to_protocol,
)

RNG = np.random.default_rng(0)


def pixels(*shape: int) -> np.ndarray:
    return RNG.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.fixture
def stub_metrics(monkeypatch) -> list[tuple[str, torch.Tensor]]:
    """Replace every sample metric by a stub; the list collects (name, images) calls."""
    calls: list[tuple[str, torch.Tensor]] = []

    def build(name: str, *_: Any) -> Any:
        def metric(batch: torch.Tensor) -> dict[str, Any]:
            calls.append((name, batch))
            return {name: float(batch.mean()), f"{name}_num_gen": len(batch)}

        return metric

    monkeypatch.setattr(evaluate, "build_sample_metric", build)
    return calls


def test_model_resolution_uint8_passes_unchanged() -> None:
    images = pixels(4, 32, 32)
    out = to_protocol(images, "mnist")
    assert out.images.shape == (4, 32, 32, 1) and np.array_equal(out.images[..., 0], images)
    assert "no conversion" in out.preprocessing


@pytest.mark.parametrize(("dataset", "shape"), [("mnist", (3, 20, 20)), ("celeba", (3, 32, 32, 3))])
def test_other_resolution_is_refused_naming_expected_and_found(dataset, shape) -> None:
    with pytest.raises(ImageInputError) as err:
        to_protocol(pixels(*shape), dataset, source="set.npz")
    expected = "(N, 32, 32, 1)" if dataset == "mnist" else "(N, 64, 64, 3)"
    assert expected in str(err.value) and str(shape[:3]).rstrip(")") in str(err.value)


def test_original_size_is_refused_with_a_resize_hint() -> None:
    with pytest.raises(ImageInputError, match="pass --resize .* from 28x28"):
        to_protocol(pixels(2, 28, 28), "fashion-mnist")


def test_resize_is_pil_bilinear_28_to_32_and_recorded() -> None:
    images = pixels(3, 28, 28)
    out = to_protocol(images, "mnist", InputOptions(resize=True))
    want = np.stack(
        [np.asarray(Image.fromarray(a).resize((32, 32), Image.BILINEAR)) for a in images]
    )
    assert np.array_equal(out.images[..., 0], want)
    assert "resized 28x28 -> 32x32" in out.preprocessing


def test_resize_of_celeba_originals_is_centre_crop_148_then_64() -> None:
    images = pixels(2, 218, 178, 3)
    out = to_protocol(images, "celeba", InputOptions(resize=True))
    top, left = (218 - 148) // 2, (178 - 148) // 2
    crops = [Image.fromarray(a[top : top + 148, left : left + 148]) for a in images]
    want = np.stack([np.asarray(c.resize((64, 64), Image.BILINEAR)) for c in crops])
    assert out.images.shape == (2, 64, 64, 3)
    assert np.array_equal(out.images, want)
    assert "CenterCrop(148)" in out.preprocessing


@pytest.mark.parametrize(
    ("dataset", "shape"), [("mnist", (2, 20, 20)), ("cifar10", (2, 28, 28, 3))]
)
def test_resize_without_a_paper_recipe_for_that_size_is_refused(dataset, shape) -> None:
    with pytest.raises(ImageInputError, match="--resize applies the paper's"):
        to_protocol(pixels(*shape), dataset, InputOptions(resize=True))


def test_rgb_for_grayscale_dataset_needs_convert_channels() -> None:
    images = pixels(2, 32, 32, 3)
    with pytest.raises(ImageInputError, match="grayscale .* found RGB .*--convert-channels"):
        to_protocol(images, "mnist")
    out = to_protocol(images, "mnist", InputOptions(convert_channels=True))
    want = np.stack([np.asarray(Image.fromarray(a).convert("L")) for a in images])
    assert np.array_equal(out.images[..., 0], want) and "RGB -> L" in out.preprocessing


def test_grayscale_for_rgb_dataset_needs_convert_channels() -> None:
    images = pixels(2, 32, 32)
    with pytest.raises(ImageInputError, match="RGB .* found grayscale"):
        to_protocol(images, "cifar10")
    out = to_protocol(images, "cifar10", InputOptions(convert_channels=True))
    assert all(np.array_equal(out.images[..., c], images) for c in range(3))


def test_channels_first_layout_is_refused_with_a_hint() -> None:
    with pytest.raises(ImageInputError, match=r"looks like \(N, C, H, W\)"):
        to_protocol(pixels(2, 3, 32, 32), "cifar10")


def test_float_images_need_a_declared_range() -> None:
    with pytest.raises(ImageInputError, match="float32 images; .*--value-range"):
        to_protocol(RNG.random((2, 32, 32), dtype=np.float32), "mnist")


@pytest.mark.parametrize(
    ("declared", "lo", "hi"), [("0,1", 0, 1), ("[-1,1]", -1, 1), ("0,255", 0, 255)]
)
def test_declared_range_is_quantised_like_our_samples(declared, lo, hi) -> None:
    values = RNG.random((2, 32, 32)) * (hi - lo) + lo
    out = to_protocol(values, "mnist", InputOptions(value_range=parse_value_range(declared)))
    model_range = torch.from_numpy((values - lo) / (hi - lo) * 2 - 1).float()
    want = ((model_range + 1) / 2 * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(out.images[..., 0], want) and "quantised" in out.preprocessing


def test_values_outside_the_declared_range_are_refused() -> None:
    values = RNG.random((2, 32, 32)) * 255  # [0, 255] data declared as [0, 1]
    with pytest.raises(ImageInputError, match=r"outside the declared range \[0,1\]"):
        to_protocol(values, "mnist", InputOptions(value_range="[0,1]"))


def test_nan_and_inf_are_refused() -> None:
    values = RNG.random((2, 32, 32))
    values[0, 0, 0], values[1, 1, 1] = np.nan, np.inf
    with pytest.raises(ImageInputError, match="2 NaN or infinite"):
        to_protocol(values, "mnist", InputOptions(value_range="[0,1]"))


def test_uint8_with_another_declared_range_and_unknown_ranges_are_refused() -> None:
    with pytest.raises(ImageInputError, match="uint8 images are pixels"):
        to_protocol(pixels(2, 32, 32), "mnist", InputOptions(value_range="[0,1]"))
    with pytest.raises(ImageInputError, match="value range '0,2'"):
        parse_value_range("0,2")


def test_non_numeric_and_empty_sets_are_refused() -> None:
    with pytest.raises(ImageInputError, match="numeric"):
        to_protocol(np.zeros((2, 32, 32), dtype=bool), "mnist", InputOptions(value_range="[0,1]"))
    with pytest.raises(ImageInputError, match="no image"):
        to_protocol(pixels(0, 32, 32), "mnist")


def test_too_few_images_for_a_metric_count_is_an_error(stub_metrics) -> None:
    with pytest.raises(ImageInputError, match=r"afd_own is set to use 5120 images \(--num-afd"):
        check_sample_counts(5000, ["fid", "afd_own"], 5000, 5120)
    settings = EvalSettings(num_samples=10, metrics=["fid"], progress=False)
    with pytest.raises(ImageInputError, match="fid is set to use 10 images"):
        score_images(pixels(4, 32, 32, 1), "mnist", "prepared", settings)
    assert stub_metrics == []  # refused before any metric was built


def test_score_images_refuses_images_off_the_protocol(stub_metrics) -> None:
    settings = EvalSettings(num_samples=2, metrics=["fid"], progress=False)
    with pytest.raises(ImageInputError, match=r"\(N, 32, 32, 1\), found \(2, 28, 28, 1\)"):
        score_images(pixels(2, 28, 28, 1), "mnist", "prepared", settings)
    assert stub_metrics == []


def test_score_records_the_preprocessing_in_every_metric(stub_metrics, tmp_path, capsys) -> None:
    npz = tmp_path / "samples.npz"
    np.savez(npz, images=RNG.random((5, 28, 28, 3), dtype=np.float32))
    argv = ["score", "--dataset", "mnist", str(npz), "--metrics", "fid,is,afd_own"]
    argv += ["--resize", "--convert-channels", "--value-range", "[0,1]", "--no-progress"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    m = record["metrics"]
    for name in ("fid", "is", "afd_own"):
        text = m[f"{name}_input_preprocessing"]
        assert "resized 28x28 -> 32x32" in text and "RGB -> L" in text and "[0,1]" in text
    assert [(n, tuple(b.shape)) for n, b in stub_metrics] == [
        (n, (5, 1, 32, 32)) for n in ("fid", "is", "afd_own")
    ]


def test_score_cli_refuses_with_one_line(stub_metrics, tmp_path, capsys) -> None:
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(pixels(20, 20)).save(folder / f"{i}.png")
    assert main(["score", "--dataset", "mnist", str(folder), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "(N, 32, 32, 1), found (3, 20, 20, 1)" in err
    assert stub_metrics == []


def test_unreadable_npz_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "cut.npz"
    np.savez(tmp_path / "ok.npz", images=pixels(4, 32, 32))
    bad.write_bytes((tmp_path / "ok.npz").read_bytes()[:200])
    with pytest.raises(ImageInputError, match="not a readable .npz"):
        load_for_scoring(bad, "mnist")
