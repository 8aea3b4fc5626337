"""The sentiment pipeline end to end on a subset of the shared IMDb archive."""

from __future__ import annotations

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft

from pipelines.run import main as run_pipeline
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

IMDB = h.shared_dataset("imdb", "aclImdb_train.tar.gz")

EDGE_CASES = [
    "",
    "zzyzx qwertyuiop flibbertigibbet",  # nothing but unseen words
    "A truly wonderful, moving film.<br /><br />Loved it!",
    " ".join(["great", "boring", "plot"] * 3000),  # far longer than max_len
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("sentiment")
    code = run_pipeline(["--family", "sentiment", "--profile", "smoke", "--imdb", IMDB,
                         "--work-dir", str(work)])
    return {"code": code, "work": str(work),
            "root": os.path.join(work, "tfx_pipeline_output", "sentiment"),
            "serving": os.path.join(work, "serving_model", "sentiment")}


def _pushed(run) -> str:
    versions = h.pushed_versions(run["serving"])
    assert len(versions) == 1
    return os.path.join(run["serving"], versions[0])


def _raw_eval(root):
    spec = {"text": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64),
            "review_id": tf.io.FixedLenFeature([], tf.string)}
    return h.read_examples(os.path.join(h.only(f"{root}/ExampleGen/examples/*"), "Split-eval"), spec)


def test_smoke_run_blesses_pushes_and_slices_by_length(smoke_run):
    assert smoke_run["code"] == 0
    evaluation = h.only(f"{smoke_run['root']}/Evaluator/evaluation/*")
    assert tfma.load_validation_result(evaluation).validation_ok
    buckets = {m.slice_key.single_slice_keys[0].bytes_value
               for m in tfma.load_metrics(evaluation) if m.slice_key.single_slice_keys}
    assert len(buckets) >= 3


def test_pushed_model_answers_raw_text_without_keras(smoke_run):
    loaded = tf.saved_model.load(_pushed(smoke_run))
    assert {"serving_default", "predict_text"} <= set(loaded.signatures)
    p = loaded.signatures["predict_text"](text=tf.constant(EDGE_CASES))["probability"].numpy()
    assert p.shape == (len(EDGE_CASES),) and np.all((p > 0) & (p < 1))
    serialized = h.serialized_examples(smoke_run["root"], "eval")[:64]
    texts = [tf.train.Example.FromString(s).features.feature["text"].bytes_list.value[0]
             for s in serialized]
    by_example = loaded.signatures["serving_default"](examples=tf.constant(serialized))["probability"]
    by_text = loaded.signatures["predict_text"](text=tf.constant(texts))["probability"]
    np.testing.assert_allclose(by_example.numpy(), by_text.numpy(), atol=1e-6)


def _model_and_transform(root):
    import models.sentiment.architectures  # noqa: F401  registers custom objects
    model = keras.saving.load_model(h.only(f"{root}/Trainer/model_run/*/model.keras"))
    return model, tft.TFTransformOutput(h.only(f"{root}/Transform/transform_graph/*"))


def test_skew_predict_text_equals_model_on_transform_output(smoke_run):
    root = smoke_run["root"]
    predict_text = tf.saved_model.load(_pushed(smoke_run)).signatures["predict_text"]
    model, tft_output = _model_and_transform(root)
    transformed = h.read_examples(
        os.path.join(h.only(f"{root}/Transform/transformed_examples/*"), "Split-eval"),
        tft_output.transformed_feature_spec())
    raw = _raw_eval(root)
    text_by_id = dict(zip(raw["review_id"], raw["text"]))
    texts = [text_by_id[i] for i in transformed["review_id"]]
    from_model = model.predict(transformed["tokens"], batch_size=256, verbose=0).reshape(-1)
    from_text = predict_text(text=tf.constant(texts))["probability"].numpy()
    np.testing.assert_allclose(from_text, from_model, atol=1e-6)


def _python_tokens(text: str, vocab: list[str], max_len: int) -> list[int]:
    """An independent reimplementation of the TextVectorization semantics."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    text = re.sub(r'[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~\']', "", text)
    index = {w: i + 2 for i, w in enumerate(vocab)}
    ids = [index.get(w, 1) for w in text.split()][:max_len] or [1]  # empty → one OOV
    return ids + [0] * (max_len - len(ids))


def test_skew_edge_cases_match_an_independent_tokenizer(smoke_run):
    predict_text = tf.saved_model.load(_pushed(smoke_run)).signatures["predict_text"]
    model, tft_output = _model_and_transform(smoke_run["root"])
    vocab = [w.decode() for w in tft_output.vocabulary_by_name("words")]
    assert len(vocab) == 998  # vocab_size 1000 = pad + OOV + 998 words
    tokens = np.array([_python_tokens(t, vocab, 128) for t in EDGE_CASES])
    from_model = model.predict(tokens, verbose=0).reshape(-1)
    from_text = predict_text(text=tf.constant(EDGE_CASES))["probability"].numpy()
    np.testing.assert_allclose(from_text, from_model, atol=1e-6)
