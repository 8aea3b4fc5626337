"""Character-level language model from *Hands-On ML* (3rd ed.), chapter 16.

Géron's first NLP model reads Shakespeare one character at a time and learns
to predict the next one. Trained on windows of 100 characters (the target is
the window shifted by one), it is then used to *generate* text: feed a
prompt, sample the next character from the predicted distribution, append
it, repeat (see :mod:`models.char_rnn.generation`).

The network is deliberately small::

    char_ids [batch, time] -> Embedding(vocab, 16) -> GRU(128, sequences)
                           -> Dense(vocab)            # logits at every step

written in backend-neutral Keras 3 (only ``keras``, ``keras.ops`` and NumPy;
no TensorFlow import), so it runs under the TensorFlow and the JAX backends.
Unlike the book's ``Dense(vocab, activation="softmax")`` the output layer
emits **logits**; the loss is built with ``from_logits=True``, which is the
numerically safer pairing, and sampling code divides logits by a temperature
directly (the book's ``log(p) / T`` up to a constant). Apply a softmax to get
probabilities.

Character ids are ``0 .. vocab_size - 1`` with no padding or OOV id: the
book's ``TextVectorization`` vocabulary with its first two entries (``""``
and ``"[UNK]"``) dropped, i.e. its ``encoded -= 2``.

Two flavours share the same layers and weights:

* **stateless** (default): every batch starts from a zero state; any batch
  size and any sequence length. Used for training on overlapping windows and
  for serving.
* **stateful** (``stateful=True``): the GRU keeps its last state between
  batches, so consecutive batches continue the same text and the model can
  learn patterns longer than a window. The batch size must be fixed (one
  state per row) and the state must be reset at every epoch start
  (:class:`ResetStatesEachEpoch`). The book then serves the trained weights
  through a stateless copy (:func:`stateless_copy`).

Typical use::

    model = build_model(vocab_size=39)
    model.fit(windows_ds, validation_data=valid_ds, epochs=10)
    probabilities = keras.ops.softmax(model(char_ids)[:, -1])   # next char

    stateful = build_model(39, stateful=True, batch_size=1)
    stateful.fit(consecutive_windows_ds, epochs=10,
                 callbacks=[ResetStatesEachEpoch()])
    served = stateless_copy(stateful)
"""

from __future__ import annotations


import keras

from models.common.arguments import check_int, check_learning_rate

# Sizes of the book's model (MODELS.md): 39 lower-cased characters of
# tiny-shakespeare, 16-dimensional embeddings, 128 GRU units.
DEFAULT_EMBED_DIM = 16
DEFAULT_UNITS = 128

# A language model needs at least two characters to choose between.
MIN_VOCAB_SIZE = 2

INPUT_NAME = "char_ids"
EMBEDDING_LAYER = "embedding"
GRU_LAYER = "gru"
OUTPUT_LAYER = "next_char"

SERIALIZATION_PACKAGE = "char_rnn"


def _check_batch_size(stateful: bool, batch_size: int | None) -> int | None:
    if not isinstance(stateful, bool):
        raise ValueError(f"stateful must be a bool, got stateful={stateful!r}.")
    if not stateful:
        if batch_size is not None:
            raise ValueError(
                "batch_size is only used by stateful models (it fixes the "
                "number of GRU states kept between batches); a stateless "
                f"model accepts any batch size. Got batch_size={batch_size!r} "
                "with stateful=False."
            )
        return None
    if batch_size is None:
        raise ValueError(
            "A stateful model keeps one GRU state per batch row, so its batch "
            "size must be fixed: pass build_model(..., stateful=True, "
            "batch_size=N), e.g. batch_size=1 to read the text as one stream."
        )
    return check_int("batch_size", batch_size, 1)


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def _assemble(
    vocab_size: int,
    embed_dim: int,
    units: int,
    *,
    stateful: bool,
    batch_size: int | None,
) -> keras.Model:
    """The uncompiled network; sizes must already be validated."""
    if stateful:
        # One state per row, carried over to the same row of the next batch.
        char_ids = keras.Input(
            batch_shape=(batch_size, None), dtype="int32", name=INPUT_NAME
        )
    else:
        char_ids = keras.Input(shape=(None,), dtype="int32", name=INPUT_NAME)

    embeddings = keras.layers.Embedding(
        vocab_size, embed_dim, name=EMBEDDING_LAYER
    )(char_ids)
    # Keep GRU's defaults (tanh, sigmoid, no recurrent dropout,
    # reset_after=True, unroll=False): on a GPU under the TensorFlow backend
    # they select the fused cuDNN kernel. For a GRU the output at each step
    # *is* the new hidden state, which generation relies on.
    hidden = keras.layers.GRU(
        units, return_sequences=True, stateful=stateful, name=GRU_LAYER
    )(embeddings)
    # Logits of the next character at every step (no softmax: see the loss).
    logits = keras.layers.Dense(vocab_size, name=OUTPUT_LAYER)(hidden)

    name = "char_rnn_stateful" if stateful else "char_rnn"
    return keras.Model(char_ids, logits, name=name)


