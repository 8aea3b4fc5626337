"""Tests for models.char_rnn.generation (TensorFlow backend only)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

if keras.backend.backend() != "tensorflow":
    pytest.skip(
        "CharGenerator builds a TensorFlow graph (backend is "
        f"{keras.backend.backend()!r})",
        allow_module_level=True,
    )

import tensorflow as tf  # noqa: E402

from models.char_rnn import architectures as arch  # noqa: E402
from models.char_rnn import generation as gen  # noqa: E402

# Twelve lower-case characters, enough for "to be or not to be" and a few more.
VOCABULARY = list("abehnort .\n!")
SIZES = dict(embed_dim=4, units=8)
PROMPT = "to be or not to be"
N_CHARS = 20


@pytest.fixture(scope="module")
def model():
    # A few training steps on a repetitive text make the next-character
    # distributions less uniform than those of a fresh model.
    model = arch.build_model(len(VOCABULARY), learning_rate=0.02, seed=3, **SIZES)
    text = ("to be or not to be, that is the question!\n" * 4).replace(",", "")
    text = "".join(c for c in text if c in VOCABULARY)
    ids = np.array([VOCABULARY.index(c) for c in text], dtype="int32")
    windows = np.stack([ids[i : i + 17] for i in range(0, len(ids) - 17, 3)])
    model.fit(windows[:, :-1], windows[:, 1:], batch_size=16, epochs=3, verbose=0)
    return model


@pytest.fixture(scope="module")
def generator(model):
    return gen.CharGenerator(model, VOCABULARY)


def _generate(generator, prompt=PROMPT, *, n_chars=N_CHARS, temperature=1.0,
              top_k=0, top_p=1.0, seed=42) -> str:
    outputs = generator.generate(
        prompt=tf.constant(prompt),
        n_chars=tf.constant(n_chars, tf.int32),
        temperature=tf.constant(temperature, tf.float32),
        top_k=tf.constant(top_k, tf.int32),
        top_p=tf.constant(top_p, tf.float32),
        seed=tf.constant(seed, tf.int64),
    )
    return outputs["text"].numpy().decode("utf-8")


def _ids(text: str) -> list[int]:
    return [VOCABULARY.index(c) for c in text]


def _last_logits(model, text: str) -> np.ndarray:
    outputs = model(np.array([_ids(text)], dtype="int32"), training=False)
    return keras.ops.convert_to_numpy(outputs)[0, -1]


def _greedy_python(model, prompt: str, n_chars: int) -> str:
    """Greedy decoding the slow way: argmax over the whole text each step."""
    text = prompt
    for _ in range(n_chars):
        text += VOCABULARY[int(np.argmax(_last_logits(model, text)))]
    return text[len(prompt):]


# --- Reading the prompt with the GRU cell -------------------------------------


@pytest.mark.parametrize("prompt", ["t", "to be", PROMPT, "!\n. hat"])
def test_cell_stepping_matches_the_full_model(model, generator, prompt):
    outputs = generator.next_char_probs(prompt=tf.constant(prompt))
    expected = keras.ops.convert_to_numpy(
        keras.ops.softmax(_last_logits(model, prompt))
    )
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), expected, rtol=0, atol=1e-5
    )
    assert outputs["probabilities"].shape == (len(VOCABULARY),)
    assert [c.decode() for c in outputs["characters"].numpy()] == VOCABULARY


# --- Sampling -----------------------------------------------------------------


def test_generates_n_chars_from_the_vocabulary(generator):
    for n_chars in (1, N_CHARS):
        text = _generate(generator, n_chars=n_chars)
        assert len(text) == n_chars
        assert set(text) <= set(VOCABULARY)


def test_same_seed_same_text_and_other_seeds_differ(generator):
    text = _generate(generator, seed=42)
    assert _generate(generator, seed=42) == text
    others = {_generate(generator, seed=seed) for seed in (1, 2, 3)}
    assert text not in others and len(others) == 3


def test_tiny_temperature_top_k_1_and_tiny_top_p_are_greedy(model, generator):
    expected = _greedy_python(model, PROMPT, N_CHARS)
    assert _generate(generator, temperature=1e-4) == expected
    assert _generate(generator, temperature=1e-30) == expected  # no overflow
    assert _generate(generator, top_k=1) == expected
    assert _generate(generator, top_p=1e-6) == expected
    # Greedy decoding ignores the seed.
    assert _generate(generator, top_k=1, seed=7) == expected


def test_python_loop_baseline_draws_the_same_text(model, generator):
    baseline = gen.python_loop_generate(
        model, VOCABULARY, "To Be", n_chars=12, temperature=1.5, seed=5
    )
    assert len(baseline) == 12
    assert baseline == _generate(generator, "to be", n_chars=12,
                                 temperature=1.5, seed=5)


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(1.0, 2, 1.0), (2.0, 0, 0.5), (1.0, 4, 0.8), (0.7, 3, 0.3)],
)
def test_every_sampled_char_survives_the_filters(
    model, generator, temperature, top_k, top_p
):
    # Replays the generation in Python: each drawn character must be one the
    # NumPy reference filter keeps for the text generated so far.
    text = PROMPT
    for char in _generate(generator, n_chars=12, temperature=temperature,
                          top_k=top_k, top_p=top_p, seed=11):
        kept = gen.filter_logits_numpy(
            _last_logits(model, text), temperature, top_k, top_p
        )
        assert np.isfinite(kept[VOCABULARY.index(char)]), (text, char)
        text += char


# Fixed logits with a tie (ids 1 and 4) and a clear order otherwise.
LOGITS = np.array([0.5, 2.0, -1.0, 1.0, 2.0, -3.0, 0.0, 1.5], "float32")


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [
        (1.0, 0, 1.0),  # no filtering
        (0.5, 0, 1.0),
        (1.0, 1, 1.0),  # the tie: only the lower id survives
        (1.0, 2, 1.0),
        (1.0, 3, 1.0),
        (1.0, 100, 1.0),  # k larger than the vocabulary keeps everything
        (1.0, 0, 0.5),
        (1.0, 0, 0.75),
        (2.0, 0, 0.9),
        (1.0, 0, 1e-6),  # always at least one
        (1.0, 4, 0.6),
        (3.0, 5, 0.95),
    ],
)
def test_filter_logits_matches_the_numpy_reference(temperature, top_k, top_p):
    graph_filter = tf.function(gen.filter_logits)
    actual = graph_filter(
        tf.constant(LOGITS),
        tf.constant(temperature),
        tf.constant(top_k),
        tf.constant(top_p),
    ).numpy()
    expected = gen.filter_logits_numpy(LOGITS, temperature, top_k, top_p)

    np.testing.assert_array_equal(np.isfinite(actual), np.isfinite(expected))
    kept = np.isfinite(expected)
    np.testing.assert_allclose(actual[kept], expected[kept], rtol=1e-6)
    assert kept.sum() >= 1


def test_filter_logits_numpy_keeps_the_book_semantics():
    kept = lambda **kw: np.flatnonzero(  # noqa: E731
        np.isfinite(gen.filter_logits_numpy(LOGITS, **kw))
    ).tolist()
    assert kept(temperature=1.0, top_k=1, top_p=1.0) == [1]
    assert kept(temperature=1.0, top_k=3, top_p=1.0) == [1, 4, 7]
    # softmax(LOGITS): ids 1 and 4 hold 0.30 each, id 7 0.18, id 3 0.11...
    assert kept(temperature=1.0, top_k=0, top_p=0.5) == [1, 4]
    assert kept(temperature=1.0, top_k=0, top_p=0.6) == [1, 4, 7]
    assert len(kept(temperature=1.0, top_k=0, top_p=1.0)) == len(LOGITS)
    np.testing.assert_allclose(
        gen.filter_logits_numpy(LOGITS, 2.0, 0, 1.0), (LOGITS - 2.0) / 2.0
    )


# --- Bad arguments fail inside the graph --------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(prompt=""), "prompt must not be empty"),
        (dict(prompt="to be, or?"), r"outside the vocabulary:\] \[`,`, `\?`\]"),
        (dict(prompt="née"), "outside the vocabulary:.*`é`"),
        # Invalid UTF-8 decodes to U+FFFD, which is not in the vocabulary.
        (dict(prompt=b"to \xff"), "outside the vocabulary:.*`\ufffd`"),
        (dict(prompt="a" * (gen.MAX_PROMPT_CHARS + 1)),
         r"at most MAX_PROMPT_CHARS = 10000 characters, got\] \[10001\]"),
        (dict(n_chars=0), r"n_chars must be > 0, got n_chars =\] \[0\]"),
        (dict(n_chars=-5), "n_chars must be > 0"),
        (dict(n_chars=gen.MAX_CHARS + 1), "n_chars must be <= MAX_CHARS = 10000"),
        (dict(temperature=0.0), "temperature must be a finite number > 0"),
        (dict(temperature=-1.0), "temperature must be a finite number > 0"),
        (dict(temperature=float("inf")), "temperature must be .*inf"),
        (dict(temperature=float("nan")), "temperature must be .*nan"),
        (dict(top_k=-1), r"top_k must be >= 0 \(0: off\), got top_k =\] \[-1\]"),
        (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), r"top_p must be in \(0, 1\] \(1: off\), got top_p =\] \[1.5\]"),
        (dict(top_p=float("nan")), r"top_p must be in \(0, 1\]"),
    ],
)
def test_generate_rejects_bad_arguments(generator, kwargs, match):
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        _generate(generator, **kwargs)


def test_next_char_probs_rejects_bad_prompts(generator):
    with pytest.raises(tf.errors.InvalidArgumentError, match="must not be empty"):
        generator.next_char_probs(prompt=tf.constant(""))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`x`, `y`"):
        generator.next_char_probs(prompt=tf.constant("xxyx"))


# --- Lower-casing -------------------------------------------------------------


def test_prompt_is_lower_cased(model, generator):
    assert _generate(generator, "To Be") == _generate(generator, "to be")
    case_sensitive = gen.CharGenerator(model, VOCABULARY, lowercase=False)
    assert _generate(case_sensitive, "to be") == _generate(generator, "to be")
    with pytest.raises(tf.errors.InvalidArgumentError, match="`T`, `B`"):
        _generate(case_sensitive, "To Be")


# --- Construction -------------------------------------------------------------


def test_constructor_rejects_bad_models_and_vocabularies(model):
    stateful = arch.build_model(
        len(VOCABULARY), stateful=True, batch_size=1, **SIZES
    )
    with pytest.raises(ValueError, match="stateless_copy"):
        gen.CharGenerator(stateful, VOCABULARY)
    with pytest.raises(ValueError, match="vocabulary has 11 characters but the model reads 12"):
        gen.CharGenerator(model, VOCABULARY[:-1])
    with pytest.raises(ValueError, match=r"exactly one character.*\[UNK\]"):
        gen.CharGenerator(model, ["", "[UNK]"] + VOCABULARY[:-2])
    with pytest.raises(ValueError, match="distinct.*'a'"):
        gen.CharGenerator(model, VOCABULARY[:-1] + ["a"])
    with pytest.raises(ValueError, match="list of characters"):
        gen.CharGenerator(model, "".join(VOCABULARY))
    with pytest.raises(ValueError, match="lowercase must be a bool"):
        gen.CharGenerator(model, VOCABULARY, lowercase="yes")


def test_a_stateful_model_is_served_through_its_stateless_copy(model):
    stateful = arch.build_model(len(VOCABULARY), stateful=True, batch_size=1, **SIZES)
    stateful.set_weights(model.get_weights())
    generator = gen.CharGenerator(arch.stateless_copy(stateful), VOCABULARY)
    expected = _greedy_python(model, "to be", 8)
    assert _generate(generator, "to be", n_chars=8, top_k=1) == expected


# --- SavedModel round trip ----------------------------------------------------


def test_signatures(generator):
    signatures = generator.signatures()
    assert set(signatures) == {"generate", "next_char_probs"}
    generate = signatures["generate"]
    specs, _ = generate.structured_input_signature
    assert [(spec.name, spec.dtype, spec.shape.rank) for spec in specs] == [
        ("prompt", tf.string, 0),
        ("n_chars", tf.int32, 0),
        ("temperature", tf.float32, 0),
        ("top_k", tf.int32, 0),
        ("top_p", tf.float32, 0),
        ("seed", tf.int64, 0),
    ]
    assert set(generate.structured_outputs) == {"text"}
    assert set(signatures["next_char_probs"].structured_outputs) == {
        "probabilities",
        "characters",
    }


def test_saved_model_round_trip(generator, tmp_path):
    path = str(tmp_path / "char_generator")
    tf.saved_model.save(generator, path, signatures=generator.signatures())
    loaded = tf.saved_model.load(path)

    generate = loaded.signatures["generate"]
    _, inputs = generate.structured_input_signature
    assert sorted(inputs) == sorted(
        ["prompt", "n_chars", "temperature", "top_k", "top_p", "seed"]
    )
    text = generate(
        prompt=tf.constant("to be"),
        n_chars=tf.constant(50),
        temperature=tf.constant(1.0),
        top_k=tf.constant(0),
        top_p=tf.constant(1.0),
        seed=tf.constant(42, tf.int64),
    )["text"]
    assert text.dtype == tf.string and text.shape == ()
    text = text.numpy().decode("utf-8")
    assert len(text) == 50 and set(text) <= set(VOCABULARY)
    assert text == _generate(generator, "to be", n_chars=50)

    probabilities = loaded.signatures["next_char_probs"](
        prompt=tf.constant("To Be")
    )["probabilities"].numpy()
    np.testing.assert_allclose(
        probabilities,
        generator.next_char_probs(prompt=tf.constant("to be"))["probabilities"],
        atol=1e-6,
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="`x`"):
        loaded.signatures["next_char_probs"](prompt=tf.constant("x"))


def test_saved_model_serves_in_a_process_without_this_code(generator, tmp_path):
    # A fresh interpreter that never imports this package: the SavedModel
    # alone (TensorFlow ops, no Python code of ours, no Keras model to
    # rebuild) generates the text.
    path = str(tmp_path / "char_generator")
    tf.saved_model.save(generator, path, signatures=generator.signatures())
    script = textwrap.dedent(
        f"""
        import sys
        import tensorflow as tf
        generate = tf.saved_model.load({path!r}).signatures["generate"]
        text = generate(prompt=tf.constant("To be"), n_chars=tf.constant(30),
                        temperature=tf.constant(0.8), top_k=tf.constant(5),
                        top_p=tf.constant(0.9), seed=tf.constant(3, tf.int64))
        print("TEXT=" + repr(text["text"].numpy().decode("utf-8")))
        assert not any(name.startswith("models") for name in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = _generate(generator, "to be", n_chars=30, temperature=0.8,
                         top_k=5, top_p=0.9, seed=3)
    assert f"TEXT={expected!r}" in result.stdout.splitlines()
