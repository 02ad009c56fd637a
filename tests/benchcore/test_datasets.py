import csv
from pathlib import Path

import pytest

from benchcore.datasets import DATASET_FACTS, DATASETS, dataset_facts, dataset_shape, uses_hflip

QUOTED = Path(__file__).resolve().parents[2] / "quoted" / "published-results.csv"


def test_table_matches_the_reference_preprocessing():
    assert DATASETS == ("mnist", "fashion-mnist", "cifar10", "celeba")
    assert dataset_shape("mnist") == (1, 32, 32)
    assert dataset_shape("celeba") == (3, 64, 64)
    assert [d for d in DATASETS if uses_hflip(d)] == ["cifar10", "celeba"]
    assert dataset_facts("celeba").preprocessing_steps == ("CenterCrop(148)", "Resize((64, 64))")
    assert dataset_facts("mnist").preprocessing_steps == ("Resize((32, 32))",)


def test_labels_are_the_quoted_files_spelling():
    with QUOTED.open(newline="") as handle:
        quoted = {row["dataset"] for row in csv.DictReader(handle)}
    ours = {f.label for f in DATASET_FACTS.values()}
    assert quoted <= ours


def test_unknown_dataset_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        dataset_facts("svhn")
    assert not uses_hflip("svhn")


def test_old_contract_path_reexports_the_same_objects():
    import benchcore.contract as new
    import fsvae.contract as old

    assert old.GenerativeModel is new.GenerativeModel
    assert old.ModelConfig is new.ModelConfig
    assert old.dataset_shape("cifar10") == (3, 32, 32)
