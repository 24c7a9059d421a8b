"""The experiment kit: claims declared once, grids of arms, functions over trained runs, configs."""

import dataclasses
import importlib.util
import sys
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from phenomena import losses, models, stats, train
from phenomena.config import ConfigError, describe, from_dict, to_dict
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, map_runs
from phenomena.models import MLPConfig
from phenomena.results import Results
from phenomena.train import TrainConfig
from phenomena.runner import resolve_config


def _book():
    book = ClaimBook("toy", questions="Q1")

    @book.rule("mean_positive", rule="the CI of x lies above 0")
    def _(results, config):
        interval = stats.mean_ci(results["x"])
        return stats.decide(interval.above(config.threshold), "mean of x", interval)

    @book.rule("always_checked", kind=stats.CHECK, questions="Q2", rule="x is finite")
    def _(results, config):
        return stats.decide(bool(np.isfinite(results["x"]).all()), "finite", stats.mean_ci([1.0]))

    return book


def _results(values):
    results = Results()
    results.add("x", np.asarray(values, float), ("seed",))
    return results


def test_claim_book_decides_in_declaration_order_with_prefixed_ids():
    book = _book()
    config = types.SimpleNamespace(threshold=0.0)
    verdicts = book.decide(_results([1.0, 1.1, 0.9]), config)
    assert [v.claim.id for v in verdicts] == ["toy.mean_positive", "toy.always_checked"]
    assert [v.claim.questions for v in verdicts] == ["Q1", "Q2"]
    assert verdicts[1].claim.kind == stats.CHECK
    assert book.verdicts(_results([1.0, 1.1, 0.9]), config) == {
        "mean_positive": stats.REPRODUCED, "always_checked": stats.REPRODUCED}
    # The rule receives the config: a higher threshold flips the verdict.
    assert book.verdicts(_results([1.0, 1.1, 0.9]), types.SimpleNamespace(threshold=2.0))[
        "mean_positive"] == stats.NOT_REPRODUCED
    assert book.expected() == {"mean_positive": stats.REPRODUCED, "always_checked": stats.REPRODUCED}


def test_claim_book_refuses_duplicates_and_rules_that_return_no_outcome():
    book = _book()
    with pytest.raises(ValueError, match="declared twice"):
        book.rule("mean_positive", rule="again")(lambda r, c: None)
    bad = ClaimBook("toy")
    bad.rule("broken", rule="returns a bool")(lambda r, c: True)
    with pytest.raises(TypeError, match="not a stats.Outcome"):
        bad.decide(_results([1.0]), None)


@dataclasses.dataclass(frozen=True)
class _Config(BaseConfig):
    threshold: float = 0.0  # what the mean must exceed
    train: TrainConfig = TrainConfig(lr=0.1)

    IGNORED_KEYS = {"train.lr": "the rates are a grid of their own"}


def test_base_config_checks_seeds_and_ignored_keys_are_refused():
    with pytest.raises(ConfigError, match="seeds must be at least 1"):
        _Config(seeds=0)
    module = types.SimpleNamespace(CONFIG=_Config(), PROFILES={"quick": {}})
    with pytest.raises(ConfigError, match="train.lr would change nothing: the rates are a grid"):
        resolve_config(module, "quick", overrides={"train.lr": "0.5"})
    assert resolve_config(module, "quick", overrides={"threshold": "2"}).threshold == 2.0


def test_describe_lists_every_key_with_its_type_and_comment():
    rows = {key: (kind, value, meaning) for key, kind, value, meaning in describe(_Config())}
    assert rows["seeds"] == ("int", 8, "independent runs per arm (the statistics' n)")
    assert rows["threshold"] == ("float", 0.0, "what the mean must exceed")
    assert rows["train.lr"][0:2] == ("float", 0.1)
    assert rows["train.batch_size"][2].startswith("examples per step")


def test_config_round_trips_through_its_json_form():
    config = dataclasses.replace(_Config(), seed=3, threshold=1.5)
    assert from_dict(_Config(), to_dict(config)) == config
    with pytest.raises(ConfigError):
        from_dict(_Config(), {"threshold": "high"})


