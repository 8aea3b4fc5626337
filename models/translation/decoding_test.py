"""Tests for models.translation.decoding, over tiny hand-built StepDecoders.

The decoders here are Markov tables: the next token's log-probabilities
depend only on the previous token (order 1) or the two previous ones
(order 2, carried in the decoder state so that beam search must reorder
it), with one table per sentence (picked by the first source id) so that
the rows of a batch finish at different steps. The graph results are
compared with plain Python loops: `reference_greedy` (eager calls to
`decoder.step`), `reference_beam` (the same beam-search rules over the
tables in NumPy) and brute-force enumeration of all short sequences.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from models.translation import decoding
from preprocessing import translation_contract as contract

PAD, OOV, SOS, EOS = contract.PAD_ID, contract.OOV_ID, contract.SOS_ID, contract.EOS_ID
A, B = 4, 5  # two target words after the special ids
SOURCE_LEN = 5


# ---------------------------------------------------------------------------
# Test decoders
# ---------------------------------------------------------------------------


class MarkovDecoder(tf.Module):
    """A StepDecoder driven by fixed log-probability tables.

    `tables` is [sentences, V, V] (order 1: previous token -> next) or
    [sentences, V, V, V] (order 2: token before it, previous token -> next).
    Sentence b uses table `source_ids[b, 0] % sentences`. The attention is a
    softmax over the source positions that depends on the memory, the token
    and the position. `calls` counts the steps run.
    """

    has_attention = True

    def __init__(self, tables: np.ndarray):
        super().__init__()
        self.order = tables.ndim - 2
        self.target_vocab_size = tables.shape[-1]
        self.log_prob_tables = tables.astype(np.float32)
        self.tables = tf.constant(self.log_prob_tables)
        self.calls = tf.Variable(0, dtype=tf.int64, trainable=False)

    def encode(self, source_ids):
        return {"table": tf.math.floormod(source_ids[:, 0], self.tables.shape[0]),
                "keys": tf.cast(source_ids, tf.float32) * 0.1}

    def initial_state(self, memory, max_length):
        return {"before": tf.fill(tf.shape(memory["table"]), tf.constant(SOS, tf.int64))}

    def step(self, memory, state, tokens, position):
        self.calls.assign_add(1)
        if self.order == 1:
            index = tf.stack([memory["table"], tokens], axis=1)
        else:
            index = tf.stack([memory["table"], state["before"], tokens], axis=1)
        log_probs = tf.gather_nd(self.tables, index)
        scale = tf.cast(position + 1, tf.float32)
        attention = tf.nn.softmax(
            memory["keys"] * scale + tf.cast(tokens, tf.float32)[:, tf.newaxis] * 0.3)
        return log_probs, {"before": tokens}, attention

    def next_log_probs(self, sentence: int, prefix: tuple[int, ...]) -> np.ndarray:
        """NumPy: the log-probs after SOS + prefix, for the references."""
        history = (SOS, SOS) + prefix
        table = self.log_prob_tables[sentence % len(self.log_prob_tables)]
        if self.order == 1:
            return table[history[-1]]
        return table[history[-2], history[-1]]


def log_table(probabilities) -> np.ndarray:
    """Row-normalized log-probabilities; zeros become -inf."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities / probabilities.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(probabilities)


