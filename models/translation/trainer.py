"""TFX Trainer entry point (`run_fn`) for the translation family.

Reads Transform's token ids (source, decoder input = SOS + target, decoder
target = target + EOS), batches sentences of similar length together so a
batch is padded to its own longest sentence, trains the configured variant
of `architectures`, and exports a SavedModel that takes raw sentences:
tokenization (the transform graph and its vocabulary assets), the decoding
loop (`decoding`) and detokenization all run inside it.

Signatures:
  serving_default  serialized tf.Example (source, target) → per-example
                   teacher-forced token counts, the greedy translation and
                   the standardized reference: what the TFMA metrics read.
  translate        sentences [batch], beam_width, max_length → translation,
                   score (greedy for beam_width 1, beam search otherwise).
  attention        (attention variants) sentences, max_length → target
                   tokens, source tokens and the attention-weight matrix of
                   the greedy translation.
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
from models.common.arguments import canonical_name
from models.translation import architectures, decoding, evaluation
from preprocessing import translation as features
from preprocessing import translation_contract as contract

# Length buckets (longest side, in tokens): the spa-eng sentences are short
# (median ~7 words), so narrow buckets at the low end remove most padding.
BUCKET_BOUNDARIES = (4, 6, 8, 10, 12, 15, 20, 30)

ENCODER_INPUTS, DECODER_INPUTS = architectures.ENCODER_INPUTS, architectures.DECODER_INPUTS


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's settings."""

    variant: str = "attention"
    embed_dim: int = 128
    units: int = 512  # LSTM units (the bidirectional encoder: half per direction)
    positions: str = "learned"  # transformer: "learned" or "sinusoidal"
    max_length: int = contract.MAX_LENGTH  # as Transform produced it
    batch_size: int = 32
    steps_per_epoch: int = 3125  # ceil(100,000 / 32): one pass over the train split
    shuffle_buffer: int = 100_000
    # True pads every batch to max_length (the book's fixed-length arrays);
    # kept to measure what length bucketing saves.
    fixed_padding: bool = False
    learning_rate: float = 1e-3
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "translation")
        canonical_name("translation", config.variant, architectures.VARIANTS)
        common_training.require_positive(config, "embed_dim", "units", "batch_size",
                                         "steps_per_epoch", "shuffle_buffer")
        if config.max_length < 2:
            raise ValueError(f"max_length must be >= 2 (a word and a marker), got {config.max_length}")
        return config


