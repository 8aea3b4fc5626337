"""Char-RNN input pipeline semantics: windows, targets, stateful continuity."""

import numpy as np
import pytest

from models.char_rnn.trainer import TrainConfig, stateful_batches, window_dataset

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_targets_are_inputs_shifted_by_one():
    ids = np.arange(1000, dtype=np.int64)
    config = TrainConfig(window=100, shift=1, batch_size=8, shuffle_buffer=50)
    x, y = next(iter(window_dataset(ids, config, training=True)))
    assert x.shape == (8, 100) and y.shape == (8, 100)
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    np.testing.assert_array_equal(y.numpy() - x.numpy(), 1)  # consecutive ids of the stream
    # Windows start every `shift` characters: 1000 − 100 windows of 101.
    n = sum(int(b[0].shape[0]) for b in window_dataset(ids, config, training=True))
    assert n == 1000 - 100


def test_shifted_passes_rotate_offsets_and_cover_every_window():
    ids = np.arange(1000, dtype=np.int64)
    config = TrainConfig(window=100, shift=3, batch_size=10, shuffle_buffer=1)
    per_pass = -(-(1000 - 100) // 3)  # windows per pass at one offset
    starts = [int(x[0]) for x, _ in window_dataset(ids, config, training=True)
              .unbatch().take(3 * per_pass)]
    # Three passes, one per offset, each a different residue of 3 ...
    residues = [{s % 3 for s in starts[i * per_pass:(i + 1) * per_pass]} for i in range(3)]
    assert all(len(r) == 1 for r in residues) and set().union(*residues) == {0, 1, 2}
    # ... together every window start of shift 1, once.
    assert sorted(starts) == list(range(0, 1000 - 100))


def test_a_small_buffer_keeps_the_books_start_to_end_order():
    """shuffle_buffer / shift windows span as much text as the book's buffer
    at shift 1: each pass then moves through the text from start to end and
    ends on its last part (next to the validation text), as the book's does."""
    ids = np.arange(20_000, dtype=np.int64)
    shift, per_pass = 10, -(-(20_000 - 100) // 10)
    local = TrainConfig(window=100, shift=shift, batch_size=10, shuffle_buffer=1000 // shift)
    full = TrainConfig(window=100, shift=shift, batch_size=10, shuffle_buffer=per_pass)

    def pass_starts(config):
        return np.array([int(x[0]) for x, _ in window_dataset(ids, config, training=True)
                         .unbatch().take(per_pass)])

    def tenths(starts):  # median start of each tenth of a pass, as a fraction of the text
        return [float(np.median(t)) / 20_000 for t in np.array_split(starts, 10)]

    ordered, shuffled = tenths(pass_starts(local)), tenths(pass_starts(full))
    # The small buffer walks the text: each tenth of the pass sits near its
    # tenth of the text, the last one next to the text's end.
    assert ordered == sorted(ordered) and ordered[-1] > 0.9
    assert all(abs(m - (i + 0.5) / 10) < 0.05 for i, m in enumerate(ordered))
    # A buffer of a whole pass mixes the text: no tenth sits near its place.
    assert shuffled != sorted(shuffled) and shuffled[-1] < 0.7


def test_cosine_schedule_decays_from_the_starting_rate():
    from models.char_rnn.trainer import COSINE_FLOOR, cosine_decay

    rate = cosine_decay(4).schedule
    assert rate(0, 0.004) == pytest.approx(0.004)  # the rate training starts with
    assert rate(2, 123.0) == pytest.approx(0.004 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2))
    assert rate(4, 123.0) == pytest.approx(0.004 * COSINE_FLOOR)
    rates = [rate(e, 0.0) for e in range(5)]
    assert rates == sorted(rates, reverse=True)


def test_validation_windows_are_back_to_back():
    ids = np.arange(1001, dtype=np.int64)
    config = TrainConfig(window=100, batch_size=4)
    starts = [int(x[0]) for x, _ in window_dataset(ids, config, training=False).unbatch()]
    assert starts == list(range(0, 1000, 100))


def test_stateful_rows_continue_across_batches():
    ids = np.arange(32 * 1000, dtype=np.int64)
    config = TrainConfig(variant="stateful", window=100, batch_size=32)
    batches = stateful_batches(ids, config)
    assert batches.shape == (9, 32, 101)  # (1000 − 1) // 100 windows per part
    for k in range(len(batches) - 1):
        # Row n of batch k+1 starts where row n of batch k's inputs ended.
        np.testing.assert_array_equal(batches[k + 1][:, 0], batches[k][:, -1])
    # Row n reads part n of the text.
    np.testing.assert_array_equal(batches[0][:, 0], np.arange(32) * 1000)


def test_too_short_text_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one window"):
        window_dataset(np.arange(50), TrainConfig(window=100), training=True)
    with pytest.raises(ValueError, match="too few"):
        stateful_batches(np.arange(500), TrainConfig(variant="stateful", batch_size=32))


@pytest.mark.parametrize("options, message", [
    ({"variant": "beam"}, "variant"), ({"window": 0}, "window"),
    ({"steps_per_epoch": -1}, "steps_per_epoch"), ({"vocab": 39}, "unknown char_rnn"),
    ({"lr_schedule": "linear"}, "lr_schedule"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_custom_config(options)


def _transformed_corpus(tmp_path, text: str, chunk: int = 200):
    """The real preprocessing_fn over `text` in chunks; returns (tft_dir, files)."""
    import functools
    import os

    import tensorflow as tf
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    from preprocessing import char_rnn as features

    spec = {"text": tf.io.FixedLenFeature([], tf.string),
            "chunk_index": tf.io.FixedLenFeature([], tf.int64)}
    rows = [{"text": text[i:i + chunk].encode(), "chunk_index": i // chunk}
            for i in range(0, len(text), chunk)]
    rows = rows[::-1]  # out of order on purpose: the trainer must sort chunks
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    tft_dir = str(tmp_path / "tft")
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        (out, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            functools.partial(features.preprocessing_fn, custom_config={"lowercase": True}))
        _ = transform_fn | tft_beam.WriteTransformFn(tft_dir)
    metadata_io.write_metadata(metadata, os.path.join(tft_dir, "metadata"))
    path = str(tmp_path / "chunks.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for r in out:
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                "char_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=r["char_ids"])),
                "chunk_index": tf.train.Feature(int64_list=tf.train.Int64List(value=[r["chunk_index"]])),
            })).SerializeToString())
    return tft_dir, [path]


def test_id_stream_restores_corpus_order(tmp_path):
    import tensorflow_transform as tft

    from models.char_rnn.trainer import id_stream
    from preprocessing import char_rnn as features

    text = "to be, or not to be: that is the question. " * 30
    tft_dir, files = _transformed_corpus(tmp_path, text)
    out = tft.TFTransformOutput(tft_dir)
    chars = features.vocabulary_characters(out.vocabulary_by_name(features.VOCABULARY_NAME))
    assert "".join(chars[i] for i in id_stream(files, out)) == text


def test_stateful_variant_trains_and_serves_a_stateless_copy(tmp_path):
    import tensorflow as tf
    import tensorflow_transform as tft

    from models.char_rnn import trainer

    text = "to be, or not to be: that is the question. whether tis nobler in the mind. " * 40
    tft_dir, files = _transformed_corpus(tmp_path, text)
    out = tft.TFTransformOutput(tft_dir)
    config = TrainConfig(variant="stateful", window=10, batch_size=4, units=8, embed_dim=4)
    model, stats = trainer.train(config, files, files, out, train_steps=2 * 74)  # 2 passes
    assert stats["epochs"] >= 2  # states are reset at each epoch start
    assert not model.get_layer("gru").stateful  # the served copy is stateless
    serving = trainer.CharRnnServing(model, out, config)
    path = str(tmp_path / "export")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    generate = tf.saved_model.load(path).signatures["generate"]
    text_out = generate(prompt=tf.constant("To be"), n_chars=tf.constant(20),
                        temperature=tf.constant(1.0), top_k=tf.constant(0),
                        top_p=tf.constant(1.0), seed=tf.constant(1, tf.int64))["text"]
    assert len(text_out.numpy().decode()) == 20


def test_served_prompts_are_encoded_by_the_transform_graph(tmp_path):
    import numpy as np
    import tensorflow as tf
    import tensorflow_transform as tft

    from models.char_rnn import trainer

    text = "to be, or not to be: that is the question. " * 30
    tft_dir, files = _transformed_corpus(tmp_path, text)
    out = tft.TFTransformOutput(tft_dir)
    config = TrainConfig(window=10, batch_size=4, units=8, embed_dim=4)
    model, _ = trainer.train(config, files, files, out, train_steps=3)
    serving = trainer.CharRnnServing(model, out, config)
    # The same ids Transform gives the text ("To Be" is lower-cased by it).
    transformed = out.transform_raw_features({"text": tf.constant(["To Be"])})["char_ids"]
    np.testing.assert_array_equal(serving._prompt_ids(tf.constant("To Be")).numpy(),
                                  tf.sparse.to_dense(transformed).numpy()[0])
    path = str(tmp_path / "export")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    probs = tf.saved_model.load(path).signatures["next_char_probs"]
    upper = probs(prompt=tf.constant("To Be"))["probabilities"].numpy()
    lower = probs(prompt=tf.constant("to be"))["probabilities"].numpy()
    np.testing.assert_allclose(upper, lower, rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the vocabulary:.*`z`"):
        probs(prompt=tf.constant("to bez"))
