"""TFX Trainer entry point (`run_fn`) for the char-RNN family.

Rebuilds the training text as one id stream (chunks sorted by position),
cuts windows in the input pipeline (never on disk), trains the book's GRU
language model, and exports a SavedModel whose `generate` signature runs the
whole sampling loop in the graph.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import absl.logging
import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models.char_rnn import architectures, evaluation, generation
from models.common import data, export
from models.common.arguments import canonical_name
from models.common import training as common_training
from preprocessing import char_rnn as features

VARIANTS = ("stateless", "stateful")
LR_SCHEDULES = ("constant", "cosine")
COSINE_FLOOR = 0.05  # the cosine schedule ends at 5% of the starting rate


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    variant: str = "stateless"
    window: int = 100  # input length; targets are the inputs shifted by one
    shift: int = 1  # stateless windows start every `shift` characters
    shuffle_buffer: int = 100_000
    batch_size: int = 32  # stateful: the number of parallel text parts
    embed_dim: int = 16
    units: int = 128
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # "cosine": per-epoch cosine decay over the run
    steps_per_epoch: int = 0  # 0: one pass over the windows
    lowercase: bool = True  # as preprocessing did it (served prompts go through Transform)
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "char_rnn")
        canonical_name("char_rnn", config.variant, VARIANTS)
        common_training.require_positive(config, "window", "shift", "shuffle_buffer", "batch_size")
        if config.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {config.lr_schedule!r}")
        if config.steps_per_epoch < 0:
            raise ValueError(f"steps_per_epoch must be >= 0, got {config.steps_per_epoch}")
        return config


def id_stream(file_patterns: list[str], tft_output: tft.TFTransformOutput) -> np.ndarray:
    """All character ids of a split, in corpus order (chunks sorted by index).

    Characters unseen in training (id −1) are dropped: they cannot be inputs
    or targets of a model that has no id for them.
    """
    spec = tft_output.transformed_feature_spec()
    chunks = []
    for example in data.transformed_dataset(file_patterns, spec):
        ids = example[features.CHAR_IDS]
        ids = ids.values if isinstance(ids, tf.SparseTensor) else ids
        chunks.append((int(example[features.CHUNK_INDEX]), ids.numpy()))
    chunks.sort(key=lambda c: c[0])
    stream = np.concatenate([ids for _, ids in chunks]) if chunks else np.zeros([0], np.int64)
    return stream[stream != features.UNKNOWN_ID]


def _split_xy(window: tf.Tensor):
    return window[..., :-1], window[..., 1:]


def window_dataset(ids: np.ndarray, config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Windows of window+1 ids every `shift` (training) or back to back
    (validation), shuffled and batched like the book's `to_dataset`.

    What is shuffled is window start positions, and a batch's windows are
    gathered from the id stream in one op: the same windows as the book's
    `Dataset.window`/`flat_map`, without moving 101 elements per window
    through tf.data (which on a 2-core CPU cost as much as the GRU step).

    With shift k > 1, each pass over the training windows starts at the next
    of the k offsets (in a seeded random order), so k passes see every window
    the book's shift 1 sees, while each pass still fits the shuffle buffer."""
    length = config.window + 1
    if len(ids) < length:
        raise ValueError(f"a split has {len(ids)} characters, fewer than one window ({length})")
    last_start = len(ids) - length  # the last window ends at the last id
    if not training:
        starts = tf.data.Dataset.range(0, last_start + 1, config.window)
    elif config.shift == 1 or last_start < config.shift:
        starts = tf.data.Dataset.range(0, last_start + 1, config.shift)
    else:
        offsets = np.random.default_rng(config.seed).permutation(config.shift).astype(np.int64)
        starts = tf.data.Dataset.from_tensor_slices(offsets).repeat().flat_map(
            lambda offset: tf.data.Dataset.range(offset, last_start + 1, config.shift))
    if training:
        starts = starts.shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    stream = tf.constant(ids)
    span = tf.range(length, dtype=tf.int64)
    ds = starts.batch(config.batch_size).map(
        lambda s: tf.gather(stream, s[:, None] + span[None, :]), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(_split_xy, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def stateful_batches(ids: np.ndarray, config: TrainConfig) -> np.ndarray:
    """[n_batches, batch_size, window+1]: the text cut into `batch_size` equal
    parts, each read in consecutive non-overlapping windows, so row r of batch
    k+1 continues row r of batch k (the book's 32-way split)."""
    part = len(ids) // config.batch_size
    n = (part - 1) // config.window
    if n < 1:
        raise ValueError(f"{len(ids)} characters are too few for {config.batch_size} parts "
                         f"of at least one {config.window}-character window")
    parts = ids[: part * config.batch_size].reshape(config.batch_size, part)
    starts = np.arange(n) * config.window
    return np.stack([parts[:, s: s + config.window + 1] for s in starts])


def stateful_dataset(ids: np.ndarray, config: TrainConfig) -> tf.data.Dataset:
    return (tf.data.Dataset.from_tensor_slices(stateful_batches(ids, config))
            .map(_split_xy).prefetch(tf.data.AUTOTUNE))


class CharRnnServing(tf.Module):
    """generate / next_char_probs (sampling in the graph) and a scoring
    `serving_default` over raw text, which the Evaluator uses."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.tft_layer = tft_output.transform_features_layer()
        vocabulary = features.vocabulary_characters(
            tft_output.vocabulary_by_name(features.VOCABULARY_NAME))
        self._window = config.window
        self._text_rank = len(tft_output.raw_feature_spec()[features.TEXT].shape)
        # Prompts go through the transform graph (standardization and the
        # vocabulary table the training text went through): no second copy.
        self.generator = generation.CharGenerator(model, vocabulary, encoder=self._prompt_ids)

    def _prompt_ids(self, prompt: tf.Tensor) -> tf.Tensor:
        raw = tf.reshape(prompt, [1, 1] if self._text_rank == 1 else [1])
        ids = self.tft_layer({features.TEXT: raw})[features.CHAR_IDS]
        return tf.sparse.to_dense(ids, default_value=features.UNKNOWN_ID)[0]

    def _score(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Per text: next-character predictions over back-to-back windows of
        `window` inputs (context restarts at each window, as in training)."""
        raw = tf.reshape(text, [-1, 1]) if self._text_rank == 1 else text
        ids = tf.sparse.to_dense(self.tft_layer({features.TEXT: raw})[features.CHAR_IDS],
                                 default_value=-2)  # −2 pads short texts; −1 = unseen char
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        n_windows = tf.maximum((length - 1 + self._window - 1) // self._window, 1)
        padded = tf.pad(ids, [[0, 0], [0, n_windows * self._window + 1 - length]],
                        constant_values=-2)
        x = tf.reshape(padded[:, :-1], [batch * n_windows, self._window])
        y = tf.reshape(padded[:, 1:], [batch * n_windows, self._window])
        valid = (x >= 0) & (y >= 0)
        logits = self.model(tf.maximum(x, 0), training=False)
        log_probs = tf.nn.log_softmax(logits)
        target_log_prob = tf.gather(log_probs, tf.maximum(y, 0), batch_dims=2)
        correct = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int64), tf.cast(y, tf.int64))
        per_text = lambda v: tf.reduce_sum(  # noqa: E731
            tf.reshape(tf.where(valid, v, tf.zeros_like(v)), [batch, -1]), axis=1)
        return {
            evaluation.SCORED: per_text(tf.cast(valid, tf.float32)),
            evaluation.CORRECT: per_text(tf.cast(correct, tf.float32)),
            evaluation.NLL_BITS: per_text(-target_log_prob / np.log(2.0)),
        }

    def signatures(self) -> dict[str, Any]:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def score_examples(serialized):
            parsed = tf.io.parse_example(serialized, {features.TEXT: tf.io.FixedLenFeature([], tf.string)})
            return self._score(parsed[features.TEXT])

        return {"serving_default": score_examples, **self.generator.signatures()}


def cosine_decay(epochs: int) -> keras.callbacks.Callback:
    """Per-epoch cosine decay from the rate the optimizer has when training
    starts (after a warm start's scaling) down to COSINE_FLOOR of it. A
    callback rather than a schedule object so that warm start, which scales a
    fixed rate, keeps working."""
    start: list[float] = []

    def rate(epoch: int, current: float) -> float:
        if not start:
            start.append(float(current))
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))
        return start[0] * (COSINE_FLOOR + (1.0 - COSINE_FLOOR) * cosine)

    return keras.callbacks.LearningRateScheduler(rate)


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains; returns the stateless model to serve and the run's statistics."""
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    train_ids, eval_ids = id_stream(train_files, tft_output), id_stream(eval_files, tft_output)
    absl.logging.info("char_rnn: %d train / %d eval characters, vocabulary %d",
                      len(train_ids), len(eval_ids), vocab_size)
    callbacks: list[keras.callbacks.Callback] = []
    if config.variant == "stateful":
        model = architectures.build_model(vocab_size, embed_dim=config.embed_dim, units=config.units,
                                          learning_rate=config.learning_rate, stateful=True,
                                          batch_size=config.batch_size, seed=config.seed)
        train_ds, eval_ds = stateful_dataset(train_ids, config), stateful_dataset(eval_ids, config)
        windows = len(stateful_batches(train_ids, config))
        callbacks.append(architectures.ResetStatesEachEpoch())
    else:
        model = architectures.build_model(vocab_size, embed_dim=config.embed_dim, units=config.units,
                                          learning_rate=config.learning_rate, seed=config.seed)
        train_ds = window_dataset(train_ids, config, training=True)
        eval_ds = window_dataset(eval_ids, config, training=False)
        windows = -(-(len(train_ids) - config.window) // config.shift // config.batch_size)
    steps_per_epoch = min(config.steps_per_epoch or windows, windows)
    if config.lr_schedule == "cosine":
        callbacks.append(cosine_decay(common_training.epochs_for(train_steps, steps_per_epoch)))
    stats = common_training.fit(model, train_ds.repeat(), data.with_known_cardinality(eval_ds),
                         train_steps=train_steps,
                         steps_per_epoch=steps_per_epoch,
                         batch_size=config.batch_size, eval_steps=eval_steps, callbacks=callbacks)
    stats.update(train_chars=len(train_ids), eval_chars=len(eval_ids), vocab_size=vocab_size)
    serving_model = architectures.stateless_copy(model) if config.variant == "stateful" else model
    return serving_model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, CharRnnServing)
