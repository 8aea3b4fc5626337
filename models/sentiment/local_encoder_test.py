"""The packaged-GloVe sentence encoder: tokenization, pooling, the SavedModel
contract the trainer relies on, and the build-once cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from models.sentiment import local_encoder as le

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.skipif(not le.available(), reason=f"{le.PIP_NAME} is not installed"),
]

# A 20k-word slice of the table builds in about a second; every word below is in it.
SUBSET = 20_000


@pytest.fixture(scope="module")
def encode(tmp_path_factory):
    path = le.export_encoder(str(tmp_path_factory.mktemp("glove") / "encoder"),
                             vocabulary_size=SUBSET)
    fn = tf.saved_model.load(path).signatures[le.SIGNATURE]
    return lambda texts: fn(text=tf.constant(texts))[le.OUTPUT].numpy()


def _cos(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def test_maps_strings_to_one_vector_each(encode):
    texts = ["A wonderful film, loved it!", "terrible plot<br /><br />and bad acting", "the"]
    e = encode(texts)
    assert e.shape == (3, le.DIM) and e.dtype == np.float32 and np.all(np.isfinite(e))
    # A batch gives each text what it gets alone.
    np.testing.assert_allclose(np.stack([encode([t])[0] for t in texts]), e, atol=1e-6)
    # Case and the IMDb line-break markup do not matter.
    np.testing.assert_allclose(encode(["LOVED IT<br />"])[0], encode(["loved it"])[0], atol=1e-6)


def test_similar_words_and_sentences_are_closer(encode):
    good, great, awful, terrible, banana = encode(["good", "great", "awful", "terrible", "banana"])
    assert _cos(good, great) > 0.7 > 0.3 > _cos(good, banana)
    assert _cos(awful, terrible) > _cos(awful, banana) + 0.3
    praise, praise2, market = encode(["a wonderful movie", "a great film", "the stock market fell"])
    assert _cos(praise, praise2) > _cos(praise, market) + 0.2


def test_empty_and_unknown_text_give_zeros_and_unknown_words_are_skipped(encode):
    empty, unknown, spaces = encode(["", "qzxjvw blorptastic", "   "])
    np.testing.assert_array_equal(np.stack([empty, unknown, spaces]), 0.0)
    np.testing.assert_allclose(encode(["great qzxjvw film"])[0], encode(["great film"])[0],
                               atol=1e-6)


def test_tokenizes_like_the_glove_corpus():
    tokens = le.tokenize(tf.constant(["Don't miss the film's 'twist', it's GREAT!<br />Café."]))
    assert [t.decode() for t in tokens.to_list()[0]] == [
        "do", "n't", "miss", "the", "film", "'s", "'", "twist", "'", ",", "it", "'s", "great",
        "!", "café", "."]


def test_sif_weights_mute_frequent_words():
    w = le.sif_weights(1000)
    assert w[0] < 0.02 and 0.5 < w[99] < 0.7 and w[-1] > 0.9
    assert np.all(np.diff(w) > 0)


def test_pooling_on_a_table_of_its_own(tmp_path):
    words = ["the", "good", "film"]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], np.float32)
    mean = tf.saved_model.load(le.export_encoder(
        str(tmp_path / "mean"), words=words, vectors=vectors, weighting="mean"))
    out = mean.signatures[le.SIGNATURE](text=tf.constant(["the good film", "good", "x"]))
    np.testing.assert_allclose(out[le.OUTPUT].numpy(), [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
                               atol=1e-6)
    sif = tf.saved_model.load(le.export_encoder(
        str(tmp_path / "sif"), words=words, vectors=vectors, weighting="sif"))
    w = le.sif_weights(3)
    expected = (w[:, None] * vectors).sum(0) / w.sum()
    np.testing.assert_allclose(
        sif.signatures[le.SIGNATURE](text=tf.constant(["the good film"]))[le.OUTPUT].numpy()[0],
        expected, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weighting="max"), "weighting"),
    (dict(vocabulary_size=0), "vocabulary_size"),
    (dict(words=["a", "a"], vectors=np.zeros((2, 2))), "unique"),
    (dict(words=["a b"], vectors=np.zeros((1, 2))), "whitespace"),
    (dict(words=["a"], vectors=np.zeros((2, 2))), "one vector per word"),
    (dict(words=["a"]), "both"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        le.export_encoder(str(tmp_path / "encoder"), **kwargs)


def test_default_encoder_is_built_once_into_the_cache(tmp_path):
    path = le.default_encoder_path(str(tmp_path), vocabulary_size=2000)
    assert path.startswith(str(tmp_path / "encoders"))
    assert os.path.exists(os.path.join(path, "assets", "vocabulary.txt"))
    stamp = os.path.getmtime(os.path.join(path, "saved_model.pb"))
    assert le.default_encoder_path(str(tmp_path), vocabulary_size=2000) == path
    assert os.path.getmtime(os.path.join(path, "saved_model.pb")) == stamp
    assert os.listdir(tmp_path / "encoders") == [os.path.basename(path)]  # no scratch left


def test_a_missing_package_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(le, "PACKAGE", "no_such_glove_package")
    assert not le.available()
    with pytest.raises(le.EncoderUnavailable, match=le.PIP_NAME):
        le.default_encoder_path(str(tmp_path))
    assert not os.listdir(tmp_path)
