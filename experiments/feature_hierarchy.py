"""Feature hierarchy: receptive fields measured from input gradients equal the formula (5, 9, 17 samples) in every seed and layer; linear-probe accuracy of a trained CNN's features rises from 28 % at the input to 76 % at conv3, 34 points above the same CNN at its random initialization (41-42 % there).

Q&A: Q69 ("deeper layers' feature maps represent higher-level abstractions"), Q70 ("a CNN
learns spatial hierarchies by stacking convolutions: each layer sees a wider region").

Setup: MNIST-1D (Greydanus 2020; 40-sample signals of ten digit shapes). Its 4000 training
signals are split once: the first `pool_size` (3000) are the CNNs' pool, from which every seed
draws its own training set (`train_size`, 2000; the interval then covers the data draw); the
next `probe_size` (1000) are the probes' training set, which no CNN ever sees. The 1000 test
signals test both. The CNN (`models.ConvNet`, 1-D): three convolutions of kernel 5, strides
1, 2, 2, SAME padding, ReLU, flatten, a linear head; the channels double (8, 16, 32) as the
length halves (40, 20, 10), so every conv layer's map has the same 320 numbers and no conv
layer is favoured by a larger feature space (the 40-sample input has fewer). Adam 1e-2
(Greydanus's rate), batch 100, every seed in one compiled program.

Receptive fields (check): for every seed, trained and at its initialization, and every conv
layer, the gradient of the central position of the layer's pre-activation map (summed over
channels) with respect to the input, united over `rf_inputs` random normal signals
(`probes.receptive_field`), has a support whose span is compared with the formula
r_l = r_{l-1} + (k_l - 1) d_l j_{l-1} (`models.receptive_fields`): 5, 9, 17 samples.

Linear probes: multinomial logistic regression on each layer's frozen features (input,
conv1, conv2, conv3; after the ReLU), standardized, its L2 chosen on a validation fifth of
the probe set (`probes.linear_probe`), tested on the test signals; for the trained CNN and,
as the control, for the same network at its random initialization (same architecture, same
feature dimension per layer, same probe data and grid; paired by seed). Why the probe set is
not the CNN's training set: a CNN fits its training signals (train accuracy ~100 %), so on
them its last layer is linearly separable by construction (its head is a linear classifier
of those features), and a probe's L2 would be chosen on examples the features were fitted to.
MNIST-1D has signals to spare, so the probes fit on signals no CNN saw.

Fixed before the first run: the ledger's claim is about *learned* features, so its rule is
judged on the learned gain, probe accuracy(trained) - probe accuracy(random init) per seed
and layer (0 at the input by construction): subtracting the same-architecture control
removes what the architecture alone (random ReLU features, map size) gives. The literal
reading, trained accuracy alone rising with depth (Alain & Bengio 2016), is decided too, as
this experiment's own claim `trained_probe_accuracy_rises`.

Command:  python -m experiments.feature_hierarchy --profile quick
Expected (quick, 8 seeds; seed 0 / seed 1): the CNNs reach test accuracy 81.4 % [80.1, 82.6] /
82.0 % [80.2, 83.8] (train accuracy 99.7 / 100 %; training loss flat over the last quarter).
- receptive_field_grows (check), reproduced: 48 / 48 measured fields (2 networks x 8 seeds x
  3 layers) equal the formula, Wilson 1 [0.93, 1], and grow 5 -> 9 -> 17.
- deeper_features_more_linear_separable, reproduced: the learned gain (trained - random
  init, points) is 0 / 6.2 / 19.6 / 34.0 at input / conv1 / conv2 / conv3 (seed 0; seed 1:
  0 / 6.1 / 16.8 / 33.4); rise to conv3 34.0 [31.5, 36.4] / 33.4 [31.7, 35.0], no dip, no
  fall. What the rule does not demand: a rise at every layer (a gain that rises to a plateau,
  e.g. 0 / 10 / 10 / 10, passes it). The measured gain does rise at every layer, paired per
  seed (`gain_change_by_step`, `gain_rise_between_conv_layers`): input -> conv1 6.2 [3.5,
  8.9] / 6.1 [2.7, 9.4], conv1 -> conv2 13.4 [10.2, 16.5] / 10.8 [6.6, 14.9], conv2 -> conv3
  14.4 [11.2, 17.5] / 16.5 [13.4, 19.7]; conv1 -> conv3 27.7 [23.6, 31.9] / 27.3 [23.9, 30.6].
  Probe accuracy, trained: 28.2 / 46.1 / 60.1 / 75.9 % (seed 1: 28.2 / 44.8 / 59.1 /
  75.7 %); random init: 28.2 / 39.9 / 40.6 / 42.0 % (seed 1: 28.2 / 38.8 / 42.3 / 42.4 %).
  Random ReLU features lift the probe 11-14 points above the 40-sample input (they are 320
  numbers, not 40), but that lift does not grow with depth; the learned one does.
- trained_probe_accuracy_rises, reproduced: rise input -> conv3 47.7 [46.0, 49.5] /
  47.5 [45.4, 49.7] points, no dip, no fall.
Tried to break it (learned gain at input / conv1 / conv2 / conv3, rise to the last conv):
seed 2: 0 / 6.8 / 19.1 / 35.0, rise 35.0 [30.9, 39.1] (conv1 -> conv3 28.3 [24.1, 32.5]);
seed 3 at 1800 CNN steps with the L2 grid extended down to 1e-6 and 100 probe steps: 33.2
[31.2, 35.2]; an L2 grid of 1e-3..10 at seed 0: 34.3 [32.5, 36.1] (the L2 grid's ends do
not carry the result); a 4th conv layer at seed 2: conv3's gain 30.9, conv4's 41.4
[39.0, 43.9] (still rising). In all of these the random-init control stays at 39-44 % at
every conv layer. At seed 0: 1200 CNN steps and 100 L-BFGS steps per probe: gains 5.9 /
18.8 / 33.5, CNN 81.7 % (the budgets are converged; 100 probe steps moved no layer's mean by
more than 1 point at 600 CNN steps either). Channels (16, 16, 16), so that the maps shrink
with depth (640, 320, 160 numbers): the trained probe still rises, 51.0 / 66.3 / 80.4 %,
while the random init's falls, 43.9 / 43.4 / 37.9 % (the smaller map costs it); gain 7.1 /
22.9 / 42.5. The rise is not a feature-dimension artefact. A fourth conv layer (kernel 3,
stride 1, 32 channels; fields 5, 9, 17, 25, all measured equal): trained 46.4 / 59.2 / 71.4
/ 83.6 %, random 39.9 / 40.6 / 42.0 / 40.2 %, gain 6.5 / 18.6 / 29.4 / 43.4 (CNN 86.2 %).
Runtime: smoke ~13 s CPU (~4 s of it the run; imports, figures and writing the rest); quick
34-38 s of CPU time warm (user + sys: ~11 s training, ~14 s probes, ~2 s receptive fields),
~50 s with the receptive-field programs cold (one compiled
program per run: the probe takes a function of the input alone, so each run's weights are
constants of its program; a new seed compiles 16 of them); wall time 100-145 s on 2 cores
shared with ~10 other jobs. Full (32 seeds, channels 32/64/128, 4000 steps, 6 L2 values,
100 probe steps) is sized for one GPU and was not run.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np
from flax import nnx

from phenomena import curves, data, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, main
from phenomena.models import ConvNetConfig
from phenomena.probes import receptive_field
from phenomena.probes.linear_probe import layer_features, linear_probes
from phenomena.results import Results
from phenomena.runtime import program_cache
from phenomena.train import TrainConfig

NETWORKS = ("trained", "random")  # the trained CNN, and the same CNN at its initialization
NETWORK_NAMES = {"trained": "trained CNN", "random": "random init (control)"}
SUBSET_STREAM = 2  # each seed key's stream for its CNN training set
EXAMPLE_SEED = 0  # the seed whose gradient supports the figure shows


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    pool_size: int = 3000  # first MNIST-1D training signals: the pool each seed's CNN set is drawn from
    train_size: int = 2000  # CNN training signals per seed (a random draw from the pool)
    probe_size: int = 1000  # training signals after the pool: the probes' set (no CNN sees them)
    probe_val_fraction: float = 0.2  # share of the probe set that chooses each probe's L2
    probe_l2: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)  # the probes' L2 grid (per example)
    probe_steps: int = 50  # L-BFGS iterations per probe fit (100 moved no layer's mean by > 1 point)
    rf_inputs: int = 16  # random normal signals whose input-gradient supports are united
    model: ConvNetConfig = ConvNetConfig(dims=1, channels=(8, 16, 32), kernels=(5, 5, 5),
                                         strides=(1, 2, 2))  # the CNN (channels double as the length halves)
    train: TrainConfig = TrainConfig(optimizer="adam", lr=1e-2, steps=600, batch_size=100,
                                     eval_every=150)  # the CNN's optimization

    def __post_init__(self):
        super().__post_init__()
        check(self.model.dims == 1, f"model.dims must be 1 (MNIST-1D signals), got {self.model.dims}")
        check(0 < self.train_size <= self.pool_size,
              f"train_size must be in [1, pool_size], got {self.train_size} (pool {self.pool_size})")
        check(self.probe_size >= 2 and self.pool_size + self.probe_size <= data.MNIST1D_TRAIN_SIZE,
              f"pool_size + probe_size must be at most {data.MNIST1D_TRAIN_SIZE} (the training "
              f"signals), probe_size at least 2; got {self.pool_size} + {self.probe_size}")
        check(0 < self.probe_val_fraction < 1,
              f"probe_val_fraction must be in (0, 1), got {self.probe_val_fraction}")
        check(len(self.probe_l2) >= 1 and all(v > 0 for v in self.probe_l2),
              f"probe_l2 must be positive L2 strengths, got {self.probe_l2}")
        check(self.probe_steps >= 1, f"probe_steps must be positive, got {self.probe_steps}")
        check(self.rf_inputs >= 1, f"rf_inputs must be positive, got {self.rf_inputs}")
        fields = models.receptive_fields(self.model)
        check(fields[-1] < data.MNIST1D_LENGTH,
              f"the last conv layer's receptive field ({fields[-1]}) must be shorter than the "
              f"{data.MNIST1D_LENGTH}-sample signal, or it cannot be measured")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "train_size": 200, "probe_size": 200, "probe_steps": 10,
              "rf_inputs": 4, "model.channels": (2, 4, 8), "train.steps": 40,
              "train.eval_every": 20},
    "quick": {},
    "full": {"seeds": 32, "train_size": 2500, "probe_l2": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
             "probe_steps": 100, "rf_inputs": 64, "model.channels": (32, 64, 128),
             "train.steps": 4000, "train.eval_every": 500},
}


def conv_names(config: Config) -> list[str]:
    """conv1, conv2, ... for the model's conv layers."""
    return [f"conv{i + 1}" for i in range(len(config.model.channels))]


