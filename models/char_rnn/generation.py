"""Text generation with the character model, entirely inside a TF graph.

The book generates text with a Python loop (``extend_text``): for every new
character it runs the whole model over the whole text so far, samples the
next character from ``log(p) / temperature`` and appends it. That costs one
full forward pass per character, over a sequence that keeps growing, plus
Python and ``model.predict`` overhead at every step. It is kept here as
:func:`python_loop_generate`, the slow reference for benchmarks.

:class:`CharGenerator` does the same job in one TensorFlow graph that a
SavedModel can serve without Python or Keras:

1. encode the prompt (lower-cased if the vocabulary is) into character ids
   with a ``tf.lookup.StaticHashTable`` (unknown characters -> -1, reported);
2. embed the prompt and step the trained **GRU cell** over it, one
   character at a time, to get the hidden state after the prompt;
3. per generated character: hidden state -> ``next_char`` logits -> divide
   by the temperature -> top-k filter -> nucleus (top-p) filter -> draw with
   ``tf.random.stateless_categorical`` seeded by ``(seed, step)`` -> feed the
   drawn character back through the embedding and one cell step.

Each character therefore costs one cell step, not a pass over the whole
text, and the result is reproducible: the same arguments and seed always
give the same text. The loops are AutoGraph ``for ... in tf.range(...)``
loops, i.e. ``tf.while_loop`` in the graph.

Sampling controls (see :func:`filter_logits`):

* ``temperature`` (> 0): < 1 sharpens the distribution (towards greedy
  decoding, which a tiny temperature such as 1e-4 reproduces), > 1 flattens
  it (towards uniform gibberish).
* ``top_k`` (>= 0): keep only the k most likely characters; 0 turns the
  filter off (k >= vocabulary size keeps everything).
* ``top_p`` in (0, 1]: nucleus sampling, keep the smallest set of most likely
  characters whose total probability reaches ``top_p`` (always at least
  one); 1.0 turns the filter off.

Typical use (TensorFlow backend)::

    served = architectures.stateless_copy(trained_model)
    generator = CharGenerator(served, vocabulary)
    tf.saved_model.save(generator, path, signatures=generator.signatures())

    generate = tf.saved_model.load(path).signatures["generate"]
    text = generate(prompt=tf.constant("to be or not to be"),
                    n_chars=tf.constant(50), temperature=tf.constant(1.0),
                    top_k=tf.constant(0), top_p=tf.constant(1.0),
                    seed=tf.constant(42, tf.int64))["text"]
"""

from __future__ import annotations

import collections
from typing import Callable

import keras

import numpy as np
import tensorflow as tf

from models.char_rnn import architectures
from models.common import export

# Generation runs in a tf.while_loop whose length the caller chooses: cap it
# so that one request cannot hold a server for minutes.
MAX_CHARS = 10_000
# Reading the prompt is one GRU-cell step per character: cap it too.
MAX_PROMPT_CHARS = 10_000

SIGNATURE_GENERATE = "generate"
SIGNATURE_NEXT_CHAR_PROBS = "next_char_probs"


# ---------------------------------------------------------------------------
# One sampling step's filtering, in TensorFlow and in NumPy
# ---------------------------------------------------------------------------


