"""The executor on small real SavedModels: a generator that reproduces the
data is blessed, one that draws noise is refused by value and by change
against a blessed baseline, and the outputs are what the Pusher and the
latest-blessed resolver read."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.components.evaluator import constants
from tfx.types import standard_artifacts

from components.sample_quality import component, executor, spec
from models.common import image_testing
from preprocessing import image_contract as contract

SHAPE = (8, 8, 1)
CLASSES = 4


def _images(n: int, seed: int) -> np.ndarray:
    """Blobs whose class is the quadrant of their centre."""
    return image_testing.blobs(n, SHAPE, seed=seed)


class _Features(tf.Module):
    """A fixed feature extractor: 2x2-pooled pixels, and the brightest
    quadrant as the class (the role the classifier plays in a pipeline)."""

    @tf.function(input_signature=[tf.TensorSpec([None, *SHAPE], tf.uint8, name="images")])
    def features(self, images):
        x = tf.cast(images, tf.float32) / 255.0
        pooled = tf.nn.avg_pool2d(x, 2, 2, "VALID")
        quadrants = tf.reshape(tf.nn.avg_pool2d(x, 4, 4, "VALID"), [-1, CLASSES])
        return {"features": tf.reshape(pooled, [-1, 16]),
                "probabilities": tf.nn.softmax(50.0 * quadrants)}


class _Generator(tf.Module):
    """`generate` picks stored images (noise=False) or draws uniform noise,
    seeded; `scale` is an extra input, as a diffusion sampler's steps are."""

    def __init__(self, pool: np.ndarray, noise: bool):
        super().__init__()
        self.pool = tf.constant(pool)
        self.noise = noise

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n"),
                                  tf.TensorSpec([], tf.int64, name="seed"),
                                  tf.TensorSpec([], tf.float32, name="scale")])
    def generate(self, n, seed, scale):
        seeds = tf.stack([seed, tf.constant(7, tf.int64)])
        if self.noise:
            images = tf.random.stateless_uniform([n, *SHAPE], seeds, 0, 256, tf.int32)
            return {"images": tf.cast(images, tf.uint8)}
        index = tf.random.stateless_uniform([n], seeds, 0, self.pool.shape[0], tf.int32)
        return {"images": tf.gather(self.pool, index)}


def _save(module: tf.Module, path: str, name: str) -> str:
    tf.saved_model.save(module, path, signatures={name: getattr(module, name)})
    return path


def _artifact(cls, uri: str, artifact_id: int):
    artifact = cls()
    artifact.uri = uri
    artifact.id = artifact_id
    return artifact


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sample_quality")
    real = _images(600, seed=1)
    split_dir = tmp / "examples" / "Split-eval"
    split_dir.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(split_dir / "data.gz"), options="GZIP") as writer:
        for i, image in enumerate(real):
            writer.write(image_testing.raw_example(image, i % CLASSES))
    examples = _artifact(standard_artifacts.Examples, str(tmp / "examples"), 1)
    examples.split_names = json.dumps(["eval"])
    return {
        "tmp": tmp, "examples": examples,
        "features": _artifact(standard_artifacts.Model,
                              _save(_Features(), str(tmp / "features"), "features"), 2),
        # Fresh images of the same distribution vs noise.
        "good": _artifact(standard_artifacts.Model, _save(
            _Generator(_images(600, seed=2), noise=False), str(tmp / "good"), "generate"), 3),
        "noise": _artifact(standard_artifacts.Model, _save(
            _Generator(_images(10, seed=3), noise=True), str(tmp / "noise"), "generate"), 4),
    }


def _params(**overrides):
    params = {"split": "eval", "num_samples": 300, "max_real": 600, "seed": 42,
              "batch_size": 128, "generate_args": json.dumps({"scale": 1.0}),
              "max_frechet_distance": 0.5, "frechet_tolerance": 0.05, "min_class_coverage": 0.5,
              "max_class_share": 0.6, "feature_signature": "features"}
    return {**params, **overrides}


def _run(world, name: str, model, baseline=None, **overrides):
    out = world["tmp"] / name
    evaluation = _artifact(standard_artifacts.ModelEvaluation, str(out / "evaluation"), 10)
    blessing = _artifact(standard_artifacts.ModelBlessing, str(out / "blessing"), 11)
    inputs = {spec.EXAMPLES: [world["examples"]], spec.MODEL: [model],
              spec.FEATURE_MODEL: [world["features"]]}
    if baseline is not None:
        inputs[spec.BASELINE_MODEL] = [baseline]
    executor.Executor().Do(inputs, {spec.EVALUATION: [evaluation], spec.BLESSING: [blessing]},
                           _params(**overrides))
    return executor.load_result(evaluation.uri), blessing, evaluation


