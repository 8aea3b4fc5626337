"""Tests for models.char_rnn.architectures (backend-neutral Keras 3)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.char_rnn import architectures as arch

# A tiny vocabulary and tiny sizes keep every test fast on a CPU.
VOCABULARY = list("abcdefgh .\n!")
VOCAB_SIZE = len(VOCABULARY)
SIZES = dict(embed_dim=4, units=8)
SEQ_LEN = 10


def _char_ids(batch: int, seq_len: int = SEQ_LEN, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB_SIZE, size=(batch, seq_len)).astype("int32")


def _windows(batch: int, seed: int = 0):
    """Inputs and next-character targets, like the book's shifted windows."""
    ids = _char_ids(batch, SEQ_LEN + 1, seed)
    return ids[:, :-1], ids[:, 1:]


def _predict(model, inputs) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(inputs, training=False))


def _kept_states(model) -> list[np.ndarray]:
    gru = model.get_layer("gru")
    return [keras.ops.convert_to_numpy(state) for state in gru.states]


# --- Building -----------------------------------------------------------------


def test_build_model_outputs_next_char_logits_at_every_step():
    model = arch.build_model(VOCAB_SIZE, **SIZES)

    assert model.name == "char_rnn"
    assert [layer.name for layer in model.layers] == [
        "char_ids",
        "embedding",
        "gru",
        "next_char",
    ]
    assert model.input.name == "char_ids"
    assert model.input.dtype == "int32"
    assert tuple(model.input.shape) == (None, None)
    assert tuple(model.output.shape) == (None, None, VOCAB_SIZE)

    outputs = _predict(model, _char_ids(3))
    assert outputs.shape == (3, SEQ_LEN, VOCAB_SIZE)
    assert np.all(np.isfinite(outputs))
    # Logits, not probabilities: no softmax at the end.
    assert model.get_layer("next_char").activation is keras.activations.linear
    assert outputs.min() < 0.0
    assert not np.allclose(outputs.sum(axis=-1), 1.0)
    # Any sequence length.
    assert _predict(model, _char_ids(2, seq_len=1)).shape == (2, 1, VOCAB_SIZE)


def test_build_model_compiles_with_nadam_and_a_logits_loss():
    model = arch.build_model(VOCAB_SIZE, learning_rate=0.005, **SIZES)

    assert model.compiled
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.005)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"]
    assert model.get_compile_config()["metrics"] == ["accuracy"]


def test_build_model_uses_the_book_sizes_by_default():
    model = arch.build_model(39)
    embedding = model.get_layer("embedding")
    assert (embedding.input_dim, embedding.output_dim) == (39, 16)
    gru = model.get_layer("gru")
    assert gru.units == 128
    assert gru.return_sequences
    assert not gru.stateful
    assert model.get_layer("next_char").units == 39


def test_gru_keeps_the_cudnn_compatible_defaults():
    for stateful, batch_size in ((False, None), (True, 2)):
        model = arch.build_model(
            VOCAB_SIZE, stateful=stateful, batch_size=batch_size, **SIZES
        )
        gru = model.get_layer("gru")
        assert gru.cell.activation is keras.activations.tanh
        assert gru.cell.recurrent_activation is keras.activations.sigmoid
        assert gru.cell.dropout == 0 and gru.cell.recurrent_dropout == 0
        assert gru.cell.reset_after and gru.cell.use_bias
        assert not gru.unroll and not gru.go_backwards
        assert gru.use_cudnn == "auto"


