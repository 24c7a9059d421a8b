import subprocess
import sys

import pytest

from phenomena import cli


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("argv, message", [
    (["run", "no_such_experiment"], "unknown experiment 'no_such_experiment'"),
    (["run", "l1_vs_l2", "--set", "train.lrr=0.1"], "unknown config key 'train.lrr'"),
    (["run", "l1_vs_l2", "--set", "train.lr=fast"], "expected a number"),
    (["run", "l1_vs_l2", "--set", "train.steps=1.5"], "expected an integer"),
    (["run", "l1_vs_l2", "--set", "train.lr=-1"], "train.lr must be positive"),
    (["run", "l1_vs_l2", "--set", "seeds"], "key=value"),
    (["run", "l1_vs_l2", "--seeds", "0"], "--seeds must be at least 1"),
    (["run", "l1_vs_l2", "--seeds", "-3"], "--seeds must be at least 1"),
    (["run", "l1_vs_l2", "--seeds", "many"], "invalid int value"),
    (["run", "l1_vs_l2", "--profile", "huge"], "unknown profile 'huge'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys):
    code = _invoke(argv + (["--results-dir", str(tmp_path)] if argv[0] == "run" else []))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert _files(tmp_path) == []


def _invoke(argv) -> int:
    """`cli.main(argv)`'s exit status, whether it returns it or argparse exits with it."""
    try:
        return cli.main(argv)
    except SystemExit as exit_:
        return exit_.code


def test_python_dash_m_entry_point_reports_bad_input_in_one_line(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "experiments.l1_vs_l2", "--set", "nosuch=1",
         "--results-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        process.stderr.strip().splitlines()[0]] and "unknown config key 'nosuch'" in process.stderr
    assert _files(tmp_path) == []


def test_smoke_run_writes_the_results_layout_and_list_and_report_read_it(tmp_path, capsys):
    assert cli.main(["run", "l1_vs_l2", "--profile", "smoke", "--results-dir", str(tmp_path)]) == 0
    folder = tmp_path / "l1_vs_l2" / "smoke"
    assert {"config.json", "metrics.csv", "summary.json", "arrays.npz", "arrays.json",
            "l1_vs_l2.png"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in (tmp_path / "l1_vs_l2").iterdir()] == ["smoke"]  # no temp left
    out = capsys.readouterr().out
    assert "l1_vs_l2.l1_exact_zeros" in out

    assert cli.main(["list", "--results-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "l1_vs_l2  (smoke)" in listing and "dying_relu  (not run)" in listing

    figure = folder / "l1_vs_l2.png"
    figure.unlink()
    assert cli.main(["plot", "l1_vs_l2", "--profile", "smoke", "--results-dir", str(tmp_path)]) == 0
    assert figure.stat().st_size > 10_000  # redrawn from the saved arrays, no training
    assert _invoke(["plot", "dying_relu", "--results-dir", str(tmp_path)]) == 2

    assert cli.main(["report", "--results-dir", str(tmp_path)]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "`l1_vs_l2.l1_selects_features`" in report
    assert "l1_vs_l2/smoke/l1_vs_l2.png" in report
    assert "`dying_relu.born_dead_with_depth` | Q36 | not run" in report