def random_tables(seed: int, sentences: int, vocab: int, order: int,
                  eos_bias=(-3.0, 1.0)) -> np.ndarray:
    """Peaked random tables; sentence s gets an EOS bias between the two
    bounds, so some sentences stop at once and some run to max_length."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(sentences,) + (vocab,) * (order + 1)) * 2.0
    bias = np.linspace(*eos_bias, sentences).reshape((sentences,) + (1,) * order)
    logits[..., EOS] += bias
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def sources(sentences: int) -> tf.Tensor:
    """One source row per table, with different lengths (PAD-padded)."""
    rows = []
    for s in range(sentences):
        words = [s] + [2 + (s + i) % 7 for i in range(s % (SOURCE_LEN - 1))]
        rows.append(words + [PAD] * (SOURCE_LEN - len(words)))
    return tf.constant(rows, tf.int64)


# ---------------------------------------------------------------------------
# Python references
# ---------------------------------------------------------------------------


def reference_greedy(decoder, source_ids, max_length: int) -> decoding.DecodeResult:
    """Greedy decoding the slow way: one sentence at a time, eager calls to
    `decoder.step`, NumPy argmax, stop at EOS. Returns NumPy arrays."""
    source_ids = np.asarray(source_ids)
    rows = []
    for sentence in source_ids:
        memory = decoder.encode(tf.constant(sentence[np.newaxis], tf.int64))
        state = decoder.initial_state(memory, tf.constant(max_length))
        token, tokens, attention, score = SOS, [], [], np.float32(0.0)
        for position in range(max_length):
            log_probs, state, weights = decoder.step(
                memory, state, tf.constant([token], tf.int64), tf.constant(position))
            log_probs = log_probs.numpy()[0]
            token = int(np.argmax(log_probs))
            score = np.float32(score + log_probs[token])
            tokens.append(token)
            attention.append(weights.numpy()[0])
            if token == EOS:
                break
        rows.append((tokens, attention, score))
    length = max((len(tokens) for tokens, _, _ in rows), default=0)
    out_tokens = np.full((len(rows), length), PAD, np.int64)
    out_attention = np.zeros((len(rows), length, source_ids.shape[1]), np.float32)
    for b, (tokens, attention, _) in enumerate(rows):
        out_tokens[b, :len(tokens)] = tokens
        out_attention[b, :len(tokens)] = attention
    return decoding.DecodeResult(
        out_tokens, np.array([len(r[0]) for r in rows], np.int32),
        np.array([r[2] for r in rows], np.float32), out_attention)


def reference_beam(decoder: MarkovDecoder, sentence: int, beam_width: int,
                   max_length: int, length_penalty: float):
    """The documented beam-search rules over one sentence's table, in Python
    lists (float32 sums, like the graph): -> (tokens, normalized score)."""
    vocab = decoder.target_vocab_size
    hypotheses = [((), np.float32(0.0), False)]  # (tokens, sum log-prob, finished)
    for _ in range(max_length):
        if all(finished for _, _, finished in hypotheses):
            break
        candidates = []  # (score, flat index as in the graph, hypothesis)
        for slot, (tokens, total, finished) in enumerate(hypotheses):
            if finished:
                candidates.append((total, slot * vocab + PAD, (tokens, total, True)))
                continue
            log_probs = decoder.next_log_probs(sentence, tokens)
            for token in range(vocab):
                score = np.float32(total + log_probs[token])
                candidates.append((score, slot * vocab + token,
                                   (tokens + (token,), score, token == EOS)))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        hypotheses = [c[2] for c in candidates[:beam_width] if c[0] > -np.inf]

    def normalized(hypothesis):
        tokens, total, _ = hypothesis
        return total / np.float32(len(tokens)) ** np.float32(length_penalty)

    finished = [h for h in hypotheses if h[2]]
    best = max(finished or hypotheses, key=normalized)  # first of equals wins
    return list(best[0]), normalized(best)


def brute_force_best(decoder: MarkovDecoder, sentence: int, max_length: int,
                     length_penalty: float):
    """The finished sequence (EOS last, at most max_length tokens) with the
    highest normalized score, over all sequences: -> (tokens, score)."""
    words = [t for t in range(decoder.target_vocab_size) if t != EOS]
    best, best_score = None, -np.inf
    for length in range(1, max_length + 1):
        for prefix in itertools.product(words, repeat=length - 1):
            tokens = prefix + (EOS,)
            total = sum(decoder.next_log_probs(sentence, tokens[:i])[t]
                        for i, t in enumerate(tokens))
            score = total / length ** length_penalty
            if score > best_score:
                best, best_score = list(tokens), score
    return best, best_score


def replay(decoder, source_row, tokens):
    """Teacher-forces `tokens` through decoder.step: (sum log-prob, attention)."""
    memory = decoder.encode(tf.constant([source_row], tf.int64))
    state = decoder.initial_state(memory, tf.constant(len(tokens)))
    previous, total, attention = SOS, 0.0, []
    for position, token in enumerate(tokens):
        log_probs, state, weights = decoder.step(
            memory, state, tf.constant([previous], tf.int64), tf.constant(position))
        total += float(log_probs[0, token])
        attention.append(weights.numpy()[0])
        previous = token
    return total, np.array(attention)


# ---------------------------------------------------------------------------
# Graph functions (traced once per decoder and length penalty)
# ---------------------------------------------------------------------------

_SOURCE_SPEC = tf.TensorSpec([None, None], tf.int64, name="source_ids")
_INT_SPEC = tf.TensorSpec([], tf.int32)
_compiled: dict = {}


def greedy_fn(decoder):
    key = (id(decoder), "greedy")
    if key not in _compiled:
        _compiled[key] = tf.function(
            lambda source_ids, max_length: decoding.greedy_decode(decoder, source_ids, max_length),
            input_signature=[_SOURCE_SPEC, _INT_SPEC])
    return _compiled[key]


def beam_fn(decoder, length_penalty=1.0):
    key = (id(decoder), "beam", length_penalty)
    if key not in _compiled:
        _compiled[key] = tf.function(
            lambda source_ids, beam_width, max_length: decoding.beam_search(
                decoder, source_ids, beam_width, max_length, length_penalty),
            input_signature=[_SOURCE_SPEC, _INT_SPEC, _INT_SPEC])
    return _compiled[key]


def greedy(decoder, source_ids, max_length):
    return tf.nest.map_structure(
        lambda t: t.numpy(), greedy_fn(decoder)(source_ids, tf.constant(max_length)))


def beam(decoder, source_ids, beam_width, max_length, length_penalty=1.0):
    result = beam_fn(decoder, length_penalty)(
        source_ids, tf.constant(beam_width), tf.constant(max_length))
    return tf.nest.map_structure(lambda t: t.numpy(), result)


def rows(result) -> list[list[int]]:
    return [list(t[:n]) for t, n in zip(result.tokens, result.lengths)]


def check_padding(result, max_length):
    """The layout every DecodeResult must have."""
    assert result.tokens.dtype == np.int64 and result.lengths.dtype == np.int32
    assert result.scores.dtype == np.float32 and result.attention.dtype == np.float32
    assert result.tokens.shape[1] == result.lengths.max() <= max_length
    assert result.attention.shape[:2] == result.tokens.shape
    for tokens, length, attention in zip(result.tokens, result.lengths, result.attention):
        assert (tokens[length:] == PAD).all() and (attention[length:] == 0).all()
        assert EOS not in tokens[:length - 1]
        assert tokens[length - 1] == EOS or length == max_length


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

SENTENCES = 8  # batch of the random-table tests, one table each


@pytest.fixture(scope="module")
def markov():
    return MarkovDecoder(random_tables(seed=11, sentences=SENTENCES, vocab=7, order=1))


@pytest.fixture(scope="module")
def markov2():
    return MarkovDecoder(random_tables(seed=4, sentences=SENTENCES, vocab=6, order=2))


@pytest.fixture(scope="module")
def greedy_trap():
    """Greedy takes A (p=0.6), whose continuations are all unlikely; the
    best translation is B (p=0.4) then EOS (p=1)."""
    uniform = np.ones(6)
    table = np.stack([uniform] * 6)
    table[SOS] = [0, 0, 0, 0, 0.6, 0.4]
    table[A] = [0.1, 0.2, 0.1, 0.3, 0.15, 0.15]
    table[B] = [0, 0, 0, 1.0, 0, 0]
    return MarkovDecoder(log_table(table)[np.newaxis])


# ---------------------------------------------------------------------------
# Greedy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["markov", "markov2"])
def test_greedy_equals_python_reference(fixture, request):
    decoder = request.getfixturevalue(fixture)
    source_ids, max_length = sources(SENTENCES), 12
    result = greedy(decoder, source_ids, max_length)
    expected = reference_greedy(decoder, source_ids, max_length)

    # The tables make rows finish at different steps, some never.
    assert len(set(expected.lengths)) >= 3 and max_length in expected.lengths
    np.testing.assert_array_equal(result.tokens, expected.tokens)
    np.testing.assert_array_equal(result.lengths, expected.lengths)
    np.testing.assert_allclose(result.scores, expected.scores, rtol=1e-6)
    np.testing.assert_allclose(result.attention, expected.attention, rtol=1e-5, atol=1e-7)
    check_padding(result, max_length)


def test_greedy_runs_eagerly(markov):
    source_ids = sources(3)
    result = decoding.greedy_decode(markov, source_ids, tf.constant(6))
    expected = reference_greedy(markov, source_ids, 6)
    np.testing.assert_array_equal(result.tokens.numpy(), expected.tokens)


def test_greedy_is_not_optimal_on_the_trap(greedy_trap):
    result = greedy(greedy_trap, tf.zeros([1, 2], tf.int64), 10)
    assert rows(result) == [[A, EOS]]
    np.testing.assert_allclose(result.scores, [np.log(0.6 * 0.3)], rtol=1e-6)


# ---------------------------------------------------------------------------
# Beam search
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_finds_what_greedy_misses(greedy_trap, length_penalty):
    max_length = 4
    best, best_score = brute_force_best(greedy_trap, 0, max_length, length_penalty)
    assert best == [B, EOS]  # the trap works: not greedy's [A, EOS]

    result = beam(greedy_trap, tf.zeros([2, 3], tf.int64), 2, max_length, length_penalty)
    assert rows(result) == [[B, EOS]] * 2
    np.testing.assert_allclose(result.scores, [best_score] * 2, rtol=1e-6)
    # Both hypotheses (B EOS, A EOS) finished at step 2: no third step.
    assert result.tokens.shape == (2, 2)


def test_beam_search_first_step_has_one_live_hypothesis(greedy_trap):
    # k copies of the SOS hypothesis would fill the beam with A, A and lose
    # B; a width of 6 (the vocabulary size) must still find B.
    for beam_width in (2, 3, 6, contract.MAX_BEAM_WIDTH):
        result = beam(greedy_trap, tf.zeros([1, 1], tf.int64), beam_width, 4)
        assert rows(result) == [[B, EOS]], beam_width


@pytest.mark.parametrize("length_penalty", [0.0, 0.5, 1.0])
def test_wide_beam_is_exhaustive_search(length_penalty):
    # 4 tokens, 2 steps: 4 + 3 * 4 + 1 = 13 hypotheses at most, so a beam
    # of 16 keeps them all and must return the brute-force optimum.
    decoder = MarkovDecoder(random_tables(seed=3, sentences=4, vocab=4, order=1,
                                          eos_bias=(-1.0, 0.5)))
    result = beam(decoder, sources(4), contract.MAX_BEAM_WIDTH, 2, length_penalty)
    for sentence in range(4):
        best, best_score = brute_force_best(decoder, sentence, 2, length_penalty)
        assert rows(result)[sentence] == best
        np.testing.assert_allclose(result.scores[sentence], best_score, rtol=1e-5)


@pytest.mark.parametrize("fixture", ["markov", "markov2"])
@pytest.mark.parametrize("beam_width", [2, 3, 5])
def test_beam_search_equals_python_reference(fixture, beam_width, request):
    decoder = request.getfixturevalue(fixture)
    source_ids, max_length = sources(SENTENCES), 9
    for length_penalty in (0.0, 1.0):
        result = beam(decoder, source_ids, beam_width, max_length, length_penalty)
        check_padding(result, max_length)
        for sentence in range(SENTENCES):
            tokens, score = reference_beam(decoder, sentence, beam_width, max_length,
                                           length_penalty)
            assert rows(result)[sentence] == tokens, (sentence, length_penalty)
            np.testing.assert_allclose(result.scores[sentence], score, rtol=1e-5)
    # The returned attention is the returned hypothesis' own.
    for sentence in (0, SENTENCES - 1):
        tokens = rows(result)[sentence]
        total, attention = replay(decoder, source_ids[sentence].numpy(), tokens)
        np.testing.assert_allclose(result.scores[sentence], total / len(tokens), rtol=1e-5)
        np.testing.assert_allclose(result.attention[sentence, :len(tokens)], attention,
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fixture", ["markov", "markov2"])
def test_beam_width_one_is_greedy(fixture, request):
    decoder = request.getfixturevalue(fixture)
    source_ids, max_length = sources(SENTENCES), 12
    expected = greedy(decoder, source_ids, max_length)
    for length_penalty in (0.0, 1.0):
        result = beam(decoder, source_ids, 1, max_length, length_penalty)
        np.testing.assert_array_equal(result.tokens, expected.tokens)
        np.testing.assert_array_equal(result.lengths, expected.lengths)
        np.testing.assert_allclose(
            result.scores, expected.scores / expected.lengths ** length_penalty, rtol=1e-6)
        np.testing.assert_allclose(result.attention, expected.attention, rtol=1e-6)


# ---------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------


def _count_steps(decoder, run) -> int:
    decoder.calls.assign(0)
    run()
    return int(decoder.calls.numpy())


def test_loops_stop_when_every_hypothesis_has_finished():
    # SOS -> any word, every other token -> EOS surely: every row and every
    # beam finishes at step 2.
    table = np.zeros((6, 6))
    table[:, EOS] = 1.0
    table[SOS] = [0, 1, 0, 0, 1, 1]
    decoder = MarkovDecoder(log_table(table)[np.newaxis])
    source_ids = tf.zeros([3, 2], tf.int64)

    steps = _count_steps(decoder, lambda: greedy(decoder, source_ids, 50))
    result = greedy(decoder, source_ids, 50)
    assert steps == 2 and result.tokens.shape == (3, 2)
    assert rows(result) == [[OOV, EOS]] * 3  # ties go to the lower id

    for beam_width in (1, 3, 5):
        steps = _count_steps(decoder, lambda: beam(decoder, source_ids, beam_width, 50))
        result = beam(decoder, source_ids, beam_width, 50)
        assert steps == 2 and result.tokens.shape == (3, 2), beam_width
        np.testing.assert_array_equal(result.lengths, [2, 2, 2])


def test_loops_stop_at_max_length_without_eos():
    table = np.ones((6, 6))
    table[:, EOS] = 0.0
    table[:, A] = 3.0
    decoder = MarkovDecoder(log_table(table)[np.newaxis])
    source_ids = tf.zeros([2, 2], tf.int64)
    for run in (lambda: greedy(decoder, source_ids, 7),
                lambda: beam(decoder, source_ids, 4, 7)):
        assert _count_steps(decoder, run) == 7
        result = run()
        assert result.tokens.shape == (2, 7)
        np.testing.assert_array_equal(result.lengths, [7, 7])
        assert rows(result) == [[A] * 7] * 2


def test_empty_batch(markov):
    empty = tf.zeros([0, 3], tf.int64)
    for result in (greedy(markov, empty, 5), beam(markov, empty, 3, 5)):
        assert result.tokens.shape == (0, 0) and result.lengths.shape == (0,)
        assert result.attention.shape == (0, 0, 3)


# ---------------------------------------------------------------------------
# Serving: tf.function arguments and SavedModel
# ---------------------------------------------------------------------------


class Translator(tf.Module):
    """What the trainer exports, in small: greedy for width 1, beam otherwise."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    @tf.function(input_signature=[_SOURCE_SPEC, tf.TensorSpec([], tf.int32, name="beam_width"),
                                  tf.TensorSpec([], tf.int32, name="max_length")])
    def translate(self, source_ids, beam_width, max_length):
        with tf.control_dependencies(decoding.check_decode_arguments(beam_width, max_length)):
            source_ids = tf.identity(source_ids)
        tokens, lengths, scores = tf.cond(
            tf.equal(beam_width, 1),
            lambda: decoding.greedy_decode(self.decoder, source_ids, max_length)[:3],
            lambda: decoding.beam_search(self.decoder, source_ids, beam_width, max_length)[:3])
        return {"tokens": tokens, "lengths": lengths, "scores": scores}