def _dense(ids: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """Token ids as a right-padded dense tensor (PAD_ID)."""
    if isinstance(ids, tf.SparseTensor):
        ids = tf.sparse.to_dense(ids, default_value=contract.PAD_ID)
    return ids


def _to_model_io(example: dict[str, tf.Tensor]):
    """One example → ((encoder, decoder inputs), targets, weights): weight 0
    on padding, so pads never count in the loss or the accuracy."""
    source = _dense(example[contract.SOURCE_IDS])
    decoder_in = _dense(example[contract.DECODER_INPUT_IDS])
    target = _dense(example[contract.DECODER_TARGET_IDS])
    weights = tf.cast(tf.not_equal(target, contract.PAD_ID), tf.float32)
    return {ENCODER_INPUTS: source, DECODER_INPUTS: decoder_in}, target, weights


def _longest_side(inputs, target, weights) -> tf.Tensor:
    return tf.maximum(tf.shape(inputs[ENCODER_INPUTS])[0], tf.shape(target)[0])


def make_dataset(file_patterns: list[str], tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of (inputs, targets, weights), bucketed by length (or padded
    to max_length with `fixed_padding`)."""
    ds = data.transformed_dataset(file_patterns, tft_output.transformed_feature_spec())
    ds = ds.map(_to_model_io, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        # The split is small (100,000 short pairs): cache it, shuffle it whole.
        ds = ds.cache().shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    if config.fixed_padding:
        length = config.max_length
        ds = ds.padded_batch(config.batch_size, padded_shapes=(
            {ENCODER_INPUTS: [length], DECODER_INPUTS: [length]}, [length], [length]))
    else:
        ds = ds.bucket_by_sequence_length(
            _longest_side, bucket_boundaries=list(BUCKET_BOUNDARIES),
            bucket_batch_sizes=[config.batch_size] * (len(BUCKET_BOUNDARIES) + 1))
    if training:
        ds = ds.repeat()
    return ds.prefetch(tf.data.AUTOTUNE)


class TranslationServing(tf.Module):
    """The exported object: transform graph + model + in-graph decoders."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.tft_layer = tft_output.transform_features_layer()
        self.decoder = architectures.step_decoder(model, config.variant)
        self.target_words = features.target_id_to_token_table(tft_output)
        self.source_words = features.source_id_to_token_table(tft_output)
        self._has_attention = config.variant in architectures.ATTENTION_VARIANTS
        self._max_length = config.max_length
        # Learned positions exist for max_length target positions only.
        self._length_cap = config.max_length if config.variant == "transformer" else None
        # SchemaGen may infer the text features as shape [1]; callers send one string per row.
        spec = tft_output.raw_feature_spec()
        self._rank = {key: len(spec[key].shape) for key in (contract.SOURCE, contract.TARGET)}

    # -- the transform graph, the only tokenizer -------------------------------

    def _transform(self, source: tf.Tensor, target: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        if target is None:  # the graph needs both features; the source ids need only the source
            target = tf.fill(tf.shape(source), "")
        raw = {}
        for key, text in ((contract.SOURCE, source), (contract.TARGET, target)):
            raw[key] = tf.reshape(text, [-1, 1]) if self._rank[key] == 1 else text
        return {k: _dense(v) for k, v in self.tft_layer(raw).items()
                if k in (contract.SOURCE_IDS, contract.DECODER_INPUT_IDS, contract.DECODER_TARGET_IDS)}

    def _source_ids(self, sentences: tf.Tensor) -> tf.Tensor:
        blank = tf.equal(tf.strings.length(tf.strings.strip(sentences)), 0)
        tf.debugging.assert_equal(
            tf.reduce_any(blank), False,
            message="translate: every sentence must have at least one non-blank character")
        ids = self._transform(sentences)[contract.SOURCE_IDS]
        return tf.cast(ids, tf.int64)

    # -- decoding ---------------------------------------------------------------

    def _steps(self, max_length: tf.Tensor) -> tf.Tensor:
        """`max_length`, capped at the Transformer's number of positions."""
        return max_length if self._length_cap is None else tf.minimum(max_length, self._length_cap)

    def _translate(self, sentences, beam_width, max_length) -> dict[str, tf.Tensor]:
        with tf.control_dependencies(decoding.check_decode_arguments(beam_width, max_length)):
            source_ids = self._source_ids(sentences)
        max_length = self._steps(max_length)

        def greedy():
            tokens, lengths, scores, _ = decoding.greedy_decode(self.decoder, source_ids, max_length)
            # The same length-normalized score beam search reports (penalty 1).
            return tokens, lengths, scores / tf.cast(tf.maximum(lengths, 1), tf.float32)

        tokens, lengths, scores = tf.cond(
            tf.equal(beam_width, 1), greedy,
            lambda: decoding.beam_search(self.decoder, source_ids, beam_width, max_length)[:3])
        return {"translation": decoding.detokenize(tokens, lengths, self.target_words),
                "score": scores}

    def _teacher_forced_counts(self, source, target) -> dict[str, tf.Tensor]:
        ids = self._transform(source, target)
        logits = self.model({ENCODER_INPUTS: ids[contract.SOURCE_IDS],
                             DECODER_INPUTS: ids[contract.DECODER_INPUT_IDS]}, training=False)
        targets = tf.cast(ids[contract.DECODER_TARGET_IDS], tf.int64)
        real = tf.not_equal(targets, contract.PAD_ID)
        hits = tf.logical_and(real, tf.equal(tf.argmax(logits, axis=-1), targets))
        return {evaluation.SCORED_TOKENS: tf.reduce_sum(tf.cast(real, tf.float32), axis=1),
                evaluation.CORRECT_TOKENS: tf.reduce_sum(tf.cast(hits, tf.float32), axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def source_ids(self, sentences):
        """The source ids the decoders see (tests compare them with Transform's)."""
        return self._source_ids(sentences)

    def signatures(self) -> dict[str, Any]:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, {
                key: tf.io.FixedLenFeature([], tf.string) for key in (contract.SOURCE, contract.TARGET)})
            source, target = parsed[contract.SOURCE], parsed[contract.TARGET]
            greedy = decoding.greedy_decode(self.decoder, tf.cast(self._transform(source)[contract.SOURCE_IDS], tf.int64),
                                            tf.constant(self._max_length, tf.int32))
            reference = tf.strings.reduce_join(features.tokenize(target), axis=-1, separator=" ")
            return {**self._teacher_forced_counts(source, target),
                    evaluation.TRANSLATION: decoding.detokenize(greedy.tokens, greedy.lengths, self.target_words),
                    evaluation.REFERENCE: reference}

        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.string, name="sentences"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_length")])
        def translate(sentences, beam_width, max_length):
            return self._translate(sentences, beam_width, max_length)

        signatures = {"serving_default": serve_examples, contract.SIGNATURE_TRANSLATE: translate}
        if self._has_attention:
            @tf.function(input_signature=[
                tf.TensorSpec([None], tf.string, name="sentences"),
                tf.TensorSpec([], tf.int32, name="max_length")])
            def attention(sentences, max_length):
                with tf.control_dependencies(decoding.check_decode_arguments(tf.constant(1), max_length)):
                    source_ids = self._source_ids(sentences)
                result = decoding.greedy_decode(self.decoder, source_ids, self._steps(max_length))
                return {"target_tokens": self.target_words.lookup(result.tokens),
                        "target_lengths": result.lengths,
                        "source_tokens": self.source_words.lookup(source_ids),
                        "source_lengths": tf.reduce_sum(
                            tf.cast(tf.not_equal(source_ids, contract.PAD_ID), tf.int32), axis=1),
                        "weights": result.attention}

            signatures[contract.SIGNATURE_ATTENTION] = attention
        return signatures


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains; sizes come from the transform output, not from a second setting."""
    source_vocab = features.source_vocabulary_size(tft_output)
    target_vocab = features.target_vocabulary_size(tft_output)
    absl.logging.info("translation: vocabularies %d (source) / %d (target)", source_vocab, target_vocab)
    train_ds = make_dataset(train_files, tft_output, config, training=True)
    eval_ds = data.with_known_cardinality(make_dataset(eval_files, tft_output, config, training=False))
    model = architectures.build_model(
        config.variant, source_vocab, target_vocab, embed_dim=config.embed_dim, units=config.units,
        learning_rate=config.learning_rate, positions=config.positions,
        max_length=config.max_length, seed=config.seed)
    model.summary(print_fn=absl.logging.info)
    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                                steps_per_epoch=config.steps_per_epoch,
                                batch_size=config.batch_size, eval_steps=eval_steps)
    stats.update(source_vocab_size=source_vocab, target_vocab_size=target_vocab)
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, TranslationServing)
