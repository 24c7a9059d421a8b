"""Decoupled weight decay after the base step (SGDW, Loshchilov & Hutter 2019) in `optim`."""

import jax.numpy as jnp
import numpy as np
import optax

from phenomena.optim import OptimizerSpec, make_optimizer

LR, DECAY = 0.1, 0.5
GRADS = [jnp.array([0.3, -0.1, 0.2]) * (step + 1) for step in range(5)]


def _trajectory(spec: OptimizerSpec, l2: bool) -> np.ndarray:
    """Parameters after each step, the decay either in the optimizer or as the L2 gradient λw."""
    tx = make_optimizer(spec)(learning_rate=LR, weight_decay=0.0 if l2 else DECAY)
    w = jnp.array([1.0, -2.0, 0.5])
    state, path = tx.init(w), []
    for g in GRADS:
        updates, state = tx.update(g + DECAY * w if l2 else g, state, w)
        w = optax.apply_updates(w, updates)
        path.append(np.asarray(w))
    return np.stack(path)


def test_sgdw_is_sgd_plus_l2_under_plain_sgd():
    decoupled = OptimizerSpec("sgd", decoupled_decay=True, decay_after_base=True)
    np.testing.assert_allclose(_trajectory(decoupled, l2=False),
                               _trajectory(OptimizerSpec("sgd"), l2=True), rtol=1e-6)


def test_sgdw_differs_from_sgd_plus_l2_under_momentum():
    decoupled = OptimizerSpec("momentum", momentum=0.9, decoupled_decay=True, decay_after_base=True)
    sgdw = _trajectory(decoupled, l2=False)
    l2 = _trajectory(OptimizerSpec("momentum", momentum=0.9), l2=True)
    assert np.max(np.abs(sgdw - l2)) > 0.05
    # SGDW: w ← w − η(βv + g) − ηλw; the decay skips the momentum buffer.
    w, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g in GRADS:
        v = 0.9 * v + np.asarray(g)
        w = w - LR * v - LR * DECAY * w
    np.testing.assert_allclose(sgdw[-1], w, rtol=1e-5)


def test_decay_before_the_step_is_the_l2_gradient_under_momentum():
    coupled = OptimizerSpec("momentum", momentum=0.9, decoupled_decay=True)
    np.testing.assert_allclose(_trajectory(coupled, l2=False),
                               _trajectory(OptimizerSpec("momentum", momentum=0.9), l2=True),
                               rtol=1e-6)
