import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from phenomena import losses, models, rng, train
from phenomena.models import MLPConfig
from phenomena.optim import OptimizerSpec, l1_proximal, make_optimizer
from phenomena.train import TrainConfig


def _toy_problem(runs=4, seed=0):
    """A small regression every run trains on: y = sum(x) with 8 inputs."""
    x = jax.random.normal(jax.random.key(42), (256, 8))
    data = {"x": x, "y": jnp.sum(x, axis=1, keepdims=True)}
    keys = rng.seed_keys(seed, runs)
    graphdef, state = models.mlps(8, 1, MLPConfig(width=16, depth=2, activation="tanh",
                                                  init="glorot_normal"), keys)
    return graphdef, state, data, keys


def _eval(model, data):
    return {"loss": losses.squared_error(model, data)[0]}


def test_fit_trains_every_run_and_records_shapes():
    graphdef, state, data, keys = _toy_problem()
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=200, batch_size=32, eval_every=50)
    history = train.fit(graphdef, state, losses.squared_error, data, config, keys,
                        evaluate=_eval, eval_data=data, progress=False)
    assert history.step_metrics["loss"].shape == (4, 200)
    assert history.evals["loss"].shape == (4, 5)
    np.testing.assert_array_equal(history.eval_steps, [0, 50, 100, 150, 200])
    # Every run learns: the final loss is under a tenth of the initial one.
    assert np.all(history.evals["loss"][:, -1] < 0.1 * history.evals["loss"][:, 0])
    assert np.all(history.diverged_at == -1)


def test_second_fit_with_the_same_shapes_compiles_nothing(caplog):
    graphdef, state, data, keys = _toy_problem()
    config = TrainConfig(optimizer="sgd", lr=1e-2, steps=40, batch_size=32, eval_every=20)
    run = lambda lr: train.fit(graphdef, state, losses.squared_error, data,  # noqa: E731
                               TrainConfig(optimizer="sgd", lr=lr, steps=40, batch_size=32,
                                           eval_every=20),
                               keys, evaluate=_eval, eval_data=data, progress=False)
    def compiles_during(action):
        caplog.clear()
        with jax.log_compiles(), caplog.at_level(logging.DEBUG, logger="jax"):
            action()
        return [r for r in caplog.records if r.getMessage().startswith("Compiling")]

    # Positive control: a new chunk length is a new program, and the log shows it.
    assert compiles_during(lambda: train.fit(
        graphdef, state, losses.squared_error, data,
        TrainConfig(optimizer="sgd", lr=0.01, steps=33, batch_size=32, eval_every=11),
        keys, evaluate=_eval, eval_data=data, progress=False))
    run(config.lr)
    assert compiles_during(lambda: run(0.05)) == []  # another learning rate is data


def test_same_seed_gives_identical_metrics_and_other_seeds_differ():
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=60, batch_size=16, eval_every=30)
    runs = []
    for seed in (0, 0, 1):
        graphdef, state, data, keys = _toy_problem(seed=seed)
        runs.append(train.fit(graphdef, state, losses.squared_error, data, config, keys,
                              progress=False).step_metrics["loss"])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


def test_divergent_runs_are_recorded_and_do_not_affect_the_others():
    graphdef, state, data, keys = _toy_problem(runs=4)
    config = TrainConfig(optimizer="sgd", lr=1e-2, steps=100, batch_size=32, eval_every=50)
    lrs = jnp.array([1e-2, 1e3, 1e-2, 1e3])
    history = train.fit(graphdef, state, losses.squared_error, data, config, keys,
                        hparams={"learning_rate": lrs}, evaluate=_eval, eval_data=data,
                        progress=False)
    assert history.diverged_at[0] == -1 and history.diverged_at[2] == -1
    assert 1 <= history.diverged_at[1] <= 100 and 1 <= history.diverged_at[3] <= 100
    step = history.diverged_at[1]
    assert np.all(np.isnan(history.step_metrics["loss"][1, step:]))
    assert np.isnan(history.evals["loss"][1, -1]) and np.isfinite(history.evals["loss"][0, -1])
    # The healthy runs are exactly what they would be if trained alone.
    alone = train.fit(graphdef, jax.tree.map(lambda x: x[:2], state), losses.squared_error, data,
                      config, keys[:2], progress=False)
    np.testing.assert_allclose(history.step_metrics["loss"][0], alone.step_metrics["loss"][0],
                               rtol=1e-5)
    # The final state holds the last finite parameters.
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(history.state))


def test_sample_batch_draws_with_replacement_and_full_batch_is_everything():
    data = {"x": jnp.arange(10.0)[:, None], "y": jnp.arange(10)}
    batch = train.sample_batch(data, jax.random.key(0), 32)
    assert batch["x"].shape == (32, 1)
    np.testing.assert_array_equal(np.asarray(batch["x"][:, 0]), np.asarray(batch["y"]))
    assert train.sample_batch(data, jax.random.key(0), 0) is data