def layer_names(config: Config) -> list[str]:
    """The probed layers in order of depth: the input, then every conv layer."""
    return ["input", *conv_names(config)]


# ------------------------------------------------------------------------------ measuring

def _splits(config: Config) -> dict:
    """MNIST-1D's training signals cut into the CNNs' pool and the probes' set, and the test
    signals (numpy: cut on the host, not by one small compiled program per slice)."""
    raw = data.mnist1d()
    end = config.pool_size + config.probe_size
    return {"pool": {"x": raw["x"][:config.pool_size], "y": raw["y"][:config.pool_size]},
            "probe": {"x": raw["x"][config.pool_size:end], "y": raw["y"][config.pool_size:end]},
            "test": {"x": raw["x_test"], "y": raw["y_test"]}}


def _train_cnns(config: Config, splits: dict, keys: jax.Array):
    """`(graphdef, initial state, History)` of one CNN per seed, each on its own draw."""
    train_sets = data.random_subsets(splits["pool"], rng.run_stream(keys, SUBSET_STREAM),
                                     config.train_size)
    graphdef, initial = models.convnets((data.MNIST1D_LENGTH,), data.MNIST1D_CLASSES,
                                        config.model, keys)
    eval_data = {"train": train_sets, "test": data.same_for_every_run(splits["test"], config.seeds)}
    history = train.fit(graphdef, initial, losses.cross_entropy, train_sets, config.train, keys,
                        evaluate=losses.classification_metrics, eval_data=eval_data,
                        data_axis=0, name="CNN")
    return graphdef, initial, history


