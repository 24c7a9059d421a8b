"""Exploding gradients: a too-large init makes gradients grow geometrically; clipping or a proper init fixes it.

Q&A: Q14, Q20. Part 1 (deep linear MLP): 20 hidden layers of width 32, identity activation,
no nonlinearity to saturate, weights N(0, g²/width) with g = 1.2 (Lecun-normal kernels, whose
variance is 1/fan_in, rescaled by g; zero biases), on a synthetic linear regression
y = x·w* (x ~ N(0, I₃₂), w* ~ N(0, I/32)). At init we measure each hidden layer's bias
(pre-activation) gradient ‖∂L/∂b_l‖: backpropagation multiplies it by a matrix of gain g per
layer, so log10 ‖∂L/∂b_l‖ should rise by ≈ log10 g per layer away from the output. Then plain
SGD (lr 1e-2) trains the net from the three inits without clipping (one compiled program, 1000
steps), and from the large init with `clip_by_global_norm` at several norms (one program, for
its own budget of `clip_steps`).
Part 2 (RNN): a vanilla RNN (32 units, orthogonal recurrent kernel times 1.2, i.e. spectral
radius 1.2) reads a sequence of N(0, 1) scalars and must output the first one; at init we
measure ‖∂L/∂x_t‖ for every step t. Pascanu et al. (2013) prove radius > 1 necessary for
explosion in a *linear* RNN, so the claim is decided on the linear RNN (CLAIMS.md says "vanilla
RNN"); the same net with tanh is shown beside it, and it does not explode: its saturated units
shrink the gradient instead (slope −0.10 [−0.12, −0.09] per step at seed 0).

Re-decided (issue 9): clipping_stabilizes was decided on the final loss after 1000 steps, with
every run in one program. A clipped step moves the weights by at most lr·c = 0.01, so from the
g = 1.2 init clip 1 was still descending at step 1000 (the review measured 0.82× the
zero-predictor loss there, 0.05× at 3000), and the claim was a recorded deviation ("not
reproduced"). Now the clipped
runs get their own budget, 10000 steps (the review saw every seed converge by 7000 at batch
64), and the claim is decided on steps to 1 % of the zero-predictor loss, censored at the
budget. To afford it, quick trains with batches of 16 instead of 64 (a quarter of the
arithmetic per step; the full profile keeps 64) and drops clip 0.1, which caps steps ten times
tighter and would need ~10× the budget. Clip 1: 8/8 seeds finite and at the target, in 5386
[4801, 5938] steps (seed 0; per seed 3953-6663, final loss ≤ 4e-9 × the zero predictor's) and
4628 [3900, 5314] (seed 1; 3068-6122, ≤ 1e-4 ×): reproduced, as LITERATURE.md expects; the
deviation is gone. Clip 10 takes 250-469 steps, g = 1 unclipped 94-248, orthogonal 50.

Command:  python -m experiments.exploding_gradients --profile quick
Expected: slope of log10 gradient norm ≈ log10 1.2 = 0.079 per layer and per time step
(measured 0.077 [0.063, 0.091] per layer at seed 0, 0.072 [0.059, 0.086] at seed 1); unclipped
SGD diverges in 8/8 seeds (by step 3); clipped at 1.0 every seed reaches 1 % of the
zero-predictor loss within 10000 steps; g = 1 and orthogonal inits train without clipping.
Runtime: smoke ~11 s of CPU time (76 programs, mostly compiling); quick 47-72 s of CPU time on
2 cores (measured 190-255 s wall under a load of ~20; 8 seeds: 24 runs of 1000 steps and 16 of
10000); full: 32 seeds, 5000 unclipped and 40000 clipped steps, clip 0.1 included, batch 64,
sequences of 200 steps (for a GPU).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from phenomena import curves, losses, models, plots, rng, stats, train
from phenomena.config import check
from phenomena.experiment import BaseConfig, ClaimBook, grid_fit, main, map_runs
from phenomena.models import MLPConfig, RNNConfig
from phenomena.models import rnn as recurrent
from phenomena.probes import bias_grad_norms_per_seed
from phenomena.results import Results
from phenomena.train import TrainConfig

GROWTH_SHARE = 0.5   # the slope's CI must clear half the theory slope log10 g, not just 0
LEARNED = 0.01       # "converges": final loss < 1 % of the loss of predicting 0 (scale-free)
DATA_STREAM = 2      # key stream of the regression data (and DATA_STREAM + 1: the RNN's sequences)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Every knob of the experiment; `PROFILES` override some of them."""

    gain: float = 1.2               # g: large-init kernels N(0, g²/width); the RNN's spectral radius
    width: int = 32                 # units per linear-MLP layer, and the regression's input features
    depth: int = 20                 # hidden layers of the linear MLP
    examples: int = 1024            # regression training examples
    clip_norms: tuple[float, ...] = (0.1, 1.0, 10.0)  # global-norm clips on the large init (incl. 1.0)
    train: TrainConfig = TrainConfig(optimizer="sgd", lr=1e-2, steps=1000, batch_size=64,  # every run;
                                     eval_every=50)  # train.steps: the unclipped runs' budget
    clip_steps: int = 10000         # budget of the clipped runs: clip c caps a step at lr·c in norm
    clip_eval_every: int = 250      # the clipped runs' loss is evaluated every this many steps
    rnn_hidden: int = 32            # hidden units of the RNN
    rnn_steps: int = 50             # sequence length T (time steps) of the RNN task
    rnn_batch: int = 64             # sequences the RNN's input gradients are taken on

    def __post_init__(self):
        super().__post_init__()
        check(self.gain > 1, f"gain must exceed 1 (the exploding init), got {self.gain}")
        check(self.width > 0, f"width must be positive, got {self.width}")
        check(self.depth >= 3, f"depth must be >= 3, got {self.depth}")
        check(self.examples > 0, f"examples must be positive, got {self.examples}")
        check(1.0 in self.clip_norms, f"clip_norms must include 1.0 (the claim's), got {self.clip_norms}")
        check(all(c > 0 for c in self.clip_norms), f"clip_norms must be positive, got {self.clip_norms}")
        check(self.clip_steps > 0 and self.clip_eval_every > 0
              and self.clip_steps % self.clip_eval_every == 0,
              f"clip_steps ({self.clip_steps}) must be a positive multiple of clip_eval_every "
              f"({self.clip_eval_every})")
        check(self.rnn_hidden > 0, f"rnn_hidden must be positive, got {self.rnn_hidden}")
        check(self.rnn_batch > 0, f"rnn_batch must be positive, got {self.rnn_batch}")
        check(self.rnn_steps >= 3, f"rnn_steps must be >= 3, got {self.rnn_steps}")


