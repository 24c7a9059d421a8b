"""The vanilla RNN: shapes, the recurrence by hand, the spectral-radius knob, gradient profiles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import rng
from phenomena.models import rnn as recurrent
from phenomena.config import ConfigError
from phenomena.models.rnn import RNN, RNNConfig


def _one(config: RNNConfig, in_features: int = 3, out_features: int = 2, seed: int = 0) -> RNN:
    return RNN(in_features, out_features, config, rngs=nnx.Rngs(seed))


def _sequences(batch=4, time=6, features=3, seed=1):
    return jax.random.normal(jax.random.key(seed), (batch, time, features))


def test_output_and_hidden_shapes():
    model = _one(RNNConfig(hidden=5))
    out, aux = model(_sequences())
    assert out.shape == (4, 2)
    assert aux["hidden"].shape == (4, 6, 5)


def test_matches_the_recurrence_written_by_hand():
    model = _one(RNNConfig(hidden=5, activation="tanh", recurrent_gain=1.3))
    x = _sequences()
    u = model.cell.dense_i.kernel[...]
    b = model.cell.dense_i.bias[...]
    w = model.cell.dense_h.kernel[...]
    h = jnp.zeros((4, 5))
    states = []
    for t in range(x.shape[1]):
        h = jnp.tanh(x[:, t] @ u + b[None] + h @ w)
        states.append(h)
    out, aux = model(x)
    np.testing.assert_allclose(aux["hidden"], jnp.stack(states, axis=1), rtol=1e-5, atol=1e-6)
    expected = h @ model.head.kernel[...] + model.head.bias[...][None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gain", [0.9, 1.0, 1.2])
def test_spectral_radius_equals_the_gain(gain):
    model = _one(RNNConfig(hidden=16, recurrent_gain=gain))
    assert float(recurrent.recurrent_spectral_radius(model)) == pytest.approx(gain, rel=1e-4)


def test_linear_rnn_gradient_wrt_initial_state_grows_as_gain_to_the_length():
    # Orthogonal W times g scales every vector by exactly g, so ‖∂L/∂h_0‖ = g^T ‖∂L/∂h_T‖.
    gain, hidden = 1.2, 8
    model = _one(RNNConfig(hidden=hidden, activation="identity", recurrent_gain=gain), in_features=1,
                 out_features=1)

    def norm_for(time):
        x = _sequences(batch=2, time=time, features=1)

        def loss(h0):
            out, _ = model(x, initial_hidden=h0)
            return jnp.sum(out)  # ∂L/∂h_T = head kernel for every sequence: the same for each T

        return float(jnp.linalg.norm(jax.grad(loss)(jnp.zeros((2, hidden)))))

    assert norm_for(10) / norm_for(5) == pytest.approx(gain**5, rel=1e-4)


def test_input_gradient_profile_slope_is_log_gain_for_a_linear_rnn():
    gain, time = 1.2, 40
    model = _one(RNNConfig(hidden=32, activation="identity", recurrent_gain=gain), in_features=1,
                 out_features=1)
    x = _sequences(batch=64, time=time, features=1)
    norms = recurrent.input_grad_norms(model, recurrent.last_step_squared_error,
                                       {"x": x, "y": x[:, 0, :]})
    assert norms.shape == (time,)
    lag = time - 1 - np.arange(time)
    slope = np.polyfit(lag, np.log10(np.asarray(norms)), 1)[0]
    assert slope == pytest.approx(np.log10(gain), abs=0.01)


def test_tanh_rnn_with_saturating_inputs_vanishes_instead():
    model = _one(RNNConfig(hidden=32, activation="tanh", recurrent_gain=1.2), in_features=1,
                 out_features=1)
    x = _sequences(batch=64, time=40, features=1)
    norms = np.asarray(recurrent.input_grad_norms(model, recurrent.last_step_squared_error,
                                                  {"x": x, "y": x[:, 0, :]}))
    assert norms[0] < 1e-3 * norms[-1]  # the first input's gradient is far smaller than the last's


def test_rnns_builds_one_model_per_key_with_different_weights():
    graphdef, state = recurrent.rnns(1, 1, RNNConfig(hidden=4), rng.seed_keys(0, 3))
    kernels = np.asarray(state["cell"]["dense_h"]["kernel"][...])
    assert kernels.shape == (3, 4, 4)
    assert not np.allclose(kernels[0], kernels[1])
    out, _ = nnx.merge(graphdef, jax.tree.map(lambda a: a[0], state))(_sequences(features=1))
    assert out.shape == (4, 1)


@pytest.mark.parametrize("bad", [{"hidden": 0}, {"activation": "cube"}, {"recurrent_gain": 0.0}])
def test_config_rejects_impossible_values(bad):
    with pytest.raises(ConfigError):
        RNNConfig(**bad)
