"""IMDb sentiment classifiers from *Hands-On ML* (3rd ed.), chapter 16.

Géron's first NLP model reads a movie review as a sequence of word ids and
predicts whether the review is positive. The chapter's real lesson is about
**padding**: reviews have different lengths, so a batch is right-padded with
id 0 up to its longest review, and a recurrent layer that is not told which
steps are padding will happily run over hundreds of meaningless steps at the
end of every short review, forgetting the words it has seen. That model
barely beats a coin flip. Masking the padding (or not padding at all) fixes
it. Every variant of the chapter is here, written in backend-neutral Keras 3
(only ``keras``, ``keras.ops`` and NumPy; no TensorFlow import), so the
id-input models run under the TensorFlow and the JAX backends.

Inputs of the id variants come from a TFT vocabulary, through an input named
``"tokens"``, shaped ``[batch, seq_len]`` with any ``seq_len`` (the input shape
is ``(None,)``): id ``PAD_ID`` (0) is padding, ``OOV_ID`` (1) an
out-of-vocabulary word, ids ``2 .. vocab_size - 1`` are words. Sequences are
right-padded. Int64 ids (what TFT produces) are accepted and cast to int32
on the way in. Every model outputs the probability that the review is
positive, ``[batch, 1]`` (sigmoid), and is compiled with binary
cross-entropy, Nadam and accuracy.

The variants (book accuracies on the IMDb test set in brackets):

* ``no_mask``: Embedding -> GRU -> Dense. The chapter's documented failure
  (about 0.50): padding drowns the signal. Kept as a regression example.
* ``mask_zero``: the same with ``Embedding(mask_zero=True)``; the mask flows
  to the GRU, which skips (carries its state over) the padding steps
  (0.8548 after 2 epochs).
* ``mask_dropout``: the mask built explicitly by a ``PaddingMask`` layer and
  handed to the GRU, which also gets input dropout (0.8700 after 5 epochs).
* ``ragged``: the book feeds ragged tensors, so there is no padding at all.
  Keras 3 has no ragged inputs; the same effect comes from the trainer
  grouping reviews of similar lengths into a batch and padding each batch
  only up to its own longest review (``LENGTH_BUCKETED_VARIANTS``). The
  network is the ``mask_zero`` one, so the little padding that is left is
  masked too.
* ``bidirectional``: ``mask_zero`` with a ``Bidirectional(GRU)``, reading the
  review both ways.
* ``pretrained``: raw review strings (input ``"text"``, ``[batch]``) through a
  pretrained sentence encoder (e.g. the Universal Sentence Encoder), then a
  small Dense head (``TEXT_INPUT_VARIANTS``). The encoder is an
  already-built Keras layer passed to ``build_model``; this module never
  loads or downloads anything (the trainer's default encoder, GloVe word
  vectors shipped in a PyPI package, is in ``local_encoder``).

Typical use::

    model = build_model("mask_dropout", vocab_size=1000)
    model.fit(train_ds, validation_data=valid_ds, epochs=5)
    p_positive = model.predict(token_ids)                 # [b, 1]

    encoder = keras.layers.TFSMLayer(local_use_dir, call_endpoint=...)
    model = build_model("pretrained", encoder=encoder)   # TensorFlow only
"""

from __future__ import annotations


import keras

from models.common.arguments import canonical_name, check_int, check_learning_rate

# ---------------------------------------------------------------------------
# Variant registry
# ---------------------------------------------------------------------------

VARIANTS: tuple[str, ...] = (
    "no_mask",
    "mask_zero",
    "mask_dropout",
    "ragged",
    "bidirectional",
    "pretrained",
)

DEFAULT_VARIANT = "mask_dropout"

# Variants meant to be trained on length-bucketed batches: the trainer groups
# reviews of similar lengths and pads each batch only up to its own longest
# review, which is what the book gets from ragged tensors (no padding tokens).
# The model itself accepts any sequence length, so nothing else changes.
LENGTH_BUCKETED_VARIANTS: frozenset[str] = frozenset({"ragged"})

# Variants whose recurrent layer skips padding (masked): batching reviews by
# length changes only what an epoch costs, not what the model computes, so
# the trainer buckets them too by default. no_mask is left alone: its
# failure is the padding itself.
MASKED_VARIANTS: frozenset[str] = frozenset({"mask_zero", "mask_dropout", "ragged", "bidirectional"})

# Variants that read raw review strings ("text", [batch]) instead of token ids.
TEXT_INPUT_VARIANTS: frozenset[str] = frozenset({"pretrained"})

# Token ids of the TFT vocabulary: 0 pads, 1 stands for any unknown word.
PAD_ID = 0
OOV_ID = 1
# Padding, OOV and at least one real word.
MIN_VOCAB_SIZE = 3

# mask_dropout: the fraction of embedding inputs the GRU drops in training.
GRU_DROPOUT = 0.2