CONFIG = Config()
PROFILES = {
    "smoke": {"seeds": 2, "width": 8, "depth": 3, "examples": 64, "clip_norms": (1.0,),
              "train.steps": 50, "train.eval_every": 50, "clip_steps": 50, "clip_eval_every": 50,
              "rnn_hidden": 8, "rnn_steps": 5, "rnn_batch": 8},
    # Clip 0.1 caps steps 10× tighter than 1.0 (~10× its budget): quick keeps the claim's 1.0 and 10.
    # Batches of 16: a quarter of the arithmetic per step, so the clipped runs' budget fits.
    "quick": {"clip_norms": (1.0, 10.0), "train.batch_size": 16},
    "full": {"seeds": 32, "train.steps": 5000, "clip_steps": 40000, "clip_eval_every": 500,
             "rnn_steps": 200, "examples": 4096},
}


@dataclasses.dataclass(frozen=True)
class Init:
    """One initialization of the linear MLP: its label, initializer and gain on the kernels."""

    label: str
    init: str
    gain: float


def inits(config: Config) -> tuple[Init, ...]:
    """The large init, then the two proper ones (g = 1 and orthogonal)."""
    return (Init(_large(config), "lecun_normal", config.gain), Init("g = 1", "lecun_normal", 1.0),
            Init("orthogonal", "orthogonal", 1.0))


def unclipped(init: Init) -> str:
    """The label of SGD without clipping from `init`."""
    return f"{init.label}, no clip"


def _large(config: Config) -> str:
    return f"g = {config.gain:g}"


def _regression(config: Config) -> dict:
    """y = x·w* with x ~ N(0, I) and w* ~ N(0, I/width): one dataset shared by every run."""
    kx, kw = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), DATA_STREAM))
    x = jax.random.normal(kx, (config.examples, config.width))
    w = jax.random.normal(kw, (config.width, 1)) / math.sqrt(config.width)
    return {"x": x, "y": x @ w}