def _probe_accuracies(config: Config, splits: dict, graphdef, states: dict) -> dict:
    """Linear-probe scores of every (network, layer, seed), all layers in one program.

    The input's probe is the same for both networks (and every seed): it is fitted once per
    seed in the stack and shared."""
    n_probe = config.probe_size
    x = np.concatenate([np.asarray(splits["probe"]["x"]), np.asarray(splits["test"]["x"])])
    inputs = np.broadcast_to(x, (config.seeds, *x.shape))
    layers = [inputs]
    for network in NETWORKS:
        layers += list(layer_features(graphdef, states[network], x))
    found = linear_probes([f[:, :n_probe] for f in layers], splits["probe"]["y"],
                          [f[:, n_probe:] for f in layers], splits["test"]["y"],
                          classes=data.MNIST1D_CLASSES, l2_grid=config.probe_l2,
                          val_fraction=config.probe_val_fraction, steps=config.probe_steps)
    convs = len(config.model.channels)
    order = {"trained": [0, *range(1, 1 + convs)], "random": [0, *range(1 + convs, 1 + 2 * convs)]}
    scores = {}
    for field in ("test_accuracy", "val_accuracy", "train_accuracy", "l2"):
        scores[field] = np.stack([np.stack([getattr(found[i], field) for i in order[network]])
                                  for network in NETWORKS])  # (network, layer, seed)
    scores["feature_dim"] = np.array([int(np.prod(f.shape[2:])) for f in layers[:1 + convs]])
    return scores


