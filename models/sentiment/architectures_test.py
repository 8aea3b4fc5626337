"""Tests for models.sentiment.architectures (backend-neutral Keras 3).

The id-input variants run under any backend; the ``pretrained`` variant reads
raw strings, which only the TensorFlow backend can hold, so its tests are
skipped elsewhere.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.sentiment import architectures as arch

# Tiny sizes keep every test fast on a CPU.
SIZES = dict(vocab_size=50, embed_dim=8, units=8)
SEQ_LEN = 20
ID_VARIANTS = tuple(v for v in arch.VARIANTS if v not in arch.TEXT_INPUT_VARIANTS)
MASKED_VARIANTS = ("mask_zero", "mask_dropout", "ragged", "bidirectional")

requires_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason=(
        "the pretrained variant reads raw strings, which only the TensorFlow "
        f"backend supports (backend is {keras.backend.backend()!r})"
    ),
)


def _token_ids(batch: int, seq_len: int = SEQ_LEN, seed: int = 0) -> np.ndarray:
    """Right-padded word ids [b, seq_len]: review b has a random length >= 1."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, SIZES["vocab_size"], size=(batch, seq_len))
    lengths = rng.integers(1, seq_len + 1, size=batch)
    lengths[0] = seq_len  # at least one review without padding
    ids[np.arange(seq_len) >= lengths[:, None]] = arch.PAD_ID
    ids[:, 1] = np.where(lengths > 1, arch.OOV_ID, ids[:, 1])  # an unknown word
    return ids.astype("int32")


def _labels(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(batch, 1)).astype(
        "float32"
    )


def _pad_right(ids: np.ndarray, extra: int) -> np.ndarray:
    return np.pad(ids, [(0, 0), (0, extra)], constant_values=arch.PAD_ID)


def _predict(model, inputs) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(inputs, training=False))


def _gru_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        elif isinstance(layer, keras.layers.GRU):
            yield layer


@keras.saving.register_keras_serializable(package="sentiment_test")
class HashedCharEncoder(keras.layers.Layer):
    """Fake sentence encoder: mean of hashed character embeddings.

    Maps a ``[batch]`` string tensor to ``[batch, dim]``, like the Universal
    Sentence Encoder does, with a handful of trainable weights. String ops
    need TensorFlow, so it is only used under the TensorFlow backend.
    """

    def __init__(self, dim: int = 6, buckets: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.buckets = buckets

    def build(self, input_shape):
        self.table = self.add_weight(
            shape=(self.buckets, self.dim), initializer="normal", name="table"
        )

    def call(self, text):
        import tensorflow as tf

        chars = tf.strings.bytes_split(text)  # ragged [batch, n_chars]
        ids = tf.strings.to_hash_bucket_fast(chars, self.buckets)
        vectors = tf.gather(tf.convert_to_tensor(self.table), ids)
        total = tf.reduce_sum(vectors, axis=1)
        count = tf.cast(ids.row_lengths(), total.dtype)[:, None]
        return tf.math.divide_no_nan(total, count)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "buckets": self.buckets}


REVIEWS = np.array(
    [
        "A wonderful, moving film.",
        "Dull plot and wooden acting.",
        "I loved every minute of it!",
        "",  # an empty review must not produce NaNs
        "Worst movie of the year.",
        "Great cast, great script.",
        "Boring.",
        "Surprisingly good.",
    ],
    dtype=object,  # Keras cannot feed NumPy unicode ('<U') arrays
)
REVIEW_LABELS = np.array([[1], [0], [1], [0], [0], [1], [0], [1]], "float32")


# --- Registry ---------------------------------------------------------------


def test_registry_is_consistent():
    assert arch.VARIANTS == (
        "no_mask",
        "mask_zero",
        "mask_dropout",
        "ragged",
        "bidirectional",
        "pretrained",
    )
    assert arch.DEFAULT_VARIANT == "mask_dropout"
    assert arch.LENGTH_BUCKETED_VARIANTS == frozenset({"ragged"})
    assert arch.TEXT_INPUT_VARIANTS == frozenset({"pretrained"})
    assert (arch.PAD_ID, arch.OOV_ID) == (0, 1)


def test_canonical_variant_accepts_every_variant():
    for variant in arch.VARIANTS:
        assert arch.canonical_variant(variant) == variant


