"""The README's results section is rendered from results/, never typed in."""

from __future__ import annotations

from pathlib import Path

from pipelines.cli import main
from pipelines.report.readme_results import END, START, current_block, render_results, replace_block

ROOT = Path(__file__).resolve().parents[2]


def _fake_results(root: Path) -> None:
    (root / "results" / "tables").mkdir(parents=True)
    (root / "results" / "tables" / "table1.md").write_text("# Table 1\n\n## MNIST\n\n| a |\n")
    (root / "results" / "samples").mkdir()
    (root / "results" / "samples" / "mnist_fsvae_samples.png").write_bytes(b"png")
    (root / "params.yaml").write_text("pipeline: {datasets: [mnist], models: [fsvae, ann_vae]}\n")


def test_committed_readme_matches_committed_results():
    # The README's table and grids must be exactly what the pipeline last wrote.
    text = (ROOT / "README.md").read_text()
    assert current_block(text) is not None, "README has no results block"
    assert (
        main(
            [
                "readme",
                "--readme",
                str(ROOT / "README.md"),
                "--params",
                str(ROOT / "params.yaml"),
                "--check",
            ]
        )
        == 0
    )


def test_render_nests_the_table_and_links_only_existing_grids(tmp_path):
    _fake_results(tmp_path)
    block = render_results(tmp_path, ["mnist"], ["fsvae", "ann_vae"])
    assert block.startswith(START) and block.endswith(END)
    assert "### Table 1" in block and "#### MNIST" in block
    assert 'src="results/samples/mnist_fsvae_samples.png"' in block
    assert "mnist_ann_vae" not in block


def test_readme_command_replaces_only_the_block_and_check_detects_staleness(tmp_path):
    _fake_results(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{START}\nold\n{END}\n\ntail\n")
    args = ["readme", "--readme", str(readme), "--params", str(tmp_path / "params.yaml")]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    text = readme.read_text()
    assert text.startswith("intro\n\n") and text.endswith("\n\ntail\n") and "old" not in text
    assert main([*args, "--check"]) == 0
    assert replace_block("no markers", "B") == "no markers\n\nB\n"


def test_missing_table_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "README.md").write_text("x\n")
    (tmp_path / "params.yaml").write_text("pipeline: {datasets: [mnist], models: [fsvae]}\n")
    argv = ["readme", "--readme", str(tmp_path / "README.md")]
    assert main([*argv, "--params", str(tmp_path / "params.yaml")]) == 2
    assert "dvc repro" in capsys.readouterr().err


def test_cost_table_is_rendered_once_written_and_skipped_before(tmp_path):
    _fake_results(tmp_path)
    before = render_results(tmp_path, ["mnist"], ["fsvae"])
    assert "Computational cost" not in before
    cost = tmp_path / "results" / "tables" / "cost.md"
    cost.write_text("# Computational cost: operations\n\n## mnist\n\n| model |\n")
    after = render_results(tmp_path, ["mnist"], ["fsvae"])
    assert "### Computational cost: operations" in after and "#### mnist" in after
    assert after.index("### Table 1") < after.index("### Computational cost")
