import subprocess
import sys

import pytest

from phenomena import cli


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("argv, message", [
    (["run", "no_such_experiment"], "unknown experiment 'no_such_experiment'"),
    (["run", "dropout", "--set", "train.lrr=0.1"], "unknown config key 'train.lrr'"),
    (["run", "dropout", "--set", "train.lr=fast"], "expected a number"),
    (["run", "dropout", "--set", "train.steps=1.5"], "expected an integer"),
    (["run", "dropout", "--set", "train.lr=-1"], "train.lr must be positive"),
    (["run", "dropout", "--set", "seeds"], "key=value"),
    (["run", "dropout", "--seeds", "0"], "--seeds must be at least 1"),
    (["run", "dropout", "--seeds", "-3"], "--seeds must be at least 1"),
    (["run", "dropout", "--seeds", "many"], "invalid int value"),
    # No abbreviated flags: "--see 1" must not quietly mean "--seeds 1".
    (["run", "dropout", "--see", "1"], "unrecognized arguments: --see"),
    (["run", "dropout", "--seed", "one"], "invalid int value"),
    (["run", "dropout", "--profile", "huge"], "unknown profile 'huge'"),
    (["run", "dropout", "--set", "rates=0.1,0.2"], "rates must include 0.0 and 0.5"),
    (["run", "dropout", "--set", "train.momentum=0.5", "--set", "train.optimizer=sgd"],
     "--set train.momentum would change nothing: train.optimizer is 'sgd'"),
    # The learning-rate experiments set their rates per run: an override of train.lr would be
    # accepted and change nothing, so it is refused.
    (["run", "learning_rate", "--set", "train.lr=0.5"], "--set train.lr would change nothing"),
    (["run", "optimizers", "--set", "train.lr=0.5"], "--set train.lr would change nothing"),
    (["run", "batchnorm", "--set", "train.lr=0.5"], "--set train.lr would change nothing"),
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
        [sys.executable, "-m", "experiments.dropout", "--set", "nosuch=1",
         "--results-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        process.stderr.strip().splitlines()[0]] and "unknown config key 'nosuch'" in process.stderr
    assert _files(tmp_path) == []


def test_smoke_run_writes_the_results_layout_and_list_and_report_read_it(tmp_path, capsys):
    assert cli.main(["run", "dropout", "--profile", "smoke", "--results-dir", str(tmp_path)]) == 0
    folder = tmp_path / "dropout" / "smoke"
    assert {"config.json", "metrics.csv", "summary.json", "arrays.npz", "arrays.json",
            "gap.png"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in (tmp_path / "dropout").iterdir()] == ["smoke"]  # no temp left
    out = capsys.readouterr().out
    assert "dropout.dropout_shrinks_gap" in out
    assert "s compiling (" in out and "programs) +" in out  # compile time split from run time

    assert cli.main(["list", "--results-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "dropout  (smoke)" in listing and "dying_relu  (not run)" in listing

    figure = folder / "gap.png"
    figure.unlink()
    assert cli.main(["plot", "dropout", "--profile", "smoke", "--results-dir", str(tmp_path)]) == 0
    assert figure.stat().st_size > 10_000  # redrawn from the saved arrays, no training
    assert _invoke(["plot", "dying_relu", "--results-dir", str(tmp_path)]) == 2

    assert cli.main(["report", "--results-dir", str(tmp_path)]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "`dropout.inference_deterministic` | Q55 | check | reproduced | reproduced" in report
    assert "dropout/smoke/gap.png" in report
    assert "`dying_relu.born_dead_with_depth` | Q36 | claim | reproduced | not run" in report
    assert "- Checks: 1 (1 pass, 0 fail)" in report  # counts at the top, checks apart from claims

    # `plot` reloads the run's config from config.json; a tampered one is a one-line error.
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"train_size": 1000', '"train_size": "many"'))
    assert _invoke(["plot", "dropout", "--profile", "smoke", "--results-dir", str(tmp_path)]) == 2
    assert "does not fit this experiment's config" in capsys.readouterr().err


def test_momentum_is_accepted_where_an_arm_reads_it():
    from phenomena.registry import load_experiment
    from phenomena.runner import resolve_config

    # weight_decay_vs_l2's section names plain SGD, but its momentum arm reads the coefficient.
    config = resolve_config(load_experiment("weight_decay_vs_l2"), "quick",
                            overrides={"train.momentum": "0.5"})
    assert config.train.momentum == 0.5


def test_show_lists_every_key_with_type_value_and_meaning(capsys):
    assert cli.main(["show", "dropout", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "train.steps" in out and "200" in out  # the smoke profile's value
    assert "train_size" in out and "MNIST-1D training examples" in out
    assert "smoke  seeds=2" in out
    assert "dropout.inference_deterministic  [check, Q55] literature reproduced, expected reproduced" in out


def test_results_go_under_the_working_directory_unless_told_otherwise(tmp_path, monkeypatch):
    from phenomena import paths

    monkeypatch.delenv("PHENOMENA_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.results_dir() == tmp_path / "results"
    monkeypatch.setenv("PHENOMENA_RESULTS", str(tmp_path / "elsewhere"))
    assert paths.results_dir() == tmp_path / "elsewhere"


def test_seed_flag_sets_the_base_seed_and_is_not_read_as_seeds(monkeypatch):
    """`--seed 1` is the config's `seed`, not an abbreviation of `--seeds`."""
    from phenomena import runner

    seen = {}

    def fake_execute(name, profile, seeds, overrides, results_dir):
        seen.update(name=name, seeds=seeds, overrides=overrides)
        raise cli.ConfigError("stop here")

    monkeypatch.setattr(runner, "execute", fake_execute)
    assert cli.experiment_main("experiments.dropout", ["--seed", "1"]) == 2
    assert seen["seeds"] is None
    assert seen["overrides"] == {"seed": "1"}
