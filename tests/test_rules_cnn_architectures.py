"""cnn_architectures' claim rules on fabricated results (each verdict branch, no training), and
the two networks of part 1: their parameter counts and receptive fields."""

import dataclasses

import numpy as np
import pytest
from flax import nnx

from experiments import cnn_architectures as ca
from phenomena import models, stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 8
LRS = (3e-3, 1e-2, 3e-2)
CONFIG = dataclasses.replace(ca.CONFIG, seeds=SEEDS, lrs=LRS, style_lrs=LRS, widths=(4, 8),
                             channels=8)
PARAMS = (2538, 2978)  # (stack, large) at C = 8
STEPS = [0, 100, 200]
NOISE = 0.004 * np.random.default_rng(0).standard_normal(SEEDS)  # accuracy, per seed


def _curves(final_accuracy: float, best_lr: int) -> np.ndarray:
    """(lr, seed, step) accuracy curves ending at `final_accuracy` (+ seed noise) at rate
    `best_lr`, 0.1 lower at every other rate."""
    final = np.array([final_accuracy - (0.0 if i == best_lr else 0.1) for i in range(len(LRS))])
    ends = final[:, None] + NOISE
    return np.stack([np.full_like(ends, 0.1), (ends + 0.1) / 2, ends], axis=-1)


def _fabricated(stack=0.92, large=0.91, params=PARAMS, style_accuracy=0.9, weakest=None,
                best_lr=1) -> Results:
    """Part 1 at test accuracies `stack` and `large` with `params`; every style net at
    `style_accuracy` (the (style, width) cell `weakest` at chance); every net best at rate
    `best_lr`."""
    results = Results()
    block = np.stack([_curves(a, best_lr) for a in (stack, large)])  # (block, lr, seed, step)
    coords = dict(block=list(ca.BLOCKS), lr=list(LRS), seed=list(range(SEEDS)), step=STEPS)
    axes = ("block", "lr", "seed", "step")
    results.add("block_train_accuracy", block, axes, **coords)
    results.add("block_val_curve", block, axes)
    results.add("block_train_loss", 1 - block, axes)
    for name in ("val_accuracy", "test_accuracy"):  # read once, after training
        results.add(f"block_{name}", block[..., -1], axes[:-1])
    results.add("block_diverged_at", np.full(block.shape[:-1], -1), axes[:-1])
    results.add("block_params", list(params), ("block",))

    cells = {(s, w): style_accuracy for s in ca.STYLES for w in CONFIG.widths}
    if weakest is not None:
        cells[weakest] = 0.1
    style = np.stack([np.stack([_curves(cells[s, w], best_lr) for w in CONFIG.widths])
                      for s in ca.STYLES])  # (style, width, lr, seed, step)
    axes = ("style", "width", "style_lr", "seed", "style_step")
    coords = dict(style=list(ca.STYLES), width=list(CONFIG.widths), style_lr=list(LRS),
                  style_step=STEPS)
    results.add("style_train_accuracy", style, axes, **coords)
    results.add("style_val_curve", style, axes)
    results.add("style_train_loss", 1 - style, axes)
    for name in ("val_accuracy", "test_accuracy"):
        results.add(f"style_{name}", style[..., -1], axes[:-1])
    results.add("style_diverged_at", np.full(style.shape[:-1], -1), axes[:-1])
    results.add("style_params", [[1000 * (i + 1) * w for w in CONFIG.widths]
                                 for i in range(len(ca.STYLES))], ("style", "width"))
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in ca.claims.decide(results, CONFIG)}


def test_stack_with_fewer_parameters_and_no_worse_accuracy_is_reproduced():
    decided = _decided(_fabricated(stack=0.915, large=0.92))["small_kernels_efficient"]
    assert decided.verdict == stats.REPRODUCED
    assert "C = 8" in decided.statistic
    # Slightly worse but within the 1-point margin; the noise is paired, so the CI is a point.
    assert decided.interval.mean == pytest.approx(-0.5, abs=1e-6)
    assert decided.interval.low == pytest.approx(-0.5, abs=1e-6)
    assert decided.details["parameter_ratio"] == pytest.approx(2538 / 2978)
    assert decided.details["stack_beats_large"] is False
    assert _decided(_fabricated(stack=0.93, large=0.92))[
        "small_kernels_efficient"].details["stack_beats_large"] is True


def test_stack_worse_than_the_margin_is_not_reproduced():
    decided = _decided(_fabricated(stack=0.89, large=0.91))["small_kernels_efficient"]
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.interval.mean == pytest.approx(-2.0, abs=1e-6)


def test_a_noisy_gap_whose_interval_crosses_the_margin_is_not_reproduced():
    results = _fabricated(stack=0.92, large=0.92)
    # Seed-to-seed differences of +-3 points: mean 0, but the CI's lower end below -1.
    results["block_test_accuracy"][0] += 0.03 * np.where(np.arange(SEEDS) % 2, 1, -1)
    decided = _decided(results)["small_kernels_efficient"]
    assert decided.interval.mean == pytest.approx(0.0, abs=1e-6)
    assert decided.interval.low < -1
    assert decided.verdict == stats.NOT_REPRODUCED