def test_canonical_variant_rejects_unknown_name():
    with pytest.raises(ValueError, match="'transformer'") as info:
        arch.canonical_variant("transformer")
    for variant in arch.VARIANTS:
        assert variant in str(info.value)
    with pytest.raises(ValueError, match="must be a string"):
        arch.canonical_variant(3)


# --- Building ---------------------------------------------------------------


@pytest.mark.parametrize("variant", ID_VARIANTS)
def test_build_model_output_shape(variant):
    model = arch.build_model(variant, **SIZES)

    assert model.name == f"sentiment_{variant}"
    assert model.input.name == "tokens"
    assert tuple(model.input.shape) == (None, None)
    assert model.input.dtype == "int32"
    assert tuple(model.output.shape) == (None, 1)
    assert model.compiled
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 1e-3)
    config = model.get_compile_config()
    assert config["loss"] == "binary_crossentropy"
    assert config["metrics"] == ["accuracy"]

    outputs = _predict(model, _token_ids(5))
    assert outputs.shape == (5, 1)
    assert np.all((outputs > 0.0) & (outputs < 1.0))


def test_build_model_uses_the_book_sizes_by_default():
    model = arch.build_model("mask_zero")
    embedding = model.get_layer("embedding")
    assert (embedding.input_dim, embedding.output_dim) == (1000, 128)
    assert embedding.mask_zero
    assert model.get_layer("gru").units == 128
    assert not arch.build_model("no_mask").get_layer("embedding").mask_zero


def test_build_model_learning_rate_override():
    model = arch.build_model("no_mask", learning_rate=0.02, **SIZES)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.02)


def test_build_model_is_reproducible_for_a_seed():
    first = arch.build_model("bidirectional", seed=7, **SIZES).get_weights()
    second = arch.build_model("bidirectional", seed=7, **SIZES).get_weights()
    other = arch.build_model("bidirectional", seed=8, **SIZES).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


@pytest.mark.parametrize("variant", ID_VARIANTS)
def test_grus_keep_the_cudnn_compatible_defaults(variant):
    grus = list(_gru_layers(arch.build_model(variant, **SIZES)))
    assert len(grus) == (2 if variant == "bidirectional" else 1)
    for gru in grus:
        assert gru.cell.activation is keras.activations.tanh
        assert gru.cell.recurrent_activation is keras.activations.sigmoid
        assert gru.cell.recurrent_dropout == 0
        assert gru.cell.reset_after and gru.cell.use_bias
        assert not gru.unroll
        assert gru.use_cudnn == "auto"
        expected_dropout = arch.GRU_DROPOUT if variant == "mask_dropout" else 0
        assert gru.cell.dropout == expected_dropout


def test_bidirectional_concatenates_both_directions():
    model = arch.build_model("bidirectional", **SIZES)
    layer = model.get_layer("bidirectional_gru")
    assert layer.merge_mode == "concat"
    assert tuple(layer.output.shape) == (None, 2 * SIZES["units"])
    assert layer.backward_layer.go_backwards


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(variant="lstm"), "Unknown sentiment variant 'lstm'"),
        (dict(vocab_size=2), "vocab_size must be >= 3, got vocab_size=2"),
        (dict(vocab_size=10.0), "vocab_size must be an integer"),
        (dict(embed_dim=0), "embed_dim must be >= 1, got embed_dim=0"),
        (dict(units=-4), "units must be >= 1, got units=-4"),
        (dict(units=True), "units must be an integer"),
        (dict(learning_rate=0.0), "learning_rate must be .* > 0.*=0.0"),
        (dict(learning_rate=-0.1), "learning_rate=-0.1"),
        (dict(learning_rate=float("inf")), "learning_rate=inf"),
        (dict(learning_rate="fast"), "learning_rate must be a number"),
        (dict(seed=-1), "seed must be >= 0"),
        (dict(encoder=keras.layers.Identity()), "encoder is only used by"),
    ],
)
def test_build_model_rejects_bad_arguments(kwargs, match):
    arguments = dict(variant="mask_zero", **SIZES)
    arguments.update(kwargs)
    variant = arguments.pop("variant")
    with pytest.raises(ValueError, match=match):
        arch.build_model(variant, **arguments)


# --- Train, save, reload -----------------------------------------------------