def _recall_task(config: Config) -> dict:
    """N(0, 1) scalar sequences; the target is the first input, to be output at the end."""
    key = jax.random.fold_in(jax.random.key(config.seed), DATA_STREAM + 1)
    x = jax.random.normal(key, (config.rnn_batch, config.rnn_steps, 1))
    return {"x": x, "y": x[:, 0, :]}


@jax.jit
def _scale_kernels(state, gain: float):
    """Multiply every weight matrix (not the zero biases) by `gain`: N(0, 1/n) becomes N(0, g²/n)."""
    def scale(path, leaf):
        return leaf * gain if "kernel" in jax.tree_util.keystr(path) else leaf
    return jax.tree_util.tree_map_with_path(scale, state)


def _linear_mlps(config: Config, init: str, gain: float, keys):
    """`(graphdef, state)`: deep linear MLPs with kernels N(0, gain²/fan_in) (or orthogonal·gain)."""
    model = MLPConfig(width=config.width, depth=config.depth, activation="identity", init=init)
    graphdef, state = models.mlps(config.width, 1, model, keys)
    return graphdef, _scale_kernels(state, gain)


def _regression_loss(model, batch) -> jax.Array:
    return losses.squared_error(model, batch)[0]


def _train_loss(model, regression) -> dict:
    return {"loss": _regression_loss(model, regression)}


def _rnn_input_grad_norms(model, task) -> jax.Array:
    return recurrent.input_grad_norms(model, recurrent.last_step_squared_error, task)


def run(config: Config) -> Results:
    """Gradient profiles at init (MLP over layers, RNN over time), then the SGD training runs."""
    regression = _regression(config)
    seed_keys = rng.seed_keys(config.seed, config.seeds)
    results = Results()

    # Part 1: ‖∂L/∂b_l‖ of the linear MLP at init, for the large init and the two proper ones.
    table = inits(config)
    nets = [_linear_mlps(config, i.init, i.gain, seed_keys) for i in table]  # (graphdef, state)
    profiles = [bias_grad_norms_per_seed(*net, _regression_loss, regression) for net in nets]
    results.add("layer_grad_norm", np.stack(profiles), ("init", "seed", "layer"),
                init=[i.label for i in table], layer=list(range(1, config.depth + 1)))

    # Part 2: ‖∂L/∂x_t‖ of the RNN at init, linear (exploding at radius g) and tanh.
    task = _recall_task(config)
    rnns = {f"linear, radius {config.gain:g}": RNNConfig(config.rnn_hidden, "identity", config.gain),
            "linear, radius 1": RNNConfig(config.rnn_hidden, "identity", 1.0),
            f"tanh, radius {config.gain:g}": RNNConfig(config.rnn_hidden, "tanh", config.gain)}
    rnn_keys = rng.seed_keys(config.seed, config.seeds, part=1)
    time_profiles = [map_runs(_rnn_input_grad_norms, *recurrent.rnns(1, 1, rnn, rnn_keys), task)
                     for rnn in rnns.values()]
    results.add("input_grad_norm", np.stack(time_profiles), ("rnn", "seed", "time"), rnn=list(rnns),
                time=list(range(1, config.rnn_steps + 1)))

    # Part 3: plain SGD on the regression from every init without clipping, in one program
    # (the initializer only shapes the draws, not the graph, so the inits share a graphdef).
    def fit_inits(_, keys, __):
        graphdefs, states = zip(*nets)
        assert all(g == graphdefs[0] for g in graphdefs), "inits must share one model structure"
        state = jax.tree.map(lambda *xs: jnp.concatenate(xs), *states)
        return train.fit(graphdefs[0], state, losses.squared_error, regression, config.train, keys,
                         evaluate=_train_loss, eval_data=regression, name="linear MLP, SGD, no clip")

    grid = grid_fit({"init": list(range(len(table)))}, fit_inits, seed=config.seed,
                    seeds=config.seeds, vmapped="init")
    results.add("train_loss", grid.evals("loss"), ("variant", "seed", "step"),
                variant=[unclipped(i) for i in table], step=grid.eval_steps)
    results.add("diverged_at", grid.diverged_at(), ("variant", "seed"))

    # Part 4: the large init under every clip norm (a per-run hyperparameter, one program), for
    # its own budget: a clipped step moves the weights by at most lr·c, so from the large init
    # clip 1 needs thousands of steps where the unclipped proper inits need hundreds.
    clipped = dataclasses.replace(config.train, steps=config.clip_steps,
                                  eval_every=config.clip_eval_every)
    graphdef, large = nets[0]
    every_clip = jax.tree.map(lambda x: jnp.concatenate([x] * len(config.clip_norms)), large)

    def fit_clipped(_, keys, clip_norms):
        return train.fit(graphdef, every_clip, losses.squared_error, regression, clipped, keys,
                         hparams={"clip_norm": clip_norms}, optimizer=clipped.spec(clip=True),
                         evaluate=_train_loss, eval_data=regression,
                         name=f"linear MLP, SGD, {table[0].label}, clipped")

    grid = grid_fit({"clip": list(config.clip_norms)}, fit_clipped, seed=config.seed,
                    seeds=config.seeds, vmapped="clip")
    results.add("clip_loss", grid.evals("loss"), ("clip", "seed", "clip_step"),
                clip=list(config.clip_norms), clip_step=grid.eval_steps)
    results.add("clip_diverged_at", grid.diverged_at(), ("clip", "seed"))
    # Half the mean square of y: the loss of predicting 0, a yardstick for the final losses.
    results.meta["zero_predictor_loss"] = float(0.5 * jnp.mean(regression["y"] ** 2))
    return results


