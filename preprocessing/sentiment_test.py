"""TextVectorization semantics of the sentiment preprocessing_fn (through TFT's Beam API)."""

import functools
import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from preprocessing import sentiment

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SPEC = {"text": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}
CORPUS = [
    "The movie was GREAT, great fun.<br /><br />Great cast!",
    "Bad movie. Bad acting; bad plot...",
    "great great bad movie the",
    "",
]


def _run(texts, config, *, more=()):
    """Analyzes `texts`, transforms `texts + more`; returns outputs and the transform graph dir."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    fn = functools.partial(sentiment.preprocessing_fn, custom_config=config)
    rows = [{"text": t.encode(), "label": i % 2} for i, t in enumerate(texts)]
    extra = [{"text": t.encode(), "label": 0} for t in more]
    tmp = tempfile.mkdtemp()
    with tft_beam.Context(temp_dir=tmp):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(fn)
        out, _ = ((rows + extra, metadata), transform_fn) | tft_beam.TransformDataset()
        _ = transform_fn | tft_beam.WriteTransformFn(os.path.join(tmp, "tft"))
    return out, os.path.join(tmp, "tft")


def test_standardize_lowercases_strips_punctuation_and_break_tags():
    clean = sentiment.standardize(tf.constant(["A <br />B<br/>c, D! e's"])).numpy()[0].decode()
    assert clean.split() == ["a", "b", "c", "d", "es"]


def test_ids_pad_zero_oov_one_most_frequent_first():
    out, tft_dir = _run(CORPUS, {"vocab_size": 5, "max_len": 8}, more=["great unseenword"])
    vocab = tft.TFTransformOutput(tft_dir).vocabulary_by_name(sentiment.VOCABULARY_NAME)
    # The three most frequent words (vocab_size 5 = pad + OOV + 3): great 5, bad 4, movie 3.
    assert [w.decode() for w in vocab] == ["great", "bad", "movie"]
    # "the movie was great great fun great cast": the/was/fun/cast are OOV (1).
    np.testing.assert_array_equal(out[0][sentiment.TOKENS], [1, 4, 1, 2, 2, 1, 2, 1])
    # Right padding with 0; an empty review is one OOV token; unseen words are OOV.
    np.testing.assert_array_equal(out[1][sentiment.TOKENS], [3, 4, 3, 1, 3, 1, 0, 0])
    np.testing.assert_array_equal(out[3][sentiment.TOKENS], [1] + [0] * 7)
    np.testing.assert_array_equal(out[4][sentiment.TOKENS], [2, 1, 0, 0, 0, 0, 0, 0])


def test_truncation_keeps_the_first_tokens():
    out, _ = _run(CORPUS, {"vocab_size": 5, "max_len": 3})
    assert all(len(r[sentiment.TOKENS]) == 3 for r in out)
    np.testing.assert_array_equal(out[1][sentiment.TOKENS][:1], out[1][sentiment.TOKENS][2:3])


def test_variable_length_keeps_every_token():
    out, _ = _run(CORPUS, {"vocab_size": 5, "max_len": 0})
    assert [len(r[sentiment.TOKENS]) for r in out] == [8, 6, 5, 1]


def test_vocabulary_is_an_asset_of_the_transform_graph():
    _, tft_dir = _run(CORPUS, {"vocab_size": 5, "max_len": 4})
    assets = os.listdir(os.path.join(tft_dir, "transform_fn", "assets"))
    assert sentiment.VOCABULARY_NAME in assets


@pytest.mark.parametrize("config, message", [({"vocab_size": 2}, "vocab_size"),
                                             ({"max_len": -1}, "max_len")])
def test_bad_options(config, message):
    with pytest.raises(ValueError, match=message):
        sentiment.options(config)