def test_a_generator_of_the_data_is_blessed(world):
    result, blessing, evaluation = _run(world, "good", world["good"])
    candidate = result["candidate"]
    assert result["validation_ok"] and result["failures"] == []
    assert candidate["frechet_distance"] < 0.5 and candidate["num_samples"] == 300
    assert candidate["class_coverage"] == 1.0 and result["real"]["num_images"] == 600
    assert os.path.exists(os.path.join(blessing.uri, constants.BLESSED_FILE_NAME))
    assert blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    assert blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY) == 3
    grid = tf.io.decode_png(open(os.path.join(evaluation.uri, executor.SAMPLES_FILE), "rb").read())
    assert grid.shape == (8 * 9 - 1, 8 * 9 - 1, 1)


def test_noise_is_refused_by_value_and_against_a_blessed_baseline(world):
    result, blessing, _ = _run(world, "noise", world["noise"], baseline=world["good"])
    assert not result["validation_ok"]
    assert result["candidate"]["frechet_distance"] > 20 * result["baseline"]["frechet_distance"]
    failures = " | ".join(result["failures"])
    assert "> max_frechet_distance" in failures and "above the last blessed model's" in failures
    assert os.path.exists(os.path.join(blessing.uri, constants.NOT_BLESSED_FILE_NAME))
    assert blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 0
    assert blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY) == 3
    assert "frechet_distance" in blessing.get_string_custom_property(
        constants.ARTIFACT_PROPERTY_BLESSING_MESSAGE_KEY)


def test_the_change_threshold_alone_can_refuse(world):
    # No value thresholds: only "not worse than the blessed model" applies.
    result, _, _ = _run(world, "change", world["noise"], baseline=world["good"],
                        max_frechet_distance=0.0, min_class_coverage=0.0, max_class_share=1.0)
    assert [f for f in result["failures"] if "last blessed" in f] == result["failures"] != []


def test_samples_are_seeded_alike_for_every_model(world):
    first, _, _ = _run(world, "seed1", world["good"])
    again, _, _ = _run(world, "seed2", world["good"])
    other, _, _ = _run(world, "seed3", world["good"], seed=7)
    assert first["candidate"]["frechet_distance"] == again["candidate"]["frechet_distance"]
    assert first["candidate"]["frechet_distance"] != other["candidate"]["frechet_distance"]


def test_bad_models_and_arguments_are_named(world, tmp_path):
    with pytest.raises(executor.SampleQualityError, match="also needs \\['scale'\\]"):
        _run(world, "args", world["good"], generate_args="{}")
    with pytest.raises(executor.SampleQualityError, match="not inputs"):
        _run(world, "args2", world["good"], generate_args=json.dumps({"scale": 1, "steps": 3}))
    with pytest.raises(executor.SampleQualityError, match="no 'generate' signature"):
        _run(world, "nosig", world["features"])
    empty = _artifact(standard_artifacts.Model, str(tmp_path), 9)
    with pytest.raises(executor.SampleQualityError, match="no SavedModel"):
        _run(world, "empty", empty)
    with pytest.raises(executor.SampleQualityError, match="as \\(4, 4, 1\\) images"):
        executor.read_images(world["examples"], "eval", (4, 4, 1), 10)


def test_parameters_are_checked_when_the_pipeline_is_built():
    good = dict(num_samples=100, max_real=100, batch_size=10, max_frechet_distance=0.0,
                frechet_tolerance=0.0, min_class_coverage=0.0, max_class_share=1.0)
    component.check_parameters(**good)
    for name, bad in (("num_samples", 1), ("batch_size", 0), ("frechet_tolerance", -1.0),
                      ("max_frechet_distance", float("nan")), ("min_class_coverage", 1.5)):
        with pytest.raises(ValueError, match=name):
            component.check_parameters(**{**good, name: bad})


def test_component_wires_like_an_evaluator():
    from tfx.types import channel_utils

    def channel(cls):
        return channel_utils.as_channel([cls()])

    evaluator = component.SampleQualityEvaluator(
        examples=channel(standard_artifacts.Examples), model=channel(standard_artifacts.Model),
        feature_model=channel(standard_artifacts.Model),
        baseline_model=channel(standard_artifacts.Model),
        generate_args={"steps": 50, "sampler": "ddim"}, split=contract.EVAL)
    assert evaluator.outputs["blessing"].type is standard_artifacts.ModelBlessing
    assert json.loads(evaluator.exec_properties["generate_args"]) == {"steps": 50,
                                                                       "sampler": "ddim"}