def test_saved_model_takes_beam_width_and_max_length(markov2, tmp_path):
    translator = Translator(markov2)
    source_ids = sources(SENTENCES)
    before = {k: translator.translate(source_ids, tf.constant(k), tf.constant(9))
              for k in (1, 3)}
    tf.saved_model.save(translator, str(tmp_path),
                        signatures={"translate": translator.translate.get_concrete_function()})
    translate = tf.saved_model.load(str(tmp_path)).signatures["translate"]

    def run(beam_width, max_length=9):
        return translate(source_ids=source_ids, beam_width=tf.constant(beam_width),
                         max_length=tf.constant(max_length))

    for beam_width in (1, 3):
        for key, value in run(beam_width).items():
            np.testing.assert_array_equal(value.numpy(), before[beam_width][key].numpy())
    # A width the module never ran before export.
    out = run(4)
    for sentence in range(SENTENCES):
        tokens, score = reference_beam(markov2, sentence, 4, 9, 1.0)
        assert list(out["tokens"][sentence, :out["lengths"][sentence]].numpy()) == tokens
        np.testing.assert_allclose(out["scores"][sentence].numpy(), score, rtol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_width must be in"):
        run(contract.MAX_BEAM_WIDTH + 1)


# ---------------------------------------------------------------------------
# Detokenization
# ---------------------------------------------------------------------------


def test_detokenize():
    words = list(contract.TARGET_SPECIAL_TOKENS) + ["hola", "mundo", "amigo"]
    words[OOV] = "something else"  # OOV reads OOV_TOKEN whatever the table says
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.range(len(words), dtype=tf.int64), tf.constant(words)),
        default_value=contract.OOV_TOKEN)
    tokens = tf.constant([[A, B, EOS, PAD],
                          [OOV, A, 6, EOS],
                          [EOS, PAD, PAD, PAD],
                          [SOS, A, A, A]], tf.int64)
    lengths = tf.constant([3, 4, 1, 3])
    text = decoding.detokenize(tokens, lengths, table).numpy().tolist()
    assert text == [b"hola mundo", b"[UNK] hola amigo", b"", b"hola hola"]

    empty = decoding.detokenize(tf.zeros([2, 0], tf.int64), tf.zeros([2], tf.int32), table)
    assert empty.numpy().tolist() == [b"", b""]


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("beam_width, max_length, message", [
    (0, 10, "beam_width must be in \\[1, MAX_BEAM_WIDTH = 16\\], got beam_width=0"),
    (17, 10, "beam_width must be in .*got beam_width=17"),
    (2, 0, "max_length must be in \\[1, MAX_DECODE_LENGTH = 200\\], got max_length=0"),
    (2, 201, "max_length must be in .*got max_length=201"),
    (2.0, 10, "beam_width must be an integer"),
    (True, 10, "beam_width must be an integer"),
    (2, "10", "max_length must be an integer"),
])
def test_validate_rejects(beam_width, max_length, message):
    with pytest.raises(ValueError, match=message):
        decoding.validate(beam_width, max_length)


