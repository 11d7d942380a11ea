"""The built-in layers, one family per file; each has a NumPy twin of the same file
name in ``reference`` (``funcnet/layers/dense.py`` <-> ``reference/dense.py``).

* ``dense``: ``Dense``;
* ``conv``: ``Conv2D`` (NHWC images, HWIO kernels);
* ``pool``: ``MaxPool2D``, ``AvgPool2D``, ``Flatten``, ``GlobalAvgPool``;
* ``dropout``: ``Dropout`` and the masks it draws (``dropout_mask``, ``dropout_keys``,
  ``dropout_masks``);
* ``batchnorm``: ``BatchNorm`` (running statistics in ``state``);
* ``residual``: ``Residual`` (``y = x + block(x)``);
* ``recurrent``: ``RNN``, ``LSTM``, ``GRU`` over ``(N, T, F)`` sequences (PyTorch's gate
  conventions), and their cells ``rnn_cell``, ``lstm_cell``, ``gru_cell`` for an
  explicit carry;
* ``embedding``: ``Embedding`` (integer ids to vectors), ``PositionalEmbedding``;
* ``norm``: ``LayerNorm``, ``RMSNorm`` (each example's statistics over its last axis);
* ``attention``: ``MultiHeadAttention`` (self-attention over ``(N, T, D)``, causal
  and padding masks) and ``TransformerBlock`` (pre-LayerNorm GPT block);
* ``_windows``: the stride/padding/window rules conv and pool share.

Activations are layers too (``funcnet.core.Activation``; the functions live in
``funcnet.activations``), and ``Sequential`` is in ``funcnet.core``.
"""

from funcnet.layers.attention import MultiHeadAttention, TransformerBlock, attention_weights
from funcnet.layers.batchnorm import BatchNorm
from funcnet.layers.conv import Conv2D
from funcnet.layers.dense import Dense
from funcnet.layers.dropout import Dropout, dropout_keys, dropout_mask, dropout_masks
from funcnet.layers.embedding import Embedding, PositionalEmbedding
from funcnet.layers.norm import LayerNorm, RMSNorm
from funcnet.layers.pool import AvgPool2D, Flatten, GlobalAvgPool, MaxPool2D
from funcnet.layers.recurrent import GRU, LSTM, RNN, gru_cell, lstm_cell, rnn_cell
from funcnet.layers.residual import Residual

__all__ = [
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GlobalAvgPool",
    "LSTM",
    "MaxPool2D",
    "RNN",
    "LayerNorm",
    "PositionalEmbedding",
    "RMSNorm",
    "MultiHeadAttention",
    "attention_weights",
    "Residual",
    "TransformerBlock",
    "dropout_keys",
    "dropout_mask",
    "dropout_masks",
    "gru_cell",
    "lstm_cell",
    "rnn_cell",
]