# pretrained: width of the hidden Dense layer on top of the sentence encoder.
ENCODER_HEAD_UNITS = 64

SERIALIZATION_PACKAGE = "sentiment"


def canonical_variant(name: str) -> str:
    """Returns ``name`` if it is a known variant; raises ValueError otherwise."""
    return canonical_name("sentiment", name, VARIANTS)


# ---------------------------------------------------------------------------
# Custom layer
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PaddingMask(keras.layers.Layer):
    """Boolean mask of the real tokens: ``True`` where ``ids != padding_id``.

    This is what ``Embedding(mask_zero=True)`` computes behind the scenes;
    making it explicit shows where the mask comes from, and lets it be passed
    to the recurrent layer by hand (``gru(embeddings, mask=mask)``).
    """

    def __init__(self, padding_id: int = PAD_ID, **kwargs):
        super().__init__(**kwargs)
        self.padding_id = int(padding_id)

    def call(self, ids):
        return keras.ops.not_equal(ids, self.padding_id)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")

    def get_config(self):
        return {**super().get_config(), "padding_id": self.padding_id}


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


def _embedding(vocab_size, embed_dim, *, mask_zero):
    # With mask_zero=True the layer also emits `ids != 0` as a Keras mask,
    # which the functional API hands on to the next layer (the GRU).
    return keras.layers.Embedding(
        vocab_size, embed_dim, mask_zero=mask_zero, name="embedding"
    )


def _gru(units, *, seed, dropout=0.0, name="gru"):
    # Keep GRU's defaults (activation tanh, recurrent_activation sigmoid,
    # recurrent_dropout 0, reset_after=True, unroll False): on a GPU under
    # the TensorFlow backend they select the fused cuDNN kernel, much faster
    # than the step-by-step loop. cuDNN takes the mask as per-sample lengths,
    # so it only accepts right-padded masks (True...True False...False),
    # which is what right-padded ids give; a row of padding only (an empty
    # review) fails its check, so every review needs at least one token (an
    # OOV id will do). Input `dropout` is fine (one mask for the whole
    # sequence, applied before the kernel); recurrent dropout would force
    # the slow loop.
    return keras.layers.GRU(units, dropout=dropout, seed=seed, name=name)


def _positive_probability(x):
    output_layer = keras.layers.Dense(
        1, activation="sigmoid", name="positive_probability"
    )
    return output_layer(x)


# ---------------------------------------------------------------------------
# Architectures: each takes the "tokens" input and returns P(positive).
# ---------------------------------------------------------------------------


def _no_mask(tokens, *, vocab_size, embed_dim, units, seed):
    # The GRU also reads the padding: after a short review it runs over
    # hundreds of padding embeddings and its final state forgets the words.
    embeddings = _embedding(vocab_size, embed_dim, mask_zero=False)(tokens)
    x = _gru(units, seed=seed)(embeddings)
    return _positive_probability(x)


def _mask_zero(tokens, *, vocab_size, embed_dim, units, seed):
    # The mask travels with the embeddings; at masked steps the GRU copies
    # its previous state, so its final state is the one after the last word.
    embeddings = _embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = _gru(units, seed=seed)(embeddings)
    return _positive_probability(x)


def _mask_dropout(tokens, *, vocab_size, embed_dim, units, seed):
    # Same masking as mask_zero, but spelled out: compute the mask from the
    # ids and pass it to the GRU explicitly. Dropout on the GRU's inputs
    # regularizes the (large) embedding table.
    mask = PaddingMask(name="padding_mask")(tokens)
    embeddings = _embedding(vocab_size, embed_dim, mask_zero=False)(tokens)
    x = _gru(units, seed=seed, dropout=GRU_DROPOUT)(embeddings, mask=mask)
    return _positive_probability(x)


def _ragged(tokens, **sizes):
    # The book's ragged tensors avoid padding altogether. Here the trainer
    # gets the same effect by feeding length-bucketed batches padded only to
    # their own longest review (see LENGTH_BUCKETED_VARIANTS); the network is
    # mask_zero's, and its variable-length input accepts any such batch.
    return _mask_zero(tokens, **sizes)


def _bidirectional(tokens, *, vocab_size, embed_dim, units, seed):
    # The mask reaches both directions: the backward GRU starts at the last
    # real word, not at the padding. The two final states are concatenated.
    embeddings = _embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    bidirectional_gru = keras.layers.Bidirectional(
        _gru(units, seed=seed), name="bidirectional_gru"
    )
    x = bidirectional_gru(embeddings)
    return _positive_probability(x)