def test_validate_accepts_the_limits():
    decoding.validate(1, 1)
    decoding.validate(np.int64(contract.MAX_BEAM_WIDTH), contract.MAX_DECODE_LENGTH)


@pytest.mark.parametrize("beam_width, max_length, message", [
    (0, 10, "beam_width must be in \\[1, MAX_BEAM_WIDTH = 16\\], got beam_width ="),
    (contract.MAX_BEAM_WIDTH + 1, 10, "beam_width must be in"),
    (2, 0, "max_length must be in \\[1, MAX_DECODE_LENGTH = 200\\], got max_length ="),
    (2, contract.MAX_DECODE_LENGTH + 1, "max_length must be in"),
])
def test_graph_checks_reject(markov, beam_width, max_length, message):
    @tf.function(input_signature=[_INT_SPEC, _INT_SPEC])
    def check(beam_width, max_length):
        with tf.control_dependencies(decoding.check_decode_arguments(beam_width, max_length)):
            return tf.identity(beam_width)

    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        check(tf.constant(beam_width), tf.constant(max_length))
    # The decoders check their own arguments too.
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        beam_fn(markov)(sources(2), tf.constant(beam_width), tf.constant(max_length))
    if beam_width == 2:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            greedy_fn(markov)(sources(2), tf.constant(max_length))


def test_graph_checks_reject_float_arguments():
    with pytest.raises(ValueError, match="beam_width must be an integer tensor"):
        decoding.check_decode_arguments(tf.constant(2.0), tf.constant(5))


def test_length_penalty_must_be_non_negative(markov):
    for bad in (-0.5, float("nan"), "1"):
        with pytest.raises(ValueError, match="length_penalty must be a finite number >= 0"):
            decoding.beam_search(markov, sources(1), tf.constant(2), tf.constant(3), bad)
