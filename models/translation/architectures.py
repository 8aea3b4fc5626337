"""English→Spanish translation models from *Hands-On ML* (3rd ed.), chapter 16.

Every variant is a teacher-forced sequence-to-sequence model with two integer
inputs, ``"encoder_inputs"`` (source ids ``[batch, source_len]``) and
``"decoder_inputs"`` (SOS + target ids ``[batch, target_len]``), both
right-padded with ``PAD_ID``, and one output: the logits of the next target
token at every decoder position, ``[batch, target_len, target_vocab]`` (no
softmax; the loss takes logits). The variants (MODELS.md §3):

* ``encoder_decoder``: LSTM encoder; its final h and c start an LSTM decoder.
* ``bidirectional``: a bidirectional LSTM encoder of ``units / 2`` per
  direction; both directions' h (and c) are concatenated to ``units``.
* ``attention``: the bidirectional encoder also returns its sequence; the
  decoder's outputs attend over it with Luong (dot-product) attention,
  ``keras.layers.Attention()([decoder_outputs, encoder_outputs])``, and the
  attention outputs feed the output layer, as in the book.
* ``bahdanau``: additive attention *inside* the decoder recurrence, as in
  TensorFlow's eager NMT example: at every step the previous decoder state
  queries the encoder outputs and the context joins the embedded previous
  token as the cell's input (``BahdanauDecoder``).
* ``transformer``: two encoder and two decoder blocks (8 heads, key_dim =
  embed_dim per head, ReLU feed-forward of embed_dim units, dropout 0.1,
  post-norm residuals), learned or sinusoidal positions, explicit padding
  masks and a causal mask.

Padding never reaches a real position: the recurrent variants use
``mask_zero`` embeddings (masked encoder steps keep the state; attention
ignores masked source positions), the Transformer explicit masks built from
the ids. Trained with ``sample_weight = targets != PAD_ID``; the loss is the
mean over the weighted (real) tokens, so a batch's padding changes neither
the loss nor the accuracy.

`step_decoder` wraps a trained model's layers (shared weights, no copy) in a
`step.StepDecoder`, which the in-graph greedy and beam-search decoders drive
one target token at a time. Its log-probabilities equal the log-softmax of
the full model's logits at the same position (the tests check it), so
decoding sees exactly the model that was trained and evaluated.

TensorFlow backend: the Bahdanau recurrence and the step decoders use
TensorFlow ops (the family exports TensorFlow SavedModels).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from models.common.arguments import canonical_name, check_int, check_learning_rate
from models.translation.step import StepDecoder, Tensors
from preprocessing.translation_contract import MAX_LENGTH, PAD_ID, TARGET_SPECIAL_TOKENS

VARIANTS: tuple[str, ...] = ("encoder_decoder", "bidirectional", "attention", "bahdanau", "transformer")
ATTENTION_VARIANTS: tuple[str, ...] = ("attention", "bahdanau", "transformer")
# The variants whose encoder is the bidirectional LSTM (units / 2 per direction).
BIDIRECTIONAL_ENCODER_VARIANTS: tuple[str, ...] = ("bidirectional", "attention", "bahdanau")
RECURRENT_VARIANTS: tuple[str, ...] = ("encoder_decoder", "bidirectional", "attention", "bahdanau")

POSITIONS: tuple[str, ...] = ("learned", "sinusoidal")

ENCODER_INPUTS = "encoder_inputs"
DECODER_INPUTS = "decoder_inputs"

# Layer names (step_decoder finds the trained layers by them).
SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
ENCODER = "encoder"
ENCODER_STATE_H = "encoder_state_h"
ENCODER_STATE_C = "encoder_state_c"
DECODER = "decoder"
ATTENTION = "attention"
SOURCE_PADDING_MASK = "source_padding_mask"
TARGET_PADDING_MASK = "target_padding_mask"
OUTPUT_LOGITS = "output_logits"

# The book's sizes.
DEFAULT_EMBED_DIM = 128
DEFAULT_UNITS = 512
TRANSFORMER_BLOCKS = 2
TRANSFORMER_HEADS = 8
TRANSFORMER_DROPOUT = 0.1

# Room for the target side's special ids (PAD, OOV, SOS, EOS); the source
# side gets the same floor, so one rule covers both vocabularies.
MIN_VOCAB_SIZE = len(TARGET_SPECIAL_TOKENS)

SERIALIZATION_PACKAGE = "translation"


def encoder_block_name(index: int) -> str:
    return f"encoder_block_{index}"


def decoder_block_name(index: int) -> str:
    return f"decoder_block_{index}"


# ---------------------------------------------------------------------------
# Custom layers
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PaddingMask(keras.layers.Layer):
    """Token ids → boolean mask, True at real tokens (an explicit mask for
    the layers that take one as an argument)."""

    def __init__(self, padding_id: int = PAD_ID, **kwargs):
        super().__init__(**kwargs)
        self.padding_id = int(padding_id)

    def call(self, ids):
        return keras.ops.not_equal(ids, self.padding_id)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")

    def get_config(self):
        return {**super().get_config(), "padding_id": self.padding_id}


def sinusoidal_positions(length, depth: int) -> tf.Tensor:
    """Vaswani et al.'s position encodings, float32 [length, depth]: even
    dimensions sin(pos / 10000^(2i/depth)), odd ones the matching cos."""
    positions = tf.cast(tf.range(length), tf.float32)[:, tf.newaxis]
    dims = tf.range(depth)
    rates = tf.pow(10000.0, -tf.cast(2 * (dims // 2), tf.float32) / float(depth))
    angles = positions * rates[tf.newaxis, :]
    return tf.where(dims % 2 == 0, tf.sin(angles), tf.cos(angles))


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PositionalEmbedding(keras.layers.Layer):
    """Token embeddings plus position embeddings, [batch, length, embed_dim].

    ``positions="learned"`` keeps one trained vector per position
    (``max_length`` of them, the book's choice), so longer inputs are an
    error; ``"sinusoidal"`` computes fixed encodings for any length. It
    attaches no Keras mask: the Transformer blocks take explicit masks.
    """

    def __init__(self, vocab_size: int, embed_dim: int, max_length: int = MAX_LENGTH,
                 positions: str = "learned", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.embed_dim = check_int("embed_dim", embed_dim, 1)
        self.max_length = check_int("max_length", max_length, 1)
        self.positions = _check_positions(positions)
        self.token_embedding = keras.layers.Embedding(vocab_size, embed_dim, name="tokens")
        self.position_embedding = (
            keras.layers.Embedding(max_length, embed_dim, name="positions")
            if self.positions == "learned" else None)

    def build(self, inputs_shape):
        self.token_embedding.build(inputs_shape)
        if self.position_embedding is not None:
            self.position_embedding.build((None,))
        self.built = True

    def call(self, inputs):
        length = tf.shape(inputs)[1]
        embedded = self.token_embedding(inputs)
        if self.position_embedding is None:
            return embedded + tf.cast(sinusoidal_positions(length, self.embed_dim), embedded.dtype)
        # A gather past the table fails on a CPU but silently reads zeros on
        # a GPU: say what is wrong instead.
        tf.debugging.assert_less_equal(
            length, self.max_length,
            message=f"{self.name}: sequence longer than max_length={self.max_length} "
                    "learned positions")
        return embedded + self.position_embedding(tf.range(length))

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape) + (self.embed_dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embed_dim": self.embed_dim,
                "max_length": self.max_length, "positions": self.positions}


def _causal_mask(query_length) -> tf.Tensor:
    """[1, T, T], True where query i may see key j (j <= i)."""
    rows = tf.range(query_length)[:, tf.newaxis]
    cols = tf.range(query_length)[tf.newaxis, :]
    return (cols <= rows)[tf.newaxis]


def _key_mask(padding_mask, query_length) -> tf.Tensor | None:
    """A key padding mask [B, S] spread over the queries: [B, T, S]."""
    if padding_mask is None:
        return None
    padding_mask = tf.cast(padding_mask, tf.bool)[:, tf.newaxis, :]
    return tf.logical_and(padding_mask, tf.ones(tf.stack([1, query_length, 1]), tf.bool))


# KerasHub has TransformerEncoder/TransformerDecoder layers, but they set each
# head's key_dim to hidden_size / num_heads (128 / 8 = 16 here), while the
# book gives every one of its 8 heads key_dim = 128; hence these blocks.


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention over the source, then a ReLU feed-forward network; each
    sub-layer's output goes through dropout, is added to its input and
    normalized. ``padding_mask`` (bool [B, S]) hides padded source positions."""

    def __init__(self, embed_dim: int, num_heads: int = TRANSFORMER_HEADS, key_dim: int = 128,
                 ffn_units: int = 128, dropout: float = TRANSFORMER_DROPOUT, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.key_dim = embed_dim, num_heads, key_dim
        self.ffn_units, self.dropout = ffn_units, dropout
        self.self_attention = keras.layers.MultiHeadAttention(
            num_heads, key_dim, name="self_attention")
        self.self_attention_norm = keras.layers.LayerNormalization(name="self_attention_norm")
        self.ffn_hidden = keras.layers.Dense(ffn_units, activation="relu", name="ffn_hidden")
        self.ffn_output = keras.layers.Dense(embed_dim, name="ffn_output")
        self.ffn_norm = keras.layers.LayerNormalization(name="ffn_norm")
        self.sublayer_dropout = keras.layers.Dropout(dropout)

    def build(self, inputs_shape):
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm.build(inputs_shape)
        self.ffn_hidden.build(inputs_shape)
        self.ffn_output.build(tuple(inputs_shape[:-1]) + (self.ffn_units,))
        self.ffn_norm.build(inputs_shape)
        self.built = True

    def call(self, inputs, padding_mask=None, training=None):
        mask = _key_mask(padding_mask, tf.shape(inputs)[1])
        attended = self.self_attention(inputs, inputs, attention_mask=mask, training=training)
        x = self.self_attention_norm(inputs + self.sublayer_dropout(attended, training=training))
        transformed = self.ffn_output(self.ffn_hidden(x))
        return self.ffn_norm(x + self.sublayer_dropout(transformed, training=training))

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "key_dim": self.key_dim, "ffn_units": self.ffn_units, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention over the target prefix, cross-attention over the
    encoder outputs, then the feed-forward network (dropout, residual and
    normalization around each). Masks: ``target_padding_mask`` (bool [B, T])
    and ``source_padding_mask`` (bool [B, S]).

    With ``return_attention_scores=True`` it also returns the
    cross-attention weights, [B, heads, T, S].
    """

    def __init__(self, embed_dim: int, num_heads: int = TRANSFORMER_HEADS, key_dim: int = 128,
                 ffn_units: int = 128, dropout: float = TRANSFORMER_DROPOUT, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.key_dim = embed_dim, num_heads, key_dim
        self.ffn_units, self.dropout = ffn_units, dropout
        self.self_attention = keras.layers.MultiHeadAttention(
            num_heads, key_dim, name="self_attention")
        self.self_attention_norm = keras.layers.LayerNormalization(name="self_attention_norm")
        self.cross_attention = keras.layers.MultiHeadAttention(
            num_heads, key_dim, name="cross_attention")
        self.cross_attention_norm = keras.layers.LayerNormalization(name="cross_attention_norm")
        self.ffn_hidden = keras.layers.Dense(ffn_units, activation="relu", name="ffn_hidden")
        self.ffn_output = keras.layers.Dense(embed_dim, name="ffn_output")
        self.ffn_norm = keras.layers.LayerNormalization(name="ffn_norm")
        self.sublayer_dropout = keras.layers.Dropout(dropout)

    def build(self, inputs_shape, encoder_outputs_shape):
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm.build(inputs_shape)
        self.cross_attention.build(inputs_shape, encoder_outputs_shape)
        self.cross_attention_norm.build(inputs_shape)
        self.ffn_hidden.build(inputs_shape)
        self.ffn_output.build(tuple(inputs_shape[:-1]) + (self.ffn_units,))
        self.ffn_norm.build(inputs_shape)
        self.built = True

    def call(self, inputs, encoder_outputs, target_padding_mask=None, source_padding_mask=None,
             training=None, return_attention_scores=False):
        length = tf.shape(inputs)[1]
        causal = _causal_mask(length)
        own = _key_mask(target_padding_mask, length)
        self_mask = causal if own is None else tf.logical_and(causal, own)
        attended = self.self_attention(inputs, inputs, attention_mask=self_mask, training=training)
        x = self.self_attention_norm(inputs + self.sublayer_dropout(attended, training=training))

        attended, weights = self.cross_attention(
            x, encoder_outputs, attention_mask=_key_mask(source_padding_mask, length),
            return_attention_scores=True, training=training)
        x = self.cross_attention_norm(x + self.sublayer_dropout(attended, training=training))

        transformed = self.ffn_output(self.ffn_hidden(x))
        x = self.ffn_norm(x + self.sublayer_dropout(transformed, training=training))
        return (x, weights) if return_attention_scores else x

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "key_dim": self.key_dim, "ffn_units": self.ffn_units, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class BahdanauDecoder(keras.layers.Layer):
    """An LSTM decoder with additive (Bahdanau) attention in its recurrence.

    At every target position the previous hidden state, projected, queries
    the encoder outputs (keys: the encoder outputs, projected once per
    sentence): ``score = v · tanh(W_q h + W_k s)`` (Keras'
    ``AdditiveAttention``, whose scale vector is v). The context joins the
    embedded previous token as the LSTM cell's input. Keras 3's RNN layer
    passes no per-sentence constants to its cell, so this layer runs the
    recurrence itself with ``tf.scan`` (any target length, one graph); the
    step decoder calls `step`, the same function the scan runs.

    Call: ``inputs`` embedded decoder inputs [B, T, E], ``encoder_outputs``
    [B, S, D], ``initial_state`` [h, c] ([B, units] each),
    ``source_padding_mask`` bool [B, S]. Returns the hidden states
    [B, T, units]; a Keras mask on ``inputs`` carries over to them.
    """

    def __init__(self, units: int, attention_units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("units", units, 1)
        self.attention_units = (self.units if attention_units is None
                                else check_int("attention_units", attention_units, 1))
        self.cell = keras.layers.LSTMCell(self.units, name="cell")
        self.query_projection = keras.layers.Dense(
            self.attention_units, use_bias=False, name="query_projection")
        self.key_projection = keras.layers.Dense(
            self.attention_units, use_bias=False, name="key_projection")
        self.attention = keras.layers.AdditiveAttention(name="additive_attention")
        # The target padding needs no handling inside: the recurrence only
        # looks back, and the loss weights padded positions 0.
        self.supports_masking = True

    def build(self, inputs_shape, encoder_outputs_shape):
        self.cell.build((None, inputs_shape[-1] + encoder_outputs_shape[-1]))
        self.query_projection.build((None, self.units))
        self.key_projection.build(encoder_outputs_shape)
        self.attention.build([(None, 1, self.attention_units), encoder_outputs_shape,
                              (None, None, self.attention_units)])
        self.built = True

    def project_keys(self, encoder_outputs):
        """The attention keys, computed once per sentence: [B, S, attention_units]."""
        return self.key_projection(encoder_outputs)

    def step(self, token_embeddings, states, encoder_outputs, keys, source_padding_mask=None):
        """One target position: (output [B, units], [h, c], weights [B, S])."""
        h, c = states
        query = self.query_projection(h)[:, tf.newaxis, :]
        context, weights = self.attention(
            [query, encoder_outputs, keys], mask=[None, source_padding_mask],
            return_attention_scores=True)
        cell_inputs = tf.concat([token_embeddings, context[:, 0]], axis=-1)
        output, (h, c) = self.cell(cell_inputs, [h, c])
        return output, [h, c], weights[:, 0]

    def call(self, inputs, encoder_outputs, initial_state, source_padding_mask=None):
        keys = self.project_keys(encoder_outputs)

        def advance(states, token_embeddings):
            _, new_states, _ = self.step(token_embeddings, list(states), encoder_outputs, keys,
                                         source_padding_mask)
            return tuple(new_states)

        time_major = tf.transpose(inputs, [1, 0, 2])
        hidden, _ = tf.scan(advance, time_major, initializer=tuple(initial_state))
        return tf.transpose(hidden, [1, 0, 2])

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape):
        return tuple(inputs_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "attention_units": self.attention_units}


# ---------------------------------------------------------------------------
# The networks
# ---------------------------------------------------------------------------


def _check_positions(positions: str) -> str:
    if positions not in POSITIONS:
        raise ValueError(f"positions must be one of {', '.join(map(repr, POSITIONS))}, "
                         f"got positions={positions!r}.")
    return positions


def _inputs() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    # int64: what Transform writes and what the decoders feed.
    return (keras.Input(shape=(None,), dtype="int64", name=ENCODER_INPUTS),
            keras.Input(shape=(None,), dtype="int64", name=DECODER_INPUTS))


def _recurrent(variant: str, source_vocab: int, target_vocab: int, embed_dim: int,
               units: int) -> keras.Model:
    encoder_inputs, decoder_inputs = _inputs()
    source = keras.layers.Embedding(source_vocab, embed_dim, mask_zero=True,
                                    name=SOURCE_EMBEDDING)(encoder_inputs)
    target = keras.layers.Embedding(target_vocab, embed_dim, mask_zero=True,
                                    name=TARGET_EMBEDDING)(decoder_inputs)

    if variant == "encoder_decoder":
        _, state_h, state_c = keras.layers.LSTM(units, return_state=True, name=ENCODER)(source)
        encoder_outputs = None
    else:
        with_sequences = variant in ATTENTION_VARIANTS
        encoded = keras.layers.Bidirectional(
            keras.layers.LSTM(units // 2, return_state=True, return_sequences=with_sequences),
            name=ENCODER)(source)
        encoder_outputs, forward_h, forward_c, backward_h, backward_c = encoded
        # Both directions' final states side by side: the decoder's units.
        state_h = keras.layers.Concatenate(name=ENCODER_STATE_H)([forward_h, backward_h])
        state_c = keras.layers.Concatenate(name=ENCODER_STATE_C)([forward_c, backward_c])

    if variant == "bahdanau":
        source_mask = PaddingMask(name=SOURCE_PADDING_MASK)(encoder_inputs)
        decoded = BahdanauDecoder(units, name=DECODER)(
            target, encoder_outputs, initial_state=[state_h, state_c],
            source_padding_mask=source_mask)
    else:
        decoded = keras.layers.LSTM(units, return_sequences=True, name=DECODER)(
            target, initial_state=[state_h, state_c])
        if variant == "attention":
            # Query: the decoder outputs; values: the encoder outputs. Both
            # carry their embeddings' padding masks, which the layer applies.
            decoded = keras.layers.Attention(name=ATTENTION)([decoded, encoder_outputs])

    logits = keras.layers.Dense(target_vocab, name=OUTPUT_LOGITS)(decoded)
    return keras.Model({ENCODER_INPUTS: encoder_inputs, DECODER_INPUTS: decoder_inputs},
                       logits, name=f"translation_{variant}")


def _transformer(source_vocab: int, target_vocab: int, embed_dim: int, positions: str,
                 max_length: int) -> keras.Model:
    encoder_inputs, decoder_inputs = _inputs()
    source_mask = PaddingMask(name=SOURCE_PADDING_MASK)(encoder_inputs)
    target_mask = PaddingMask(name=TARGET_PADDING_MASK)(decoder_inputs)
    # The book ties each head's key_dim and the feed-forward width to the
    # embedding size (128).
    sizes = dict(embed_dim=embed_dim, num_heads=TRANSFORMER_HEADS, key_dim=embed_dim,
                 ffn_units=embed_dim, dropout=TRANSFORMER_DROPOUT)

    encoded = PositionalEmbedding(source_vocab, embed_dim, max_length, positions,
                                  name=SOURCE_EMBEDDING)(encoder_inputs)
    for index in range(TRANSFORMER_BLOCKS):
        encoded = TransformerEncoderBlock(**sizes, name=encoder_block_name(index))(
            encoded, padding_mask=source_mask)

    decoded = PositionalEmbedding(target_vocab, embed_dim, max_length, positions,
                                  name=TARGET_EMBEDDING)(decoder_inputs)
    for index in range(TRANSFORMER_BLOCKS):
        decoded = TransformerDecoderBlock(**sizes, name=decoder_block_name(index))(
            decoded, encoded, target_padding_mask=target_mask, source_padding_mask=source_mask)

    logits = keras.layers.Dense(target_vocab, name=OUTPUT_LOGITS)(decoded)
    return keras.Model({ENCODER_INPUTS: encoder_inputs, DECODER_INPUTS: decoder_inputs},
                       logits, name=f"translation_transformer_{positions}")


def build_model(variant: str, source_vocab_size: int, target_vocab_size: int, *,
                embed_dim: int = DEFAULT_EMBED_DIM, units: int = DEFAULT_UNITS,
                learning_rate: float = 1e-3, positions: str = "learned",
                max_length: int = MAX_LENGTH, seed: int = 42) -> keras.Model:
    """Builds and compiles one translation variant (see the module doc).

    Args:
      variant: one of `VARIANTS`.
      source_vocab_size, target_vocab_size: vocabulary sizes, special ids
        included (>= 4).
      embed_dim: embedding size; the Transformer's model width, key_dim per
        head and feed-forward width.
      units: LSTM units of the decoder (and encoder; the bidirectional
        encoders use units / 2 per direction, so it must be even there).
        The Transformer has no LSTM and ignores it.
      learning_rate: Nadam's learning rate (> 0).
      positions: the Transformer's position embeddings, "learned" (at most
        `max_length` positions) or "sinusoidal".
      max_length: the number of learned positions.
      seed: seeds Python, NumPy and the backend for reproducible weights.

    Returns:
      A compiled functional model: dict inputs "encoder_inputs" (int64
      [batch, source_len]) and "decoder_inputs" (int64 [batch, target_len]),
      output logits [batch, target_len, target_vocab_size]. Loss: sparse
      categorical cross-entropy on logits, averaged over the sample weights
      (feed `targets != PAD_ID`); weighted metric: accuracy.
    """
    variant = canonical_name("translation", variant, VARIANTS)
    source_vocab_size = check_int("source_vocab_size", source_vocab_size, MIN_VOCAB_SIZE,
                                  why=" (the special ids come first)")
    target_vocab_size = check_int("target_vocab_size", target_vocab_size, MIN_VOCAB_SIZE,
                                  why=" (PAD, OOV, SOS and EOS come first)")
    embed_dim = check_int("embed_dim", embed_dim, 1)
    units = check_int("units", units, 1)
    if variant in BIDIRECTIONAL_ENCODER_VARIANTS and units % 2:
        raise ValueError(f"units must be even for the {variant!r} variant (its bidirectional "
                         f"encoder has units / 2 per direction), got units={units}.")
    learning_rate = check_learning_rate(learning_rate)
    positions = _check_positions(positions)
    max_length = check_int("max_length", max_length, 1)
    seed = check_int("seed", seed, 0)

    keras.utils.set_random_seed(seed)
    if variant == "transformer":
        model = _transformer(source_vocab_size, target_vocab_size, embed_dim, positions, max_length)
    else:
        model = _recurrent(variant, source_vocab_size, target_vocab_size, embed_dim, units)
    model.compile(
        optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
        # The mean over real tokens: a batch's padding does not dilute it.
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"),
        # Weighted, so padded positions do not count (the Transformer's
        # logits carry no Keras mask).
        weighted_metrics=["accuracy"],
        # Length-bucketed batches change shape from batch to batch; XLA (the
        # "auto" choice on a GPU) would recompile for every new shape.
        jit_compile=False,
    )
    return model


# ---------------------------------------------------------------------------
# Step decoders: the trained layers, one target token at a time
# ---------------------------------------------------------------------------


def _layer(model: keras.Model, name: str, variant: str) -> keras.layers.Layer:
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"step_decoder: model {model.name!r} has no layer {name!r}; is it a "
                         f"{variant!r} model from translation.architectures.build_model?") from None


def _padding_mask(ids: tf.Tensor) -> tf.Tensor:
    return tf.not_equal(ids, tf.cast(PAD_ID, ids.dtype))


class _StepDecoderBase:
    """What every step decoder shares: the output layer and the attributes."""

    def __init__(self, model: keras.Model, variant: str):
        self.variant = variant
        self.has_attention = variant in ATTENTION_VARIANTS
        self.output_logits = _layer(model, OUTPUT_LOGITS, variant)
        self.target_vocab_size = int(self.output_logits.units)
        self.source_embedding = _layer(model, SOURCE_EMBEDDING, variant)
        self.target_embedding = _layer(model, TARGET_EMBEDDING, variant)

    def _log_probs(self, outputs: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(self.output_logits(outputs), tf.float32)
        return tf.nn.log_softmax(logits, axis=-1)


class RecurrentStepDecoder(_StepDecoderBase):
    """encoder_decoder, bidirectional, attention (Luong) and bahdanau: the
    state is the decoder LSTM's h and c."""

    def __init__(self, model: keras.Model, variant: str):
        super().__init__(model, variant)
        self.encoder = _layer(model, ENCODER, variant)
        self.decoder = _layer(model, DECODER, variant)
        self.bidirectional = variant in BIDIRECTIONAL_ENCODER_VARIANTS
        if self.bidirectional:
            self.state_h = _layer(model, ENCODER_STATE_H, variant)
            self.state_c = _layer(model, ENCODER_STATE_C, variant)
        self.attention = _layer(model, ATTENTION, variant) if variant == "attention" else None

    def encode(self, source_ids: tf.Tensor) -> Tensors:
        source_mask = _padding_mask(source_ids)
        embedded = self.source_embedding(source_ids)
        encoded = self.encoder(embedded, mask=source_mask, training=False)
        memory = {"source_mask": source_mask}
        if self.bidirectional:
            outputs, forward_h, forward_c, backward_h, backward_c = encoded
            memory["h"] = self.state_h([forward_h, backward_h])
            memory["c"] = self.state_c([forward_c, backward_c])
            if self.has_attention:
                memory["encoder_outputs"] = outputs
            if self.variant == "bahdanau":
                memory["keys"] = self.decoder.project_keys(outputs)
        else:
            _, memory["h"], memory["c"] = encoded
        return memory

    def initial_state(self, memory: Tensors, max_length: tf.Tensor) -> Tensors:
        return {"h": memory["h"], "c": memory["c"]}

    def step(self, memory: Tensors, state: Tensors, tokens: tf.Tensor,
             position: tf.Tensor) -> tuple[tf.Tensor, Tensors, tf.Tensor]:
        # tf.identity drops the Keras mask the embedding attaches: a fed
        # token is never padding for the cell to skip.
        embedded = tf.identity(self.target_embedding(tokens))
        if self.variant == "bahdanau":
            outputs, (h, c), weights = self.decoder.step(
                embedded, [state["h"], state["c"]], memory["encoder_outputs"], memory["keys"],
                memory["source_mask"])
        else:
            outputs, (h, c) = self.decoder.cell(embedded, [state["h"], state["c"]], training=False)
            if self.attention is not None:
                outputs, weights = self.attention(
                    [outputs[:, tf.newaxis, :], memory["encoder_outputs"]],
                    mask=[None, memory["source_mask"]], return_attention_scores=True)
                outputs, weights = outputs[:, 0], weights[:, 0]
            else:
                weights = tf.zeros(tf.shape(memory["source_mask"]), tf.float32)
        return self._log_probs(outputs), {"h": h, "c": c}, tf.cast(weights, tf.float32)


class TransformerStepDecoder(_StepDecoderBase):
    """The state is a buffer of the tokens fed so far, [batch, max_length + 1]
    (a fixed shape for the while loop); every step re-runs the decoder blocks
    over the prefix and keeps the last position. The attention weights are
    the last block's cross-attention, averaged over the heads."""

    def __init__(self, model: keras.Model, variant: str):
        super().__init__(model, variant)
        self.encoder_blocks = [_layer(model, encoder_block_name(i), variant)
                               for i in range(TRANSFORMER_BLOCKS)]
        self.decoder_blocks = [_layer(model, decoder_block_name(i), variant)
                               for i in range(TRANSFORMER_BLOCKS)]

    def encode(self, source_ids: tf.Tensor) -> Tensors:
        source_mask = _padding_mask(source_ids)
        encoded = self.source_embedding(source_ids)
        for block in self.encoder_blocks:
            encoded = block(encoded, padding_mask=source_mask, training=False)
        return {"encoder_outputs": encoded, "source_mask": source_mask}

    def initial_state(self, memory: Tensors, max_length: tf.Tensor) -> Tensors:
        batch = tf.shape(memory["encoder_outputs"])[0]
        width = tf.cast(max_length, tf.int32) + 1
        return {"tokens": tf.fill(tf.stack([batch, width]), tf.constant(PAD_ID, tf.int64))}

    def step(self, memory: Tensors, state: Tensors, tokens: tf.Tensor,
             position: tf.Tensor) -> tuple[tf.Tensor, Tensors, tf.Tensor]:
        position = tf.cast(position, tf.int32)
        buffer = state["tokens"]
        at_position = tf.equal(tf.range(tf.shape(buffer)[1]), position)[tf.newaxis, :]
        buffer = tf.where(at_position, tf.cast(tokens, tf.int64)[:, tf.newaxis], buffer)
        prefix = buffer[:, :position + 1]

        decoded = self.target_embedding(prefix)
        target_mask = _padding_mask(prefix)
        for block in self.decoder_blocks:
            decoded, weights = block(decoded, memory["encoder_outputs"],
                                     target_padding_mask=target_mask,
                                     source_padding_mask=memory["source_mask"],
                                     training=False, return_attention_scores=True)
        attention = tf.reduce_mean(tf.cast(weights[:, :, -1, :], tf.float32), axis=1)
        return self._log_probs(decoded[:, -1]), {"tokens": buffer}, attention


def step_decoder(model: keras.Model, variant: str) -> StepDecoder:
    """A `step.StepDecoder` over `model`'s trained layers (shared weights).

    Uses only the model's layers and TensorFlow ops and creates no
    variables, so it runs inside `tf.function`/`tf.while_loop` and exports
    with the model. `step` returns log-softmax of the logits the model gives
    at the same position under teacher forcing.
    """
    variant = canonical_name("translation", variant, VARIANTS)
    if not isinstance(model, keras.Model):
        raise ValueError(f"step_decoder expects a keras.Model, got {type(model).__name__}.")
    if variant == "transformer":
        return TransformerStepDecoder(model, variant)
    return RecurrentStepDecoder(model, variant)