def filter_logits(logits, temperature, top_k, top_p) -> tf.Tensor:
    """Temperature, top-k and nucleus (top-p) filtering of one step's logits.

    Args:
      logits: ``[vocab_size]`` next-character logits.
      temperature: scalar > 0; the logits are divided by it.
      top_k: scalar int; keep the ``top_k`` largest logits (0: all).
      top_p: scalar in (0, 1]; keep the smallest set of most likely
        characters whose cumulative probability (after temperature and
        top-k) is >= ``top_p``, and at least the most likely one (1: all).

    Returns:
      ``[vocab_size]`` float32: the logits shifted so that the largest is 0,
      divided by the temperature, with ``-inf`` for the characters filtered
      out; ready for ``tf.random.stateless_categorical``.
      Ties are broken towards the lower id, like ``argmax``, so ``top_k=1``
      keeps exactly the argmax. Arguments are not validated here (the
      generator asserts them before sampling).
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    # Shifting the logits so the largest is 0 leaves the distribution alone
    # and keeps a tiny temperature from overflowing them to inf (and the
    # softmax to NaN): the runner-up goes to -inf, which is greedy decoding.
    shifted = logits - tf.reduce_max(logits)
    scaled = shifted / tf.cast(temperature, tf.float32)
    vocab_size = tf.size(scaled)

    # Rank of every character, 0 for the most likely; equal logits keep
    # their id order (a stable sort), which makes rank 0 the argmax.
    order = tf.argsort(scaled, direction="DESCENDING", stable=True)
    rank = tf.math.invert_permutation(order)

    top_k = tf.cast(top_k, tf.int32)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab_size), vocab_size)
    in_top_k = rank < k

    # Nucleus: walk the characters from the most likely down and keep them
    # while the probability gathered *before* each one is still < top_p.
    # The most likely character has 0 before it, so it is always kept.
    top_p = tf.cast(top_p, tf.float32)
    probabilities = tf.nn.softmax(tf.where(in_top_k, scaled, -np.inf))
    sorted_probabilities = tf.gather(probabilities, order)
    mass_before = tf.math.cumsum(sorted_probabilities, exclusive=True)
    in_nucleus = tf.gather(mass_before < top_p, rank)
    # top_p == 1 means "off": rounding must not drop the least likely ones.
    in_nucleus = tf.logical_or(in_nucleus, top_p >= 1.0)

    keep = tf.logical_and(in_top_k, in_nucleus)
    return tf.where(keep, scaled, tf.constant(-np.inf, tf.float32))


def filter_logits_numpy(
    logits, temperature: float, top_k: int, top_p: float
) -> np.ndarray:
    """Reference NumPy implementation of :func:`filter_logits` (float64).

    Same contract: returns the logits shifted so that the largest is 0 and
    divided by the temperature, with ``-inf`` for the filtered-out
    characters. Used by the tests to check the graph.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1:
        raise ValueError(f"logits must be 1-D, got shape {logits.shape}.")
    scaled = (logits - logits.max()) / float(temperature)
    # Most likely first; a stable sort keeps equal logits in id order.
    order = np.argsort(-scaled, kind="stable")
    keep = np.ones(scaled.shape, dtype=bool)
    if top_k > 0:
        keep[order[top_k:]] = False
    if top_p < 1.0:
        kept = np.where(keep, scaled, -np.inf)
        probabilities = np.exp(kept - kept.max())
        probabilities /= probabilities.sum()
        sorted_probabilities = probabilities[order]
        mass_before = np.cumsum(sorted_probabilities) - sorted_probabilities
        keep[order[mass_before >= top_p]] = False
    return np.where(keep, scaled, -np.inf)


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_vocabulary(vocabulary) -> tuple[str, ...]:
    if isinstance(vocabulary, str) or not isinstance(vocabulary, (list, tuple)):
        raise ValueError(
            "vocabulary must be a list of characters (vocabulary[i] is the "
            f"character with id i), got {type(vocabulary).__name__}."
        )
    for index, character in enumerate(vocabulary):
        if not isinstance(character, str) or len(character) != 1:
            raise ValueError(
                "Every vocabulary entry must be exactly one character, got "
                f"vocabulary[{index}]={character!r}. A TextVectorization "
                "vocabulary starts with the padding '' and '[UNK]' entries: "
                "drop them (the book's `encoded -= 2`)."
            )
    counts = collections.Counter(vocabulary)
    duplicates = sorted(c for c, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(
            f"vocabulary entries must be distinct, got duplicates {duplicates}."
        )
    return tuple(vocabulary)


def _model_layers(model, vocab_size: int):
    """The embedding, GRU cell and output layer of a stateless char model."""
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "CharGenerator builds a TensorFlow graph and needs the TensorFlow "
            f"Keras backend; the current backend is {keras.backend.backend()!r}."
        )
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"model must be a keras.Model, got {type(model).__name__}."
        )
    try:
        embedding = model.get_layer(architectures.EMBEDDING_LAYER)
        gru = model.get_layer(architectures.GRU_LAYER)
        next_char = model.get_layer(architectures.OUTPUT_LAYER)
    except ValueError as error:
        raise ValueError(
            "model must come from char_rnn.architectures.build_model (layers "
            f"{architectures.EMBEDDING_LAYER!r}, {architectures.GRU_LAYER!r}, "
            f"{architectures.OUTPUT_LAYER!r}): {error}"
        ) from None
    if not isinstance(gru, keras.layers.GRU):
        raise ValueError(
            f"layer {architectures.GRU_LAYER!r} must be a keras.layers.GRU, "
            f"got {type(gru).__name__}."
        )
    if gru.stateful:
        raise ValueError(
            "model is stateful; serve its weights through a stateless model: "
            "CharGenerator(architectures.stateless_copy(model), vocabulary)."
        )
    if embedding.input_dim != vocab_size or next_char.units != vocab_size:
        raise ValueError(
            f"The vocabulary has {vocab_size} characters but the model reads "
            f"{embedding.input_dim} and predicts {next_char.units} ids."
        )
    return embedding, gru.cell, next_char