@program_cache(maxsize=8)
def _preacts_program(graphdef):
    """Jitted `(state, x) -> pre-activation maps` of one run (reused across seeds)."""
    return jax.jit(lambda state, x: nnx.merge(graphdef, state)(x)[1]["preacts"])


def _receptive_fields(config: Config, graphdef, states: dict) -> dict:
    """Measured receptive field of every (network, seed, conv layer), and the gradient
    supports of the trained CNN of `EXAMPLE_SEED` (for the figure).

    One compiled program per run (the probe takes a function of the input alone, so each
    run's weights are constants of its program)."""
    preacts = _preacts_program(graphdef)
    shape = (config.rf_inputs, data.MNIST1D_LENGTH)
    convs = len(config.model.channels)
    fields = np.zeros((len(NETWORKS), config.seeds, convs), int)
    for n, network in enumerate(NETWORKS):
        host = jax.device_get(states[network])  # sliced per run on the host
        for s in range(config.seeds):
            apply = functools.partial(preacts, jax.tree.map(lambda a, s=s: a[s], host))
            measured = receptive_field.measured_receptive_fields(apply, shape, seed=config.seed)
            fields[n, s] = [extent for (extent,) in measured]
    example = functools.partial(preacts, jax.tree.map(lambda a: a[EXAMPLE_SEED],
                                                      jax.device_get(states["trained"])))
    supports = np.stack([receptive_field.input_gradient_support(example, shape, layer,
                                                                seed=config.seed)
                         for layer in range(convs)])
    return {"fields": fields, "supports": supports}


def run(config: Config) -> Results:
    """Train the CNNs, probe every layer of them and of their initializations, and measure
    every conv layer's receptive field."""
    splits = _splits(config)
    keys = rng.seed_keys(config.seed, config.seeds)
    graphdef, initial, history = _train_cnns(config, splits, keys)
    states = {"trained": history.state, "random": initial}
    results = Results()
    seeds = list(range(config.seeds))
    for metric in ("train/loss", "train/accuracy", "test/accuracy"):
        results.add(f"cnn_{metric.replace('/', '_')}", history.evals[metric], ("seed", "step"),
                    seed=seeds, step=history.eval_steps.tolist())
    scores = _probe_accuracies(config, splits, graphdef, states)
    coords = dict(network=list(NETWORKS), layer=layer_names(config))
    for field in ("test_accuracy", "val_accuracy", "train_accuracy", "l2"):
        results.add(f"probe_{field}", scores[field], ("network", "layer", "seed"), **coords)
    results.add("feature_dim", scores["feature_dim"], ("layer",))
    rf = _receptive_fields(config, graphdef, states)
    results.add("measured_field", rf["fields"], ("network", "seed", "conv_layer"),
                conv_layer=conv_names(config))
    results.add("example_support", rf["supports"], ("conv_layer", "position"),
                position=list(range(data.MNIST1D_LENGTH)))
    results.add("example_signal", splits["test"]["x"][0], ("position",))
    return results


# ------------------------------------------------------------------------------- readings