def _regression(n=64):
    x = jax.random.normal(jax.random.key(0), (n, 3))
    return {"x": x, "y": x @ jnp.array([[1.0], [-2.0], [0.5]])}


def test_grid_fit_stacks_static_and_vmapped_axes_with_labels():
    batch = _regression()
    config = TrainConfig(optimizer="sgd", steps=20, batch_size=0, eval_every=10)
    programs_before = train._programs.cache_info().currsize

    def fit_arm(arm, keys, values):
        graphdef, state = models.mlps(3, 1, MLPConfig(width=arm["width"], depth=1), keys)
        return train.fit(graphdef, state, losses.squared_error, batch, config, keys,
                         hparams={"learning_rate": values},
                         evaluate=lambda m, d: {"loss": losses.squared_error(m, d)[0]},
                         eval_data=batch, progress=False)

    grid = grid_fit({"width": (4, 8), "lr": (1e-4, 1e-2, 3e-2)}, fit_arm, seed=0, seeds=2,
                    vmapped="lr")
    # One program per width: the three learning rates train together.
    assert train._programs.cache_info().currsize - programs_before <= 2
    loss = grid.evals("loss")
    assert loss.shape == (2, 3, 2, 3)  # width, lr, seed, evaluation
    # Axis order follows `arms`: a larger rate lowers the loss more (at every width and seed).
    assert np.all(loss[:, 2, :, -1] < loss[:, 0, :, -1])
    results = grid.add_to(Results(), evals={"loss": "loss"}, diverged="diverged_at")
    assert results.axes["loss"] == ("width", "lr", "seed", "step")
    assert results.coords["lr"] == [1e-4, 1e-2, 3e-2] and results.coords["step"] == [0, 10, 20]
    assert results["diverged_at"].shape == (2, 3, 2)
    np.testing.assert_array_equal(results.sel("loss", width=8, lr=1e-2), loss[1, 1])
    # Seeds are paired across arms: the same initial loss at every learning rate.
    np.testing.assert_allclose(loss[0, 0, :, 0], loss[0, 2, :, 0])


def _output_norm(model, x, scale):
    return jnp.linalg.norm(model(x)[0]) * scale


def test_map_runs_applies_a_function_to_every_run_with_shared_and_per_run_arguments():
    graphdef, state = models.mlps(3, 2, MLPConfig(width=4, depth=1), jax.random.split(jax.random.key(1), 4))
    x = jnp.ones((5, 3))
    scales = jnp.arange(4.0)
    mapped = map_runs(_output_norm, graphdef, state, x, scales, run_axes=(None, 0))
    from flax import nnx

    by_hand = [float(_output_norm(nnx.merge(graphdef, jax.tree.map(lambda a: a[i], state)), x, scales[i]))
               for i in range(4)]
    np.testing.assert_allclose(mapped, by_hand, rtol=1e-6)
    with pytest.raises(ValueError, match="run_axes"):
        map_runs(_output_norm, graphdef, state, x, scales, run_axes=(None,))


def test_the_guides_example_experiment_runs_and_decides_its_claims(monkeypatch):
    path = Path(__file__).parents[1] / "docs" / "example_experiment.py"
    spec = importlib.util.spec_from_file_location("label_noise_example", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)  # main(__spec__) is a no-op: not run as __main__
    config = resolve_config(module, "smoke")
    results = module.run(config)
    assert results["test_accuracy"].shape == (2, 2, 3)  # noise, seed, evaluation
    assert results["fits_given_labels"].shape == (2, 2)
    verdicts = module.claims.decide(results, config)
    assert [v.claim.id for v in verdicts] == ["label_noise.noise_costs_test_accuracy",
                                              "label_noise.noisy_labels_memorized"]
    assert all(np.isfinite(v.interval.mean) for v in verdicts)
    figures = module.plot(results, config)
    assert set(figures) == {"test_accuracy"}
