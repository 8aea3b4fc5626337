"""Character language model on tiny-shakespeare (MODELS.md §1) as a family spec.

Profiles:
  smoke      the first 130,000 characters (100,000 train / 20,000 eval),
             300 training steps: for tests and CI.
  reference  the book: train [:1,000,000], valid [1,000,000:1,060,000],
             windows of 100 every character, shuffle buffer 100,000, batch 32,
             Nadam, 10 epochs (31,247 steps each; 1–2 h on a GPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

import tensorflow_model_analysis as tfma

from components.text_corpus_example_gen import TextCorpusExampleGen
from models.char_rnn.trainer import LR_SCHEDULES, VARIANTS, TrainConfig
from models.common.arguments import canonical_name
from pipelines.spec import TEST, FamilySpec, select_profile

NAME = "char_rnn"
DEFAULT_VARIANT = "stateless"
DEFAULT_PROFILE = "reference"
SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/"
                   "data/tinyshakespeare/input.txt")


@dataclasses.dataclass(frozen=True)
class Profile:
    max_chars: int  # 0: the whole corpus
    train_chars: int
    eval_chars: int
    steps_per_epoch: int  # 0: one pass over the windows
    epochs: int
    accuracy_lower_bound: float
    window_shift: int = 1  # a window starts every `window_shift` characters


PROFILES = {
    "smoke": Profile(max_chars=130_000, train_chars=100_000, eval_chars=20_000,
                     steps_per_epoch=100, epochs=3, accuracy_lower_bound=0.25),
    "reference": Profile(max_chars=0, train_chars=1_000_000, eval_chars=60_000,
                         steps_per_epoch=0, epochs=10, accuracy_lower_bound=0.50),
}

WINDOW, BATCH = 100, 32
SHUFFLE_BUFFER = TrainConfig.shuffle_buffer  # windows, the book's (one default, the trainer's)


def steps_per_pass(train_chars: int, window_shift: int, variant: str = "stateless",
                   batch_size: int = BATCH) -> int:
    """Batches in one pass over the training text: 31,247 windows of 32 for
    the book's stateless model; 312 for the stateful one (32 parts read in
    consecutive, non-overlapping windows)."""
    if variant == "stateful":
        return (train_chars // batch_size - 1) // WINDOW
    return math.ceil((train_chars - WINDOW) / window_shift / batch_size)


def eval_config(*, accuracy_lower_bound: float, accuracy_change_tolerance: float = 0.01) -> tfma.EvalConfig:
    """Next-character accuracy and bits per character on the eval split (the
    book's validation text); blessing needs accuracy ≥ the profile's bound and
    no more than `accuracy_change_tolerance` below the last blessed model."""
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(
                class_name="NextCharMetrics", module="models.char_rnn.evaluation",
                threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(
                        lower_bound={"value": accuracy_lower_bound}),
                    change_threshold=tfma.GenericChangeThreshold(
                        direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                        absolute={"value": -accuracy_change_tolerance}))),
        ])],
    )


def default_source() -> str:
    """SHAKESPEARE_SOURCE if set (a file, a {SPAN} pattern or a URL), else the canonical URL."""
    return os.environ.get("SHAKESPEARE_SOURCE", SHAKESPEARE_URL)


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, sha256: str = "", cache_dir: str = "",
               keep_case: bool = False, epochs: int | None = None,
               steps_per_epoch: int | None = None, window_shift: int | None = None,
               learning_rate: float = 1e-3, batch_size: int = BATCH,
               lr_schedule: str = "constant", max_chars: int | None = None,
               shuffle_buffer: int = SHUFFLE_BUFFER, seed: int = 42) -> FamilySpec:
    """The char-RNN family for one variant and profile. `window_shift` > 1
    starts a window every k characters: one pass covers the whole text in
    1/k of the steps, the better use of a small (CPU) budget; the book uses 1.
    `batch_size` (the book's 32): larger batches use a CPU's cores better
    (bench/char_rnn_reference.md); raise `learning_rate` with it.
    `lr_schedule` "cosine" decays the rate per epoch over the run.
    `shuffle_buffer` counts windows (the book's 100,000): at shift 1 it mixes
    100,000 characters of text, so a pass runs through the text from start
    to end; at shift k the same 100,000 windows span the whole text (a full
    shuffle), and 100,000 / k keeps the book's start-to-end order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shuffle_buffer < 1:
        raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer}")
    canonical_name("char_rnn", variant, VARIANTS)
    prof = select_profile(PROFILES, profile, max_chars=max_chars, epochs=epochs,
                          steps_per_epoch=steps_per_epoch, window_shift=window_shift)
    if prof.epochs < 1 or prof.steps_per_epoch < 0 or prof.window_shift < 1:
        raise ValueError(f"need epochs >= 1, steps_per_epoch >= 0 and window_shift >= 1, got "
                         f"{prof.epochs}, {prof.steps_per_epoch}, {prof.window_shift}")
    per_epoch = prof.steps_per_epoch or steps_per_pass(prof.train_chars, prof.window_shift,
                                                       variant, batch_size)
    source = source or default_source()
    data_source = lambda: TextCorpusExampleGen(  # noqa: E731
        source=source, cache_dir=cache_dir, sha256=sha256, train_chars=prof.train_chars,
        eval_chars=prof.eval_chars, max_chars=prof.max_chars)
    lowercase = not keep_case
    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.char_rnn.preprocessing_fn",
        run_fn="models.char_rnn.trainer.run_fn",
        train_steps=per_epoch * prof.epochs,
        eval_steps=None,
        eval_config=eval_config(accuracy_lower_bound=prof.accuracy_lower_bound),
        preprocessing_config={"lowercase": lowercase},
        custom_config={"variant": variant, "steps_per_epoch": per_epoch,
                       "shift": prof.window_shift, "window": WINDOW, "batch_size": batch_size,
                       "learning_rate": learning_rate, "lr_schedule": lr_schedule,
                       "shuffle_buffer": shuffle_buffer, "lowercase": lowercase, "seed": seed},
        # The eval split already steered training (validation each epoch);
        # the blessing is on text the model never saw in any role.
        evaluation_split=TEST,
    )


CLI_OPTIONS = ("source", "sha256", "cache_dir", "keep_case", "epochs", "steps_per_epoch",
               "window_shift", "learning_rate", "batch_size", "lr_schedule", "max_chars",
               "shuffle_buffer")


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--corpus", dest="source",
                       help="text file or URL; a path may hold {SPAN} (the latest span is "
                            "read) (default: $SHAKESPEARE_SOURCE, else the tiny-shakespeare "
                            "URL, downloaded once into the cache)")
    group.add_argument("--sha256", help="expected SHA-256 of a downloaded corpus")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--keep-case", action="store_true", default=None,
                       help="do not lower-case the text (the book lower-cases)")
    group.add_argument("--epochs", type=int, help="default: the profile's")
    group.add_argument("--steps-per-epoch", type=int, help="0 = one pass over the windows")
    group.add_argument("--window-shift", type=int,
                       help="a training window every k characters (book: 1)")
    group.add_argument("--learning-rate", type=float, help="Nadam learning rate (default 1e-3)")
    group.add_argument("--batch-size", type=int, help="windows per step (default 32, the book's)")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                       help="constant (the book's) or a per-epoch cosine decay to 5%%")
    group.add_argument("--max-chars", type=int, help="use only the first N characters")
    group.add_argument("--shuffle-buffer", type=int,
                       help="training windows mixed at a time (default 100,000, the book's); "
                            "at window shift k, 100,000/k keeps the book's start-to-end order")
