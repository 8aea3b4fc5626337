"""The diffusion pipeline end to end on the shared Fashion-MNIST files: a
smoke run trains the U-Net, the sample-quality Evaluator scores DDIM
samples drawn through the model's own generate signature, and the pushed
model returns raw images from one call with either sampler."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.sample_quality import executor as sample_quality
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

FASHION_MNIST = h.shared_dataset("fashion-mnist")


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    return h.run_and_load_pushed(
        tmp_path_factory.mktemp("diffusion"), "diffusion",
        ["--family", "diffusion", "--profile", "smoke", "--images", FASHION_MNIST])


def test_evaluator_scored_ddim_samples(pushed):
    result = sample_quality.load_result(h.only(f"{pushed['root']}/Evaluator/evaluation/*"))
    assert result["validation_ok"], result["failures"]
    assert result["generate_args"] == {"sampler": "ddim", "steps": 10}
    assert result["candidate"]["num_samples"] == 300
    assert 0 < result["candidate"]["frechet_distance"] <= result["thresholds"][
        "max_frechet_distance"]


def test_pushed_model_generates_with_either_sampler(pushed):
    generate = pushed["model"].signatures["generate"]

    def images(sampler: str, steps: int, seed: int = 5) -> np.ndarray:
        return generate(n=tf.constant(2), seed=tf.constant(seed, tf.int64),
                        steps=tf.constant(steps), sampler=tf.constant(sampler))["images"].numpy()

    ddim = images("ddim", 5)
    assert ddim.shape == (2, 28, 28, 1) and ddim.dtype == np.uint8
    np.testing.assert_array_equal(ddim, images("ddim", 5))  # seeded
    assert not np.array_equal(ddim, images("ddim", 5, seed=6))
    with pytest.raises(tf.errors.InvalidArgumentError, match="sampler"):
        images("euler", 5)
