"""attention_mechanics' claim rules on fabricated results (every verdict branch), and its pieces."""

import dataclasses

import jax
import numpy as np
import pytest

from experiments import attention_mechanics as experiment
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 6
RATES = (0.001, 0.003, 0.01)
CONFIG = dataclasses.replace(experiment.CONFIG, seeds=SEEDS, lrs=RATES)
JITTER = np.linspace(-1, 1, SEEDS)
STEPS = [0, 750, 1500]


def _fabricated(mass: float, spread: float = 0.01, error: float = 2e-7, row_sum: float = 1e-7,
                weight_error: float = 1e-7, best_rate: int = 1) -> Results:
    """Results whose best rate (by validation accuracy) ends with the query's weight on the
    queried pair at `mass` ± `spread` over seeds; the other rates at 0.3 and lower accuracy."""
    results = Results()
    masks = list(experiment.MASKS)
    results.add("formula_error", np.full((len(masks), SEEDS), error), ("mask", "seed"), mask=masks)
    results.add("row_sum_error", np.full((len(masks), SEEDS), row_sum), ("mask", "seed"))
    results.add("weight_error", np.full((len(masks), SEEDS), weight_error), ("mask", "seed"))
    shape = (len(RATES), SEEDS, len(STEPS))
    target_mass = np.full(shape, 0.3)
    target_mass[..., 0] = 1 / (CONFIG.pairs + 1)
    target_mass[best_rate, :, 1:] = (mass + spread * JITTER)[:, None]
    accuracy = np.full(shape, 0.6)
    accuracy[..., 0] = 1 / CONFIG.values
    accuracy[best_rate, :, 1:] = 0.99
    axes = ("lr", "seed", "step")
    coords = dict(lr=list(RATES), seed=list(range(SEEDS)), step=STEPS)
    for split in ("val", "test"):
        results.add(f"{split}_accuracy", accuracy, axes, **coords)
        results.add(f"{split}_target_mass", target_mass, axes)
        results.add(f"{split}_self_mass", 1 - target_mass, axes)
    results.add("diverged_at", np.full(shape[:-1], -1), axes[:-1])
    return results


def _verdicts(results) -> dict:
    return experiment.claims.verdicts(results, CONFIG)


def test_a_sharp_head_on_the_queried_pair_reproduces_the_claim():
    assert _verdicts(_fabricated(0.97)) == {"attention_formula": REPRODUCED,
                                            "attention_finds_key": REPRODUCED}


def test_a_diffuse_head_does_not_find_the_key():
    assert _verdicts(_fabricated(0.5))["attention_finds_key"] == NOT_REPRODUCED


def test_an_interval_holding_the_threshold_is_nuanced():
    # Mean 0.91 but seeds from 0.81 to 1.0: the CI holds 0.9.
    assert _verdicts(_fabricated(0.91, spread=0.1))["attention_finds_key"] == NUANCED


def test_each_seed_is_judged_at_the_rate_chosen_on_the_others():
    results = _fabricated(0.97, best_rate=2)
    np.testing.assert_array_equal(experiment.chosen_rate(results), [2] * SEEDS)
    # A diverged run makes its rate nobody's choice but that seed's own.
    results.arrays["diverged_at"][2, 0] = 100
    # The others fall back to the lowest of the tied rates.
    np.testing.assert_array_equal(experiment.chosen_rate(results), [2, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("error, row_sum, weight_error",
                         [(3e-5, 1e-7, 1e-7), (2e-7, 1e-5, 1e-7), (2e-7, 1e-7, 1e-3)])
def test_the_formula_check_fails_on_a_large_error_wrong_weights_or_rows_not_summing_to_one(
        error, row_sum, weight_error):
    verdicts = _verdicts(_fabricated(0.97, error=error, row_sum=row_sum,
                                     weight_error=weight_error))
    assert verdicts["attention_formula"] == NOT_REPRODUCED


def test_the_explicit_formula_tells_a_missing_scale_apart():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 5, 3, 8)) for _ in range(3))
    scaled, weights_all = experiment.explicit_attention(q, k, v, None)
    unscaled, _ = experiment.explicit_attention(q * np.sqrt(8), k, v, None)  # softmax(QKᵀ)V
    np.testing.assert_allclose(weights_all.sum(-1), 1.0, rtol=1e-12)
    assert np.max(np.abs(scaled - unscaled)) / np.max(np.abs(scaled)) > 0.1
    # One query, one head, by hand.
    logits = q[0, 0, 0] @ k[0, :, 0].T / np.sqrt(8)
    weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(scaled[0, 0, 0], weights @ v[0, :, 0], rtol=1e-12)


def test_the_library_layer_passes_the_check_on_two_seeds():
    errors, weight_errors, sums = experiment.formula_errors(jax.random.split(jax.random.key(0), 2))
    assert errors.shape == (3, 2) and np.all(errors < 1e-5) and np.all(sums < 1e-6)
    assert np.all(weight_errors < 1e-5)


def test_retrieval_metrics_read_the_query_row_at_the_target():
    data = experiment.draw(CONFIG, jax.random.key(0), n=16)

    class Looker:
        """A fake model whose query puts all its weight on the target position."""

        def __call__(self, x):
            n, t = x.shape
            row = jax.nn.one_hot(data["target_position"], t)
            attention = np.zeros((n, 1, t, t))
            attention[:, 0, -1, :] = row
            logits = jax.nn.one_hot(data["y"], CONFIG.values)
            return logits, {"attention": (attention,)}

    metrics = experiment.retrieval_metrics(Looker(), data)
    assert float(metrics["target_mass"]) == 1.0 and float(metrics["accuracy"]) == 1.0
    assert float(metrics["self_mass"]) == 0.0


def test_ignored_keys_are_refused():
    assert set(experiment.Config.IGNORED_KEYS) == {"train.lr", "model.max_len"}
    for key in experiment.Config.IGNORED_KEYS:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            resolve_config(experiment, "quick", overrides={key: "3"})


@pytest.mark.parametrize("override", [{"model.heads": "2"}, {"model.layers": "2"},
                                      {"model.positions": "learned"}, {"pairs": "20"},
                                      {"model.readout": "mean"},
                                      {"seeds": "1"}, {"train.batch_size": "0"}])
def test_impossible_values_are_config_errors(override):
    with pytest.raises(ConfigError):
        resolve_config(experiment, "quick", overrides=override)