def _layer_slopes(results: Results, init: str) -> np.ndarray:
    """Per seed: decades of ‖∂L/∂b_l‖ gained per layer away from the output."""
    layers = np.asarray(results.coords["layer"])
    return curves.log10_slope(len(layers) - layers, results.sel("layer_grad_norm", init=init))


def _time_slopes(results: Results, rnn: str) -> np.ndarray:
    """Per seed: decades of ‖∂L/∂x_t‖ gained per time step back from the end."""
    time = np.asarray(results.coords["time"])
    return curves.log10_slope(time[-1] - time, results.sel("input_grad_norm", rnn=rnn))


def _loss_ratio(results: Results, variant: str) -> np.ndarray:
    """Final over initial training loss per seed (NaN where the run diverged)."""
    loss = results.sel("train_loss", variant=variant)
    return curves.final(loss) / loss[:, 0]


def _diverged(results: Results, variant: str) -> np.ndarray:
    return results.sel("diverged_at", variant=variant) >= 0


def _target(results: Results) -> float:
    """The loss that counts as learned: 1 % of the loss of predicting 0."""
    return LEARNED * results.meta["zero_predictor_loss"]


def _steps_to_learn(results: Results, clip: float) -> np.ndarray:
    """Per seed: steps of the large init at `clip` to the learned target (NaN: never reached)."""
    loss = results.sel("clip_loss", clip=clip)
    return curves.steps_to_target(results.coords["clip_step"], loss, _target(results))


def _clip_diverged(results: Results, clip: float) -> np.ndarray:
    return results.sel("clip_diverged_at", clip=clip) >= 0


def _clip_summary(results: Results, clip: float) -> dict:
    """Non-finite seeds, seeds at the target, and steps to it (censored at the budget)."""
    steps = _steps_to_learn(results, clip)
    budget = results.coords["clip_step"][-1]
    final = curves.final(results.sel("clip_loss", clip=clip)) / results.meta["zero_predictor_loss"]
    return {"diverged": int(_clip_diverged(results, clip).sum()),
            "reached_target": int(np.isfinite(steps).sum()),
            "steps_to_target": stats.mean_ci(curves.censored(steps, budget), bounds=(0, budget)),
            "worst_final_over_zero_predictor": float(np.nanmax(final)) if np.isfinite(final).any()
            else math.nan}


claims = ClaimBook("exploding_gradients")


@claims.rule("large_init_explodes", questions="Q14",
             rule="g = 1.2: the 95 % CI of the per-seed slope of log10 ‖∂L/∂b_l‖ against the number "
                  "of layers between layer l and the output lies above 0.5 × log10 g = 0.040 (half "
                  "the theory slope; deep linear MLP), and so does the CI of the slope of log10 "
                  "‖∂L/∂x_t‖ against T − t (linear RNN, spectral radius 1.2; Pascanu et al.'s "
                  "setting, a tanh RNN saturates instead, see details); the g = 1 control's CI "
                  "contains 0")
