"""The transformer stacks: attention against the explicit formula, masks, positions, decoding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments.attention_mechanics import explicit_attention
from phenomena.models import transformer as T
from phenomena.config import ConfigError


def _model(vocab=11, out=5, **fields):
    config = T.TransformerConfig(d_model=16, heads=2, layers=2, max_len=32, **fields)
    return T.Transformer(vocab, out, config, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("masked", [False, True])
def test_attention_layer_equals_the_explicit_formula(masked):
    layer = T.Attention(16, 4, rngs=nnx.Rngs(1))
    x = jax.random.normal(jax.random.key(2), (3, 7, 16))
    mask = T.causal_mask(7) if masked else None
    out, weights = layer(x, mask=mask)
    split = lambda a: a.reshape(3, 7, 4, 4)  # noqa: E731
    heads, expected_weights = explicit_attention(split(layer.query(x)), split(layer.key(x)),
                                                  split(layer.value(x)), mask)
    expected = np.asarray(layer.out(jnp.asarray(heads.reshape(3, 7, 16), jnp.float32)))
    np.testing.assert_allclose(out, expected, atol=2e-5)
    np.testing.assert_allclose(weights, expected_weights, atol=2e-6)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)
    if masked:  # nothing above the diagonal
        assert float(jnp.max(jnp.triu(weights[0, 0], k=1))) == 0.0


def test_a_decoder_output_ignores_later_tokens():
    model = _model(causal=True)
    tokens = jax.random.randint(jax.random.key(0), (2, 9), 0, 11)
    changed = tokens.at[:, 5:].set((tokens[:, 5:] + 3) % 11)
    before, after = model(tokens)[0], model(changed)[0]
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert float(jnp.max(jnp.abs(before[:, 5:] - after[:, 5:]))) > 1e-3


def test_an_encoder_output_sees_later_tokens():
    model = _model(causal=False)
    tokens = jax.random.randint(jax.random.key(0), (2, 9), 0, 11)
    changed = tokens.at[:, 8].set((tokens[:, 8] + 3) % 11)
    assert float(jnp.max(jnp.abs(model(tokens)[0][:, 0] - model(changed)[0][:, 0]))) > 1e-3


def test_without_positions_an_encoder_is_permutation_equivariant():
    model = _model(positions="none")
    tokens = jax.random.randint(jax.random.key(0), (2, 12), 0, 11)
    perm = jax.random.permutation(jax.random.key(1), 12)
    np.testing.assert_allclose(model(tokens[:, perm])[0], model(tokens)[0][:, perm], atol=1e-5)


@pytest.mark.parametrize("positions", ["sinusoidal", "learned", "rotary"])
def test_with_positions_an_encoder_is_not_permutation_equivariant(positions):
    model = _model(positions=positions)
    tokens = jax.random.randint(jax.random.key(0), (2, 12), 0, 11)
    perm = jax.random.permutation(jax.random.key(1), 12)
    gap = jnp.max(jnp.abs(model(tokens[:, perm])[0] - model(tokens)[0][:, perm]))
    assert float(gap) > 1e-3


def test_rotary_attention_logits_depend_only_on_offsets():
    q = jax.random.normal(jax.random.key(0), (1, 1, 1, 8))
    k = jax.random.normal(jax.random.key(1), (1, 1, 1, 8))
    at = lambda i, j: float(jnp.sum(T.rotate(q, jnp.array([i])) * T.rotate(k, jnp.array([j]))))  # noqa: E731
    assert at(3, 1) == pytest.approx(at(10, 8), abs=1e-5)
    assert at(3, 1) != pytest.approx(at(3, 2), abs=1e-3)
    # A rotation keeps the norm.
    np.testing.assert_allclose(jnp.linalg.norm(T.rotate(q, jnp.array([7]))), jnp.linalg.norm(q),
                               rtol=1e-6)


def test_sinusoidal_positions_match_vaswani():
    table = np.asarray(T.sinusoidal_positions(5, 8))
    assert table[0, 0] == 0.0 and table[0, 1] == 1.0
    np.testing.assert_allclose(table[3, 2], np.sin(3 / 10_000 ** (2 / 8)), rtol=1e-6)
    np.testing.assert_allclose(table[3, 3], np.cos(3 / 10_000 ** (2 / 8)), rtol=1e-6)


def test_padding_keys_do_not_change_real_positions():
    model = _model()
    tokens = jax.random.randint(jax.random.key(0), (2, 8), 0, 11)
    lengths = jnp.array([5, 8])
    changed = tokens.at[0, 5:].set(0)
    a, b = model(tokens, lengths=lengths)[0], model(changed, lengths=lengths)[0]
    np.testing.assert_allclose(a[0, :5], b[0, :5], atol=1e-6)
    weights = model(tokens, lengths=lengths)[1]["attention"][0]
    assert float(jnp.max(weights[0, :, :, 5:])) == 0.0


def test_readouts_and_intermediates():
    tokens = jnp.zeros((3, 6), jnp.int32)
    every, extras = _model()(tokens)
    assert every.shape == (3, 6, 5)
    assert len(extras["attention"]) == 2 and extras["attention"][0].shape == (3, 2, 6, 6)
    for readout in ("first", "last", "mean"):
        assert _model(readout=readout)(tokens)[0].shape == (3, 5)


def test_encoder_decoder_takes_different_lengths_and_its_decoder_is_causal():
    model = T.EncoderDecoder(13, T.TransformerConfig(d_model=16, heads=2, layers=1),
                             rngs=nnx.Rngs(0))
    source = jax.random.randint(jax.random.key(0), (2, 7), 0, 13)
    target = jax.random.randint(jax.random.key(1), (2, 4), 0, 13)
    logits, extras = model(source, target)
    assert logits.shape == (2, 4, 13)
    assert [w.shape[-2:] for w in extras["attention"]] == [(7, 7), (4, 4), (4, 7)]
    changed = target.at[:, 3].set((target[:, 3] + 1) % 13)
    np.testing.assert_allclose(model(source, changed)[0][:, :3], logits[:, :3], atol=1e-6)
    other_source = source.at[:, 6].set((source[:, 6] + 1) % 13)
    assert float(jnp.max(jnp.abs(model(other_source, target)[0] - logits))) > 1e-4


def test_greedy_decode_equals_one_step_at_a_time():
    model = _model(vocab=11, out=11, causal=True)
    prompt = jnp.array([[1, 2, 3], [4, 5, 6]], jnp.int32)
    out = T.greedy_decode(lambda t: model(t)[0], prompt, steps=4)
    tokens = prompt
    for _ in range(4):
        nxt = jnp.argmax(model(tokens)[0][:, -1], axis=-1)[:, None]
        tokens = jnp.concatenate([tokens, nxt.astype(jnp.int32)], axis=1)
    np.testing.assert_array_equal(out, tokens)


def test_config_refuses_impossible_values():
    with pytest.raises(ConfigError, match="multiple of heads"):
        T.TransformerConfig(d_model=10, heads=4)
    with pytest.raises(ConfigError, match="positions"):
        T.TransformerConfig(positions="alibi")
    with pytest.raises(ConfigError, match="even head width"):
        T.TransformerConfig(d_model=12, heads=4, positions="rotary")