def probe_points(results: Results, network: str) -> np.ndarray:
    """Probe test accuracy in points, `(seed, layer)`, layers from the input to the last conv."""
    return 100 * results.sel("probe_test_accuracy", network=network).T.astype(np.float64)


def learned_gain(results: Results) -> np.ndarray:
    """Probe accuracy of the trained CNN - of its random initialization, points, `(seed, layer)`."""
    return probe_points(results, "trained") - probe_points(results, "random")


def _by_layer(results: Results, values: np.ndarray) -> dict:
    """`{layer: mean over seeds}` of `(seed, layer)` values."""
    return dict(zip(results.coords["layer"], np.nanmean(values, axis=0)))


def _layer_steps(results: Results, values: np.ndarray) -> dict:
    """`{"a -> b": paired CI of the change}` from each layer to the next, `(seed, layer)` values."""
    layers = results.coords["layer"]
    return {f"{a} -> {b}": stats.paired_diff_ci(values[:, i + 1], values[:, i])
            for i, (a, b) in enumerate(zip(layers[:-1], layers[1:]))}


def _conv_layer_rises(results: Results, values: np.ndarray) -> dict:
    """Paired CIs of the change of `(seed, layer)` values from each conv layer to the next,
    and from the first conv layer to the last."""
    layers = results.coords["layer"]
    rises = {step: ci for step, ci in _layer_steps(results, values).items()
             if not step.startswith(f"{layers[0]} ->")}
    rises[f"{layers[1]} -> {layers[-1]}"] = stats.paired_diff_ci(values[:, -1], values[:, 1])
    return rises


def _trend_details(trend: stats.Trend, layers: list) -> dict:
    return {"turn_layer": layers[trend.turn], "rise_to_turn": trend.towards,
            "dip_before_turn": trend.against, "fall_after_turn": trend.back,
            "trend_verdict": trend.verdict}


def _edge_choices(results: Results, config: Config) -> dict:
    """Per network and layer, how many seeds' probes chose an L2 at an end of the grid."""
    grid = np.asarray(config.probe_l2, np.float32)
    l2 = results["probe_l2"]
    return {network: {layer: {"lowest": int(np.sum(np.isclose(l2[n, i], grid.min()))),
                              "highest": int(np.sum(np.isclose(l2[n, i], grid.max())))}
                      for i, layer in enumerate(results.coords["layer"])}
            for n, network in enumerate(results.coords["network"])}


def _cnn_details(results: Results) -> dict:
    """The CNNs' own scores: final test and train accuracy, and the training-loss change over
    the last quarter (a converged budget leaves it near 0)."""
    return {"cnn_test_accuracy": stats.mean_ci(100 * curves.final(results["cnn_test_accuracy"]),
                                               bounds=(0, 100)),
            "cnn_train_accuracy": stats.mean_ci(100 * curves.final(results["cnn_train_accuracy"]),
                                                bounds=(0, 100)),
            "cnn_train_loss_change_last_quarter": stats.mean_ci(-curves.last_quarter_drop(
                results.coords["step"], results["cnn_train_loss"]))}


claims = ClaimBook("feature_hierarchy", questions="Q69, Q70")


@claims.rule("receptive_field_grows", kind=stats.CHECK,
             rule="for the trained CNN and its random initialization, every seed and every conv "
                  "layer, the receptive field measured as the span of input positions with a "
                  "nonzero gradient of the layer's central pre-activation (united over random "
                  "normal signals) equals the formula r_l = r_(l-1) + (k_l - 1) d_l j_(l-1); "
                  "statistic: the share of (network, seed, layer) fields equal to it (Wilson "
                  "CI); reproduced iff every field equals it and every network's fields grow "
                  "strictly with depth")
def _(results: Results, config: Config):
    formula = np.asarray(models.receptive_fields(config.model))
    measured = results["measured_field"]  # (network, seed, conv layer)
    equal = measured == formula
    grows = bool(np.all(np.diff(formula) > 0) and np.all(np.diff(measured, axis=-1) > 0))
    share = stats.proportion_ci(int(equal.sum()), equal.size)
    return stats.decide(
        bool(equal.all()) and grows, "share of measured receptive fields equal to the formula",
        share, formula_by_layer=dict(zip(conv_names(config), formula)),
        measured_range_by_layer={layer: [int(measured[..., i].min()), int(measured[..., i].max())]
                                 for i, layer in enumerate(conv_names(config))},
        mismatches_by_network={network: int((~equal[n]).sum())
                               for n, network in enumerate(NETWORKS)},
        grows_strictly=grows)