def test_l1_proximal_soft_thresholds():
    w = jnp.array([1.0, -0.05, 0.3, -2.0])
    updates, _ = l1_proximal(0.1).update(jnp.zeros(4), optax.EmptyState(), w)
    np.testing.assert_allclose(np.asarray(w + updates), [0.9, 0.0, 0.2, -1.9], atol=1e-7)


def test_injected_hyperparameters_and_decoupled_decay_match_the_formula():
    factory = make_optimizer(OptimizerSpec(name="sgd", decoupled_decay=True))
    params = {"w": jnp.array([2.0])}
    grads = {"w": jnp.array([0.5])}
    opt = factory(learning_rate=0.1, weight_decay=0.01)
    updates, _ = opt.update(grads, opt.init(params), params)
    # w <- w - lr (g + λ w)
    assert float(updates["w"][0]) == pytest.approx(-0.1 * (0.5 + 0.01 * 2.0))


def test_cross_entropy_at_uniform_logits_is_log_classes():
    class Uniform:
        def __call__(self, x, train=False, key=None):
            return jnp.zeros((x.shape[0], 10)), {}

    loss, aux = losses.cross_entropy(Uniform(), {"x": jnp.zeros((4, 3)), "y": jnp.arange(4)})
    assert float(loss) == pytest.approx(np.log(10), rel=1e-6)


def test_masked_l1_touches_only_the_selected_parameters():
    from phenomena.optim import PathMask

    spec = OptimizerSpec(name="sgd", l1=True, penalize=PathMask("['a']"))
    opt = make_optimizer(spec)(learning_rate=1.0, l1=0.5)
    params = {"a": jnp.array([0.3, -2.0]), "b": jnp.array([0.3, -2.0])}
    zero = {"a": jnp.zeros(2), "b": jnp.zeros(2)}
    updates, _ = opt.update(zero, opt.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(np.asarray(new["a"]), [0.0, -1.5])
    np.testing.assert_allclose(np.asarray(new["b"]), [0.3, -2.0])
    assert spec == OptimizerSpec(name="sgd", l1=True, penalize=PathMask("['a']"))  # hashable by value


def test_sweep_is_value_major_with_paired_seeds():
    sweep = train.Sweep((0.1, 1.0, 10.0), seeds=2, seed=5)
    keys = jax.random.key_data(sweep.keys())
    assert sweep.runs == 6 and keys.shape[0] == 6
    np.testing.assert_array_equal(keys[0], keys[2])  # seed 0 under the first two values
    assert not np.array_equal(keys[0], keys[1])
    np.testing.assert_allclose(np.asarray(sweep.run_values()), [0.1, 0.1, 1.0, 1.0, 10.0, 10.0])
    assert sweep.unflatten(np.arange(12).reshape(6, 2)).shape == (3, 2, 2)
    assert sweep.unflatten(np.arange(6))[2, 1] == 5


def test_run_streams_are_new_keys_and_reserved_streams_are_refused():
    keys = rng.seed_keys(0, 3)
    data_keys = jax.random.key_data(rng.run_stream(keys, 2))
    train_keys = jax.random.key_data(jax.vmap(lambda k: jax.random.fold_in(k, train.TRAIN_STREAM))(keys))
    assert data_keys.shape == (3, 2) and not np.array_equal(data_keys, train_keys)
    with pytest.raises(ValueError, match="use 2 or more"):
        rng.run_stream(keys, 1)


def test_warmup_cosine_scales_each_update_by_the_schedule():
    spec = OptimizerSpec(name="sgd", schedule="warmup_cosine", warmup_steps=4, decay_steps=12)
    opt = make_optimizer(spec)(learning_rate=0.5)
    params, grads = {"w": jnp.zeros(1)}, {"w": jnp.ones(1)}
    state = opt.init(params)
    steps = []
    for _ in range(12):
        updates, state = opt.update(grads, state, params)
        steps.append(-float(updates["w"][0]))
    # Linear warmup 0, 1/4, 2/4, 3/4 of the peak, the peak at step 4, then cosine down to 0.
    np.testing.assert_allclose(steps[:5], [0.0, 0.125, 0.25, 0.375, 0.5], atol=1e-7)
    assert steps[8] == pytest.approx(0.5 * 0.5 * (1 + np.cos(np.pi * 4 / 8)), abs=1e-7)
    assert all(a >= b for a, b in zip(steps[4:], steps[5:]))
    with pytest.raises(ValueError, match="warmup_steps < decay_steps"):
        make_optimizer(OptimizerSpec(schedule="warmup_cosine", warmup_steps=5, decay_steps=5))


def test_frozen_parameters_stay_bit_identical_in_fit_while_the_rest_trains():
    from flax import nnx

    from phenomena.optim import PathMask

    graphdef, state, data, keys = _toy_problem(runs=2)
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=20, eval_every=10, batch_size=32)
    history = train.fit(graphdef, state, losses.squared_error, data, config, keys,
                        optimizer=config.spec(freeze=PathMask("['hidden'][0]")), progress=False)
    before, after = nnx.filter_state(state, nnx.Param), nnx.filter_state(history.state, nnx.Param)
    for name in ("kernel", "bias"):
        np.testing.assert_array_equal(after["hidden"][0][name][...], before["hidden"][0][name][...])
    moved = np.abs(np.asarray(after["hidden"][1]["kernel"][...] - before["hidden"][1]["kernel"][...]))
    assert moved.max() > 1e-3