def _assert(condition, *message) -> tf.Operation:
    """An in-graph check; fails with ``message`` (strings and tensors)."""
    return tf.debugging.Assert(condition, list(message), summarize=MAX_CHARS)


def _sampling_checks(n_chars, temperature, top_k, top_p) -> list:
    return [
        _assert(n_chars > 0, "n_chars must be > 0, got n_chars =", n_chars),
        _assert(
            n_chars <= MAX_CHARS,
            f"n_chars must be <= MAX_CHARS = {MAX_CHARS}, got n_chars =",
            n_chars,
        ),
        _assert(
            tf.logical_and(tf.math.is_finite(temperature), temperature > 0.0),
            "temperature must be a finite number > 0, got temperature =",
            temperature,
        ),
        _assert(top_k >= 0, "top_k must be >= 0 (0: off), got top_k =", top_k),
        # NaN fails both comparisons, so it is rejected too.
        _assert(
            tf.logical_and(top_p > 0.0, top_p <= 1.0),
            "top_p must be in (0, 1] (1: off), got top_p =",
            top_p,
        ),
    ]


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


_GENERATE_SIGNATURE = [
    tf.TensorSpec([], tf.string, name="prompt"),
    tf.TensorSpec([], tf.int32, name="n_chars"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int32, name="top_k"),
    tf.TensorSpec([], tf.float32, name="top_p"),
    tf.TensorSpec([], tf.int64, name="seed"),
]
_PROMPT_SIGNATURE = [tf.TensorSpec([], tf.string, name="prompt")]


