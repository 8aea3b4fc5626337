"""Tests for models.translation.architectures (TensorFlow backend).

Tiny sizes (vocabulary 20, embeddings 8, 16 units) and a tiny copy task
keep every variant to a few seconds; one model per variant is built and
trained once per module and shared by the tests.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.translation import architectures as arch
from preprocessing.translation_contract import EOS_ID, PAD_ID, SOS_ID

VOCAB = 20
SIZES = dict(embed_dim=8, units=16)
MAX_LENGTH = 12  # learned positions: room for the padded inputs below
EXTRA_PADS = 3

# name -> build_model arguments; each is built once per module.
CONFIGS = {
    "encoder_decoder": dict(variant="encoder_decoder"),
    "bidirectional": dict(variant="bidirectional"),
    "attention": dict(variant="attention"),
    "bahdanau": dict(variant="bahdanau"),
    "transformer_learned": dict(variant="transformer", positions="learned"),
    "transformer_sinusoidal": dict(variant="transformer", positions="sinusoidal"),
}
# Keras' Nadam makes the first training step slow to trace (seconds per
# model); one Transformer training run is enough to show that it trains.
UNTRAINED = ("transformer_sinusoidal",)


def _copy_task(n: int, seed: int, longest: int = 5):
    """Source = random words; target = the same words: decoder input SOS +
    words, target words + EOS, all right-padded."""
    rng = np.random.default_rng(seed)
    source = np.zeros((n, longest), np.int64)
    decoder_in = np.zeros((n, longest + 1), np.int64)
    target = np.zeros((n, longest + 1), np.int64)
    for row, length in enumerate(rng.integers(2, longest + 1, size=n)):
        words = rng.integers(4, VOCAB, size=length)
        source[row, :length] = words
        decoder_in[row, 0], decoder_in[row, 1:length + 1] = SOS_ID, words
        target[row, :length], target[row, length] = words, EOS_ID
    return source, decoder_in, target


def _inputs(source, decoder_in) -> dict[str, np.ndarray]:
    return {arch.ENCODER_INPUTS: source, arch.DECODER_INPUTS: decoder_in}


def _weights(target) -> np.ndarray:
    return (target != PAD_ID).astype("float32")


def _logits(model, source, decoder_in) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(_inputs(source, decoder_in), training=False))


def _pad(ids: np.ndarray, extra: int = EXTRA_PADS) -> np.ndarray:
    return np.pad(ids, ((0, 0), (0, extra)), constant_values=PAD_ID)


@pytest.fixture(scope="module", params=list(CONFIGS))
def trained(request):
    """(config name, variant, model, training history or None)."""
    config = dict(CONFIGS[request.param])
    variant = config.pop("variant")
    model = arch.build_model(variant, VOCAB, VOCAB, learning_rate=1e-2, max_length=MAX_LENGTH,
                             **SIZES, **config)
    history = None
    if request.param not in UNTRAINED:
        source, decoder_in, target = _copy_task(16, seed=1)
        # One batch per epoch: the loss of each epoch is on the same examples.
        history = model.fit(_inputs(source, decoder_in), target, sample_weight=_weights(target),
                            batch_size=16, epochs=4, verbose=0).history
    return request.param, variant, model, history


# --- Building -------------------------------------------------------------------


@pytest.mark.parametrize("variant", arch.VARIANTS)
def test_build_model_io_names_shapes_and_compilation(variant):
    model = arch.build_model(variant, 23, 17, learning_rate=0.005, **SIZES)

    assert sorted(model.input) == [arch.DECODER_INPUTS, arch.ENCODER_INPUTS]
    assert all(model.input[name].dtype == "int64" for name in model.input)
    assert tuple(model.output.shape) == (None, None, 17)
    names = {layer.name for layer in model.layers}
    assert {arch.SOURCE_EMBEDDING, arch.TARGET_EMBEDDING, arch.OUTPUT_LOGITS} <= names
    if variant == "transformer":
        assert {arch.encoder_block_name(0), arch.decoder_block_name(1)} <= names
    else:
        assert {arch.ENCODER, arch.DECODER} <= names
    assert (arch.ATTENTION in names) == (variant == "attention")
    assert model.get_layer(arch.OUTPUT_LOGITS).activation is keras.activations.linear

    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.005)
    loss = model.loss.get_config()
    assert loss["from_logits"] and loss["reduction"] == "mean_with_sample_weight"
    assert model.get_compile_config()["weighted_metrics"] == ["accuracy"]


def test_build_model_uses_the_book_sizes_by_default():
    model = arch.build_model("attention", 1000, 1000)
    assert model.get_layer(arch.SOURCE_EMBEDDING).output_dim == 128
    assert model.get_layer(arch.DECODER).units == 512
    assert model.get_layer(arch.ENCODER).forward_layer.units == 256
    assert model.get_layer(arch.OUTPUT_LOGITS).units == 1000

    block = arch.build_model("transformer", 1000, 1000).get_layer(arch.decoder_block_name(0))
    attention = block.cross_attention
    assert (attention.num_heads, attention.key_dim) == (8, 128)
    assert block.ffn_units == 128 and block.dropout == 0.1


@pytest.mark.parametrize("kwargs, match", [
    (dict(variant="seq2seq"), "Unknown translation variant 'seq2seq'"),
    (dict(source_vocab_size=3), "source_vocab_size must be >= 4.*got source_vocab_size=3"),
    (dict(target_vocab_size=2), "target_vocab_size must be >= 4.*got target_vocab_size=2"),
    (dict(target_vocab_size=20.0), "target_vocab_size must be an integer"),
    (dict(positions="rotary"), "positions must be one of 'learned', 'sinusoidal'.*'rotary'"),
    (dict(variant="transformer", positions="Learned"), "positions=.Learned."),
    (dict(embed_dim=0), "embed_dim must be >= 1, got embed_dim=0"),
    (dict(units=15), "units must be even for the 'bidirectional' variant.*units=15"),
    (dict(learning_rate=0.0), "learning_rate=0.0"),
    (dict(max_length=0), "max_length must be >= 1"),
    (dict(seed=-1), "seed must be >= 0"),
])
def test_build_model_rejects_bad_arguments(kwargs, match):
    arguments = dict(variant="bidirectional", source_vocab_size=VOCAB, target_vocab_size=VOCAB,
                     **SIZES)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        arch.build_model(arguments.pop("variant"), arguments.pop("source_vocab_size"),
                         arguments.pop("target_vocab_size"), **arguments)


def test_step_decoder_rejects_a_wrong_variant_or_model():
    model = arch.build_model("encoder_decoder", VOCAB, VOCAB, **SIZES)
    with pytest.raises(ValueError, match="Unknown translation variant 'luong'"):
        arch.step_decoder(model, "luong")
    with pytest.raises(ValueError, match="has no layer 'encoder_block_0'"):
        arch.step_decoder(model, "transformer")
    with pytest.raises(ValueError, match="expects a keras.Model"):
        arch.step_decoder("model", "attention")


# --- Training, saving -------------------------------------------------------------


# An untrained model saves an unbuilt optimizer; the reloaded one is built.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_trains_saves_and_reloads(trained, tmp_path):
    name, _, model, history = trained
    if history is not None:
        assert all(np.isfinite(history["loss"]))
        assert history["loss"][-1] < history["loss"][0]  # it learns to copy
        assert 0.0 <= history["accuracy"][-1] <= 1.0

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    source, decoder_in, _ = _copy_task(4, seed=2)
    np.testing.assert_allclose(_logits(reloaded, source, decoder_in),
                               _logits(model, source, decoder_in), atol=1e-6)
    assert isinstance(reloaded.optimizer, keras.optimizers.Nadam)


# --- Masks ------------------------------------------------------------------------------


def test_padding_changes_neither_real_positions_nor_the_loss(trained):
    _, _, model, _ = trained
    source, decoder_in, target = _copy_task(4, seed=3)
    spec = tf.TensorSpec([None, None], tf.int64)
    # One graph for every length, as the trainer's length buckets need.
    run = tf.function(lambda s, d: model(_inputs(s, d), training=False), input_signature=[spec, spec])

    logits = run(source, decoder_in).numpy()
    real = decoder_in != PAD_ID
    for padded_source, padded_decoder in ((True, False), (False, True), (True, True)):
        s = _pad(source) if padded_source else source
        d = _pad(decoder_in) if padded_decoder else decoder_in
        padded = run(s, d).numpy()[:, :decoder_in.shape[1]]
        np.testing.assert_allclose(padded[real], logits[real], atol=1e-5)

    loss = model.loss  # the compiled loss, on the compiled reduction
    plain = loss(target, logits, sample_weight=_weights(target))
    padded_target = _pad(target)
    padded = loss(padded_target, run(_pad(source), _pad(decoder_in)).numpy(),
                  sample_weight=_weights(padded_target))
    np.testing.assert_allclose(float(padded), float(plain), rtol=1e-5)


def test_evaluation_ignores_padding(trained):
    _, _, model, _ = trained
    source, decoder_in, target = _copy_task(4, seed=4)
    padded_target = _pad(target)
    plain = model.evaluate(_inputs(source, decoder_in), target, sample_weight=_weights(target),
                           batch_size=4, verbose=0, return_dict=True)
    padded = model.evaluate(_inputs(_pad(source), _pad(decoder_in)), padded_target,
                            sample_weight=_weights(padded_target), batch_size=4, verbose=0,
                            return_dict=True)
    assert padded["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert padded["accuracy"] == pytest.approx(plain["accuracy"], abs=1e-6)


def test_decoder_is_causal(trained):
    _, _, model, _ = trained
    source, decoder_in, _ = _copy_task(3, seed=5)
    decoder_in[:, 1:] = np.where(decoder_in[:, 1:] == PAD_ID, 7, decoder_in[:, 1:])
    changed = decoder_in.copy()
    changed[:, 3] = np.where(changed[:, 3] == 5, 6, 5)

    before, after = _logits(model, source, decoder_in), _logits(model, source, changed)
    np.testing.assert_allclose(after[:, :3], before[:, :3], atol=1e-6)
    assert not np.allclose(after[:, 3], before[:, 3], atol=1e-6)


def test_learned_positions_stop_at_max_length():
    model = arch.build_model("transformer", VOCAB, VOCAB, max_length=4, **SIZES)
    ids = np.full((1, 5), 5, np.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than max_length=4"):
        model(_inputs(ids, ids))
    sinusoidal = arch.build_model("transformer", VOCAB, VOCAB, max_length=4,
                                  positions="sinusoidal", **SIZES)
    assert sinusoidal(_inputs(ids, ids)).shape == (1, 5, VOCAB)


# --- Step decoders ----------------------------------------------------------------


def _step_through(decoder, source, decoder_in):
    """Feeds decoder_in one token at a time: log-probs [B, T, V], attention [B, T, S]."""
    memory = decoder.encode(tf.constant(source))
    state = decoder.initial_state(memory, tf.constant(decoder_in.shape[1], tf.int32))
    shapes = {key: value.shape for key, value in state.items()}
    log_probs, attention = [], []
    for position in range(decoder_in.shape[1]):
        step_log_probs, state, weights = decoder.step(
            memory, state, tf.constant(decoder_in[:, position]), tf.constant(position, tf.int32))
        assert {key: value.shape for key, value in state.items()} == shapes
        log_probs.append(step_log_probs.numpy())
        attention.append(weights.numpy())
    return np.stack(log_probs, 1), np.stack(attention, 1)


def _graph_step_through(decoder):
    """The same in one graph: a tf.while_loop, as the decoders run it."""
    spec = tf.TensorSpec([None, None], tf.int64)

    @tf.function(input_signature=[spec, spec])
    def run(source, decoder_in):
        length = tf.shape(decoder_in)[1]
        memory = decoder.encode(source)
        state = decoder.initial_state(memory, length)
        log_probs = tf.TensorArray(tf.float32, size=length)
        attention = tf.TensorArray(tf.float32, size=length)

        def body(position, state, log_probs, attention):
            step_log_probs, state, weights = decoder.step(memory, state, decoder_in[:, position], position)
            return (position + 1, state, log_probs.write(position, step_log_probs),
                    attention.write(position, weights))

        _, _, log_probs, attention = tf.while_loop(
            lambda position, *_: position < length, body, (tf.constant(0), state, log_probs, attention))
        return (tf.transpose(log_probs.stack(), [1, 0, 2]),
                tf.transpose(attention.stack(), [1, 0, 2]))

    return run


def test_step_decoder_matches_teacher_forcing(trained):
    name, variant, model, _ = trained
    decoder = arch.step_decoder(model, variant)
    assert decoder.target_vocab_size == VOCAB
    assert decoder.has_attention == (variant in arch.ATTENTION_VARIANTS)

    source, decoder_in, _ = _copy_task(3, seed=6)
    source = _pad(source, 1)  # padding the decoders must ignore
    expected = tf.nn.log_softmax(_logits(model, source, decoder_in)).numpy()
    real = decoder_in != PAD_ID
    weights_before = [w.copy() for w in model.get_weights()]

    eager_log_probs, eager_attention = _step_through(decoder, source, decoder_in)
    graph_log_probs, graph_attention = _graph_step_through(decoder)(source, decoder_in)
    for log_probs, attention in ((eager_log_probs, eager_attention),
                                 (graph_log_probs.numpy(), graph_attention.numpy())):
        np.testing.assert_allclose(log_probs[real], expected[real], atol=1e-4, err_msg=name)
        assert attention.shape == decoder_in.shape + (source.shape[1],)
        source_real = np.broadcast_to((source != PAD_ID)[:, None, :], attention.shape)
        if decoder.has_attention:
            # A distribution over the real source positions.
            np.testing.assert_allclose(attention.sum(-1)[real], 1.0, atol=1e-5)
            np.testing.assert_allclose(attention[~source_real], 0.0, atol=1e-6)
        else:
            assert not attention.any()
    # Stepping reuses the trained layers: no new weights, none changed.
    assert len(model.get_weights()) == len(weights_before)
    for before, after in zip(weights_before, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_bahdanau_step_is_the_layers_own_step():
    model = arch.build_model("bahdanau", VOCAB, VOCAB, **SIZES)
    layer = model.get_layer(arch.DECODER)
    assert isinstance(layer, arch.BahdanauDecoder)
    decoder = arch.step_decoder(model, "bahdanau")
    assert decoder.decoder is layer


@pytest.mark.parametrize("variant", ["bahdanau", "transformer"])
def test_step_decoder_exports_in_a_saved_model(variant, tmp_path):
    # The serving graph holds the step loop; the model's variables travel with it.
    model = arch.build_model(variant, VOCAB, VOCAB, max_length=MAX_LENGTH, **SIZES)
    module = tf.Module()
    module.model = model
    module.model_variables = [v.value for v in model.variables]
    module.run = _graph_step_through(arch.step_decoder(model, variant))
    source, decoder_in, _ = _copy_task(2, seed=7)
    expected = module.run(source, decoder_in)

    tf.saved_model.save(module, str(tmp_path / variant))
    loaded = tf.saved_model.load(str(tmp_path / variant))
    for before, after in zip(expected, loaded.run(source, decoder_in)):
        np.testing.assert_allclose(after.numpy(), before.numpy(), atol=1e-6)