def test_build_model_is_reproducible_for_a_seed():
    first = arch.build_model(VOCAB_SIZE, seed=7, **SIZES).get_weights()
    second = arch.build_model(VOCAB_SIZE, seed=7, **SIZES).get_weights()
    other = arch.build_model(VOCAB_SIZE, seed=8, **SIZES).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(vocab_size=1), "vocab_size must be >= 2, got vocab_size=1"),
        (dict(vocab_size=12.0), "vocab_size must be an integer"),
        (dict(embed_dim=0), "embed_dim must be >= 1, got embed_dim=0"),
        (dict(units=-3), "units must be >= 1, got units=-3"),
        (dict(units=True), "units must be an integer"),
        (dict(learning_rate=0.0), "learning_rate must be .* > 0.*=0.0"),
        (dict(learning_rate=-1e-3), "learning_rate=-0.001"),
        (dict(learning_rate=float("nan")), "learning_rate=nan"),
        (dict(learning_rate="fast"), "learning_rate must be a number"),
        (dict(stateful=True), "batch size must be fixed.*batch_size=N"),
        (dict(stateful=True, batch_size=0), "batch_size must be >= 1"),
        (dict(stateful=True, batch_size=2.0), "batch_size must be an integer"),
        (dict(batch_size=4), "batch_size is only used by stateful models"),
        (dict(stateful="yes", batch_size=1), "stateful must be a bool"),
        (dict(seed=-1), "seed must be >= 0"),
    ],
)
def test_build_model_rejects_bad_arguments(kwargs, match):
    arguments = dict(vocab_size=VOCAB_SIZE, **SIZES)
    arguments.update(kwargs)
    vocab_size = arguments.pop("vocab_size")
    with pytest.raises(ValueError, match=match):
        arch.build_model(vocab_size, **arguments)


# --- Train, save, reload ------------------------------------------------------


def test_train_save_and_reload(tmp_path):
    model = arch.build_model(VOCAB_SIZE, **SIZES)
    inputs, targets = _windows(8)
    before = model.get_weights()

    history = model.fit(inputs, targets, batch_size=4, epochs=1, verbose=0)

    assert np.isfinite(history.history["loss"][-1])
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, model.get_weights())
    )

    path = tmp_path / "char_rnn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)

    assert reloaded.name == model.name
    assert isinstance(reloaded.optimizer, keras.optimizers.Nadam)
    np.testing.assert_allclose(
        _predict(reloaded, inputs), _predict(model, inputs), atol=1e-6
    )


def test_untrained_loss_is_about_uniform():
    # With logits and from_logits=True, a fresh model's loss is ~log(vocab).
    model = arch.build_model(VOCAB_SIZE, **SIZES)
    inputs, targets = _windows(8)
    loss, _ = model.evaluate(inputs, targets, verbose=0)
    assert abs(loss - np.log(VOCAB_SIZE)) < 0.1


# --- Stateful models ----------------------------------------------------------


def test_stateful_model_has_a_fixed_batch_size():
    model = arch.build_model(VOCAB_SIZE, stateful=True, batch_size=2, **SIZES)

    assert model.name == "char_rnn_stateful"
    assert model.get_layer("gru").stateful
    assert tuple(model.input.shape) == (2, None)
    assert tuple(model.output.shape) == (2, None, VOCAB_SIZE)
    # The kept state is one vector per batch row, and not a weight.
    assert [state.shape for state in _kept_states(model)] == [(2, SIZES["units"])]
    assert len(model.get_weights()) == len(
        arch.build_model(VOCAB_SIZE, **SIZES).get_weights()
    )


def test_stateful_state_carries_over_until_reset():
    model = arch.build_model(VOCAB_SIZE, stateful=True, batch_size=2, **SIZES)
    ids = _char_ids(2)

    first = _predict(model, ids)
    assert np.abs(_kept_states(model)[0]).max() > 0
    second = _predict(model, ids)  # continues from the state left by `first`
    assert not np.allclose(first, second, atol=1e-5)

    arch.reset_states(model)
    np.testing.assert_array_equal(_kept_states(model)[0], 0.0)
    np.testing.assert_allclose(_predict(model, ids), first, atol=1e-6)


def test_stateful_reads_a_text_split_into_consecutive_batches():
    # Feeding a text in two halves to a stateful model gives the same
    # outputs as feeding it whole to the stateless one.
    stateful = arch.build_model(VOCAB_SIZE, stateful=True, batch_size=2, **SIZES)
    stateless = arch.stateless_copy(stateful)
    ids = _char_ids(2, seq_len=12)
    halves = np.concatenate(
        [_predict(stateful, ids[:, :6]), _predict(stateful, ids[:, 6:])], axis=1
    )
    np.testing.assert_allclose(halves, _predict(stateless, ids), atol=1e-5)


