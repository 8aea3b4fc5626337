"""TensorFlow Transform for the sentiment family: Keras TextVectorization
semantics, computed once over the train split and embedded in the model.

standardize: lower-case (UTF-8 aware), replace the corpus' `<br />` markup
    with a space, strip ASCII punctuation (Keras' default set);
split: on whitespace;
vocabulary: the `vocab_size − 2` most frequent training tokens get ids
    2..vocab_size−1; 0 is padding and 1 is out-of-vocabulary, as in
    TextVectorization. The vocabulary file is an asset of the transform graph;
empty reviews: one OOV token (never a row of pure padding);
output: `max_len` > 0 right-pads/truncates to that length (dense);
    `max_len` = 0 keeps every token (variable length, stored sparse) and the
    trainer pads per batch.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import schema_pb2

from preprocessing import schema_features

TEXT = "text"
LABEL = "label"
REVIEW_ID = "review_id"
LENGTH_BUCKET = "length_bucket"

TOKENS = "tokens"
VOCABULARY_NAME = "words"

PAD_ID = 0
OOV_ID = 1
DEFAULTS = {"vocab_size": 1000, "max_len": 0}

# Keras' TextVectorization strips exactly this set.
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_BREAK_TAG = r"<br\s*/?>"


def options(custom_config: dict[str, Any] | None) -> dict[str, int]:
    """Validated preprocessing options (shared with the trainer)."""
    config = dict(DEFAULTS)
    config.update({k: v for k, v in (custom_config or {}).items() if k in DEFAULTS})
    if int(config["vocab_size"]) < 3:
        raise ValueError(f"vocab_size must be >= 3 (pad, OOV and a word), got {config['vocab_size']}")
    if int(config["max_len"]) < 0:
        raise ValueError(f"max_len must be >= 0 (0 = keep every token), got {config['max_len']}")
    return {k: int(v) for k, v in config.items()}


def standardize(text: tf.Tensor) -> tf.Tensor:
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _BREAK_TAG, " ")
    return tf.strings.regex_replace(text, _PUNCTUATION, "")


def token_ids(text: tf.Tensor, vocab_size: int) -> tf.RaggedTensor:
    """Strings [batch] → ragged ids with 0 = pad (never produced) and 1 = OOV.

    A review with no words becomes one OOV token: a row of pure padding is
    rejected by the cuDNN GRU kernel on GPUs, and "unknown" is what it is.
    """
    words = tf.strings.split(standardize(text))
    ids = tft.compute_and_apply_vocabulary(
        words, top_k=vocab_size - 2, default_value=-1, vocab_filename=VOCABULARY_NAME)
    ids = tf.ragged.map_flat_values(
        lambda v: tf.where(v < 0, tf.constant(OOV_ID, tf.int64), v + 2), ids)
    empty = tf.cast(tf.equal(ids.row_lengths(), 0), tf.int64)
    filler = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(OOV_ID, tf.int64)), empty)
    return tf.concat([ids, filler], axis=1)


def preprocessing_fn(inputs: dict[str, tf.Tensor],
                     custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    config = options(custom_config)
    text = tf.reshape(inputs[TEXT], [-1])
    ids = token_ids(text, config["vocab_size"])
    if config["max_len"]:
        tokens = ids.to_tensor(default_value=PAD_ID, shape=[None, config["max_len"]])
    else:
        tokens = ids.to_sparse()
    outputs = {TOKENS: tokens, TEXT: text}  # raw text: for the pretrained-encoder variant
    for passthrough in (LABEL, REVIEW_ID, LENGTH_BUCKET):
        if passthrough in inputs:
            outputs[passthrough] = tf.reshape(inputs[passthrough], [-1])
    return outputs


# Jensen-Shannon divergence of the label histogram, and L-infinity distance
# of the review-length mix, from the last validated span above which the
# run stops (IMDb is 50/50; a span of one class only, or of one-line
# reviews, is far above either).
LABEL_DRIFT_THRESHOLD = 0.1
LENGTH_DRIFT_THRESHOLD = 0.2


def curated_schema(length_buckets: tuple[str, ...] | None = None) -> schema_pb2.Schema:
    """The schema the review examples must meet: text, a 0/1 label, a
    rating (1..10, or -1 when the source has none), an id, and one of the
    importer's length buckets; the label and length mixes close to the last
    validated span's."""
    from components.imdb_example_gen import reviews

    buckets = length_buckets or tuple(name for _, name in reviews.LENGTH_BUCKETS)
    schema = schema_pb2.Schema()
    schema_features.required(schema, TEXT, schema_pb2.BYTES)
    label = schema_features.required(schema, LABEL, schema_pb2.INT)
    label.int_domain.min, label.int_domain.max = 0, 1
    label.drift_comparator.jensen_shannon_divergence.threshold = LABEL_DRIFT_THRESHOLD
    rating = schema_features.required(schema, reviews.RATING_FEATURE, schema_pb2.INT)
    rating.int_domain.min, rating.int_domain.max = -1, 10
    schema_features.required(schema, REVIEW_ID, schema_pb2.BYTES)
    bucket = schema_features.required(schema, LENGTH_BUCKET, schema_pb2.BYTES)
    bucket.string_domain.value.extend(buckets)
    bucket.drift_comparator.infinity_norm.threshold = LENGTH_DRIFT_THRESHOLD
    return schema
