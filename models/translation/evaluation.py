"""TFMA metrics for the translation family: token accuracy (the book's
metric) and corpus BLEU of the greedy translations, over a whole split.

The model's scoring signature (`serving_default`: serialized tf.Example with
`source` and `target` → per-example outputs) returns how many target tokens
it scored under teacher forcing and how many of those its argmax got right,
the greedy translation, and the reference standardized and detokenized as
the model's own output is (lower-case, no punctuation, single spaces). The
metrics sum counts and pool sentence pairs over the split, so the results
are exact however TFMA batches the examples.

BLEU is a corpus statistic (n-gram counts summed over every sentence before
the geometric mean), not an average of per-sentence scores: the combiner
keeps the sentence pairs and scores them once, with sacrebleu's defaults
(13a tokenization, exponential smoothing), on sacrebleu's 0–100 scale. The
metrics ignore example weights: every sentence counts once.
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
import numpy as np
import sacrebleu
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.proto import config_pb2

TOKEN_ACCURACY = "token_accuracy"
BLEU = "bleu"

# Keys of the scoring signature's outputs.
SCORED_TOKENS = "scored_tokens"  # float: non-pad target tokens (the words + EOS)
CORRECT_TOKENS = "correct_tokens"  # float: teacher-forced argmax hits among them
TRANSLATION = "translation"  # string: the greedy translation, words joined by spaces
REFERENCE = "reference"  # string: the target sentence, standardized the same way

BLEU_TOKENIZE = "13a"  # sacrebleu's default, spelled out: scores are comparable across runs


def _signature_outputs(element: metric_types.StandardMetricInputs, model_name: str,
                       keys: tuple[str, ...], metric: str) -> dict[str, Any]:
    prediction = element.prediction
    if model_name and isinstance(prediction, dict) and model_name in prediction:
        prediction = prediction[model_name]
    if not isinstance(prediction, dict) or not set(keys) <= set(prediction):
        raise ValueError(f"{metric} needs the scoring signature's outputs {', '.join(keys)}; "
                         f"got {prediction!r:.200}")
    return prediction


def _strings(value: Any) -> list[str]:
    """A string output as TFMA hands it over (bytes, str, or a numpy array of
    them of any shape: one example or a batch) → one str per example."""
    items = np.asarray(value, dtype=object).reshape(-1)
    return [item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in items]


def _keys(name: str, model_names: list[str] | None,
          example_weighted: bool) -> list[tuple[str, metric_types.MetricKey]]:
    return [(model_name, metric_types.MetricKey(name=name, model_name=model_name,
                                                example_weighted=example_weighted))
            for model_name in model_names or [""]]


# --- token accuracy ---------------------------------------------------------------

class TokenAccuracy(metric_types.Metric):
    """Correct / scored target tokens (non-pad, EOS included), summed over the split."""

    def __init__(self, name: str = TOKEN_ACCURACY):
        super().__init__(_token_accuracy_computations, name=name)


def _token_accuracy_computations(name: str = TOKEN_ACCURACY,
                                 eval_config: config_pb2.EvalConfig | None = None,
                                 model_names: list[str] | None = None,
                                 output_names: list[str] | None = None,
                                 example_weighted: bool = False) -> metric_types.MetricComputations:
    return [metric_types.MetricComputation(keys=[key], preprocessors=None,
                                           combiner=_TokenAccuracyCombiner(key, model_name))
            for model_name, key in _keys(name, model_names, example_weighted)]


class _TokenAccuracyCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, model_name: str):
        self._key = key
        self._model_name = model_name

    def create_accumulator(self) -> list[float]:
        return [0.0, 0.0]  # scored, correct

    def add_input(self, acc: list[float], element: metric_types.StandardMetricInputs) -> list[float]:
        outputs = _signature_outputs(element, self._model_name, (SCORED_TOKENS, CORRECT_TOKENS),
                                     TOKEN_ACCURACY)
        acc[0] += float(np.sum(outputs[SCORED_TOKENS]))
        acc[1] += float(np.sum(outputs[CORRECT_TOKENS]))
        return acc

    def merge_accumulators(self, accumulators: Iterable[list[float]]) -> list[float]:
        total = self.create_accumulator()
        for scored, correct in accumulators:
            total[0] += scored
            total[1] += correct
        return total

    def extract_output(self, acc: list[float]) -> dict[metric_types.MetricKey, float]:
        scored, correct = acc
        return {self._key: correct / scored if scored else float("nan")}


# --- corpus BLEU ------------------------------------------------------------------

class CorpusBleu(metric_types.Metric):
    """sacrebleu's corpus BLEU (0–100) of the translations against the references."""

    def __init__(self, name: str = BLEU):
        super().__init__(_bleu_computations, name=name)


def _bleu_computations(name: str = BLEU,
                       eval_config: config_pb2.EvalConfig | None = None,
                       model_names: list[str] | None = None,
                       output_names: list[str] | None = None,
                       example_weighted: bool = False) -> metric_types.MetricComputations:
    return [metric_types.MetricComputation(keys=[key], preprocessors=None,
                                           combiner=_BleuCombiner(key, model_name))
            for model_name, key in _keys(name, model_names, example_weighted)]


def corpus_bleu(pairs: list[tuple[str, str]]) -> float:
    """BLEU of (hypothesis, reference) pairs, as the metric computes it;
    NaN for no pairs (nothing was evaluated, which is not a score of 0)."""
    if not pairs:
        return float("nan")
    hypotheses, references = zip(*pairs)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)],
                                       tokenize=BLEU_TOKENIZE).score)


class _BleuCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, model_name: str):
        self._key = key
        self._model_name = model_name

    def create_accumulator(self) -> list[tuple[str, str]]:
        return []

    def add_input(self, acc: list[tuple[str, str]],
                  element: metric_types.StandardMetricInputs) -> list[tuple[str, str]]:
        outputs = _signature_outputs(element, self._model_name, (TRANSLATION, REFERENCE), BLEU)
        hypotheses, references = _strings(outputs[TRANSLATION]), _strings(outputs[REFERENCE])
        if len(hypotheses) != len(references):
            raise ValueError(f"{BLEU}: {len(hypotheses)} translations for {len(references)} "
                             f"references in one input")
        acc.extend(zip(hypotheses, references))
        return acc

    def merge_accumulators(self, accumulators: Iterable[list[tuple[str, str]]]) -> list[tuple[str, str]]:
        merged: list[tuple[str, str]] = []
        for acc in accumulators:
            merged.extend(acc)
        return merged

    def extract_output(self, acc: list[tuple[str, str]]) -> dict[metric_types.MetricKey, float]:
        return {self._key: corpus_bleu(acc)}


metric_types.register_metric(TokenAccuracy)
metric_types.register_metric(CorpusBleu)
