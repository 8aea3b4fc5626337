"""The reconstruction-MSE TFMA metric: its combiner directly, then through
TFMA's evaluation of a tiny SavedModel, value threshold included."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from models.autoencoders import evaluation

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _combiner():
    (computation,) = evaluation.ReconstructionMse().computations()
    return computation.keys[0], computation.combiner


def _inputs(prediction):
    return metric_types.StandardMetricInputs(prediction=prediction)


def _fold(combiner, inputs):
    acc = combiner.create_accumulator()
    for element in inputs:
        acc = combiner.add_input(acc, element)
    return acc


def test_mean_of_per_example_errors_however_batched():
    errors = np.array([0.01, 0.02, 0.04, 0.10, 0.03])
    key, combiner = _combiner()
    assert key.name == "reconstruction_mse"
    shapes = [  # one example at a time (scalars, shape [1], a bare array), then batches
        [_inputs({"reconstruction_mse": np.float32(e)}) for e in errors],
        [_inputs({"reconstruction_mse": np.array([e])}) for e in errors],
        [_inputs(np.array([e])) for e in errors],
        [_inputs({"reconstruction_mse": errors[:2]}), _inputs({"reconstruction_mse": errors[2:]})],
    ]
    for inputs in shapes:
        assert combiner.extract_output(_fold(combiner, inputs))[key] == pytest.approx(errors.mean())
    # Partial sums merge into the same mean, in any grouping.
    parts = [_fold(combiner, [_inputs({"reconstruction_mse": errors[i:i + 2]})]) for i in (0, 2, 4)]
    merged = combiner.merge_accumulators([parts[2], combiner.create_accumulator(),
                                          combiner.merge_accumulators(parts[:2])])
    assert combiner.extract_output(merged)[key] == pytest.approx(errors.mean())


def test_nothing_is_nan_and_missing_output_is_named():
    key, combiner = _combiner()
    assert np.isnan(combiner.extract_output(combiner.create_accumulator())[key])
    with pytest.raises(ValueError, match="output 'reconstruction_mse'; got outputs \\['codings'\\]"):
        combiner.add_input(combiner.create_accumulator(), _inputs({"codings": np.zeros(3)}))
    assert "ReconstructionMse" in metric_types.registered_metrics()


class _ConstantErrors(tf.Module):
    """The scoring signature's shape with no model: each example's error is
    its first pixel / 1000."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, serialized):
        parsed = tf.io.parse_example(serialized, {"image": tf.io.FixedLenFeature([4], tf.int64)})
        return {evaluation.RECONSTRUCTION_MSE: tf.cast(parsed["image"][:, 0], tf.float32) / 1000.0}


def test_tfma_computes_the_mean_and_an_upper_bound_refuses(tmp_path):
    model_dir, output, data = (str(tmp_path / name) for name in ("model", "eval", "examples.tfrecord"))
    module = _ConstantErrors()
    tf.saved_model.save(module, model_dir, signatures={"serving_default": module.serve})
    firsts = [5, 10, 20, 40, 80, 160, 3]
    with tf.io.TFRecordWriter(data) as writer:
        for first in firsts:
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                "image": tf.train.Feature(int64_list=tf.train.Int64List(value=[first, 0, 0, 0]))}))
                .SerializeToString())
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(
                class_name="ReconstructionMse", module="models.autoencoders.evaluation",
                # The mean is 0.0454: above the bound, so the model is refused.
                threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                    upper_bound={"value": 0.03}))),
        ])])
    tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(model_dir, eval_config=eval_config),
        eval_config=eval_config, data_location=data, output_path=output)

    (overall,) = tfma.load_metrics(output)
    values = {kv.key.name: kv.value.double_value.value for kv in overall.metric_keys_and_values}
    assert values["example_count"] == len(firsts)
    assert values["reconstruction_mse"] == pytest.approx(np.mean(firsts) / 1000.0, rel=1e-6)
    validation = tfma.load_validation_result(output)
    assert not validation.validation_ok
    assert [f.metric_key.name for s in validation.metric_validations_per_slice
            for f in s.failures] == ["reconstruction_mse"]
