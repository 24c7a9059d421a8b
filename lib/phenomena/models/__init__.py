"""Flax NNX models behind a pure functional boundary: MLP, 1-D CNN, 1-D/2-D ConvNet, vanilla RNN,
RNN/LSTM/GRU sequence nets, transformers (encoder, decoder, encoder-decoder).

Every model returns `(output, intermediates)` so probes need no plumbing, and is built one
per run key by `create` (or the `mlps` / `cnns` / `convnets` / `rnns` shorthands) as a shared `graphdef`
plus a `State` with a leading run axis.
"""

from phenomena.models.core import (ACTIVATIONS, INITIALIZERS, LEARNED_ACTIVATIONS,
                                   PRELU_INIT_SLOPE, count_params, create)
from phenomena.models.mlp import MLP, NORMALIZATIONS, MLPConfig, mlps
from phenomena.models.cnn import CNN1D, CNNConfig, cnns, sliding_windows
from phenomena.models.rnn import RNN, RNNConfig, rnns
# The primitives (conv, patches, pool, global_pool, same_padding, ...) stay in `models.conv`:
# exporting the function `conv` here would shadow the submodule of the same name.
from phenomena.models.conv import Conv, output_size
from phenomena.models.convnet import (ConvNet, ConvNetConfig, alexnet_style, convnets,
                                      receptive_fields, resnet_style, vgg_style)
from phenomena.models.recurrent import Recurrent, RecurrentConfig, recurrents
from phenomena.models.transformer import (EncoderDecoder, Transformer, TransformerConfig,
                                          encoder_decoders, transformers)

__all__ = ["ACTIVATIONS", "INITIALIZERS", "LEARNED_ACTIVATIONS", "PRELU_INIT_SLOPE",
           "count_params", "create", "MLP", "NORMALIZATIONS", "MLPConfig", "mlps", "CNN1D",
           "CNNConfig", "cnns", "sliding_windows", "RNN", "RNNConfig", "rnns", "Conv", "output_size", "ConvNet",
           "ConvNetConfig", "alexnet_style", "convnets", "receptive_fields", "resnet_style",
           "vgg_style", "Recurrent", "RecurrentConfig", "recurrents", "EncoderDecoder",
           "Transformer", "TransformerConfig", "encoder_decoders", "transformers"]