@pytest.mark.parametrize("variant", ID_VARIANTS)
def test_train_save_and_reload(variant, tmp_path):
    model = arch.build_model(variant, **SIZES)
    inputs, labels = _token_ids(8), _labels(8)
    before = model.get_weights()

    # 8 reviews in batches of 4: two training steps.
    history = model.fit(inputs, labels, batch_size=4, epochs=1, verbose=0)

    assert np.isfinite(history.history["loss"][-1])
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, model.get_weights())
    )

    path = tmp_path / f"{variant}.keras"
    model.save(path)
    # No custom_objects: registering PaddingMask must be enough.
    reloaded = keras.saving.load_model(path)

    assert reloaded.name == model.name
    assert reloaded.compiled
    assert isinstance(reloaded.optimizer, keras.optimizers.Nadam)
    np.testing.assert_allclose(
        _predict(reloaded, inputs), _predict(model, inputs), atol=1e-6
    )


def test_int64_ids_are_accepted():
    # TFT emits int64 ids; the int32 "tokens" input casts them.
    model = arch.build_model("mask_dropout", **SIZES)
    ids = _token_ids(3)
    np.testing.assert_allclose(
        _predict(model, ids.astype("int64")), _predict(model, ids), atol=1e-7
    )


# --- Masking: the heart of the chapter ----------------------------------------


@pytest.mark.parametrize("variant", MASKED_VARIANTS)
def test_extra_padding_does_not_change_masked_predictions(variant):
    model = arch.build_model(variant, **SIZES)
    ids = _token_ids(4)
    expected = _predict(model, ids)
    for extra in (1, 40):
        np.testing.assert_allclose(
            _predict(model, _pad_right(ids, extra)), expected, rtol=0, atol=1e-5
        )


def test_extra_padding_changes_the_unmasked_prediction():
    """The book's failure: without a mask the GRU reads the padding too.

    Step after step of padding pulls its state towards the same fixed point,
    whatever the words were: long padding makes every review look alike.
    """
    model = arch.build_model("no_mask", **SIZES)
    ids = _token_ids(4)  # review 0 has no padding, the others some
    original = _predict(model, ids)
    padded = _predict(model, _pad_right(ids, 40))

    assert abs(padded[0, 0] - original[0, 0]) > 1e-4
    assert np.ptp(original) > 1e-3  # four different predictions...
    np.testing.assert_allclose(padded, padded[0, 0], rtol=0, atol=1e-6)  # ...one


def test_masking_is_the_same_as_reading_only_the_real_words():
    masked = arch.build_model("mask_zero", **SIZES)
    unmasked = arch.build_model("no_mask", **SIZES)
    unmasked.set_weights(masked.get_weights())  # same layers, same weights
    ids = _token_ids(4)
    padded_predictions = _predict(masked, ids)
    for review, prediction in zip(ids, padded_predictions):
        words = review[review != arch.PAD_ID][None, :]
        np.testing.assert_allclose(
            _predict(unmasked, words)[0], prediction, rtol=0, atol=1e-5
        )


def test_padding_mask_layer():
    layer = arch.PaddingMask()
    ids = np.array([[5, 1, 7, 0, 0], [3, 0, 0, 0, 0]], dtype="int32")
    mask = keras.ops.convert_to_numpy(layer(ids))
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, ids != 0)  # OOV (1) is a real token

    symbolic = layer(keras.Input(shape=(None,), dtype="int32"))
    assert symbolic.dtype == "bool"
    assert tuple(symbolic.shape) == (None, None)

    config = arch.PaddingMask(padding_id=3, name="pad").get_config()
    assert config["padding_id"] == 3
    serialized = keras.saving.serialize_keras_object(arch.PaddingMask())
    assert serialized["registered_name"] == "sentiment>PaddingMask"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, arch.PaddingMask) and restored.padding_id == 0


def test_mask_dropout_is_only_active_in_training():
    model = arch.build_model("mask_dropout", **SIZES)
    assert isinstance(model.get_layer("padding_mask"), arch.PaddingMask)
    assert not model.get_layer("embedding").mask_zero  # the mask is explicit
    ids = _token_ids(8)
    inference = _predict(model, ids)
    np.testing.assert_array_equal(_predict(model, ids), inference)
    training = keras.ops.convert_to_numpy(model(ids, training=True))
    assert not np.allclose(training, inference, atol=1e-7)


# --- Ragged: length-bucketed batches ------------------------------------------


