"""Every experiment, end to end.

Default tier: each experiment's smoke profile runs, writes a complete results folder, and is
deterministic (a second run gives identical metrics, another seed different ones). The
second and third runs reuse the first one's compiled programs, so the check costs little.

`pytest -m verdict`: each quick profile decides every claim as expected (the test that the
phenomenon appears), once per session. `pytest -m slow`: the same at a second seed.
"""

import json

import pytest

from phenomena.registry import experiment_names, load_experiment
from phenomena.runner import execute

EXPERIMENTS = experiment_names()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_smoke_profile_runs_completely_and_is_deterministic(name, tmp_path):
    first = execute(name, "smoke", results_dir=tmp_path / "a")
    claims = load_experiment(name).claims
    assert [v.claim.id for v in first.verdicts] == [c.id for c in claims]
    files = {p.name for p in first.folder.iterdir()}
    assert {"config.json", "summary.json", "metrics.csv", "arrays.npz", "arrays.json"} <= files
    assert any(f.endswith(".png") for f in files), "the run drew no figure"
    second = execute(name, "smoke", results_dir=tmp_path / "b")
    other = execute(name, "smoke", overrides={"seed": 7}, results_dir=tmp_path / "c")
    metrics = [o.folder.joinpath("metrics.csv").read_text() for o in (first, second, other)]
    assert metrics[0] == metrics[1]
    assert metrics[0] != metrics[2]


# Claims decided on wall time (the suite's only ones): their verdict is a property of the
# machine that runs them, so CI on another machine asserts the direction the committed verdict
# rests on instead of the verdict itself: (statistic's mean must exceed, what it means).
MACHINE_DEPENDENT = {
    "hardware_parallelism.parallel_throughput":
        (1.0, "examples/s at batch 1024 / batch 1: batching must raise throughput"),
}


@pytest.mark.verdict
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_quick_profile_verdicts_equal_expected(name, quick_run):
    outcome = quick_run(name)
    module = load_experiment(name)
    decided = {v.claim.id: v for v in outcome.verdicts}
    assert set(decided) == {c.id for c in module.claims}
    mismatches = {i: (v.verdict, v.claim.expected, str(v.interval)) for i, v in decided.items()
                  if v.verdict != v.claim.expected and i not in MACHINE_DEPENDENT}
    assert mismatches == {}
    for claim_id in MACHINE_DEPENDENT.keys() & decided.keys():
        low, description = MACHINE_DEPENDENT[claim_id]
        assert decided[claim_id].interval.mean > low, (claim_id, description)
    summary = json.loads((outcome.folder / "summary.json").read_text())
    assert summary["seeds"] >= 8
    assert list(outcome.folder.glob("*.png")), "the run drew no figure"


# Claims whose statistic sits on its rule's threshold at the quick profile's seed count, so the
# verdict at another seed may fall on either side (measured; the module's docstring has the
# numbers and names the profile that decides it). Any other mismatch fails the test.
ON_THE_BOUNDARY = {
    # paired (L1-penalty - L2-penalty) error ratio: -1.32 [-2.51, -0.13] at seed 0,
    # -1.08 [-2.58, 0.42] at seed 1, against "not below 0".
    "l1_vs_l2.outlier_sentence_is_about_loss",
    # the weakest small-data gain (frozen features, 20/class) against the 5-point margin:
    # +8.16 [5.10, 11.23] at seed 0, +6.00 [2.41, 9.60] at seed 1 (20 seeds; ~80-100 needed).
    "transfer_learning.transfer_beats_scratch_small_n",
    # BN's gap reduction against the 2-point band: 0.034 [0.004, 0.064] at seed 0 (nuanced),
    # 0.074 [0.054, 0.093] at seed 1 (reproduced).
    "batchnorm.bn_regularizes",
    # fine-tuning's gain dips at 60/class at seed 1 (scratch's large-size budget is unsaturated).
    "transfer_learning.gap_closes_with_data",
    # Swish - ReLU at depth 4 against the +-3-point band: +2.4 [-0.8, 5.6] at seed 0 (outside),
    # +0.2 [-1.6, 2.1] at seed 1 (inside); 8 seeds are too few for the equivalence's power.
    "swish_vs_relu.swish_parity",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_verdicts_hold_for_another_seed(name, quick_run):
    outcome = quick_run(name, seed=1)
    mismatches = {v.claim.id: (v.verdict, v.claim.expected) for v in outcome.verdicts
                  if v.verdict != v.claim.expected
                  and v.claim.id not in ON_THE_BOUNDARY | MACHINE_DEPENDENT.keys()}
    assert mismatches == {}


@pytest.mark.verdict
def test_report_lists_every_claim_with_its_verdict(quick_results_on_disk, results_root):
    from phenomena.report import write_report

    for name in EXPERIMENTS:
        quick_results_on_disk(name)
    report = write_report(results_root).read_text()
    for name in EXPERIMENTS:
        for claim in load_experiment(name).claims:
            assert f"`{claim.id}`" in report
        assert f"{name}/quick/" in report