class CharGenerator(tf.Module):
    """Serves a trained character model: in-graph sampling, SavedModel-ready.

    Args:
      model: a trained **stateless** model from
        :func:`architectures.build_model` (logits output); for a stateful
        one pass :func:`architectures.stateless_copy` of it.
      vocabulary: ``vocabulary[i]`` is the character with id ``i``; one
        entry per model id, each exactly one character.
      lowercase: lower-case the prompt (UTF-8 aware) before encoding it, as
        the book's lower-cased vocabulary expects ("To Be" -> "to be").
      encoder: prompt (string scalar) -> ids ``[n]`` (any int dtype, < 0 for
        a character outside the vocabulary). The exported model passes the
        transform graph's own encoding here, so prompts are standardized and
        looked up exactly as the training text was; then ``lowercase`` and
        the table built from ``vocabulary`` are not used to encode.

    Signatures (:meth:`signatures`):

    * ``generate(prompt, n_chars, temperature, top_k, top_p, seed)`` ->
      ``{"text": tf.string []}``, the ``n_chars`` generated characters
      without the prompt.
    * ``next_char_probs(prompt)`` -> ``{"probabilities": float32 [vocab],
      "characters": tf.string [vocab]}``, the model's distribution of the
      character after the prompt (temperature 1, no filtering).

    Bad arguments fail inside the graph with ``tf.errors.InvalidArgumentError``
    and a message naming the problem: empty prompt, a prompt longer than
    ``MAX_PROMPT_CHARS`` or with characters outside the vocabulary (listed
    between backticks), ``n_chars`` outside ``1 .. MAX_CHARS``, a temperature
    that is not a finite number > 0, ``top_k < 0``, ``top_p`` outside (0, 1].
    """

    def __init__(
        self,
        model: keras.Model,
        vocabulary: list[str],
        *,
        lowercase: bool = True,
        encoder: Callable[[tf.Tensor], tf.Tensor] | None = None,
    ):
        super().__init__(name="char_generator")
        characters = _check_vocabulary(vocabulary)
        embedding, cell, next_char = _model_layers(model, len(characters))
        if not isinstance(lowercase, bool):
            raise ValueError(
                f"lowercase must be a bool, got lowercase={lowercase!r}."
            )

        self.model = model
        # Keras 3 keeps state where tf.Module's tracking does not look:
        # list the backing variables so the SavedModel holds them.
        self.model_variables = export.tf_variables(model)
        self._embedding = embedding
        self._cell = cell
        self._next_char = next_char
        self._lowercase = lowercase
        self._encoder = encoder
        self._units = cell.units
        self.vocabulary_size = len(characters)
        # id -> character, to spell the generated ids out.
        self.characters = tf.constant(characters, dtype=tf.string)
        # Kept as an attribute so the SavedModel tracks (and restores) it.
        self.char_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                keys=tf.constant(characters, dtype=tf.string),
                values=tf.range(len(characters), dtype=tf.int32),
            ),
            default_value=-1,
        )

    # --- Signatures ----------------------------------------------------------

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """The serving signatures, for ``tf.saved_model.save(signatures=...)``."""
        generate = self.generate.get_concrete_function()
        next_char_probs = self.next_char_probs.get_concrete_function()
        return {
            SIGNATURE_GENERATE: generate,
            SIGNATURE_NEXT_CHAR_PROBS: next_char_probs,
        }

    @tf.function(input_signature=_GENERATE_SIGNATURE)
    def generate(self, prompt, n_chars, temperature, top_k, top_p, seed):
        """Samples ``n_chars`` characters after ``prompt``; see the class doc."""
        prompt_ids, prompt_checks = self._encode(prompt)
        checks = prompt_checks + _sampling_checks(
            n_chars, temperature, top_k, top_p
        )
        # Nothing below runs before every argument has been checked, so a
        # bad argument fails with its own message, not a later op's.
        with tf.control_dependencies(checks):
            prompt_ids = tf.identity(prompt_ids)
            n_chars = tf.identity(n_chars)

        state = self._read(prompt_ids)
        generated = tf.TensorArray(tf.int32, size=n_chars)
        for step in tf.range(n_chars):
            logits = filter_logits(
                self._logits(state), temperature, top_k, top_p
            )
            # A different, reproducible seed for every step.
            step_seed = tf.stack([seed, tf.cast(step, tf.int64)])
            char_id = tf.random.stateless_categorical(
                logits[tf.newaxis], 1, seed=step_seed, dtype=tf.int32
            )[0, 0]
            generated = generated.write(step, char_id)
            state = self._step(self._embedding(char_id[tf.newaxis]), state)

        characters = tf.gather(self.characters, generated.stack())
        return {"text": tf.strings.reduce_join(characters)}

    @tf.function(input_signature=_PROMPT_SIGNATURE)
    def next_char_probs(self, prompt):
        """The distribution of the character after ``prompt``."""
        prompt_ids, checks = self._encode(prompt)
        with tf.control_dependencies(checks):
            prompt_ids = tf.identity(prompt_ids)
        logits = self._logits(self._read(prompt_ids))
        return {
            "probabilities": tf.nn.softmax(logits),
            "characters": tf.identity(self.characters),
        }

    # --- Graph building blocks ----------------------------------------------

    def _encode(self, prompt):
        """Prompt -> ids ``[n]``, plus the checks that must pass before use."""
        if self._encoder is not None:
            characters = tf.strings.unicode_split(prompt, "UTF-8")
            ids = tf.cast(tf.reshape(self._encoder(prompt), [-1]), tf.int32)
            # For the message: the prompt's characters where the ids say
            # unknown (standardization keeps one character per character).
            where = tf.minimum(tf.where(ids < 0)[:, 0], tf.cast(tf.size(characters) - 1, tf.int64))
            unknown = tf.unique(tf.gather(characters, where)).y
            length = tf.size(ids)
        else:
            if self._lowercase:
                prompt = tf.strings.lower(prompt, encoding="utf-8")
            characters = tf.strings.unicode_split(prompt, "UTF-8")
            ids = self.char_to_id.lookup(characters)
            unknown = tf.unique(tf.boolean_mask(characters, ids < 0)).y
            length = tf.strings.length(prompt, unit="UTF8_CHAR")
        unknown_list = tf.strings.reduce_join(
            tf.strings.join(["`", unknown, "`"]), separator=", "
        )
        checks = [
            _assert(length > 0, "prompt must not be empty"),
            _assert(
                length <= MAX_PROMPT_CHARS,
                f"prompt must be at most MAX_PROMPT_CHARS = {MAX_PROMPT_CHARS} "
                "characters, got",
                length,
            ),
            _assert(
                tf.size(unknown) == 0,
                "prompt has characters outside the vocabulary:",
                unknown_list,
            ),
        ]
        return ids, checks

    def _step(self, inputs, state):
        """One GRU-cell step: ``[1, embed]``, ``[1, units]`` -> ``[1, units]``."""
        _, (new_state,) = self._cell(inputs, [state], training=False)
        return new_state

    def _read(self, prompt_ids):
        """The hidden state after reading ``prompt_ids``, from a zero state."""
        embeddings = self._embedding(prompt_ids)  # [n, embed]
        state = tf.zeros([1, self._units], dtype=embeddings.dtype)
        for t in tf.range(tf.shape(embeddings)[0]):
            state = self._step(embeddings[t][tf.newaxis], state)
        return state

    def _logits(self, state):
        # A GRU's output at a step is its new state: the Dense head reads it.
        return tf.cast(self._next_char(state)[0], tf.float32)


