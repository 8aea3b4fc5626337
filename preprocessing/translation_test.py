"""The translation preprocessing_fn through TFT's Beam API: the book's
standardization, one vocabulary per language, teacher forcing, and the
helpers that read the transform output back."""

import functools
import os
import shutil
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from preprocessing import translation
from preprocessing import translation_contract as contract

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SPEC = {contract.SOURCE: tf.io.FixedLenFeature([], tf.string),
        contract.TARGET: tf.io.FixedLenFeature([], tf.string)}
# Train counts. Source: i 4, like 3, soccer 2, the 1, beach 1.
# Target: me 4, gusta 3, el 2, fútbol/la/playa/balón 1; the marker words
# (endofseq 3, startofseq 2) would outrank "el" if they were counted.
PAIRS = [
    ("I like soccer.", "¡Me gusta el fútbol!"),
    ("I like the beach?", "¿Me gusta la playa?"),
    ("I like soccer", "ME GUSTA el balón."),
    ("I", "¿?"),
    ("...", "endofseq, startofseq endofseq! endofseq startofseq me"),
]
UNSEEN = [("Soccer unseenword", "Fútbolito gusta")]  # transformed, not analyzed
SIZES = {"source_vocab_size": 5, "target_vocab_size": 7}  # 3 words each
I, LIKE, SOCCER = 2, 3, 4
ME, GUSTA, EL = 4, 5, 6
OOV, SOS, EOS = contract.OOV_ID, contract.SOS_ID, contract.EOS_ID


def _rows(pairs):
    return [{contract.SOURCE: s.encode(), contract.TARGET: t.encode()} for s, t in pairs]