def test_validation_split_and_subsets_are_disjoint_and_keyed():
    from phenomena import data as datasets, losses, rng

    toy = {"x": jnp.arange(20.0)[:, None], "y": jnp.arange(20)}
    fit_part, val = datasets.split_validation(toy, jax.random.key(0), 5)
    assert val["y"].shape == (5,) and fit_part["y"].shape == (15,)
    assert sorted(np.concatenate([fit_part["y"], val["y"]]).tolist()) == list(range(20))
    np.testing.assert_array_equal(fit_part["x"][:, 0], fit_part["y"])
    other = datasets.split_validation(toy, jax.random.key(1), 5)[1]
    assert set(val["y"].tolist()) != set(other["y"].tolist())
    subset = datasets.random_subset(toy, jax.random.key(0), 7)
    assert len(set(subset["y"].tolist())) == 7
    with pytest.raises(ValueError, match="n_val"):
        datasets.split_validation(toy, jax.random.key(0), 20)


def test_select_classes_keeps_and_relabels_in_the_given_order():
    from phenomena import data as datasets, losses, rng

    toy = {"x": jnp.arange(6.0)[:, None], "y": jnp.array([5, 1, 7, 5, 9, 0])}
    picked = datasets.select_classes(toy, [7, 5])
    np.testing.assert_array_equal(picked["y"], [1, 0, 1])
    np.testing.assert_array_equal(picked["x"][:, 0], [0.0, 2.0, 3.0])


def test_decay_after_the_adam_step_is_optax_adamw():
    spec = OptimizerSpec(name="adam", momentum=0.9, decoupled_decay=True, decay_after_base=True)
    ours = make_optimizer(spec)(learning_rate=1e-2, weight_decay=0.5)
    reference = optax.adamw(1e-2, b1=0.9, weight_decay=0.5)
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    s_ours, s_ref = ours.init(params), reference.init(params)
    p_ours = p_ref = params
    for step in range(5):
        grads = {"w": jnp.array([0.3, -0.1, 0.2]) * (step + 1)}
        u_ours, s_ours = ours.update(grads, s_ours, p_ours)
        u_ref, s_ref = reference.update(grads, s_ref, p_ref)
        p_ours, p_ref = optax.apply_updates(p_ours, u_ours), optax.apply_updates(p_ref, u_ref)
    np.testing.assert_allclose(np.asarray(p_ours["w"]), np.asarray(p_ref["w"]), rtol=1e-6)
    # Before the step (the default) the decay goes through Adam's normalization: not AdamW.
    coupled = make_optimizer(spec._replace(decay_after_base=False))(learning_rate=1e-2,
                                                                    weight_decay=0.5)
    u_coupled, _ = coupled.update({"w": jnp.zeros(3)}, coupled.init(params), params)
    u_adamw, _ = reference.update({"w": jnp.zeros(3)}, reference.init(params), params)
    assert not np.allclose(np.asarray(u_coupled["w"]), np.asarray(u_adamw["w"]))


def test_repeat_to_keeps_the_sampling_distribution_and_refuses_uneven_sizes():
    from phenomena import data as datasets, losses, rng

    toy = {"x": jnp.arange(3.0)[:, None], "y": jnp.arange(3)}
    repeated = datasets.repeat_to(toy, 9)
    np.testing.assert_array_equal(np.bincount(np.asarray(repeated["y"])), [3, 3, 3])
    assert repeated["x"].shape == (9, 1)
    with pytest.raises(ValueError, match="must divide"):
        datasets.repeat_to(toy, 10)
    assert datasets.same_for_every_run(toy, 4)["x"].shape == (4, 3, 1)


def test_release_compiled_drops_the_cached_programs():
    from phenomena import losses, rng, runtime

    graphdef, state, data, keys = _toy_problem(runs=2)
    config = TrainConfig(optimizer="sgd", lr=0.01, steps=10, eval_every=10, batch_size=16)
    train.fit(graphdef, state, losses.squared_error, data, config, keys, progress=False)
    assert train._programs.cache_info().currsize >= 1
    runtime.release_compiled()
    assert train._programs.cache_info().currsize == 0


def test_memory_maps_are_counted_and_release_waits_until_crowded(monkeypatch):
    from phenomena import losses, rng, runtime

    assert runtime.memory_maps() > 100  # a JAX process maps its libraries
    graphdef, state, data, keys = _toy_problem(runs=2)
    config = TrainConfig(optimizer="sgd", lr=0.01, steps=10, eval_every=10, batch_size=16)
    train.fit(graphdef, state, losses.squared_error, data, config, keys, progress=False)
    assert runtime.release_compiled_if_crowded() is False
    assert train._programs.cache_info().currsize >= 1
    monkeypatch.setattr(runtime, "MAPS_BEFORE_RELEASE", 1)
    assert runtime.release_compiled_if_crowded() is True
    assert train._programs.cache_info().currsize == 0
