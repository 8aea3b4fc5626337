"""The one interface between the translation architectures and the decoders.

Every variant in `architectures.py` can be driven one target token at a
time through a `StepDecoder`, built from the trained layers (shared
weights, no copy). `decoding.py` runs greedy and beam search over any
`StepDecoder` inside one TensorFlow graph, so the decoders never know
which architecture they drive, and the tests can hand them a tiny
hand-built model.

Conventions (TensorFlow tensors, batch first):
- `source_ids`: int64 [batch, source_len], padded with PAD_ID (0).
- `memory`: what the encoder produced, a dict of tensors whose first
  dimension is the batch (beam search tiles and gathers it).
- `state`: the decoder's recurrent state, a dict of tensors whose first
  dimension is the batch and whose shapes do not change from step to step
  (a `tf.while_loop` carries it; beam search reorders it with `tf.gather`).
- `step` returns log-probabilities over the target vocabulary (float32
  [batch, vocab]) for the token after `tokens`, the new state, and the
  attention weights over the source positions used for that step (float32
  [batch, source_len]; zeros for variants without attention).
"""

from __future__ import annotations

from typing import Protocol

import tensorflow as tf

Tensors = dict[str, tf.Tensor]


class StepDecoder(Protocol):
    target_vocab_size: int
    has_attention: bool

    def encode(self, source_ids: tf.Tensor) -> Tensors:
        """Runs the encoder once per sentence."""

    def initial_state(self, memory: Tensors, max_length: tf.Tensor) -> Tensors:
        """The state before the first target token (SOS) is fed.
        `max_length` (int32 scalar) bounds the number of steps, for
        decoders that keep a buffer of the tokens so far (Transformer)."""

    def step(self, memory: Tensors, state: Tensors, tokens: tf.Tensor,
             position: tf.Tensor) -> tuple[tf.Tensor, Tensors, tf.Tensor]:
        """Feeds `tokens` (int64 [batch], the previous output; SOS first) at
        target position `position` (int32 scalar, 0 for SOS); returns
        (log_probs [batch, vocab], new state, attention [batch, source_len])."""