def test_ragged_accepts_batches_of_different_lengths():
    model = arch.build_model("ragged", **SIZES)
    short = _token_ids(4, seq_len=7, seed=1)
    long = _token_ids(4, seq_len=13, seed=2)
    for ids in (short, long):
        loss, accuracy = model.train_on_batch(ids, _labels(4))
        assert np.isfinite(loss)
        assert _predict(model, ids).shape == (4, 1)
    # A bucketed batch has no padding beyond its longest review: the same
    # reviews padded to a common length get the same predictions.
    padded_short = _pad_right(short, 13 - 7)
    np.testing.assert_allclose(
        _predict(model, padded_short), _predict(model, short), atol=1e-5
    )


# --- Pretrained sentence encoder -----------------------------------------------


def test_pretrained_without_encoder_asks_for_a_local_one():
    with pytest.raises(ValueError, match="local") as info:
        arch.build_model("pretrained")
    assert "downloaded" in str(info.value)


def test_pretrained_rejects_an_encoder_that_is_not_a_layer():
    with pytest.raises(ValueError, match="keras.layers.Layer"):
        arch.build_model("pretrained", encoder=lambda text: text)


@requires_tensorflow
def test_pretrained_trains_predicts_and_reloads(tmp_path):
    encoder = HashedCharEncoder(dim=6, name="sentence_encoder")
    model = arch.build_model("pretrained", encoder=encoder)

    assert model.name == "sentiment_pretrained"
    assert model.input.name == "text"
    assert model.input.dtype == "string"
    assert tuple(model.input.shape) == (None,)
    assert model.get_layer("hidden").units == arch.ENCODER_HEAD_UNITS
    assert model.get_layer("sentence_encoder") is encoder

    before = model.get_weights()
    history = model.fit(REVIEWS, REVIEW_LABELS, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, model.get_weights())
    )

    predictions = model.predict(REVIEWS, verbose=0)
    assert predictions.shape == (len(REVIEWS), 1)
    assert np.all((predictions > 0.0) & (predictions < 1.0))

    path = tmp_path / "pretrained.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        reloaded.predict(REVIEWS, verbose=0), predictions, atol=1e-6
    )


@requires_tensorflow
def test_pretrained_with_a_local_savedmodel_encoder(tmp_path):
    """The trainer's path: a TFSMLayer over a local SavedModel (frozen)."""
    import tensorflow as tf

    class TinySentenceEncoder(tf.Module):
        def __init__(self):
            self.table = tf.Variable(tf.random.normal([32, 5], seed=1))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            ids = tf.strings.to_hash_bucket_fast(tf.strings.split(text), 32)
            vectors = tf.ragged.map_flat_values(tf.gather, self.table, ids)
            return tf.math.divide_no_nan(
                tf.reduce_sum(vectors, axis=1),
                tf.cast(ids.row_lengths(), tf.float32)[:, None],
            )

    module = TinySentenceEncoder()
    path = str(tmp_path / "encoder")
    tf.saved_model.save(
        module,
        path,
        signatures={"serving_default": module.__call__.get_concrete_function()},
    )
    # A signature endpoint returns {"output_0": embeddings}: build_model
    # unwraps single-output dicts.
    encoder = keras.layers.TFSMLayer(
        path, call_endpoint="serving_default", trainable=False
    )
    model = arch.build_model("pretrained", encoder=encoder)
    model.fit(REVIEWS, REVIEW_LABELS, batch_size=4, epochs=1, verbose=0)
    predictions = model.predict(REVIEWS, verbose=0)
    assert predictions.shape == (len(REVIEWS), 1)
    assert np.all(np.isfinite(predictions))


@requires_tensorflow
def test_pretrained_rejects_an_encoder_with_the_wrong_output_rank():
    class TokenEncoder(keras.layers.Layer):
        def call(self, text):
            import tensorflow as tf

            return tf.zeros([tf.shape(text)[0], 3, 4])

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 3, 4)

    with pytest.raises(ValueError, match=r"\[batch, d\]"):
        arch.build_model("pretrained", encoder=TokenEncoder())


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="checks the error raised under the non-TensorFlow backends",
)
def test_pretrained_needs_the_tensorflow_backend():
    with pytest.raises(ValueError, match="TensorFlow backend"):
        arch.build_model("pretrained", encoder=keras.layers.Identity())


# --- Module hygiene -----------------------------------------------------------


def test_custom_objects_are_registered():
    get = keras.saving.get_registered_object
    assert get("sentiment>PaddingMask") is arch.PaddingMask


def test_module_does_not_import_tensorflow():
    source = open(arch.__file__, encoding="utf-8").read()
    assert "import tensorflow" not in source
    assert "from tensorflow" not in source
