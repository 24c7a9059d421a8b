"""The recurrent nets (RNN, LSTM, GRU under lax.scan) and the synthetic sequence tasks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from phenomena import sequence_tasks as tasks
from phenomena.config import ConfigError
from phenomena.models.recurrent import Recurrent, RecurrentConfig, recurrents


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_scan_equals_a_python_loop_over_the_cell(cell):
    model = Recurrent(7, 3, RecurrentConfig(cell=cell, hidden=6, embed=4), rngs=nnx.Rngs(0))
    tokens = jax.random.randint(jax.random.key(1), (2, 5), 0, 7)
    logits, extras = model(tokens)
    carry, inputs = model.initial_carry(2), model.embed(tokens)
    for t in range(5):
        carry, h = model.cell(carry, inputs[:, t])
        np.testing.assert_allclose(extras["hidden"][:, t], h, atol=1e-6)
    np.testing.assert_allclose(logits, model.head(h), atol=1e-6)
    assert logits.shape == (2, 3) and extras["hidden"].shape == (2, 5, 6)


def test_every_step_readout_and_feature_inputs():
    config = RecurrentConfig(cell="gru", hidden=4, readout="every")
    model = Recurrent(0, 2, config, in_features=3, rngs=nnx.Rngs(0))
    assert model(jnp.ones((2, 6, 3)))[0].shape == (2, 6, 2)


def test_parameter_counts_follow_the_cells_gates():
    counts = {}
    for cell in ("rnn", "gru", "lstm"):
        _, state = recurrents(10, 2, RecurrentConfig(cell=cell, hidden=8, embed=4),
                              jax.random.split(jax.random.key(0), 1))
        counts[cell] = sum(int(x[0].size) for x in jax.tree.leaves(state))
    shared = 10 * 4 + 8 * 2 + 2  # embedding and head
    # Per gate (RNN 1, GRU 3, LSTM 4): an input kernel, a recurrent kernel and one bias.
    assert counts["rnn"] == shared + (4 * 8 + 8 * 8 + 8)
    assert counts["gru"] == shared + 3 * (4 * 8 + 8 * 8 + 8)
    assert counts["lstm"] == shared + 4 * (4 * 8 + 8 * 8 + 8)


def test_recurrent_config_refuses_unknown_cells():
    with pytest.raises(ConfigError, match="cell must be one of"):
        RecurrentConfig(cell="transformer")


# ---------------------------------------------------------------------------- the tasks

def test_key_value_retrieval_answers_the_queried_pair():
    d = tasks.key_value_retrieval(jax.random.key(0), 64, pairs=5, keys=8, values=6)
    x, y, pos = (np.asarray(d[k]) for k in ("x", "y", "target_position"))
    assert x.shape == (64, 6) and x.max() < 8 * 7
    keys, values = x[:, :5] // 6, x[:, :5] % 6
    assert all(len(set(row)) == 5 for row in keys)  # distinct keys per sequence
    queried = x[:, 5] - 8 * 6
    np.testing.assert_array_equal(keys[np.arange(64), pos], queried)
    np.testing.assert_array_equal(values[np.arange(64), pos], y)


def test_token_at_distance_hides_the_answer_in_the_first_token_only():
    d = tasks.token_at_distance(jax.random.key(0), 100, distance=9, classes=4, fillers=6)
    x, y = np.asarray(d["x"]), np.asarray(d["y"])
    assert x.shape == (100, 10)
    np.testing.assert_array_equal(x[:, 0], y)
    assert x[:, 1:].min() >= 4 and x[:, 1:].max() < 10


def test_order_task_labels_which_marker_comes_first():
    d = tasks.order_task(jax.random.key(0), 500, length=10, fillers=5)
    x, y = np.asarray(d["x"]), np.asarray(d["y"])
    first_a = np.argmax(x == 0, axis=1) < np.argmax(x == 1, axis=1)
    np.testing.assert_array_equal(first_a, y == 1)
    assert ((x == 0).sum(1) == 1).all() and ((x == 1).sum(1) == 1).all()
    assert 0.4 < y.mean() < 0.6


def test_fill_in_middle_needs_both_neighbours():
    d = tasks.fill_in_middle(jax.random.key(0), 50, length=9, vocab=8)
    x, y = np.asarray(d["x"]), np.asarray(d["y"])
    assert (x[:, 4] == 0).all() and (np.delete(x, 4, axis=1) > 0).all()
    np.testing.assert_array_equal(y, (x[:, 3] - 1 + x[:, 5] - 1) % 7)


def test_markov_language_samples_only_allowed_transitions():
    transitions = tasks.markov_language(jax.random.key(0), vocab=12, successors=3)
    np.testing.assert_allclose(transitions.sum(1), 1.0, atol=1e-6)
    assert ((np.asarray(transitions) > 0).sum(1) == 3).all()
    tokens = tasks.sample_language(jax.random.key(1), transitions, 40, 30)
    p = np.asarray(transitions)[np.asarray(tokens)[:, :-1], np.asarray(tokens)[:, 1:]]
    assert (p > 0).all()
    # The true chain's loss is log 3 nats per token (uniform over 3 successors).
    assert float(tasks.language_nll(transitions, tokens)) == pytest.approx(np.log(3), rel=1e-5)


def test_reversal_reverses_the_real_tokens_and_ends_with_eos():
    d = tasks.reversal(jax.random.key(0), 30, max_length=8, tokens=10, min_length=2)
    for i in range(30):
        n = int(d["source_lengths"][i])
        src, tgt = np.asarray(d["source"][i]), np.asarray(d["target"][i])
        np.testing.assert_array_equal(tgt[:n], src[:n][::-1])
        assert tgt[n] == tasks.EOS and (tgt[n + 1:] == tasks.PAD).all() and (src[n:] == tasks.PAD).all()
        assert d["target_mask"][i].sum() == n + 1
        np.testing.assert_array_equal(d["target_in"][i][1:], tgt[:-1])
        assert d["target_in"][i][0] == tasks.BOS


def test_sort_unique_gives_shorter_sorted_outputs():
    d = tasks.sort_unique(jax.random.key(0), 30, max_length=10, tokens=6, min_length=3)
    shorter = 0
    for i in range(30):
        n = int(d["source_lengths"][i])
        expected = sorted(set(np.asarray(d["source"][i][:n]).tolist()))
        tgt = np.asarray(d["target"][i])
        np.testing.assert_array_equal(tgt[:len(expected)], expected)
        assert tgt[len(expected)] == tasks.EOS
        shorter += len(expected) < n
    assert shorter > 10  # repeats are common with 6 tokens


def test_order_task_label_is_balanced_given_the_bag_of_tokens():
    # What makes an order-blind model score chance: every bag of tokens (sorted sequence) is
    # as likely to have A first as B first.
    d = tasks.order_task(jax.random.key(1), 20000, length=4, fillers=2)
    bags = np.sort(np.asarray(d["x"]), axis=1)
    _, bag = np.unique(bags, axis=0, return_inverse=True)
    y = np.asarray(d["y"])
    for b in range(bag.max() + 1):
        assert abs(y[bag.ravel() == b].mean() - 0.5) < 0.03, b
