"""The gan pipeline end to end on the shared Fashion-MNIST files: a smoke
run trains the feature classifier and the DCGAN, the sample-quality
Evaluator blesses it and the pushed model generates raw images; a crippled
generator (one training step) is refused by value and by change against the
blessed one, and nothing is pushed."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from components.sample_quality import executor as sample_quality
from pipelines.run import main as run_pipeline
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

FASHION_MNIST = h.shared_dataset("fashion-mnist")
SMOKE = ["--family", "gan", "--profile", "smoke", "--images", FASHION_MNIST]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    return h.run_and_load_pushed(tmp_path_factory.mktemp("gan"), "gan", SMOKE)


def test_sample_quality_blesses_on_the_feature_classifiers_view(pushed):
    evaluation = h.only(f"{pushed['root']}/Evaluator/evaluation/*")
    result = sample_quality.load_result(evaluation)
    assert result["validation_ok"], result["failures"]
    candidate = result["candidate"]
    assert candidate["num_samples"] == 500 and result["real"]["num_images"] == 3000
    assert 0 < candidate["frechet_distance"] <= result["thresholds"]["max_frechet_distance"]
    assert len(candidate["class_histogram"]) == 10
    # The in-pipeline classifier's export scored the images.
    assert "FeatureClassifier" in result["feature_model"]["uri"]
    assert os.path.getsize(os.path.join(evaluation, sample_quality.SAMPLES_FILE)) > 1000


def test_pushed_model_generates_seeded_raw_images(pushed):
    generate = pushed["model"].signatures["generate"]
    first = generate(n=tf.constant(6), seed=tf.constant(3, tf.int64))["images"].numpy()
    again = generate(n=tf.constant(6), seed=tf.constant(3, tf.int64))["images"].numpy()
    other = generate(n=tf.constant(6), seed=tf.constant(4, tf.int64))["images"].numpy()
    assert first.shape == (6, 28, 28, 1) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.std() > 10  # images, not a blank
    verdict = pushed["model"].signatures["discriminate"](images=tf.constant(first))
    probability = verdict["real_probability"].numpy()
    assert probability.shape == (6,) and np.all((probability >= 0) & (probability <= 1))


def test_crippled_generator_is_refused_and_nothing_is_pushed(pushed):
    before = h.pushed_versions(pushed["serving"])
    code = run_pipeline([*SMOKE, "--work-dir", pushed["work"], "--epochs", "1",
                         "--steps-per-epoch", "1"])
    assert code == 3
    assert h.pushed_versions(pushed["serving"]) == before
    result = sample_quality.load_result(h.only(f"{pushed['root']}/Evaluator/evaluation/*"))
    assert not result["validation_ok"]
    failures = " | ".join(result["failures"])
    assert "> max_frechet_distance" in failures and "above the last blessed model's" in failures
    assert result["candidate"]["frechet_distance"] > result["baseline"]["frechet_distance"]
