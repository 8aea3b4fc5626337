"""Character vocabulary semantics of the char-RNN preprocessing_fn (TFT Beam API)."""

import functools
import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from preprocessing import char_rnn

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SPEC = {"text": tf.io.FixedLenFeature([], tf.string), "chunk_index": tf.io.FixedLenFeature([], tf.int64)}


def _run(train_texts, config=None, more=()):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    fn = functools.partial(char_rnn.preprocessing_fn, custom_config=config)
    rows = [{"text": t.encode(), "chunk_index": i} for i, t in enumerate(train_texts)]
    extra = [{"text": t.encode(), "chunk_index": 100 + i} for i, t in enumerate(more)]
    tmp = tempfile.mkdtemp()
    with tft_beam.Context(temp_dir=tmp):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(fn)
        out, _ = ((rows + extra, metadata), transform_fn) | tft_beam.TransformDataset()
        _ = transform_fn | tft_beam.WriteTransformFn(os.path.join(tmp, "tft"))
    vocab = tft.TFTransformOutput(os.path.join(tmp, "tft")).vocabulary_by_name(char_rnn.VOCABULARY_NAME)
    return out, char_rnn.vocabulary_characters(vocab), os.path.join(tmp, "tft")


def _decode(ids, chars):
    return "".join(chars[i] for i in ids)


def test_lowercased_vocabulary_by_frequency_round_trips_the_text():
    out, chars, _ = _run(["To be, or NOT to be:\nthat is the question."])
    assert chars[0] == " "  # the most frequent character gets id 0
    assert "\n" in chars and "T" not in chars and "t" in chars
    assert _decode(out[0][char_rnn.CHAR_IDS], chars) == "to be, or not to be:\nthat is the question."
    assert out[0][char_rnn.CHUNK_INDEX] == 0


def test_keep_case_option():
    _, chars, _ = _run(["To Be"], {"lowercase": False})
    assert {"T", "B", "o", "e", " "} == set(chars)


def test_characters_unseen_in_training_map_to_unknown():
    out, chars, _ = _run(["abcabc"], more=["abz!"])
    ids = out[1][char_rnn.CHAR_IDS]
    assert list(ids[2:]) == [char_rnn.UNKNOWN_ID] * 2
    assert _decode(ids[:2], chars) == "ab"


def test_non_ascii_characters_are_single_tokens():
    out, chars, _ = _run(["café naïve"])
    assert "é" in chars and "ï" in chars
    assert len(out[0][char_rnn.CHAR_IDS]) == len("café naïve")


def test_vocabulary_is_an_asset_of_the_transform_graph():
    _, _, tft_dir = _run(["hello world"])
    assert char_rnn.VOCABULARY_NAME in os.listdir(os.path.join(tft_dir, "transform_fn", "assets"))