@claims.rule("deeper_features_more_linear_separable",
             rule="the learned gain, linear-probe test accuracy of the trained CNN's features - "
                  "that of the same CNN at its random initialization (points; same layer, same "
                  "feature dimension, same probe data and L2 grid; 0 at the input), per seed "
                  "and layer (input, conv1, ..., last conv), judged over all layers by "
                  "stats.trend_verdict (direction +1): reproduced if it rises from the input "
                  "to its highest layer (paired CI above 0) and neither dips nor falls back "
                  "significantly; nuanced if it also falls significantly; not reproduced if "
                  "it never rises")
def _(results: Results, config: Config):
    layers = results.coords["layer"]
    gain = learned_gain(results)
    trend = stats.trend_verdict(gain, direction=+1)
    return stats.outcome(
        trend.verdict, f"learned gain in probe accuracy at {layers[trend.turn]} (its highest) "
                       f"- at the input, points", trend.towards, **_trend_details(trend, layers),
        gain_by_layer=_by_layer(results, gain), gain_change_by_step=_layer_steps(results, gain),
        # Not demanded by the rule (a rise to a plateau passes it): does the gain keep rising
        # between conv layers? Paired per seed.
        gain_rise_between_conv_layers=_conv_layer_rises(results, gain),
        trained_by_layer=_by_layer(results, probe_points(results, "trained")),
        random_by_layer=_by_layer(results, probe_points(results, "random")),
        random_init_trend=stats.trend_verdict(probe_points(results, "random")).verdict,
        feature_dim_by_layer=dict(zip(layers, results["feature_dim"])),
        l2_grid_edge_choices=_edge_choices(results, config), **_cnn_details(results))


@claims.rule("trained_probe_accuracy_rises",
             rule="linear-probe test accuracy of the trained CNN's features (points), per seed "
                  "and layer (input, conv1, ..., last conv), judged over all layers by "
                  "stats.trend_verdict (direction +1): reproduced if it rises from the input to "
                  "its highest layer (paired CI above 0) and neither dips nor falls back "
                  "significantly; nuanced if it also falls significantly; not reproduced if it "
                  "never rises (Alain & Bengio 2016's reading, without the random-init control)")
def _(results: Results, config: Config):
    layers = results.coords["layer"]
    trained = probe_points(results, "trained")
    trend = stats.trend_verdict(trained, direction=+1)
    return stats.outcome(
        trend.verdict, f"probe accuracy at {layers[trend.turn]} (its highest) - at the input, "
                       f"points", trend.towards, **_trend_details(trend, layers),
        trained_by_layer=_by_layer(results, trained),
        trained_change_by_step=_layer_steps(results, trained),
        val_accuracy_by_layer=_by_layer(results, 100 * results.sel("probe_val_accuracy",
                                                                   network="trained").T),
        train_accuracy_by_layer=_by_layer(results, 100 * results.sel("probe_train_accuracy",
                                                                     network="trained").T),
        feature_dim_by_layer=dict(zip(layers, results["feature_dim"])))


# ---------------------------------------------------------------------------------- figures

def _layer_ticks(ax, results: Results) -> None:
    """Layer names with each layer's feature dimension under it."""
    ticks = [f"{layer}\n({dim} dims)" for layer, dim in zip(results.coords["layer"],
                                                           results["feature_dim"])]
    ax.set_xticks(range(len(ticks)), ticks, fontsize=8)
    ax.set_xlabel("layer (probe feature dimension)")