def test_stack_with_as_many_parameters_does_not_count():
    decided = _decided(_fabricated(stack=0.95, params=(2978, 2978)))["small_kernels_efficient"]
    assert decided.verdict == stats.NOT_REPRODUCED
    assert decided.details["fewer_parameters"] is False
    assert decided.interval.mean == pytest.approx(4.0, abs=1e-6)


def test_each_seed_is_judged_at_the_rate_the_other_seeds_chose():
    # Every other rate is 0.1 worse on validation and test: every seed takes `best_lr`.
    for best in range(len(LRS)):
        decided = _decided(_fabricated(best_lr=best))["small_kernels_efficient"]
        assert decided.details["test_accuracy"]["stack"].mean == pytest.approx(
            100 * (0.92 + NOISE.mean()), abs=1e-4)
        counts = decided.details["chosen_rates"]["large"]
        assert counts == {f"{lr:g}": SEEDS if i == best else 0 for i, lr in enumerate(LRS)}


def test_convergence_reads_the_last_quarter_of_the_curves():
    decided = _decided(_fabricated(stack=0.92))["small_kernels_efficient"]
    convergence = decided.details["convergence"]["stack"]
    # Curves 0.1 -> (a + 0.1) / 2 -> a over steps 0, 100, 200: the value at 3/4 is the one at
    # step 100, so validation accuracy rose by (a - 0.1) / 2 = 41 points over the last quarter.
    assert convergence["val_accuracy_rise_last_quarter_points"].mean == pytest.approx(
        100 * (0.92 + NOISE.mean() - 0.1) / 2, abs=1e-4)
    assert convergence["train_accuracy"].mean == pytest.approx(100 * (0.92 + NOISE.mean()), abs=1e-4)


def test_a_diverged_rate_is_never_chosen():
    results = _fabricated(best_lr=1)
    results["block_diverged_at"][0, 1, 0] = 50  # stack: seed 0 diverged at the best rate
    chosen = ca.chosen_rate(results, "block", block="stack")
    assert 1 not in chosen[1:]  # the other seeds could not choose it
    assert chosen[0] == 1  # seed 0's choice is made on the others, which did not diverge there


def test_architectures_compared_reports_every_net_and_needs_all_trained():
    decided = _decided(_fabricated())["architectures_compared"]
    assert decided.verdict == stats.REPRODUCED
    assert decided.details["parameters"]["VGG-style 8"] == 16000
    assert decided.details["test_accuracy"]["ResNet-style 4"].mean == pytest.approx(
        100 * (0.9 + NOISE.mean()), abs=1e-4)
    assert decided.details["paired_differences"]["AlexNet-style - VGG-style, width 4"].mean \
        == pytest.approx(0.0, abs=1e-9)
    untrained = _decided(_fabricated(weakest=("vgg", 8)))["architectures_compared"]
    assert untrained.verdict == stats.NOT_REPRODUCED
    assert "VGG-style 8" in untrained.statistic
    assert untrained.interval.mean == pytest.approx(100 * (0.1 + NOISE.mean()), abs=1e-4)


def _params(net) -> int:
    model = nnx.eval_shape(lambda: models.ConvNet((8, 8), 10, net, rngs=nnx.Rngs(0)))
    return models.count_params(nnx.state(model))


def test_part_one_networks_share_all_but_the_block():
    c = dataclasses.replace(ca.CONFIG, stacked=3)
    stack, large = ca.block_config(c, "stack", 8), ca.block_config(c, "large", 8)
    # Stem 3*3*1*8 + 8, head 4*4*8*10 + 10; block 3 * (9*64 + 8) against 49*64 + 8.
    assert _params(stack) == 80 + 3 * 584 + 1290 == 3122
    assert _params(large) == 80 + 3144 + 1290 == 4514
    # The same receptive field at the block's output (before the pool): 9 pixels.
    assert models.receptive_fields(stack) == (3, 5, 7, 9)
    assert models.receptive_fields(large) == (3, 9)
    assert c.large_kernel == 7 and dataclasses.replace(c, stacked=2).large_kernel == 5
    # The quick profile's pair (2 stacked 3x3 against one 5x5), as in PARAMS above.
    assert tuple(_params(ca.block_config(ca.CONFIG, b, 8)) for b in ca.BLOCKS) == PARAMS


@pytest.mark.parametrize("key", ["train.lr", "style_train.lr"])
def test_a_learning_rate_override_is_refused(key):
    # The peak rates are the grid `lrs`: `--set train.lr` would change nothing.
    assert set(ca.Config.IGNORED_KEYS) == {"train.lr", "style_train.lr"}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_config(ca, "quick", overrides={key: "0.5"})
    assert resolve_config(ca, "quick", overrides={"lrs": "(0.003, 0.01)"}).lrs == (0.003, 0.01)


@pytest.mark.parametrize("overrides, message", [
    ({"stacked": "1"}, "stacked"),
    ({"train_size": "1000"}, "train_size"),
    ({"dataset": "mnist"}, "test_size"),
    ({"widths": "(8, 4)"}, "widths"),
    ({"channels": "0"}, "channels"),
    ({"seeds": "1"}, "seeds"),
    ({"data_dir": "/tmp"}, "data_dir"),
])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(ca, "quick", overrides=overrides)