def test_reset_states_is_a_no_op_on_a_stateless_model():
    model = arch.build_model(VOCAB_SIZE, **SIZES)
    ids = _char_ids(2)
    expected = _predict(model, ids)
    arch.reset_states(model)
    np.testing.assert_array_equal(_predict(model, ids), expected)
    with pytest.raises(ValueError, match="expects a keras.Model"):
        arch.reset_states(model.get_layer("gru"))


def test_reset_states_each_epoch_callback():
    model = arch.build_model(VOCAB_SIZE, stateful=True, batch_size=2, **SIZES)
    callback = arch.ResetStatesEachEpoch()
    callback.set_model(model)

    _predict(model, _char_ids(2))
    assert np.abs(_kept_states(model)[0]).max() > 0
    callback.on_epoch_begin(0)
    np.testing.assert_array_equal(_kept_states(model)[0], 0.0)

    # And inside fit: consecutive windows, no shuffling, two epochs.
    inputs, targets = _windows(4)
    history = model.fit(
        inputs,
        targets,
        batch_size=2,
        epochs=2,
        shuffle=False,
        callbacks=[arch.ResetStatesEachEpoch()],
        verbose=0,
    )
    assert np.all(np.isfinite(history.history["loss"]))


def test_stateless_copy_matches_the_stateful_model_on_a_fresh_state():
    stateful = arch.build_model(
        VOCAB_SIZE, stateful=True, batch_size=2, learning_rate=0.01, **SIZES
    )
    inputs, targets = _windows(4)
    stateful.fit(inputs, targets, batch_size=2, shuffle=False, verbose=0)
    arch.reset_states(stateful)

    copy = arch.stateless_copy(stateful)

    assert copy.name == "char_rnn"
    assert not copy.get_layer("gru").stateful
    assert tuple(copy.input.shape) == (None, None)
    assert copy.get_layer("embedding").output_dim == SIZES["embed_dim"]
    assert copy.get_layer("gru").units == SIZES["units"]
    assert copy.compiled
    np.testing.assert_allclose(float(copy.optimizer.learning_rate), 0.01)
    ids = _char_ids(2)
    np.testing.assert_allclose(
        _predict(copy, ids), _predict(stateful, ids), atol=1e-6
    )
    # Any batch size, and every call starts over.
    assert _predict(copy, _char_ids(5)).shape == (5, SEQ_LEN, VOCAB_SIZE)
    np.testing.assert_array_equal(_predict(copy, ids), _predict(copy, ids))
    # A copy: training the original leaves it alone.
    before = copy.get_weights()
    stateful.fit(inputs, targets, batch_size=2, shuffle=False, verbose=0)
    for a, b in zip(before, copy.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_stateless_copy_rejects_other_models():
    inputs = keras.Input(shape=(None,), dtype="int32")
    other = keras.Model(inputs, keras.layers.Embedding(5, 2)(inputs))
    with pytest.raises(ValueError, match="build_model.*'gru'"):
        arch.stateless_copy(other)
    with pytest.raises(ValueError, match="expects a keras.Model"):
        arch.stateless_copy("model")


# An untrained model saves an optimizer that was never built; Keras warns.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_stateful_model_saves_and_reloads(tmp_path):
    model = arch.build_model(VOCAB_SIZE, stateful=True, batch_size=2, **SIZES)
    path = tmp_path / "stateful.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_layer("gru").stateful
    assert tuple(reloaded.input.shape) == (2, None)
    ids = _char_ids(2)
    np.testing.assert_allclose(
        _predict(reloaded, ids), _predict(model, ids), atol=1e-6
    )


# --- Module hygiene -----------------------------------------------------------


def test_module_does_not_import_tensorflow():
    source = open(arch.__file__, encoding="utf-8").read()
    assert "import tensorflow" not in source
    assert "from tensorflow" not in source
