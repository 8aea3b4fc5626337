"""The translation TFMA metrics: their combiners directly, then through
TFMA's evaluation of a tiny SavedModel, thresholds included."""

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from models.translation import evaluation
from preprocessing import translation_contract as contract

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

PAIRS = [  # (hypothesis, reference)
    ("me gusta el fútbol", "me gusta el fútbol"),
    ("me gusta ir a la playa", "me gusta ir a la playa y al mar"),
    ("él está aquí", "ella no está aquí"),
    ("muchas gracias", "muchas gracias"),
    ("dónde está la estación de tren", "dónde está la estación"),
]


def _combiner(metric):
    (computation,) = metric.computations()
    return computation.keys[0], computation.combiner


def _inputs(**outputs):
    return metric_types.StandardMetricInputs(prediction=outputs)


def _fold(combiner, inputs):
    acc = combiner.create_accumulator()
    for element in inputs:
        acc = combiner.add_input(acc, element)
    return acc


def _result(metric, inputs):
    key, combiner = _combiner(metric)
    return combiner.extract_output(_fold(combiner, inputs))[key]


def _pair_inputs(pairs, wrap):
    return [_inputs(**{evaluation.TRANSLATION: wrap(h), evaluation.REFERENCE: wrap(r)})
            for h, r in pairs]


# --- token accuracy -------------------------------------------------------------

def test_token_accuracy_sums_over_the_split():
    # Per-example values as TFMA hands them over: scalars, shape [1], a batch.
    inputs = [_inputs(scored_tokens=np.float32(5), correct_tokens=np.float32(4)),
              _inputs(scored_tokens=np.array([3.0]), correct_tokens=np.array([0.0])),
              _inputs(scored_tokens=np.array([2.0, 10.0]), correct_tokens=np.array([2.0, 5.0]))]
    # Per token, not a mean of per-sentence accuracies.
    assert _result(evaluation.TokenAccuracy(), inputs) == pytest.approx(11 / 20)


def test_token_accuracy_merges_partial_sums_and_is_nan_on_nothing():
    key, combiner = _combiner(evaluation.TokenAccuracy())
    a = _fold(combiner, [_inputs(scored_tokens=4.0, correct_tokens=1.0)])
    b = _fold(combiner, [_inputs(scored_tokens=6.0, correct_tokens=6.0)])
    merged = combiner.merge_accumulators([a, combiner.create_accumulator(), b])
    assert combiner.extract_output(merged)[key] == pytest.approx(0.7)
    assert np.isnan(combiner.extract_output(combiner.create_accumulator())[key])


def test_missing_outputs_are_named():
    _, combiner = _combiner(evaluation.TokenAccuracy())
    with pytest.raises(ValueError, match="scored_tokens, correct_tokens"):
        combiner.add_input(combiner.create_accumulator(), _inputs(translation=b"x"))


def test_metric_names_are_the_keys():
    assert _combiner(evaluation.TokenAccuracy())[0].name == "token_accuracy"
    assert _combiner(evaluation.CorpusBleu())[0].name == "bleu"
    assert {"TokenAccuracy", "CorpusBleu"} <= set(metric_types.registered_metrics())


# --- corpus BLEU -----------------------------------------------------------------

@pytest.mark.parametrize("wrap", [
    lambda s: s.encode(),  # bytes
    lambda s: s,  # str
    lambda s: np.array([s.encode()], dtype=object),  # shape [1], object
    lambda s: np.array(s.encode()),  # numpy bytes scalar
], ids=["bytes", "str", "object_array", "numpy_bytes"])
def test_bleu_is_sacrebleu_corpus_bleu(wrap):
    expected = sacrebleu.corpus_bleu([h for h, _ in PAIRS], [[r for _, r in PAIRS]]).score
    assert 0 < expected < 100
    assert _result(evaluation.CorpusBleu(), _pair_inputs(PAIRS, wrap)) == pytest.approx(expected)


def test_bleu_of_a_batched_input():
    batch = _inputs(**{evaluation.TRANSLATION: np.array([h.encode() for h, _ in PAIRS], dtype=object),
                       evaluation.REFERENCE: np.array([r.encode() for _, r in PAIRS], dtype=object)})
    assert _result(evaluation.CorpusBleu(), [batch]) == pytest.approx(evaluation.corpus_bleu(PAIRS))


