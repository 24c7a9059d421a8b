"""residual_connections' claim rules on fabricated results, and its scanned nets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments import residual_connections as experiment
from phenomena import losses
from phenomena.config import ConfigError
from phenomena.models import ConvNet, ConvNetConfig
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, REPRODUCED

SEEDS = 6
DEPTHS = (4, 16, 48)
RATES = (0.03, 0.1, 0.3)
CONFIG = experiment.Config(seeds=SEEDS, depths=DEPTHS, rates=RATES)
STEPS = [0, 150, 300]


def _fabricated(loss=None, best=None) -> Results:
    """Training losses per (depth, arch): `loss` maps `(depth, arch)` to the final loss at
    the net's best rate (index `best[(depth, arch)]`, default 1); every other rate ends 1.5x
    as high, every net starts at 2.4; seeds jitter by +-2 %."""
    loss = {(4, "plain"): 0.15, (16, "plain"): 1.0, (48, "plain"): 1.9,
            (4, "residual"): 0.15, (16, "residual"): 0.2, (48, "residual"): 0.35, **(loss or {})}
    best = best or {}
    jitter = 1 + 0.02 * np.linspace(-1, 1, SEEDS)
    shape = (len(DEPTHS), len(experiment.ARCHS), len(RATES), SEEDS, len(STEPS))
    train_loss = np.full(shape, 2.4)
    for (depth, arch), value in loss.items():
        d, a = DEPTHS.index(depth), experiment.ARCHS.index(arch)
        for r in range(len(RATES)):
            scale = 1.0 if r == best.get((depth, arch), 1) else 1.5
            train_loss[d, a, r, :, 1] = (value * scale + 2.4) / 2
            train_loss[d, a, r, :, 2] = value * scale * jitter
    results = Results()
    axes = ("depth", "arch", "lr", "seed", "step")
    coords = dict(depth=list(DEPTHS), arch=list(experiment.ARCHS), lr=list(RATES),
                  seed=list(range(SEEDS)), step=STEPS)
    results.add("train_loss", train_loss, axes, **coords)
    results.add("train_accuracy", np.clip(1.0 - train_loss / 2.4, 0, 1), axes)
    results.add("test_loss", train_loss + 0.1, axes)
    results.add("test_accuracy", np.clip(0.95 - train_loss / 2.4, 0, 1), axes)
    results.add("diverged_at", np.full(shape[:-1], -1), axes[:-1])
    return results


def _verdicts(results) -> dict:
    return experiment.claims.verdicts(results, CONFIG)


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in experiment.claims.decide(results, CONFIG)}


def test_a_degrading_plain_net_and_a_fitting_residual_one_reproduce_both_claims():
    assert _verdicts(_fabricated()) == {"plain_deep_degrades": REPRODUCED,
                                        "residual_fixes_degradation": REPRODUCED}
    decided = _decided(_fabricated())
    # The ratios of equal jitters are exact: 1.9 / 0.15 and 0.35 / 1.9 on every seed.
    assert decided["plain_deep_degrades"].interval.mean == pytest.approx(1.9 / 0.15)
    assert decided["residual_fixes_degradation"].interval.mean == pytest.approx(0.35 / 1.9)
    details = decided["plain_deep_degrades"].details
    assert details["plain_48"]["chosen_rates"] == [0.1] * SEEDS
    assert details["plain_48"]["train_loss_at_init"].mean == pytest.approx(2.4)
    assert details["train_loss_by_depth"]["plain"][16].mean == pytest.approx(1.0)


def test_a_deep_plain_net_within_twice_the_shallow_loss_does_not_degrade():
    results = _fabricated({(48, "plain"): 0.28, (48, "residual"): 0.1})
    assert _verdicts(results)["plain_deep_degrades"] == NOT_REPRODUCED
    assert _verdicts(results)["residual_fixes_degradation"] == REPRODUCED


def test_a_residual_net_no_better_than_three_quarters_of_the_plain_one_fixes_nothing():
    results = _fabricated({(48, "residual"): 0.8 * 1.9})
    assert _verdicts(results) == {"plain_deep_degrades": REPRODUCED,
                                  "residual_fixes_degradation": NOT_REPRODUCED}


def _spread(results, depth, arch, per_seed):
    """Set the final loss of the (depth, arch) net at every rate to `per_seed` (x1.5 off its
    best rate, as `_fabricated` does)."""
    d, a = DEPTHS.index(depth), experiment.ARCHS.index(arch)
    for r in range(len(RATES)):
        results.arrays["train_loss"][d, a, r, :, -1] = np.asarray(per_seed) * (1.0 if r == 1 else 1.5)


def test_the_interval_not_the_mean_decides_degradation():
    # Ratios ~1 on half the seeds and ~4 on the others: mean ~2.5 > 2, lower bound < 2.
    results = _fabricated()
    _spread(results, 48, "plain", 0.15 * np.array([1.0, 1.0, 1.0, 4.0, 4.0, 4.0]))
    ratio = _decided(results)["plain_deep_degrades"].interval
    assert ratio.mean > 2 and ratio.low < 2
    assert _verdicts(results)["plain_deep_degrades"] == NOT_REPRODUCED


def test_the_interval_not_the_mean_decides_the_fix():
    # Residual / plain ~0.3 on half the seeds and ~1 on the others: mean ~0.65 < 0.75, upper > 0.75.
    results = _fabricated()
    _spread(results, 48, "residual", 1.9 * np.array([0.3, 0.3, 0.3, 1.0, 1.0, 1.0]))
    ratio = _decided(results)["residual_fixes_degradation"].interval
    assert ratio.mean < 0.75 and ratio.high > 0.75
    assert _verdicts(results)["residual_fixes_degradation"] == NOT_REPRODUCED


def test_each_net_is_judged_at_its_own_rate_and_a_diverged_rate_never():
    results = _fabricated({(48, "residual"): 1.6}, best={(48, "residual"): 2})
    np.testing.assert_array_equal(experiment.chosen_rates(results, 48, "residual"), [2] * SEEDS)
    assert _decided(results)["residual_fixes_degradation"].interval.mean == pytest.approx(1.6 / 1.9)
    # One run at rate 0.3 diverged: 0.3 is no seed's choice but that seed's own (its
    # choice is made on the other seeds); they fall back on 0.1, the next lowest loss.
    d, a = DEPTHS.index(48), experiment.ARCHS.index("residual")
    results.arrays["train_loss"][d, a, 0, :, -1] *= 2
    results.arrays["diverged_at"][d, a, 2, 0] = 40
    chosen = experiment.chosen_rates(results, 48, "residual")
    np.testing.assert_array_equal(chosen, [2] + [1] * (SEEDS - 1))


def test_ignored_keys_are_refused():
    assert set(experiment.Config.IGNORED_KEYS) == {"train.lr"}
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(experiment, "quick", overrides={"train.lr": "0.5"})


@pytest.mark.parametrize("overrides, message", [
    ({"depths": "(4, 7, 48)"}, "even"), ({"depths": "(2, 48)"}, "at least 4"),
    ({"shallow": "12"}, "trained depths"), ({"deep": "4"}, "shallow < deep"),
    ({"norm": "layer"}, "norm"), ({"fix_factor": "1.2"}, "fix_factor"),
    ({"degrade_factor": "0.5"}, "degrade_factor"), ({"seeds": "1"}, "at least 2"),
    ({"dataset": "imagenet"}, "dataset"), ({"train.momentum": "0.5"}, "momentum"),
    ({"dataset": "cifar10"}, "test_size=0"), ({"data_dir": "/tmp"}, "data_dir"),
    ({"train_eval_size": "1600"}, "train_eval_size")])
def test_impossible_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)


# ------------------------------------------------------------------------------ the nets

SMALL = experiment.Config(width=4)
IMAGE = (8, 8)


def _one(graphdef, state, run=0):
    return nnx.merge(graphdef, jax.tree.map(lambda a: a[run], state))


def test_plain_and_residual_nets_share_their_graph_and_their_weights():
    keys = jax.random.split(jax.random.key(3), 2)
    plain = experiment.nets(SMALL, IMAGE, 8, "plain", keys)
    residual = experiment.nets(SMALL, IMAGE, 8, "residual", keys)
    assert plain[0] == residual[0]  # one graph: one compiled program for both
    weights = [jax.tree.leaves(nnx.filter_state(s, nnx.Param)) for _, s in (plain, residual)]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    model = _one(*plain)
    # Depth 8 = stem + 3 blocks of two convolutions + the head: 7 convolutions.
    assert model.blocks.first.conv.kernel[...].shape == (3, 3, 3, 4, 4)
    assert experiment.conv_layers(8) == 1 + 2 * 3
    assert float(model.skip[...]) == 0.0 and float(_one(*residual).skip[...]) == 1.0


def _library_twin(model: experiment.DeepConvNet, depth: int, residual: bool) -> ConvNet:
    """The library's (unrolled) ConvNet of the same architecture, holding `model`'s weights."""
    width = SMALL.width
    config = ConvNetConfig(dims=2, channels=(width,) * (depth - 1),
                           kernels=(SMALL.stem_kernel,) + (3,) * (depth - 2),
                           strides=(SMALL.stem_stride,) + (1,) * (depth - 2),
                           residual=residual, norm="batch", global_pool="avg")
    twin = ConvNet(IMAGE, 10, config, rngs=nnx.Rngs(99))
    layers = [(model.stem, None)] + [(getattr(model.blocks, part), b)
                                     for b in range((depth - 2) // 2) for part in ("first", "second")]
    for i, (layer, b) in enumerate(layers):
        pick = (lambda v: v) if b is None else (lambda v, b=b: v[b])
        for name in ("kernel", "bias"):
            getattr(twin.convs[i], name).set_value(pick(getattr(layer.conv, name)[...]))
        for name in ("scale", "bias", "mean", "var"):
            getattr(twin.norms[i], name).set_value(pick(getattr(layer.norm, name)[...]))
    twin.head.kernel.set_value(model.head.kernel[...])
    twin.head.bias.set_value(model.head.bias[...])
    return twin


@pytest.mark.parametrize("arch", experiment.ARCHS)
def test_the_scanned_net_computes_the_library_convnet(arch):
    depth = 6
    keys = jax.random.split(jax.random.key(1), 1)
    model = _one(*experiment.nets(SMALL, IMAGE, depth, arch, keys))
    twin = _library_twin(model, depth, arch == "residual")
    x = jax.random.uniform(jax.random.key(2), (5, *IMAGE))
    for train in (True, False):
        ours, _ = model(x, train=train)
        theirs, _ = twin(x, train=train)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_the_shortcut_changes_the_function():
    keys = jax.random.split(jax.random.key(1), 1)
    x = jax.random.uniform(jax.random.key(2), (5, *IMAGE))
    plain, _ = _one(*experiment.nets(SMALL, IMAGE, 6, "plain", keys))(x)
    residual, _ = _one(*experiment.nets(SMALL, IMAGE, 6, "residual", keys))(x)
    assert float(jnp.max(jnp.abs(plain - residual))) > 1e-3


def test_evaluation_keeps_the_test_in_evaluation_mode():
    keys = jax.random.split(jax.random.key(4), 1)
    graphdef, state = experiment.nets(SMALL, IMAGE, 6, "residual", keys)
    x = jax.random.uniform(jax.random.key(5), (12, *IMAGE))
    y = jnp.arange(12, dtype=jnp.int32) % 10
    splits = {"train": {"x": x[:6], "y": y[:6]}, "test": {"x": x[6:], "y": y[6:]}}
    found = experiment.evaluate(_one(graphdef, state), splits)
    model = _one(graphdef, state)
    test_loss, _ = losses.cross_entropy(model, splits["test"], train=False)
    train_loss, _ = losses.cross_entropy(model, splits["train"], train=True)
    assert float(found["test/loss"]) == pytest.approx(float(test_loss), rel=1e-6)
    assert float(found["train/loss"]) == pytest.approx(float(train_loss), rel=1e-6)
    # Training mode (batch statistics) and evaluation mode (fresh running averages) differ.
    eval_mode, _ = losses.cross_entropy(_one(graphdef, state), splits["train"], train=False)
    assert abs(float(eval_mode) - float(train_loss)) > 1e-3


def test_chance_loss_is_ln_10():
    assert experiment.CHANCE_LOSS == pytest.approx(2.302585, rel=1e-6)