def _(results: Results, config: Config):
    large, gain = _large(config), config.gain
    mlp = stats.mean_ci(_layer_slopes(results, large))
    rnn_label = f"linear, radius {gain:g}"
    rnn = stats.mean_ci(_time_slopes(results, rnn_label))
    others = {init: stats.mean_ci(_layer_slopes(results, init)) for init in ("g = 1", "orthogonal")}
    others.update({r: stats.mean_ci(_time_slopes(results, r)) for r in results.coords["rnn"]
                   if r != rnn_label})
    floor = GROWTH_SHARE * math.log10(gain)
    control = others["g = 1"]
    control_flat = not control.above(0) and not control.below(0)
    return stats.decide(
        mlp.above(floor) and rnn.above(floor) and control_flat,
        f"slope of log10 ‖∂L/∂b_l‖ per layer from the output, {large}", mlp,
        rnn_slope_per_step=rnn, theory_slope=math.log10(gain), required_low_above=floor,
        g1_control_contains_zero=control_flat, other_slopes=others,
        tanh_rnn="the claim is decided on the linear RNN (Pascanu et al. 2013); with tanh at "
                 f"radius {gain:g} the saturated units shrink the gradient instead, slope "
                 f"{others[f'tanh, radius {gain:g}']} per step")


@claims.rule("unclipped_diverges", questions="Q14, Q20",
             rule="g = 1.2, plain SGD lr 1e-2 without clipping: the fraction of seeds that go "
                  "non-finite (recorded by train.fit with its step) is ≥ 0.9")
def _(results: Results, config: Config):
    variant = f"{_large(config)}, no clip"
    unclipped = _diverged(results, variant)
    fraction = stats.proportion_ci(int(unclipped.sum()), unclipped.size)
    return stats.decide(fraction.mean >= 0.9,
                        f"fraction of seeds non-finite, {_large(config)}, SGD without clipping",
                        fraction, diverged_at_step=results.sel("diverged_at", variant=variant).tolist())


@claims.rule("clipping_stabilizes", questions="Q20",
             rule="g = 1.2, SGD lr 1e-2 with clip_by_global_norm(1.0), for its own budget "
                  "(clip_steps; a clipped step moves the weights by at most lr × 1): no seed goes "
                  "non-finite and every seed's training loss reaches < 1 % of the loss of "
                  "predicting 0 (½ mean y², a scale-free yardstick: the g = 1.2 init starts 10²–10⁴ "
                  "times above it, so '1 % of the initial loss' is met without learning) within "
                  "the budget. Statistic: steps to that target, interpolated between evaluations, "
                  "censored at the budget for a seed that never reaches it")
def _(results: Results, config: Config):
    clip = 1.0
    steps = _steps_to_learn(results, clip)
    diverged = _clip_diverged(results, clip)
    reached = np.isfinite(steps)
    budget = results.coords["clip_step"][-1]
    proper = {v: stats.mean_ci(curves.censored(curves.steps_to_target(
                  results.coords["step"], results.sel("train_loss", variant=v), _target(results)),
                  results.coords["step"][-1]))
              for v in results.coords["variant"] if not _diverged(results, v).any()}
    return stats.decide(
        not diverged.any() and bool(reached.all()),
        f"steps to < 1 % of the zero-predictor loss, {_large(config)}, clip 1 (censored at {budget})",
        stats.mean_ci(curves.censored(steps, budget), bounds=(0, budget)),
        diverged=int(diverged.sum()), reached=stats.proportion_ci(int(reached.sum()), reached.size),
        budget=budget, zero_predictor_loss=results.meta["zero_predictor_loss"],
        by_clip={f"{c:g}": _clip_summary(results, c) for c in results.coords["clip"]},
        unclipped_steps_to_target=proper)


@claims.rule("proper_init_avoids", questions="Q14",
             rule="g = 1 (N(0, 1/width)) and orthogonal init, plain SGD lr 1e-2 without clipping: no "
                  "seed explodes, i.e. none goes non-finite and none ends above its initial loss")
def _(results: Results, config: Config):
    proper = ("g = 1, no clip", "orthogonal, no clip")
    exploded = {v: int((_diverged(results, v) | ~(_loss_ratio(results, v) < 1)).sum()) for v in proper}
    runs = sum(_diverged(results, v).size for v in proper)
    return stats.decide(
        sum(exploded.values()) == 0,
        "fraction of seeds exploding (non-finite or loss above initial), g = 1 and orthogonal",
        stats.proportion_ci(sum(exploded.values()), runs), exploded_by_init=exploded,
        median_final_over_initial={v: float(np.nanmedian(_loss_ratio(results, v))) for v in proper})


