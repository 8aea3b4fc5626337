"""Sentiment trainer glue on a tiny real Transform output: datasets, export,
the pretrained-encoder variant with a locally built SavedModel, bad options."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from models.sentiment import local_encoder, trainer
from preprocessing import sentiment as features

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

POS = ["a wonderful film, loved it", "great acting and a great story", "wonderful, moving, great"]
NEG = ["a boring waste of time", "terrible plot and bad acting", "bad, boring, terrible"]


def _feature(value):
    if isinstance(value, (bytes, np.bytes_)):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[bytes(value)]))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(value).reshape(-1)))


def _transform(tmp_path, max_len: int) -> tuple[str, list[str]]:
    """Runs the real preprocessing_fn; writes the transform graph and GZIP shards."""
    spec = {"text": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}
    rows = [{"text": t.encode(), "label": 1} for t in POS] + [{"text": t.encode(), "label": 0} for t in NEG]
    rows = rows * 6
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    fn = functools.partial(features.preprocessing_fn, custom_config={"vocab_size": 20, "max_len": max_len})
    tft_dir = str(tmp_path / f"tft_{max_len}")
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        (out, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(tft_dir)
    # Transform (the TFX component) also records the raw schema beside the graph.
    metadata_io.write_metadata(metadata, os.path.join(tft_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    shard = str(tmp_path / f"examples_{max_len}.gz")
    with tf.io.TFRecordWriter(shard, options="GZIP") as w:
        for r in out:
            w.write(tf.train.Example(features=tf.train.Features(feature={
                k: _feature(v) for k, v in r.items()})).SerializeToString())
    return tft_dir, [shard]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """`transformed(max_len)`: one Transform run per max_len for the whole file
    (a Beam run costs seconds; the tests only read its output)."""
    runs: dict[int, tuple[str, list[str]]] = {}

    def get(max_len: int) -> tuple[str, list[str]]:
        if max_len not in runs:
            runs[max_len] = _transform(tmp_path_factory.mktemp(f"transform_{max_len}"), max_len)
        return runs[max_len]

    return get


def _export_and_load(model, tft_dir, config, tmp_path):
    serving = trainer.SentimentServing(model, tft.TFTransformOutput(tft_dir), config)
    path = str(tmp_path / f"export_{config.variant}_{config.max_len}")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return tf.saved_model.load(path).signatures["predict_text"]


@pytest.mark.parametrize("variant, max_len", [("mask_zero", 12), ("ragged", 0), ("mask_dropout", 0)])
def test_train_export_and_predict_raw_text(tmp_path, transformed, variant, max_len):
    tft_dir, files = transformed(max_len)
    config = trainer.TrainConfig(variant=variant, vocab_size=20, max_len=max_len,
                                 batch_size=4, steps_per_epoch=3)
    model, stats = trainer.train(config, files, files, tft.TFTransformOutput(tft_dir), train_steps=6)
    assert stats["epochs"] == 2
    predict_text = _export_and_load(model, tft_dir, config, tmp_path)
    texts = POS + NEG + ["", "zzz unseen words"]
    p = predict_text(text=tf.constant(texts))["probability"].numpy()
    assert p.shape == (len(texts),) and np.all((p > 0) & (p < 1))
    # One review at a time gives the same answer as in a batch (masking works).
    if variant != "no_mask":
        single = [predict_text(text=tf.constant([t]))["probability"].numpy()[0] for t in texts]
        np.testing.assert_allclose(single, p, atol=1e-5)


def test_padded_batches_and_length_buckets(transformed):
    tft_dir, files = transformed(0)
    out = tft.TFTransformOutput(tft_dir)
    padded = trainer.make_dataset(
        files, out, trainer.TrainConfig(variant="mask_zero", batch_size=4, length_buckets=False),
        training=False)
    x, y = next(iter(padded))
    assert x.shape[0] == 4 and x.dtype == tf.int64 and y.shape == (4,)
    # Right-padded to the longest review of the batch: every row ends in pad or a word.
    lengths = tf.reduce_sum(tf.cast(x > 0, tf.int32), axis=1).numpy()
    assert x.shape[1] == lengths.max()
    bucketed = trainer.make_dataset(files, out, trainer.TrainConfig(variant="ragged", batch_size=4),
                                    training=False)
    assert sum(int(b[0].shape[0]) for b in bucketed) == 36
    # With a fixed max_len the ragged variant still sees each review's own length.
    tft_dir, files = transformed(12)
    out = tft.TFTransformOutput(tft_dir)
    widths = {int(b[0].shape[1]) for b in trainer.make_dataset(
        files, out, trainer.TrainConfig(variant="ragged", max_len=12, batch_size=4), training=False)}
    assert max(widths) < 12


def test_masked_variants_are_bucketed_by_default_and_no_mask_never():
    bucketed = {v: trainer.TrainConfig(variant=v).bucketed for v in
                ("no_mask", "mask_zero", "mask_dropout", "ragged", "bidirectional")}
    assert bucketed == {"no_mask": False, "mask_zero": True, "mask_dropout": True,
                        "ragged": True, "bidirectional": True}
    assert not trainer.TrainConfig(variant="mask_zero", length_buckets=False).bucketed
    assert trainer.TrainConfig(variant="ragged", length_buckets=False).bucketed  # its definition
    assert trainer.TrainConfig(variant="no_mask", length_buckets=True).bucketed  # on request


def _tiny_encoder(path: str) -> str:
    """A SavedModel sentence encoder: hashed words → mean of an 8-d embedding."""
    class Encoder(tf.Module):
        def __init__(self):
            self.table = tf.Variable(tf.random.stateless_normal([64, 8], seed=[1, 2]), name="embeddings")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            words = tf.strings.split(tf.strings.lower(text))
            ids = tf.strings.to_hash_bucket_fast(words, 64)
            vectors = tf.gather(self.table, ids)
            counts = tf.cast(tf.maximum(words.row_lengths(), 1), tf.float32)[:, None]
            return {"outputs": tf.reduce_sum(vectors, axis=1) / counts}  # empty text → zeros

    enc = Encoder()
    tf.saved_model.save(enc, path, signatures={"serving_default": enc.__call__})
    return path


def test_pretrained_variant_fine_tunes_a_local_encoder(tmp_path, transformed):
    tft_dir, files = transformed(12)
    encoder = _tiny_encoder(str(tmp_path / "encoder"))
    config = trainer.TrainConfig.from_custom_config(
        {"variant": "pretrained", "encoder_path": encoder, "batch_size": 4, "steps_per_epoch": 3})
    model, _ = trainer.train(config, files, files, tft.TFTransformOutput(tft_dir), train_steps=3)
    embeddings = [w for w in model.trainable_weights if "embeddings" in w.path]
    assert embeddings, "the encoder's weights are trainable (fine-tuning)"
    predict_text = _export_and_load(model, tft_dir, config, tmp_path)
    p = predict_text(text=tf.constant(["a wonderful film", ""]))["probability"].numpy()
    assert p.shape == (2,)


def test_pretrained_variant_defaults_to_the_packaged_glove_encoder(tmp_path, transformed,
                                                                    monkeypatch):
    if not local_encoder.available():
        pytest.skip(f"{local_encoder.PIP_NAME} is not installed")
    # The real default path, from a small slice of the table into a private cache.
    monkeypatch.setattr(local_encoder, "DEFAULT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(local_encoder, "DEFAULT_VOCABULARY_SIZE", 5000)
    tft_dir, files = transformed(12)
    config = trainer.TrainConfig.from_custom_config(
        {"variant": "pretrained", "batch_size": 4, "steps_per_epoch": 3})
    assert config.encoder_path == ""
    model, stats = trainer.train(config, files, files, tft.TFTransformOutput(tft_dir), train_steps=3)
    assert stats["epochs"] == 1
    (encoder_path,) = [os.path.join(tmp_path / "cache" / "encoders", d)
                       for d in os.listdir(tmp_path / "cache" / "encoders")]
    (table,) = [w for w in model.trainable_weights if "embeddings" in w.path]
    assert table.shape == (5000, local_encoder.DIM)
    original = tf.saved_model.load(encoder_path).embeddings.numpy()
    assert not np.allclose(table.numpy(), original), "fine-tuning moves the word vectors"
    # The export carries the encoder (vocabulary asset and table) with the model.
    predict_text = _export_and_load(model, tft_dir, config, tmp_path)
    p = predict_text(text=tf.constant(["a wonderful film", "bad, boring", "", "qzxjvw"]))
    p = p["probability"].numpy()
    assert p.shape == (4,) and np.all((p > 0) & (p < 1))
    assert p[2] == pytest.approx(p[3])  # no known word: the same (zero) sentence vector


def test_pretrained_variant_without_path_or_package_is_refused(monkeypatch):
    monkeypatch.setattr(local_encoder, "PACKAGE", "no_such_glove_package")
    with pytest.raises(ValueError, match="local SavedModel"):
        trainer.TrainConfig.from_custom_config({"variant": "pretrained"})


@pytest.mark.parametrize("options, message", [
    ({"variant": "pretrained", "encoder_path": "/nonexistent/encoder"}, "does not exist"),
    ({"variant": "lstm"}, "lstm"),
    ({"batch_size": 0}, "batch_size"),
    ({"epochs": 2}, "unknown sentiment trainer options"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(options)
