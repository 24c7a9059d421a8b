"""Optimizers from Optax with per-run hyperparameters.

Structure (which transforms are chained) is static; values (learning rate, clip norm, decay,
L1 strength) live in the optimizer state through `optax.inject_hyperparams`, so one compiled
program can train a sweep of values side by side under `vmap`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from phenomena import penalties

BASE_OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "sgd": lambda lr, momentum: optax.sgd(lr),
    "momentum": lambda lr, momentum: optax.sgd(lr, momentum=momentum),
    "nesterov": lambda lr, momentum: optax.sgd(lr, momentum=momentum, nesterov=True),
    "adam": lambda lr, momentum: optax.adam(lr, b1=momentum),
    "rmsprop": lambda lr, momentum: optax.rmsprop(lr),
    "adagrad": lambda lr, momentum: optax.adagrad(lr),
}


def l1_proximal(threshold) -> optax.GradientTransformation:
    """Soft-threshold the parameters after the preceding update: the L1 proximal step.

    Chained after `sgd(lr)` with `threshold = lr * l1`, this is ISTA: the update makes
    `w_new = sign(w + u) * max(|w + u| - threshold, 0)`, which sets weights to exactly zero.
    (A subgradient of |w| in the loss would only make them oscillate around zero.)
    Optax has no L1 prox; this is the one small transform the suite adds.
    """

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params):
        if params is None:
            raise ValueError("l1_proximal needs params")

        def prox(u, w):
            moved = w + u
            return jnp.sign(moved) * jnp.maximum(jnp.abs(moved) - threshold, 0.0) - w

        return jax.tree.map(prox, updates, params), state

    return optax.GradientTransformation(init, update)


@dataclasses.dataclass(frozen=True)
class PathMask:
    """Selects the parameters whose path starts with `prefix`, e.g. "['hidden'][0]['kernel']".

    A frozen dataclass rather than a closure, so optimizer specs using it compare and hash by
    value and the compiled programs that `train.fit` caches are reused.
    """

    prefix: str

    def __call__(self, params):
        return jax.tree_util.tree_map_with_path(
            lambda path, _: jax.tree_util.keystr(path).startswith(self.prefix), params)


class OptimizerSpec(NamedTuple):
    """The static shape of an optimizer: base algorithm and which extras are chained."""

    name: str = "sgd"
    momentum: float = 0.9
    clip: bool = False          # clip_by_global_norm(clip_norm) before the update
    decoupled_decay: bool = False  # add_decayed_weights(weight_decay) before the base step
    l1: bool = False            # proximal L1 step after the base step
    penalize: PathMask | None = None  # which parameters decay and L1 act on (None: all)
    schedule: str = "constant"  # or "warmup_cosine": the run's learning rate is the peak
    warmup_steps: int = 0       # linear warmup from 0 (warmup_cosine only)
    decay_steps: int = 0        # total steps of warmup + cosine decay to 0 (warmup_cosine only)
    freeze: PathMask | None = None  # parameters that get no update at all (e.g. transferred features)
    # With decoupled_decay: shrink w by lr * weight_decay after the base step instead of adding
    # weight_decay * w to the gradient before it. Under Adam that is AdamW (Loshchilov & Hutter
    # 2019); before the step, Adam normalizes the decay away (Adam + L2). Same under SGD.
    decay_after_base: bool = False
    # With l1: soft-threshold each row of a parameter as one group (the group lasso; a zero row
    # of a first-layer kernel removes an input) instead of each weight on its own.
    l1_rows: bool = False


SCHEDULES = ("constant", "warmup_cosine")


@dataclasses.dataclass(frozen=True)
class _FrozenLabels:
    """Labels each parameter "frozen" or "trained" for `optax.multi_transform` (hashable)."""

    frozen: PathMask

    def __call__(self, params):
        return jax.tree.map(lambda f: "frozen" if f else "trained", self.frozen(params))


def _schedule_factor(spec: OptimizerSpec) -> optax.GradientTransformation:
    """Scale the updates by the schedule's factor in [0, 1] (the learning rate is the peak).

    Multiplying the final update by the factor is the same as scheduling the learning rate for
    every base optimizer here (their update is linear in it), and keeps the learning rate a
    per-run value that `inject_hyperparams` can carry.
    """
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=1.0, warmup_steps=spec.warmup_steps,
        decay_steps=spec.decay_steps, end_value=0.0)
    return optax.scale_by_schedule(schedule)


def make_optimizer(spec: OptimizerSpec):
    """Return an `inject_hyperparams` factory: call it with the (per-run) hyperparameter values.

    Accepted hyperparameters: `learning_rate`, `clip_norm`, `weight_decay`, `l1`.
    """
    if spec.name not in BASE_OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec.name!r}; choose from {', '.join(BASE_OPTIMIZERS)}")
    if spec.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {spec.schedule!r}; choose from {', '.join(SCHEDULES)}")
    if spec.schedule == "warmup_cosine" and not 0 <= spec.warmup_steps < spec.decay_steps:
        raise ValueError(f"warmup_cosine needs 0 <= warmup_steps < decay_steps, got "
                         f"{spec.warmup_steps} and {spec.decay_steps}")

    def build(learning_rate, clip_norm=1.0, weight_decay=0.0, l1=0.0):
        def only_penalized(transform):
            return transform if spec.penalize is None else optax.masked(transform, spec.penalize)

        parts = []
        if spec.clip:
            parts.append(optax.clip_by_global_norm(clip_norm))
        if spec.decoupled_decay and not spec.decay_after_base:
            parts.append(only_penalized(optax.add_decayed_weights(weight_decay)))
        parts.append(BASE_OPTIMIZERS[spec.name](learning_rate, spec.momentum))
        if spec.decoupled_decay and spec.decay_after_base:
            # The base step already scaled by -lr; the decay bypasses its normalization.
            parts.append(only_penalized(optax.add_decayed_weights(-learning_rate * weight_decay)))
        if spec.schedule == "warmup_cosine":
            parts.append(_schedule_factor(spec))
        if spec.l1:
            prox = penalties.group_l1_proximal if spec.l1_rows else l1_proximal
            parts.append(only_penalized(prox(learning_rate * l1)))
        transform = optax.chain(*parts)
        if spec.freeze is not None:
            # Frozen parameters get an exact zero update (and no optimizer state).
            transform = optax.multi_transform(
                {"trained": transform, "frozen": optax.set_to_zero()}, _FrozenLabels(spec.freeze))
        return transform

    return optax.inject_hyperparams(build)