# ---------------------------------------------------------------------------
# The book's baseline
# ---------------------------------------------------------------------------


def python_loop_generate(
    model: keras.Model,
    vocabulary: list[str],
    prompt: str,
    n_chars: int,
    temperature: float,
    seed: int,
    lowercase: bool = True,
) -> str:
    """The book's ``extend_text``: the **slow** Python-loop reference.

    One ``model.predict`` call per generated character, each over the whole
    text so far, so generating n characters after a prompt of length m costs
    about ``n * (m + n / 2)`` GRU steps plus n ``predict`` overheads. Kept to
    benchmark :class:`CharGenerator` against. Sampling uses the generator's
    per-step seeds (``(seed, step)``) and no top-k/top-p filtering, so for the
    same arguments it draws the same text as ``generate(..., top_k=0,
    top_p=1.0)`` (up to rounding differences between the two computations).
    Unlike the book's ``extend_text`` it returns only the continuation.
    """
    characters = _check_vocabulary(vocabulary)
    char_to_id = {character: i for i, character in enumerate(characters)}
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty string, got {prompt!r}.")
    if n_chars < 1:
        raise ValueError(f"n_chars must be >= 1, got n_chars={n_chars}.")
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(
            f"temperature must be a finite number > 0, got {temperature}."
        )
    text = prompt.lower() if lowercase else prompt
    unknown = sorted({c for c in text if c not in char_to_id})
    if unknown:
        raise ValueError(
            f"prompt has characters outside the vocabulary: {unknown}."
        )

    ids = [char_to_id[c] for c in text]
    generated = []
    for step in range(n_chars):
        logits = model.predict(np.array([ids], dtype="int32"), verbose=0)[0, -1]
        # The generator's scaling (shift the largest logit to 0, divide by
        # the temperature), so that both draw from identical logits.
        scaled = (logits - logits.max()) / np.float32(temperature)
        scaled = tf.constant(scaled[np.newaxis])
        char_id = int(
            tf.random.stateless_categorical(
                scaled, 1, seed=tf.constant([seed, step], tf.int64)
            )[0, 0]
        )
        ids.append(char_id)
        generated.append(characters[char_id])
    return "".join(generated)