def test_bleu_is_a_corpus_statistic_not_a_mean():
    mean = np.mean([sacrebleu.sentence_bleu(h, [r]).score for h, r in PAIRS])
    assert evaluation.corpus_bleu(PAIRS) != pytest.approx(mean)


def test_bleu_identical_is_100_and_disjoint_is_0():
    def bleu(pairs):
        return _result(evaluation.CorpusBleu(), _pair_inputs(pairs, str.encode))

    assert bleu([(r, r) for _, r in PAIRS]) == pytest.approx(100.0)
    assert bleu([("uno dos tres cuatro", r) for _, r in PAIRS]) == pytest.approx(0.0, abs=1e-6)


def test_bleu_merge_order_is_irrelevant():
    key, combiner = _combiner(evaluation.CorpusBleu())
    parts = [_fold(combiner, _pair_inputs(PAIRS[i:i + 2], str.encode)) for i in (0, 2, 4)]
    forward = combiner.extract_output(combiner.merge_accumulators(parts))[key]
    backward = combiner.extract_output(combiner.merge_accumulators(
        [combiner.merge_accumulators(parts[::-1][:2]), parts[0]]))[key]
    assert forward == pytest.approx(backward) == pytest.approx(evaluation.corpus_bleu(PAIRS))


def test_bleu_of_nothing_is_nan_and_mismatched_batches_are_refused():
    key, combiner = _combiner(evaluation.CorpusBleu())
    assert np.isnan(combiner.extract_output(combiner.create_accumulator())[key])
    with pytest.raises(ValueError, match="2 translations for 1 references"):
        combiner.add_input([], _inputs(translation=np.array([b"a", b"b"]), reference=b"a"))


# --- through TFMA ----------------------------------------------------------------

class _EchoTranslator(tf.Module):
    """The scoring signature's shape with no model behind it: the
    "translation" is the source sentence, every sentence scores its words
    plus EOS, and only EOS is ever right."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, serialized):
        parsed = tf.io.parse_example(serialized, {
            key: tf.io.FixedLenFeature([], tf.string) for key in (contract.SOURCE, contract.TARGET)})
        words = tf.strings.split(parsed[contract.TARGET]).row_lengths()
        return {evaluation.SCORED_TOKENS: tf.cast(words + 1, tf.float32),
                evaluation.CORRECT_TOKENS: tf.ones_like(words, tf.float32),
                evaluation.TRANSLATION: parsed[contract.SOURCE],
                evaluation.REFERENCE: parsed[contract.TARGET]}


def _example(source: str, target: str) -> bytes:
    feature = {key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
               for key, text in ((contract.SOURCE, source), (contract.TARGET, target))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _threshold(lower_bound: float) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
        lower_bound={"value": lower_bound}))


def test_tfma_computes_the_metrics_and_bleu_blocks_a_push(tmp_path):
    model_dir, output = str(tmp_path / "model"), str(tmp_path / "eval")
    data = str(tmp_path / "pairs.tfrecord")
    module = _EchoTranslator()
    tf.saved_model.save(module, model_dir, signatures={"serving_default": module.serve})
    with tf.io.TFRecordWriter(data) as writer:
        for hypothesis, reference in PAIRS:
            writer.write(_example(hypothesis, reference))

    metrics_module = "models.translation.evaluation"
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="TokenAccuracy", module=metrics_module,
                              threshold=_threshold(0.1)),
            # Higher than the echo's BLEU can be: the model must be refused.
            tfma.MetricConfig(class_name="CorpusBleu", module=metrics_module,
                              threshold=_threshold(90.0)),
        ])])
    tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(model_dir, eval_config=eval_config),
        eval_config=eval_config, data_location=data, output_path=output)

    (overall,) = tfma.load_metrics(output)  # one slice: the whole split
    values = {kv.key.name: kv.value.double_value.value for kv in overall.metric_keys_and_values}
    scored = sum(len(r.split()) + 1 for _, r in PAIRS)
    assert values["example_count"] == len(PAIRS)
    assert values["token_accuracy"] == pytest.approx(len(PAIRS) / scored)
    assert values["bleu"] == pytest.approx(evaluation.corpus_bleu(PAIRS))

    validation = tfma.load_validation_result(output)
    assert not validation.validation_ok
    failed = [failure.metric_key.name for details in validation.metric_validations_per_slice
              for failure in details.failures]
    assert failed == ["bleu"]
