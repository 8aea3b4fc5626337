"""Greedy and beam-search decoding inside one TensorFlow graph.

Both decoders drive any `step.StepDecoder` one target token at a time in a
`tf.while_loop`, so a SavedModel serves them without Python, and they never
know which architecture they drive. The book decodes with a Python loop
that calls `model.predict` on the whole prefix for every new word; here
each word costs one decoder step.

Common rules:
- Decoding starts by feeding `SOS_ID` at position 0; a row (or beam
  hypothesis) is finished once it emits `EOS_ID`. After that it emits
  `PAD_ID`, its score stops changing and its attention rows are zeros.
- The loop stops as soon as every row (every beam) has finished, and never
  runs more than `max_length` steps: a row that never emits EOS is cut at
  `max_length` tokens.
- `tokens` are int64 [batch, L], where L is the longest returned row's
  length (EOS included), and `lengths` count the tokens up to and including
  EOS (or `max_length`).
- Ties between equally likely tokens go to the lower id (`tf.math.top_k`),
  so greedy decoding and beam search of width 1 choose the same tokens.

Scores:
- `greedy_decode`: the sum of the log-probabilities of the emitted tokens.
- `beam_search`: the returned hypothesis' length-normalized score
  `sum_logprob / length ** length_penalty`. The default `length_penalty=1.0`
  is the mean log-probability per token, which keeps beam search from
  preferring short translations only because every extra token lowers the
  product of probabilities; `length_penalty=0.0` ranks by the raw product of
  probabilities, like the book.

`check_decode_arguments` asserts `beam_width` and `max_length` inside the
graph (serving signatures take them as tensors); `validate` is the same
check for Python callers.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import tensorflow as tf

from models.translation.step import StepDecoder, Tensors
from preprocessing import translation_contract as contract


class DecodeResult(NamedTuple):
    """What both decoders return (tensors, batch first)."""

    tokens: tf.Tensor  # int64 [batch, L]: generated ids, EOS included, PAD after
    lengths: tf.Tensor  # int32 [batch]: tokens up to and including EOS, or max_length
    scores: tf.Tensor  # float32 [batch]: see the module doc
    attention: tf.Tensor  # float32 [batch, L, source_len]: zeros after EOS


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def validate(beam_width: int, max_length: int) -> None:
    """Raises ValueError unless 1 <= beam_width <= MAX_BEAM_WIDTH and
    1 <= max_length <= MAX_DECODE_LENGTH (Python integers)."""
    for name, value, cap, cap_name in (
        ("beam_width", beam_width, contract.MAX_BEAM_WIDTH, "MAX_BEAM_WIDTH"),
        ("max_length", max_length, contract.MAX_DECODE_LENGTH, "MAX_DECODE_LENGTH"),
    ):
        # bool is an Integral too, but True is no beam width.
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {name}={value!r}.")
        if not 1 <= value <= cap:
            raise ValueError(
                f"{name} must be in [1, {cap_name} = {cap}], got {name}={value}."
            )


def check_decode_arguments(beam_width: tf.Tensor, max_length: tf.Tensor) -> list:
    """In-graph checks of `beam_width` and `max_length` (int scalars).

    Returns the assertion ops, for `tf.control_dependencies`; they fail
    with `tf.errors.InvalidArgumentError` and a message naming the argument,
    its range and its value. (Eagerly they raise at once.)
    """
    checks = []
    for name, value, cap, cap_name in (
        ("beam_width", beam_width, contract.MAX_BEAM_WIDTH, "MAX_BEAM_WIDTH"),
        ("max_length", max_length, contract.MAX_DECODE_LENGTH, "MAX_DECODE_LENGTH"),
    ):
        value = tf.convert_to_tensor(value)
        if not value.dtype.is_integer:
            raise ValueError(f"{name} must be an integer tensor, got dtype {value.dtype.name}.")
        in_range = tf.logical_and(value >= 1, value <= cap)
        checks.append(tf.debugging.Assert(
            in_range, [f"{name} must be in [1, {cap_name} = {cap}], got {name} =", value]))
    return checks


def _with_checks(beam_width, max_length):
    """The int32 arguments, usable only after they passed the checks."""
    beam_width = tf.cast(beam_width, tf.int32)
    max_length = tf.cast(max_length, tf.int32)
    with tf.control_dependencies(check_decode_arguments(beam_width, max_length)):
        return tf.identity(beam_width), tf.identity(max_length)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_NEG_INF = float("-inf")


def _keep_shapes(new: Tensors, old: Tensors) -> Tensors:
    # A step may lose static dimensions (e.g. the batch) that the loop
    # variables have; the protocol says the shapes do not change.
    return tf.nest.map_structure(lambda n, o: tf.ensure_shape(n, o.shape), new, old)


def _stack_steps(steps: tf.TensorArray, n: tf.Tensor, filler: tf.Tensor) -> tf.Tensor:
    """The n written steps, stacked and moved to axis 1: [batch, n, ...].

    One extra `filler` element is written so the stack never sees an empty
    list (an empty batch runs no step), whose element shape is unknown.
    """
    stacked = steps.write(n, filler).stack()[:n]
    rank = len(filler.shape)
    return tf.transpose(stacked, [1, 0] + list(range(2, rank + 1)))


def _has_attention(decoder: StepDecoder) -> bool:
    return bool(getattr(decoder, "has_attention", True))


def _zero_attention(batch, length, source_ids) -> tf.Tensor:
    return tf.zeros(tf.stack([batch, length, tf.shape(source_ids)[1]]), tf.float32)


# ---------------------------------------------------------------------------
# Greedy decoding
# ---------------------------------------------------------------------------


def greedy_decode(decoder: StepDecoder, source_ids: tf.Tensor, max_length: tf.Tensor) -> DecodeResult:
    """Feeds back the most likely token each step; see the module doc.

    Args:
      decoder: any `StepDecoder`.
      source_ids: int64 [batch, source_len], padded with PAD_ID.
      max_length: int scalar in [1, MAX_DECODE_LENGTH]: at most this many steps.
    """
    source_ids = tf.convert_to_tensor(source_ids, tf.int64)
    _, max_length = _with_checks(1, max_length)
    batch = tf.shape(source_ids)[0]
    keep_attention = _has_attention(decoder)

    memory = decoder.encode(source_ids)
    state = decoder.initial_state(memory, max_length)
    previous = tf.fill([batch], tf.constant(contract.SOS_ID, tf.int64))
    finished = tf.zeros([batch], tf.bool)
    lengths = tf.zeros([batch], tf.int32)
    scores = tf.zeros([batch], tf.float32)
    token_steps = tf.TensorArray(tf.int64, size=max_length + 1)
    attention_steps = tf.TensorArray(tf.float32, size=max_length + 1)

    def keep_going(t, previous, state, finished, *_):
        return tf.logical_and(t < max_length, tf.reduce_any(tf.logical_not(finished)))

    def one_step(t, previous, state, finished, lengths, scores, token_steps, attention_steps):
        log_probs, new_state, attention = decoder.step(memory, state, previous, t)
        log_probs = tf.cast(log_probs, tf.float32)
        # top_k, not argmax: its ties are documented (lower id first) and
        # beam search of width 1 makes the same choice.
        best_log_prob, best = tf.math.top_k(log_probs, k=1)
        token = tf.where(finished, tf.constant(contract.PAD_ID, tf.int64),
                         tf.cast(best[:, 0], tf.int64))
        scores += tf.where(finished, 0.0, best_log_prob[:, 0])
        lengths += tf.cast(tf.logical_not(finished), tf.int32)
        token_steps = token_steps.write(t, token)
        if keep_attention:
            attention = tf.where(finished[:, tf.newaxis], 0.0, tf.cast(attention, tf.float32))
            attention_steps = attention_steps.write(t, attention)
        finished = tf.logical_or(finished, tf.equal(token, contract.EOS_ID))
        return (t + 1, token, _keep_shapes(new_state, state), finished, lengths, scores,
                token_steps, attention_steps)

    loop_vars = (tf.constant(0), previous, state, finished, lengths, scores,
                 token_steps, attention_steps)
    steps, _, _, _, lengths, scores, token_steps, attention_steps = tf.while_loop(
        keep_going, one_step, loop_vars, maximum_iterations=max_length)

    # The loop stops at the first step where every row had finished, so it
    # ran exactly as many steps as the longest row has tokens.
    tokens = _stack_steps(token_steps, steps, tf.zeros([batch], tf.int64))
    if keep_attention:
        attention = _stack_steps(attention_steps, steps,
                                 tf.zeros(tf.shape(source_ids), tf.float32))
    else:
        attention = _zero_attention(batch, steps, source_ids)
    return DecodeResult(tokens, lengths, scores, attention)


# ---------------------------------------------------------------------------
# Beam search
# ---------------------------------------------------------------------------


def beam_search(decoder: StepDecoder, source_ids: tf.Tensor, beam_width: tf.Tensor,
                max_length: tf.Tensor, length_penalty: float = 1.0) -> DecodeResult:
    """Keeps the `beam_width` most likely hypotheses per sentence.

    Each sentence holds `beam_width` hypotheses (the batch runs as
    batch × beam rows: the encoder memory is tiled once, the decoder state is
    reordered by parent hypothesis every step). At every step each live
    hypothesis proposes every vocabulary token, each finished one proposes
    only itself, unchanged; the `beam_width` candidates with the highest
    cumulative log-probability survive. Only one hypothesis per sentence is
    live at the first step, so the beam does not fill with copies of it. A
    hypothesis that emits EOS is finished: it keeps its score and no longer
    extends. The search stops when every hypothesis has finished, or after
    `max_length` steps; each sentence then returns its finished hypothesis
    (or, if none finished, its live one) with the highest
    `sum_logprob / length ** length_penalty` (length counts EOS), and that
    value as its score. `attention` holds the returned hypothesis' weights.

    Args:
      decoder: any `StepDecoder`.
      source_ids: int64 [batch, source_len], padded with PAD_ID.
      beam_width: int scalar in [1, MAX_BEAM_WIDTH]; a tensor, so a serving
        signature can take it. 1 gives the greedy tokens.
      max_length: int scalar in [1, MAX_DECODE_LENGTH].
      length_penalty: exponent of the length normalization, >= 0; 1.0 (the
        default) is the mean log-probability per token, 0.0 the raw sum.
    """
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real) \
            or not math.isfinite(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty must be a finite number >= 0, got {length_penalty!r}.")
    source_ids = tf.convert_to_tensor(source_ids, tf.int64)
    beam_width, max_length = _with_checks(beam_width, max_length)
    batch = tf.shape(source_ids)[0]
    rows = batch * beam_width  # hypothesis b * beam_width + j is sentence b's j-th
    keep_attention = _has_attention(decoder)

    # Every hypothesis of a sentence stays in that sentence's block of rows,
    # so the tiled memory never needs reordering.
    memory = tf.nest.map_structure(
        lambda m: tf.repeat(m, beam_width, axis=0), decoder.encode(source_ids))
    state = decoder.initial_state(memory, max_length)
    previous = tf.fill([rows], tf.constant(contract.SOS_ID, tf.int64))
    first_live = tf.where(tf.range(beam_width) == 0, 0.0, _NEG_INF)
    cumulative = tf.tile(first_live, [batch])  # -inf: an empty slot, never live
    finished = tf.zeros([rows], tf.bool)
    lengths = tf.zeros([rows], tf.int32)
    first_row = tf.range(batch)[:, tf.newaxis] * beam_width  # [batch, 1]
    token_steps = tf.TensorArray(tf.int64, size=max_length + 1)
    parent_steps = tf.TensorArray(tf.int32, size=max_length + 1)
    attention_steps = tf.TensorArray(tf.float32, size=max_length + 1)

    def live(finished, cumulative):
        return tf.logical_and(tf.logical_not(finished), cumulative > _NEG_INF)

    def keep_going(t, previous, state, finished, cumulative, *_):
        return tf.logical_and(t < max_length, tf.reduce_any(live(finished, cumulative)))

    def one_step(t, previous, state, finished, cumulative, lengths,
                 token_steps, parent_steps, attention_steps):
        log_probs, new_state, attention = decoder.step(memory, state, previous, t)
        log_probs = tf.cast(log_probs, tf.float32)
        vocab_size = tf.shape(log_probs)[1]
        # A finished hypothesis' only candidate is itself, extended by PAD
        # at no cost: it competes with the live ones at its final score.
        pad_only = tf.where(tf.range(vocab_size) == contract.PAD_ID, 0.0, _NEG_INF)
        log_probs = tf.where(finished[:, tf.newaxis], pad_only[tf.newaxis], log_probs)
        candidates = tf.reshape(cumulative[:, tf.newaxis] + log_probs, [batch, -1])
        best, index = tf.math.top_k(candidates, k=beam_width)  # [batch, beam]
        parent = tf.reshape(first_row + index // vocab_size, [rows])
        token = tf.cast(tf.reshape(index % vocab_size, [rows]), tf.int64)

        was_finished = tf.gather(finished, parent)
        lengths = tf.gather(lengths, parent) + tf.cast(tf.logical_not(was_finished), tf.int32)
        finished = tf.logical_or(was_finished, tf.equal(token, contract.EOS_ID))
        token_steps = token_steps.write(t, token)
        parent_steps = parent_steps.write(t, parent)
        if keep_attention:
            attention = tf.gather(tf.cast(attention, tf.float32), parent)
            attention_steps = attention_steps.write(
                t, tf.where(was_finished[:, tf.newaxis], 0.0, attention))
        new_state = tf.nest.map_structure(lambda s: tf.gather(s, parent), new_state)
        return (t + 1, token, _keep_shapes(new_state, state), finished,
                tf.reshape(best, [rows]), lengths, token_steps, parent_steps, attention_steps)

    loop_vars = (tf.constant(0), previous, state, finished, cumulative, lengths,
                 token_steps, parent_steps, attention_steps)
    (steps, _, _, finished, cumulative, lengths,
     token_steps, parent_steps, attention_steps) = tf.while_loop(
        keep_going, one_step, loop_vars, maximum_iterations=max_length)

    # The choice: finished hypotheses first, by length-normalized score.
    normalized = cumulative / tf.pow(tf.cast(tf.maximum(lengths, 1), tf.float32), length_penalty)
    normalized = tf.reshape(normalized, [batch, beam_width])
    done = tf.reshape(tf.logical_and(finished, cumulative > _NEG_INF), [batch, beam_width])
    any_done = tf.reduce_any(done, axis=1, keepdims=True)
    ranked = tf.where(tf.logical_or(done, tf.logical_not(any_done)), normalized, _NEG_INF)
    _, chosen = tf.math.top_k(ranked, k=1)
    chosen = first_row[:, 0] + chosen[:, 0]
    scores = tf.gather(tf.reshape(normalized, [rows]), chosen)
    lengths = tf.gather(lengths, chosen)

    # Walk the parent pointers back from the chosen hypotheses.
    def back_step(t, hypothesis, tokens_back, attention_back):
        t -= 1
        tokens_back = tokens_back.write(t, tf.gather(token_steps.read(t), hypothesis))
        if keep_attention:
            attention_back = attention_back.write(
                t, tf.gather(attention_steps.read(t), hypothesis))
        return t, tf.gather(parent_steps.read(t), hypothesis), tokens_back, attention_back

    _, _, tokens_back, attention_back = tf.while_loop(
        lambda t, *_: t > 0, back_step,
        (steps, chosen, tf.TensorArray(tf.int64, size=steps + 1),
         tf.TensorArray(tf.float32, size=steps + 1)))

    # Other hypotheses may have run longer than the returned ones.
    length = tf.reduce_max(tf.concat([lengths, [0]], axis=0))
    tokens = _stack_steps(tokens_back, steps, tf.zeros([batch], tf.int64))[:, :length]
    if keep_attention:
        attention = _stack_steps(attention_back, steps,
                                 tf.zeros(tf.shape(source_ids), tf.float32))[:, :length]
    else:
        attention = _zero_attention(batch, length, source_ids)
    return DecodeResult(tokens, lengths, scores, attention)


# ---------------------------------------------------------------------------
# Ids -> text
# ---------------------------------------------------------------------------


def detokenize(tokens: tf.Tensor, lengths: tf.Tensor, vocabulary_table) -> tf.Tensor:
    """Target ids [batch, L] -> sentences [batch]: words joined by one space.

    `vocabulary_table` is a `tf.lookup` table from id to word. Tokens past
    `lengths` and the PAD, SOS and EOS ids are dropped; OOV_ID reads
    OOV_TOKEN whatever the table says.
    """
    tokens = tf.convert_to_tensor(tokens)
    words = vocabulary_table.lookup(tf.cast(tokens, vocabulary_table.key_dtype))
    words = tf.where(tf.equal(tokens, contract.OOV_ID), contract.OOV_TOKEN, words)
    positions = tf.range(tf.shape(tokens)[1])[tf.newaxis]
    keep = positions < tf.cast(lengths, tf.int32)[:, tf.newaxis]
    for marker in (contract.PAD_ID, contract.SOS_ID, contract.EOS_ID):
        keep = tf.logical_and(keep, tf.not_equal(tokens, marker))
    return tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep), axis=1, separator=" ")
