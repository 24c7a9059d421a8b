"""phenomena.activations: conventional inits, cell labels, the vmapped rate grid, the rate
choice and XLA's count of a training step."""

import jax.numpy as jnp
import numpy as np

from phenomena import activations, data, models, rng, train
from phenomena.train import TrainConfig


def test_conventional_init_glorot_for_saturating_he_for_the_relu_family():
    assert activations.conventional_init("sigmoid") == "glorot_normal"
    assert activations.conventional_init("tanh") == "glorot_normal"
    for name in ("relu", "leaky_relu", "elu", "gelu", "swish", "prelu"):
        assert activations.conventional_init(name) == "he_normal"
    config = activations.mlp_config("tanh", 3, 16)
    assert (config.activation, config.depth, config.width, config.init) == ("tanh", 3, 16,
                                                                            "glorot_normal")


def test_cell_labels_round_trip():
    assert activations.cell_label("leaky_relu", 10) == "leaky_relu@10"
    assert activations.parse_cell("leaky_relu@10") == ("leaky_relu", 10)


def test_best_validation_rate_takes_the_highest_mean_accuracy_and_disqualifies_divergence():
    # (lr, seed, step): rate 1 has the highest mean accuracy but one seed's loss went NaN.
    accuracy = np.array([[[0.1, 0.50], [0.1, 0.52]],
                         [[0.1, 0.70], [0.1, 0.66]],
                         [[0.1, 0.60], [0.1, 0.58]]])
    loss = np.ones_like(accuracy)
    assert activations.best_validation_rate(accuracy, loss) == 1
    loss[1, 1, -1] = np.nan
    assert activations.best_validation_rate(accuracy, loss) == 2
    assert activations.best_validation_rate(accuracy[[0, 2]], loss[[0, 2]]) == 1


def test_per_seed_splits_carve_a_validation_split_per_seed_and_share_the_test_split():
    splits = {"train": {"x": np.arange(20.0)[:, None], "y": np.arange(20)},
              "test": {"x": np.zeros((3, 1)), "y": np.zeros(3, int)}}
    keys = rng.seed_keys(0, 2)
    train_sets, eval_sets = activations.per_seed_splits(splits, keys, 5, 4)
    assert train_sets["x"].shape == (2, 15, 1)
    assert eval_sets["val"]["y"].shape == (2, 5)
    for seed in range(2):  # disjoint, and together every example
        together = np.concatenate([train_sets["y"][seed], eval_sets["val"]["y"][seed]])
        assert sorted(np.asarray(together).tolist()) == list(range(20))
    assert not np.array_equal(eval_sets["val"]["y"][0], eval_sets["val"]["y"][1])  # per seed
    np.testing.assert_array_equal(eval_sets["train"]["y"], train_sets["y"][:, :4])
    assert eval_sets["test"]["x"].shape == (2, 3, 1)


def test_fit_cells_trains_each_rate_as_a_fit_at_that_rate_alone():
    """The vmapped grid trains, at each rate, exactly the nets a single-rate fit trains."""
    splits = data.mnist1d_splits(train_size=200)
    splits["test"] = {k: v[:50] for k, v in splits["test"].items()}
    seeds, rates = 2, (1e-3, 3e-2)
    keys = rng.seed_keys(0, seeds)
    train_sets, eval_sets = activations.per_seed_splits(splits, rng.run_stream(keys, 2), 100, 50)
    config = TrainConfig(optimizer="adam", lr=1.0, steps=20, batch_size=10, eval_every=10)
    grid = activations.fit_cells([("tanh", 1)], rates, width=4, train_sets=train_sets,
                                 eval_sets=eval_sets, train_config=config, seed=0, seeds=seeds,
                                 axis="deep_cell")
    assert list(grid.axes) == ["deep_cell", "lr"] and grid.axes["deep_cell"] == ["tanh@1"]
    loss = grid.evals("train/loss")
    assert loss.shape == (1, 2, seeds, 3)  # (cell, lr, seed, evaluation)
    np.testing.assert_array_equal(loss[0, 0, :, 0], loss[0, 1, :, 0])  # same inits at every rate
    graphdef, state = models.mlps(data.MNIST1D_LENGTH, data.MNIST1D_CLASSES,
                                  activations.mlp_config("tanh", 1, 4), keys)
    from phenomena import losses
    alone = train.fit(graphdef, state, losses.cross_entropy, train_sets, config, keys,
                      hparams={"learning_rate": rates[1]}, evaluate=losses.classification_metrics,
                      eval_data=eval_sets, data_axis=0, progress=False)
    np.testing.assert_allclose(loss[0, 1], alone.evals["train/loss"], rtol=1e-5)
    assert not np.allclose(loss[0, 0, :, -1], loss[0, 1, :, -1])


def test_train_step_cost_counts_matmuls_and_one_transcendental_per_saturating_unit():
    config = TrainConfig(optimizer="adam", lr=1e-2, steps=1, batch_size=8, eval_every=1)
    batch, width, depth = 8, 16, 2
    relu = activations.train_step_cost("relu", depth, width, batch, config, in_features=5,
                                       out_features=3)
    sigmoid = activations.train_step_cost("sigmoid", depth, width, batch, config, in_features=5,
                                          out_features=3)
    swish = activations.train_step_cost("swish", depth, width, batch, config, in_features=5,
                                        out_features=3)
    # Forward 2·B·in·out per layer, backward two more matmuls but for the input layer's input
    # gradient: a lower bound on the flops.
    dims = [(5, width), (width, width), (width, 3)]
    matmuls = sum(2 * batch * a * b for a, b in dims) * 3 - 2 * batch * 5 * width
    assert relu["flops"] >= matmuls
    # sigmoid evaluates one logistic per hidden unit and example, once (the backward pass
    # reuses it); ReLU none.
    assert sigmoid["transcendentals"] - relu["transcendentals"] == batch * width * depth
    assert relu["operations"] == relu["flops"] + relu["transcendentals"]
    assert swish["operations"] > relu["operations"]
    assert sigmoid["operations"] > relu["operations"]


def test_for_every_rate_repeats_the_seeds_rate_major():
    per_seed = {"x": jnp.array([[1.0], [2.0], [3.0]]), "y": jnp.array([7, 8, 9])}  # 3 seeds
    runs = activations.for_every_rate(per_seed, 2)
    # Run i is rate i // 3 and seed i % 3, as grid_fit orders its vmapped runs.
    np.testing.assert_array_equal(runs["x"][:, 0], [1, 2, 3, 1, 2, 3])
    np.testing.assert_array_equal(runs["y"], [7, 8, 9, 7, 8, 9])