def _pretrained(text, *, encoder):
    # The sentence encoder turns each review string into one fixed-size
    # vector; a small classifier sits on top of it.
    embeddings = encoder(text)
    if isinstance(embeddings, dict):
        # Signature endpoints of a SavedModel return {output_name: tensor}.
        if len(embeddings) != 1:
            raise ValueError(
                "The encoder returns several outputs "
                f"({sorted(embeddings)}); pass a layer that returns one "
                "[batch, d] tensor of sentence embeddings."
            )
        (embeddings,) = embeddings.values()
    if len(embeddings.shape) != 2:
        raise ValueError(
            "The encoder must map a [batch] string tensor to [batch, d] "
            f"sentence embeddings, got output shape {tuple(embeddings.shape)}."
        )
    hidden = keras.layers.Dense(
        ENCODER_HEAD_UNITS, activation="relu", name="hidden"
    )
    x = hidden(embeddings)
    return _positive_probability(x)


_ARCHITECTURES = {
    "no_mask": _no_mask,
    "mask_zero": _mask_zero,
    "mask_dropout": _mask_dropout,
    "ragged": _ragged,
    "bidirectional": _bidirectional,
    "pretrained": _pretrained,
}
assert tuple(_ARCHITECTURES) == VARIANTS
assert DEFAULT_VARIANT in VARIANTS
assert LENGTH_BUCKETED_VARIANTS <= MASKED_VARIANTS <= set(VARIANTS)
assert TEXT_INPUT_VARIANTS <= set(VARIANTS)


def _check_encoder(variant, encoder):
    if variant not in TEXT_INPUT_VARIANTS:
        if encoder is not None:
            raise ValueError(
                f"encoder is only used by the {sorted(TEXT_INPUT_VARIANTS)} "
                f"variants, not by {variant!r}; got encoder={encoder!r}."
            )
        return None
    if encoder is None:
        raise ValueError(
            f"The {variant!r} variant needs a sentence encoder built from a "
            "local copy of a pretrained model, e.g. a TF-Hub Universal "
            "Sentence Encoder downloaded beforehand, or the packaged GloVe "
            "encoder (models.sentiment.local_encoder.default_encoder_path()), "
            "loaded with keras.layers.TFSMLayer(local_path, ...): pass it as "
            f"build_model({variant!r}, encoder=...). Nothing is downloaded "
            "at run time."
        )
    if not isinstance(encoder, keras.layers.Layer):
        raise ValueError(
            "encoder must be a keras.layers.Layer mapping [batch] strings to "
            f"[batch, d] embeddings, got {type(encoder).__name__}."
        )
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"The {variant!r} variant reads raw strings, which only the "
            "TensorFlow backend can hold; the current Keras backend is "
            f"{keras.backend.backend()!r}."
        )
    return encoder


def build_model(
    variant: str,
    *,
    vocab_size: int = 1000,
    embed_dim: int = 128,
    units: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 42,
    encoder: keras.layers.Layer | None = None,
) -> keras.Model:
    """Builds and compiles one sentiment variant.

    Args:
      variant: one of ``VARIANTS``.
      vocab_size: number of token ids, padding and OOV included (>= 3).
      embed_dim: size of the word embeddings (>= 1).
      units: GRU units (>= 1); the bidirectional variant has twice as many
        features after its GRU.
      learning_rate: Nadam's learning rate (> 0).
      seed: seeds Python, NumPy and the backend (weights and GRU dropout).
      encoder: only for ``TEXT_INPUT_VARIANTS`` (and required there): an
        already-built Keras layer mapping ``[batch]`` strings to ``[batch, d]``
        embeddings, e.g. ``keras.layers.TFSMLayer`` on a local SavedModel.
        Its trainability is the caller's choice (``encoder.trainable``).
        The size arguments are ignored by these variants.

    Returns:
      A compiled ``keras.Model`` named ``sentiment_<variant>`` with one input,
      ``"tokens"`` (``[batch, seq_len]`` int32 ids, any ``seq_len``) or
      ``"text"`` (``[batch]`` strings) for ``TEXT_INPUT_VARIANTS``, and one
      output, the probability of a positive review, ``[batch, 1]``.
    """
    variant = canonical_variant(variant)
    vocab_size = check_int("vocab_size", vocab_size, MIN_VOCAB_SIZE)
    embed_dim = check_int("embed_dim", embed_dim, 1)
    units = check_int("units", units, 1)
    learning_rate = check_learning_rate(learning_rate)
    seed = check_int("seed", seed, 0)
    encoder = _check_encoder(variant, encoder)

    keras.utils.set_random_seed(seed)
    if variant in TEXT_INPUT_VARIANTS:
        inputs = keras.Input(shape=(), dtype="string", name="text")
        outputs = _ARCHITECTURES[variant](inputs, encoder=encoder)
    else:
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        outputs = _ARCHITECTURES[variant](
            inputs,
            vocab_size=vocab_size,
            embed_dim=embed_dim,
            units=units,
            seed=seed,
        )
    model = keras.Model(inputs, outputs, name=f"sentiment_{variant}")
    model.compile(
        optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