def _probe_figure(results: Results, config: Config):
    """Probe accuracy by layer for both networks, and the learned gain."""
    x = np.arange(len(results.coords["layer"]))
    fig, axes = plots.figure(ncols=2, width=4.8)
    ax = axes[0, 0]
    for i, network in enumerate(NETWORKS):
        plots.band(ax, x, probe_points(results, network), label=NETWORK_NAMES[network],
                   color=plots.PALETTE[i], marker="o", bounds=(0, 100))
    cnn = 100 * np.nanmean(curves.final(results["cnn_test_accuracy"]))
    ax.axhline(cnn, color="black", linestyle="--", linewidth=1, label="the CNN's own test accuracy")
    ax.axhline(100 / data.MNIST1D_CLASSES, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_ylim(0, 100)
    ax.set_ylabel("linear-probe test accuracy (%)")
    ax.set_title("probe accuracy, mean and 95 % CI over seeds")
    _layer_ticks(ax, results)
    plots.legend_outside(ax)
    ax = axes[0, 1]
    gain = learned_gain(results)
    plots.band(ax, x, gain, label="trained − random init", color=plots.PALETTE[2], marker="o")
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_ylabel("learned gain in probe accuracy (points)")
    ax.set_title("what training adds, per layer")
    _layer_ticks(ax, results)
    trained = np.nanmean(probe_points(results, "trained"), axis=0)
    random = np.nanmean(probe_points(results, "random"), axis=0)
    trend = stats.trend_verdict(gain, direction=+1)
    top = results.coords["layer"][trend.turn]
    plots.title(fig, f"The learned gain in probe accuracy rises from 0 at the input to "
                     f"{trend.towards.mean:.1f} points [{trend.towards.low:.1f}, "
                     f"{trend.towards.high:.1f}] at {top} (trained {trained[0]:.0f} → "
                     f"{trained[trend.turn]:.0f} %, random init {random[1:].min():.0f}-"
                     f"{random[1:].max():.0f} % at every conv layer)")
    return fig


def _support_spans(support: np.ndarray) -> list[tuple[int, int]]:
    """`(first, last)` positions of each layer's gradient support (None where it is empty)."""
    spans = []
    for row in support:
        hits = np.flatnonzero(row)
        spans.append((int(hits[0]), int(hits[-1])) if hits.size else None)
    return spans


def _field_figure(results: Results, config: Config):
    """Receptive field measured vs formula by layer, and where one field sits on a signal."""
    convs = conv_names(config)
    x = np.arange(1, len(convs) + 1)
    formula = np.asarray(models.receptive_fields(config.model))
    fig, axes = plots.figure(ncols=2, width=4.8)
    ax = axes[0, 0]
    ax.plot(x, formula, color="black", linewidth=1.5, label="formula")
    for n, network in enumerate(NETWORKS):
        measured = results["measured_field"][n]  # (seed, layer)
        offset = (n - 0.5) * 0.12
        for s in range(measured.shape[0]):
            ax.plot(x + offset, measured[s], linestyle="none", marker="o" if n == 0 else "x",
                    color=plots.PALETTE[n], alpha=0.6,
                    label=f"measured, {NETWORK_NAMES[network]} ({measured.shape[0]} seeds)"
                    if s == 0 else None)
    ax.set_xticks(x, convs)
    ax.set_xlabel("conv layer")
    ax.set_ylabel("receptive field (input samples)")
    ax.set_title("measured from input gradients vs formula")
    plots.legend_outside(ax)
    ax = axes[0, 1]
    signal = results["example_signal"]
    ax.plot(np.arange(len(signal)), signal, color="black", linewidth=1.2, label="a test signal")
    low = signal.min() - 0.4
    spans = _support_spans(results["example_support"])
    for i, span in enumerate(spans):
        if span is None:
            continue
        y = low - 0.35 * i
        ax.plot([span[0], span[1]], [y, y], color=plots.PALETTE[2 + i], linewidth=5,
                solid_capstyle="butt", label=f"{convs[i]}: {span[1] - span[0] + 1} samples")
    ax.set_xlabel("input position (sample)")
    ax.set_ylabel("signal value")
    ax.set_title(f"input region seen by the central unit (seed {EXAMPLE_SEED}, trained)")
    plots.legend_outside(ax)
    measured = results["measured_field"]
    equal = bool(np.all(measured == formula))
    plots.title(fig, "Receptive fields grow with depth ("
                + ", ".join(str(f) for f in formula) + " samples) and the measured fields "
                + ("equal the formula for every seed, trained and at init" if equal
                   else "do not all equal the formula"))
    return fig


def plot(results: Results, config: Config) -> dict:
    """Probe accuracy by layer (trained and random init), and receptive fields by layer."""
    return {"probe_accuracy": _probe_figure(results, config),
            "receptive_field": _field_figure(results, config)}


main(__spec__)
