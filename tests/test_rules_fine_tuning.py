"""fine_tuning's claim rule on fabricated results (every verdict branch), and its pieces:
the language's samplers and Bayes floors, the labelled sets, the grafted body, the probe's
features, the config's refusals."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import fine_tuning as experiment
from phenomena import models, sequence_tasks
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config
from phenomena.stats import NOT_REPRODUCED, NUANCED, REPRODUCED

SEEDS = 6
COUNTS = (2, 4, 8, 32)
CONFIG = dataclasses.replace(experiment.CONFIG, seeds=SEEDS, per_class=COUNTS)
STEPS = [0, 100, 200]
JITTER = np.linspace(-1, 1, SEEDS)
SCRATCH = (30.0, 32.0, 38.0, 55.0)  # scratch's test accuracy per count (fabricated)


def _fabricated(gains=(50.0, 50.0, 50.0, 40.0), spread: float = 2.0, best: dict | None = None,
                probe_gains=(45.0, 50.0, 52.0, 40.0)) -> Results:
    """Results where scratch ends at `SCRATCH` and fine-tuning `gains` higher per count (seeds
    spread by +-`spread` points around the fine-tuned mean), each arm's best rate (by
    validation accuracy) at index `best[arm]` (default 1) and every other rate 10 points lower."""
    best = {"scratch": 1, "fine-tuned": 1, "probe": 1, "random probe": 1, **(best or {})}
    means = {"scratch": np.asarray(SCRATCH), "fine-tuned": np.asarray(SCRATCH) + gains,
             "probe": np.asarray(SCRATCH) + probe_gains, "random probe": np.asarray(SCRATCH) - 1}
    results = Results()
    results.add("lm_loss", np.tile([3.2, 1.8, 1.65], (SEEDS, 1)), ("seed", "pretrain_step"),
                pretrain_step=[0, 750, 1500], seed=list(range(SEEDS)))
    results.add("bayes_lm_loss", np.full(SEEDS, 1.5), ("seed",))
    results.add("known_topic_lm_loss", np.full(SEEDS, 1.39), ("seed",))
    results.add("bayes_accuracy", np.full(SEEDS, 100.0), ("seed",))
    for arm in experiment.ARMS:
        key, grid = experiment._key(arm), experiment._grid(CONFIG, arm)
        final = np.full((len(grid), len(COUNTS), SEEDS), 0.0)
        for r in range(len(grid)):
            offset = 0.0 if r == best[arm] else -10.0
            final[r] = means[arm][:, None] + offset + (spread * JITTER if arm == "fine-tuned" else 0)
        curve = np.stack([np.full_like(final, 25.0), final - 1, final], axis=-1)
        axes = (f"{key}_lr", "per_class", "seed", "step")
        results.add(f"{key}_val_accuracy", curve, axes, **{f"{key}_lr": list(grid)},
                    per_class=list(COUNTS), step=STEPS)
        # Test 2 points below validation, so that a rule reading the wrong split is seen.
        results.add(f"{key}_test_accuracy", curve - 2.0, axes)
        results.add(f"{key}_diverged_at", np.full(final.shape, -1), axes[:-1])
    return results


def _decided(results):
    (verdict,) = experiment.claims.decide(results, CONFIG)
    return verdict


def test_a_large_gain_at_the_small_counts_reproduces_the_claim():
    verdict = _decided(_fabricated())
    assert verdict.verdict == REPRODUCED
    assert verdict.interval.mean == pytest.approx(50.0)  # the mean over 2 and 4 per topic
    assert verdict.details["test_accuracy"]["scratch"]["2/topic"].mean == pytest.approx(28.0)
    assert verdict.details["gain_at_largest_count"].mean == pytest.approx(40.0)
    # The small counts' mean gain minus the largest count's: the gap shrinks by 10 points.
    assert verdict.details["small_counts_minus_largest"].mean == pytest.approx(10.0)
    assert verdict.details["probe_gain_small_counts"].mean == pytest.approx(47.5)
    assert verdict.details["gains"]["random probe"]["8/topic"].mean == pytest.approx(-1.0)
    assert verdict.details["rates_chosen"]["scratch"]["2/topic"] == {
        "0.001": 0, "0.003": SEEDS, "0.01": 0, "0.03": 0}
    # The gain peaks at 8 per topic (50, the first of the tied top) and falls 10 by 32.
    assert verdict.details["peak"]["at_per_class"] == 8
    assert verdict.details["peak"]["peak_minus_largest_count"].mean == pytest.approx(10.0)
    assert verdict.details["lm_loss"]["excess_over_bayes"].mean == pytest.approx(0.15)
    # Converged fabricated curves: +1 point over the last half of the steps (with evaluations
    # at 0, 100, 200 the "last quarter" reading compares the last two evaluations).
    assert verdict.details["val_accuracy_rise_last_quarter"]["scratch"].mean == pytest.approx(1.0)


def test_a_gain_whose_interval_lies_below_the_bar_is_not_reproduced():
    assert _decided(_fabricated(gains=(2.0, 3.0, 20.0, 40.0))).verdict == NOT_REPRODUCED


def test_an_interval_holding_the_bar_is_nuanced():
    # Mean 6 points, seeds from 1 to 11: the CI holds 5.
    verdict = _decided(_fabricated(gains=(6.0, 6.0, 30.0, 30.0), spread=5.0))
    assert verdict.interval.mean == pytest.approx(6.0)
    assert verdict.interval.low < 5 < verdict.interval.high
    assert verdict.verdict == NUANCED


def test_only_the_small_counts_enter_the_statistic():
    # A huge gain at 8 and 32 per topic does not rescue no gain at 2 and 4.
    verdict = _decided(_fabricated(gains=(0.0, 0.0, 60.0, 60.0)))
    assert verdict.verdict == NOT_REPRODUCED
    assert verdict.interval.mean == pytest.approx(0.0)
    # The pooled mean, not each count: 20 at 2 and 0 at 4 average to 10, above the bar.
    assert _decided(_fabricated(gains=(20.0, 0.0, 0.0, 0.0))).verdict == REPRODUCED


def test_each_seed_is_judged_at_the_rate_chosen_on_the_other_seeds():
    results = _fabricated(best={"scratch": 2, "fine-tuned": 0})
    assert experiment.chosen_rates(results, "scratch").tolist() == [[2] * SEEDS] * len(COUNTS)
    assert _decided(results).interval.mean == pytest.approx(50.0)
    # A run that diverged at scratch's best rate makes it nobody's choice but that seed's own.
    results.arrays["scratch_diverged_at"][2, 0, 3] = 50
    chosen = experiment.chosen_rates(results, "scratch")
    # (the other two rates tie; the first wins)
    assert chosen[0, 3] == 2 and set(chosen[0, np.arange(SEEDS) != 3]) == {0}
    # Those seeds are judged at a rate 10 points lower: the gain grows by 10.
    assert experiment.gain(results)[np.arange(SEEDS) != 3, 0] == pytest.approx(
        60 + 2 * JITTER[np.arange(SEEDS) != 3])


def test_the_figure_draws_from_results_alone():
    figures = experiment.plot(_fabricated(), CONFIG)
    assert set(figures) == {"fine_tuning"}
    title = figures["fine_tuning"]._suptitle.get_text()
    assert "beats scratch by 50.0 points" in title and "with 32 per topic by +40.0" in title


# ---------------------------------------------------------------------------- the pieces

SMALL = dataclasses.replace(experiment.CONFIG, seeds=2, per_class=(2, 8), val_per_class=3,
                            test_per_class=5, length=10)


def test_sequences_follow_their_topics_chain_and_the_bayes_floors_are_ordered():
    transitions = experiment.language(jax.random.key(0), SMALL)
    assert transitions.shape == (4, 16, 16)
    np.testing.assert_allclose(transitions.sum(-1), 1.0, rtol=1e-6)
    data = experiment.labelled(jax.random.key(1), transitions, 50, 12)
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    assert x.shape == (200, 12) and np.bincount(y).tolist() == [50] * 4
    allowed = np.asarray(transitions)[y[:, None], x[:, :-1], x[:, 1:]] > 0
    assert allowed.all()  # every transition is one of its own topic's successors
    # The Bayes classifier knows the chains: with 11 transitions it is (almost) always right.
    assert float(experiment.bayes_accuracy(transitions, data)) > 0.95
    # The mixture predictor must infer the topic, so it pays more than knowing it, and less
    # than a predictor that ignores the topic (uniform over the 4 successors' union, at best).
    tokens = experiment.mixture(jax.random.key(2), transitions, 400, 13)
    bayes = float(experiment.bayes_lm_loss(transitions, tokens))
    known = float(experiment.known_topic_loss(transitions, data))
    assert known == pytest.approx(np.log(4), rel=1e-5)  # 4 successors, uniform
    assert known < bayes < np.log(16)


def test_the_bayes_lm_loss_equals_the_mixture_predictive_written_out():
    transitions = experiment.language(jax.random.key(3), SMALL)
    tokens = np.asarray(experiment.mixture(jax.random.key(4), transitions, 3, 6))
    t = np.asarray(transitions, np.float64)
    total = []
    for row in tokens:
        posterior = np.full(4, 0.25)
        for a, b in zip(row[:-1], row[1:]):
            total.append(-np.log(np.sum(posterior * t[:, a, b])))
            posterior = posterior * t[:, a, b]
            posterior /= posterior.sum()
    assert float(experiment.bayes_lm_loss(transitions, jnp.asarray(tokens))) == pytest.approx(
        np.mean(total), rel=1e-5)


def test_labelled_sets_are_nested_balanced_and_tiled_per_seed():
    languages = jax.vmap(lambda k: experiment.language(k, SMALL))(jax.random.split(jax.random.key(5), 2))
    sets = experiment.labelled_sets(SMALL, languages, jax.random.split(jax.random.key(6), 2))
    train = jax.tree.map(np.asarray, sets["train"])
    assert train["x"].shape == (4, 4 * 8, 10)  # (count, seed) runs, count-major; tiled to 8/topic
    for seed in range(2):
        two, eight = train["x"][seed], train["x"][2 + seed]
        assert np.bincount(train["y"][seed]).tolist() == [8] * 4
        for topic in range(4):
            rows_two = two[train["y"][seed] == topic]
            rows_eight = eight[train["y"][2 + seed] == topic]
            assert len({r.tobytes() for r in rows_two}) == 2  # two sequences, tiled 4 times
            assert {r.tobytes() for r in rows_two} <= {r.tobytes() for r in rows_eight}  # nested
    assert sets["val"]["x"].shape == (2, 12, 10) and sets["test"]["x"].shape == (2, 20, 10)
    # Each seed's sets come from its own language.
    assert not np.array_equal(train["x"][0], train["x"][1])


def test_the_body_mask_hands_over_everything_but_the_head():
    config = SMALL
    keys = jax.random.split(jax.random.key(7), 2)
    lm_graphdef, lm_state = models.transformers(config.vocab, config.vocab,
                                                dataclasses.replace(config.body(), readout="every"), keys)
    graphdef, fresh = models.transformers(config.vocab, config.topics, config.body(),
                                          jax.random.split(jax.random.key(8), 2))
    grafted = experiment.graft(lm_state, fresh, experiment.Body())
    paths = lambda s: {jax.tree_util.keystr(p): leaf for p, leaf in  # noqa: E731
                       jax.tree_util.tree_flatten_with_path(s)[0]}
    lm, new, old = paths(lm_state), paths(grafted), paths(fresh)
    for path, leaf in new.items():
        expected = old[path] if path.startswith("['head']") else lm[path]
        np.testing.assert_array_equal(leaf, expected)
    assert new["['head']['kernel'].value"].shape == (2, config.model.d_model, config.topics)


def test_the_probe_reads_the_same_vector_as_the_classifiers_head():
    from flax import nnx

    for readout in ("mean", "last"):
        config = dataclasses.replace(SMALL, model=dataclasses.replace(SMALL.model, readout=readout))
        graphdef, state = models.transformers(config.vocab, config.topics, config.body(),
                                              jax.random.split(jax.random.key(9), 1))
        model = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))
        tokens = jax.random.randint(jax.random.key(10), (3, config.length), 0, config.vocab)
        logits, _ = model(tokens)
        by_hand = experiment.features(model, tokens) @ model.head.kernel[...] + model.head.bias[...][None]
        np.testing.assert_allclose(logits, by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("overrides, message", [
    ({"per_class": "(8, 32)"}, "from <= 4"),
    ({"per_class": "(2, 3, 32)"}, "must divide the largest"),
    ({"per_class": "(4, 2, 32)"}, "increasing"),
    ({"seeds": "1"}, "at least 2"),
    ({"model.readout": "every"}, "last or mean"),
    ({"successors": "20"}, "successors must be in"),
    ({"scratch_lrs": "()"}, "scratch_lrs needs"),
])
def test_bad_configs_are_refused_in_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(experiment, "quick", overrides=overrides)


@pytest.mark.parametrize("key", sorted(experiment.Config.IGNORED_KEYS))
def test_keys_the_run_does_not_read_are_refused(key):
    with pytest.raises(ConfigError, match="would change nothing"):
        resolve_config(experiment, "quick", overrides={key: "1"})


def test_the_language_matches_the_librarys_single_chain_sampler_statistics():
    # One topic's sequences have the chain's own loss floor (sequence_tasks.language_nll).
    transitions = experiment.language(jax.random.key(11), SMALL)
    x = experiment.sample(jax.random.key(12), transitions, jnp.zeros(500, jnp.int32), 20)
    assert float(sequence_tasks.language_nll(transitions[0], x)) == pytest.approx(np.log(4), rel=1e-5)