def plot(results: Results, config: Config) -> dict:
    """Gradient profiles over layers and time; training loss with and without clipping."""
    fig, axes = plots.figure(ncols=2)
    ax = axes[0, 0]
    layers_to_output = config.depth - np.asarray(results.coords["layer"])
    for i, init in enumerate(results.coords["init"]):
        plots.band(ax, layers_to_output, results.sel("layer_grad_norm", init=init), label=init,
                   log=True, color=plots.PALETTE[i], marker="o")
    ax.set_yscale("log")
    ax.set_xlabel("layers between hidden layer l and the output")
    ax.set_ylabel("‖∂L/∂b_l‖ at init")
    ax.set_title(f"deep linear MLP ({config.depth} layers)")
    ax.xaxis.set_major_locator(plots.integer_ticks())
    ax.legend()
    ax = axes[0, 1]
    time = np.asarray(results.coords["time"])
    for i, rnn in enumerate(results.coords["rnn"]):
        plots.band(ax, time[-1] - time, results.sel("input_grad_norm", rnn=rnn), label=rnn,
                   log=True, color=plots.PALETTE[i])
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the end, T − t")
    ax.set_ylabel("‖∂L/∂x_t‖ at init")
    ax.set_title("RNN over time: linear explodes, tanh saturates")
    ax.legend()
    plots.title(fig, f"With gain {config.gain:g} gradients grow geometrically with depth and with "
                     "time (in the RNN, unless tanh saturates)")
    figures = {"gradient_growth": fig}

    figures["training"] = _training_figure(results, config)
    return figures


def _training_figure(results: Results, config: Config):
    """Loss curves: the large init at every clip norm, and every init without clipping."""
    large = _large(config)
    fig, axes = plots.figure(ncols=2, width=5.0)
    ax = axes[0, 0]
    for i, clip in enumerate(results.coords["clip"]):
        loss = results.sel("clip_loss", clip=clip)
        reached = int(np.isfinite(_steps_to_learn(results, clip)).sum())
        plots.band(ax, results.coords["clip_step"], loss, log=True, color=plots.PALETTE[i + 1],
                   label=f"clip {clip:g} ({reached}/{loss.shape[0]} reach the target, "
                         f"{int(_clip_diverged(results, clip).sum())} non-finite)")
    at = results.sel("diverged_at", variant=f"{large}, no clip")
    if (at >= 0).any():  # the unclipped run is a few steps long: say where it ended
        ax.plot([], [], " ", label=f"no clip: {int((at >= 0).sum())}/{at.size} non-finite by step "
                                   f"{at.max()}")
    ax.set_title(f"large init {large}: clip_by_global_norm")
    ax.set_xlabel("SGD step")
    ax = axes[0, 1]
    steps = results.coords["step"]
    for i, variant in enumerate(results.coords["variant"]):
        loss = results.sel("train_loss", variant=variant)
        diverged = _diverged(results, variant)
        plots.band(ax, steps, loss, label=f"{variant} ({int(diverged.sum())}/{loss.shape[0]} "
                   "non-finite)", log=True, color=plots.PALETTE[0 if i == 0 else i + 3],
                   marker="o" if diverged.all() else None)
    ax.set_title("no clipping: large vs proper inits")
    ax.set_xlabel("SGD step")
    for ax in axes[0]:
        ax.axhline(results.meta["zero_predictor_loss"], color="grey", linestyle=":", linewidth=1,
                   label="loss of predicting 0")
        ax.axhline(_target(results), color="black", linestyle="--", linewidth=1,
                   label=f"target: {LEARNED:.0%} of it")
        ax.set_yscale("log")
        ax.set_ylabel("training loss (½ MSE)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.27), ncol=1, fontsize=8)
    learned = [f"{c:g}" for c in results.coords["clip"]
               if np.isfinite(_steps_to_learn(results, c)).all() and not _clip_diverged(results, c).any()]
    clip_finding = (f"clipped at {' and '.join(learned)} it learns" if learned
                    else "no clip norm makes it learn")
    plots.title(fig, f"Unclipped SGD diverges from the large init; {clip_finding} within "
                     f"{results.coords['clip_step'][-1]} steps;\na proper init trains without clipping")
    return fig


main(__spec__)