def _run(config):
    """Analyzes PAIRS, transforms PAIRS + UNSEEN; returns outputs and the transform graph dir."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    fn = functools.partial(translation.preprocessing_fn, custom_config=config)
    tmp = tempfile.mkdtemp()
    with tft_beam.Context(temp_dir=tmp):
        transform_fn = (_rows(PAIRS), metadata) | tft_beam.AnalyzeDataset(fn)
        out, _ = ((_rows(PAIRS + UNSEEN), metadata), transform_fn) | tft_beam.TransformDataset()
        _ = transform_fn | tft_beam.WriteTransformFn(os.path.join(tmp, "tft"))
    ids = [{k: list(r[k]) for k in (contract.SOURCE_IDS, contract.DECODER_INPUT_IDS,
                                    contract.DECODER_TARGET_IDS)} for r in out]
    return ids, os.path.join(tmp, "tft")


@pytest.fixture(scope="module")
def full():
    return _run({**SIZES, "source_digest": "ignored"})


@pytest.fixture(scope="module")
def truncated():
    """Short sentences, and room for more words than the train split has."""
    return _run({"source_vocab_size": 100, "target_vocab_size": 100, "max_length": 3})


def _clean(text: str) -> list[str]:
    return [w.decode() for w in translation.tokenize(tf.constant([text])).to_list()[0]]


# --- standardization -----------------------------------------------------------

def test_standardize_keeps_accents_and_drops_inverted_marks():
    assert _clean("¿Qué hora es, Ángel?") == ["qué", "hora", "es", "ángel"]
    assert _clean("¡ÑANDÚ! ÉL ESTÁ AQUÍ.") == ["ñandú", "él", "está", "aquí"]


def test_standardize_strips_ascii_punctuation_like_text_vectorization():
    assert _clean('Tom\'s "book" (new) - 3.5 [x] {y} a/b; c:d_e') == [
        "toms", "book", "new", "35", "x", "y", "ab", "cde"]
    # Keras' default strips ASCII punctuation only.
    assert _clean("«hola»") == ["«hola»"]


def test_tokenize_is_ragged_by_sentence():
    words = translation.tokenize(tf.constant(["A  b\tC", "", "?!"]))
    assert isinstance(words, tf.RaggedTensor)
    assert words.to_list() == [[b"a", b"b", b"c"], [], []]
    assert translation.standardize(tf.constant("¿Sí?")).numpy().decode() == "sí"


# --- vocabularies and ids ------------------------------------------------------

def test_vocabularies_are_the_most_frequent_train_words(full):
    output = tft.TFTransformOutput(full[1])
    source = [w.decode() for w in output.vocabulary_by_name(contract.SOURCE_VOCABULARY)]
    target = [w.decode() for w in output.vocabulary_by_name(contract.TARGET_VOCABULARY)]
    assert source == ["i", "like", "soccer"]
    # The marker words are frequent enough, but are never vocabulary words.
    assert target == ["me", "gusta", "el"]


def test_source_ids_start_after_pad_and_oov(full):
    ids, _ = full
    assert ids[0][contract.SOURCE_IDS] == [I, LIKE, SOCCER]
    assert ids[1][contract.SOURCE_IDS] == [I, LIKE, OOV, OOV]  # "the", "beach" did not make it


def test_teacher_forcing_shifts_by_one(full):
    ids, _ = full
    words = [ME, GUSTA, EL, OOV]  # "fútbol" is not in the vocabulary
    assert ids[0][contract.DECODER_INPUT_IDS] == [SOS] + words
    assert ids[0][contract.DECODER_TARGET_IDS] == words + [EOS]
    for row in ids:
        decoder_in, target = row[contract.DECODER_INPUT_IDS], row[contract.DECODER_TARGET_IDS]
        assert len(decoder_in) == len(target)
        assert decoder_in[1:] == target[:-1]
        assert decoder_in[0] == SOS and target[-1] == EOS
        assert SOS not in decoder_in[1:] and EOS not in target[:-1]


def test_marker_words_in_a_sentence_are_oov_not_markers(full):
    ids, _ = full
    assert ids[4][contract.DECODER_TARGET_IDS] == [OOV] * 5 + [ME, EOS]


def test_unknown_words_are_oov(full):
    ids, _ = full
    assert ids[5][contract.SOURCE_IDS] == [SOCCER, OOV]
    assert ids[5][contract.DECODER_INPUT_IDS] == [SOS, OOV, GUSTA]


def test_empty_sentences(full):
    ids, _ = full
    assert ids[4][contract.SOURCE_IDS] == [OOV]  # "..." standardizes to nothing
    assert ids[3][contract.DECODER_INPUT_IDS] == [SOS]
    assert ids[3][contract.DECODER_TARGET_IDS] == [EOS]
    assert all(contract.PAD_ID not in v for row in ids for v in row.values())


def test_truncation_at_max_length(truncated):
    ids, tft_dir = truncated
    output = tft.TFTransformOutput(tft_dir)
    source = translation.source_id_to_token_table(output)
    target = translation.target_id_to_token_table(output)
    assert source.lookup(tf.constant(ids[1][contract.SOURCE_IDS], tf.int64)).numpy().tolist() == [
        b"i", b"like", b"the"]  # of "i like the beach"
    # "me gusta la playa": two words, then the marker.
    assert target.lookup(tf.constant(ids[1][contract.DECODER_INPUT_IDS], tf.int64)).numpy().tolist() == [
        b"startofseq", b"me", b"gusta"]
    assert target.lookup(tf.constant(ids[1][contract.DECODER_TARGET_IDS], tf.int64)).numpy().tolist() == [
        b"me", b"gusta", b"endofseq"]
    assert all(len(v) <= 3 for row in ids for v in row.values())
    assert [len(row[contract.DECODER_TARGET_IDS]) for row in ids] == [3, 3, 3, 1, 3, 3]


def test_outputs_are_variable_length(full):
    _, tft_dir = full
    spec = tft.TFTransformOutput(tft_dir).transformed_feature_spec()
    for key in (contract.SOURCE_IDS, contract.DECODER_INPUT_IDS, contract.DECODER_TARGET_IDS):
        assert spec[key] == tf.io.VarLenFeature(tf.int64)


def test_the_transform_graph_tokenizes_raw_serving_text(full):
    # What the serving graph does: raw user text (with ¿¡ and capitals), no target.
    layer = tft.TFTransformOutput(full[1]).transform_features_layer()
    out = layer({contract.SOURCE: tf.constant(["¡I LIKE soccer!", "?"]),
                 contract.TARGET: tf.constant(["", ""])})
    dense = {k: tf.sparse.to_dense(v).numpy().tolist() for k, v in out.items()}
    assert dense[contract.SOURCE_IDS] == [[I, LIKE, SOCCER], [OOV, 0, 0]]
    assert dense[contract.DECODER_INPUT_IDS] == [[SOS], [SOS]]
    assert dense[contract.DECODER_TARGET_IDS] == [[EOS], [EOS]]


# --- reading the transform output -------------------------------------------------

def test_vocabulary_sizes_count_special_ids(full):
    output = tft.TFTransformOutput(full[1])
    assert translation.source_vocabulary_size(output) == 5
    assert translation.target_vocabulary_size(output) == 7


def test_vocabulary_sizes_follow_the_words_seen(truncated):
    # Asking for more words than the train split has: the sizes are what exists.
    output = tft.TFTransformOutput(truncated[1])
    assert translation.source_vocabulary_size(output) == 2 + 5
    assert translation.target_vocabulary_size(output) == 4 + 7  # me gusta el fútbol la playa balón


def test_id_to_token_tables(full):
    output = tft.TFTransformOutput(full[1])
    table = translation.target_id_to_token_table(output)
    assert isinstance(table, tf.lookup.StaticHashTable)
    words = table.lookup(tf.constant([0, 1, 2, 3, 4, 5, 6, 7, -1], tf.int64)).numpy()
    assert [w.decode() for w in words] == [
        "", "[UNK]", "startofseq", "endofseq", "me", "gusta", "el", "[UNK]", "[UNK]"]
    ragged = table.lookup(tf.ragged.constant([[2, 4], []], tf.int64))
    assert ragged.to_list() == [[b"startofseq", b"me"], []]
    source = translation.source_id_to_token_table(output)
    assert source.lookup(tf.constant([0, 1, 2, 4], tf.int64)).numpy().tolist() == [
        b"", b"[UNK]", b"i", b"soccer"]


class _Words(tf.Module):
    def __init__(self, output):
        super().__init__()
        self.words = translation.target_id_to_token_table(output)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def __call__(self, ids):
        return self.words.lookup(ids)


def test_id_to_token_table_exports_the_vocabulary_as_an_asset(full, tmp_path):
    copy = str(tmp_path / "tft")
    shutil.copytree(full[1], copy)
    module = _Words(tft.TFTransformOutput(copy))
    tf.saved_model.save(module, str(tmp_path / "model"))
    shutil.rmtree(copy)  # the SavedModel must not need the transform output any more
    assert contract.TARGET_VOCABULARY in os.listdir(tmp_path / "model" / "assets")
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    assert loaded(tf.constant([3, 5, 9], tf.int64)).numpy().tolist() == [b"endofseq", b"gusta", b"[UNK]"]


# --- options ---------------------------------------------------------------------

def test_default_options_are_the_contract_defaults():
    assert translation.options(None) == {"source_vocab_size": contract.VOCAB_SIZE,
                                         "target_vocab_size": contract.VOCAB_SIZE,
                                         "max_length": contract.MAX_LENGTH}


@pytest.mark.parametrize("config, message", [
    ({"source_vocab_size": 2}, "source_vocab_size must be >= 3"),
    ({"target_vocab_size": 4}, "target_vocab_size must be >= 5"),
    ({"max_length": 1}, "max_length must be >= 2"),
    ({"max_length": "ten"}, "max_length must be an integer"),
    ({"max_length": 2.5}, "max_length must be an integer"),
    ({"source_vocab_size": True}, "source_vocab_size must be an integer"),
    ({"target_vocab_size": None}, "target_vocab_size must be an integer"),
])
def test_bad_options(config, message):
    with pytest.raises(ValueError, match=message):
        translation.options(config)
