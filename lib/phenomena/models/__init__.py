"""Flax NNX models behind a pure functional boundary: MLP, 1-D CNN and vanilla RNN.

Every model returns `(output, intermediates)` so probes need no plumbing, and is built one
per run key by `create` (or the `mlps` / `cnns` / `rnns` shorthands) as a shared `graphdef`
plus a `State` with a leading run axis.
"""

from phenomena.models.core import (ACTIVATIONS, INITIALIZERS, LEARNED_ACTIVATIONS,
                                   PRELU_INIT_SLOPE, count_params, create)
from phenomena.models.mlp import MLP, NORMALIZATIONS, MLPConfig, mlps
from phenomena.models.cnn import CNN1D, CNNConfig, cnns, sliding_windows
from phenomena.models.rnn import RNN, RNNConfig, rnns

__all__ = ["ACTIVATIONS", "INITIALIZERS", "LEARNED_ACTIVATIONS", "PRELU_INIT_SLOPE",
           "count_params", "create", "MLP", "NORMALIZATIONS", "MLPConfig", "mlps", "CNN1D",
           "CNNConfig", "cnns", "sliding_windows", "RNN", "RNNConfig", "rnns"]