def _compile(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def build_model(
    vocab_size: int,
    *,
    embed_dim: int = DEFAULT_EMBED_DIM,
    units: int = DEFAULT_UNITS,
    learning_rate: float = 1e-3,
    stateful: bool = False,
    batch_size: int | None = None,
    seed: int = 42,
) -> keras.Model:
    """Builds and compiles the character language model.

    Args:
      vocab_size: number of distinct characters (>= 2); ids are
        ``0 .. vocab_size - 1``.
      embed_dim: size of the character embeddings (>= 1).
      units: GRU units (>= 1).
      learning_rate: Nadam's learning rate (> 0).
      stateful: keep the GRU state between batches (see the module doc).
      batch_size: the fixed batch size of a stateful model; required when
        ``stateful=True`` and rejected otherwise.
      seed: seeds Python, NumPy and the backend for reproducible weights.

    Returns:
      A compiled ``keras.Model`` named ``char_rnn`` (``char_rnn_stateful``)
      with one input, ``"char_ids"`` (``[batch, time]`` int32, any ``time``;
      ``batch`` fixed to ``batch_size`` when stateful), and one output, the
      next-character logits at every step, ``[batch, time, vocab_size]``.
      Trained with sparse categorical cross-entropy on logits; reports
      accuracy.
    """
    vocab_size = check_int("vocab_size", vocab_size, MIN_VOCAB_SIZE)
    embed_dim = check_int("embed_dim", embed_dim, 1)
    units = check_int("units", units, 1)
    learning_rate = check_learning_rate(learning_rate)
    batch_size = _check_batch_size(stateful, batch_size)
    seed = check_int("seed", seed, 0)

    keras.utils.set_random_seed(seed)
    model = _assemble(
        vocab_size, embed_dim, units, stateful=stateful, batch_size=batch_size
    )
    return _compile(model, learning_rate)


# ---------------------------------------------------------------------------
# Stateful models: reset and serve
# ---------------------------------------------------------------------------


def _stateful_rnns(model: keras.Model) -> list[keras.layers.RNN]:
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.RNN) and layer.stateful
    ]


def reset_states(model: keras.Model) -> None:
    """Zeroes the kept state of every stateful recurrent layer of ``model``.

    Keras 2's ``model.reset_states()`` is gone in Keras 3: ``keras.Model``
    has no such method, only the recurrent layers do (``RNN.reset_state()``,
    with ``reset_states()`` kept as an alias). A stateless model has nothing
    to reset; calling this on it is a no-op.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"reset_states expects a keras.Model, got {type(model).__name__}."
        )
    for layer in _stateful_rnns(model):
        layer.reset_state()


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Resets the GRU state at the start of every epoch.

    A stateful model reads the text as consecutive batches; a new epoch
    starts over at the beginning of the text, so the state left by the end
    of the previous epoch must not leak into it. (Callbacks are not saved
    with a model, so this one is not registered for serialization.)
    """

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)


def stateless_copy(model: keras.Model) -> keras.Model:
    """A stateless model with the same sizes and a copy of ``model``'s weights.

    The book trains the stateful variant, then serves its weights through a
    stateless model that accepts any batch size and starts every call from a
    zero state. Works on any model built by :func:`build_model` (copying a
    stateless model gives an independent clone). The copy is compiled like
    ``build_model`` does, with ``model``'s learning rate when it has one;
    the global random seeds are left alone.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"stateless_copy expects a keras.Model, got {type(model).__name__}."
        )
    try:
        embedding = model.get_layer(EMBEDDING_LAYER)
        gru = model.get_layer(GRU_LAYER)
        model.get_layer(OUTPUT_LAYER)
    except ValueError as error:
        raise ValueError(
            "stateless_copy expects a model from char_rnn.build_model, with "
            f"layers {EMBEDDING_LAYER!r}, {GRU_LAYER!r} and {OUTPUT_LAYER!r}: "
            f"{error}"
        ) from None

    copy = _assemble(
        embedding.input_dim,
        embedding.output_dim,
        gru.units,
        stateful=False,
        batch_size=None,
    )
    # The kept states are not weights (Keras 3 creates them untracked), so
    # both models list the same weights in the same order.
    copy.set_weights(model.get_weights())

    learning_rate = 1e-3
    if getattr(model, "optimizer", None) is not None:
        learning_rate = float(
            keras.ops.convert_to_numpy(model.optimizer.learning_rate)
        )
    return _compile(copy, learning_rate)
