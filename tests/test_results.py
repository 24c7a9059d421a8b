import json

import numpy as np
import pytest

from phenomena.results import Results, RunWriter, load_results


def _results():
    results = Results(meta={"note": "x"})
    results.add("loss", np.arange(12.0).reshape(2, 3, 2), ("variant", "seed", "step"),
                variant=["a", "b"], step=[0, 10])
    results.add("ratio", np.ones((2, 3)), ("variant", "seed"))
    return results


def test_sel_picks_by_coordinate_label():
    results = _results()
    np.testing.assert_array_equal(results.sel("loss", variant="b", step=10), [7.0, 9.0, 11.0])
    with pytest.raises(ValueError, match="axis 'variant' has 3 entries"):
        results.add("bad", np.ones((3, 3)), ("variant", "seed"))
    with pytest.raises(ValueError, match="already has coordinates"):
        results.add("relabel", np.ones((2, 3)), ("variant", "seed"), variant=["x", "y"])


def test_metrics_rows_are_long_format():
    rows = list(_results().metrics_rows())
    assert len(rows) == 12 + 6
    assert rows[0] == ("variant=a", 0, 0, "loss", "0")
    assert rows[-1] == ("variant=b", 2, "", "ratio", "1")


def test_an_axis_named_like_a_step_fills_the_step_column():
    results = Results()
    results.add("acc", np.arange(4.0).reshape(2, 2), ("seed", "memorize_step"), memorize_step=[0, 25])
    assert list(results.metrics_rows())[1] == ("", 0, 25, "acc", "1")


def test_writer_is_atomic_and_round_trips(tmp_path):
    writer = RunWriter(tmp_path, "exp", "quick")
    writer.write_results(_results())
    writer.write_text("summary.json", json.dumps({"ok": True}))
    assert not (tmp_path / "exp" / "quick").exists()  # nothing visible before commit
    folder = writer.commit()
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.json", "arrays.npz", "metrics.csv",
                                                         "summary.json"]
    loaded = load_results(folder)
    np.testing.assert_array_equal(loaded["loss"], _results()["loss"])
    assert loaded.coords["variant"] == ["a", "b"] and loaded.meta == {"note": "x"}
    header = (folder / "metrics.csv").read_text().splitlines()[0]
    assert header == "variant,seed,step,metric,value"

    # A second run that fails leaves the first one in place and no temporary folder behind.
    failed = RunWriter(tmp_path, "exp", "quick")
    failed.write_text("summary.json", "half")
    failed.abort()
    assert json.loads((folder / "summary.json").read_text()) == {"ok": True}
    assert [p.name for p in (tmp_path / "exp").iterdir()] == ["quick"]


def test_a_new_commit_replaces_the_previous_results_whole(tmp_path):
    first = RunWriter(tmp_path, "exp", "quick")
    first.write_text("old_only.txt", "1")
    folder = first.commit()
    second = RunWriter(tmp_path, "exp", "quick")
    second.write_text("summary.json", "{}")
    assert second.commit() == folder
    assert [p.name for p in folder.iterdir()] == ["summary.json"]
    assert [p.name for p in (tmp_path / "exp").iterdir()] == ["quick"]
    assert folder.stat().st_mode & 0o777 == 0o755
