"""The autoencoders pipeline end to end on the shared Fashion-MNIST files:
a smoke run pushes a model whose signatures reconstruct raw test images,
and a crippled model (one training step) is refused, nothing pushed."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from pipelines.run import main as run_pipeline
from preprocessing import image_contract as contract
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

FASHION_MNIST = h.shared_dataset("fashion-mnist")
SMOKE = ["--family", "autoencoders", "--profile", "smoke", "--images", FASHION_MNIST]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    return h.run_and_load_pushed(tmp_path_factory.mktemp("autoencoders"), "autoencoders", SMOKE)


def _metrics(evaluation: str) -> dict[str, float]:
    return {kv.key.name: kv.value.double_value.value
            for m in tfma.load_metrics(evaluation) for kv in m.metric_keys_and_values
            if not kv.key.is_diff and kv.key.model_name in ("", "candidate")}


def _test_images(root: str) -> np.ndarray:
    split = os.path.join(h.only(f"{root}/ExampleGen/examples/*"), "Split-test")
    raw = h.read_examples(split, {contract.IMAGE: tf.io.FixedLenFeature([28 * 28], tf.int64)})
    return raw[contract.IMAGE].reshape(-1, 28, 28).astype(np.uint8)


def test_evaluator_blesses_on_the_test_reconstruction_mse(pushed):
    evaluation = h.only(f"{pushed['root']}/Evaluator/evaluation/*")
    assert tfma.load_validation_result(evaluation).validation_ok
    metrics = _metrics(evaluation)
    assert metrics["example_count"] == 3000  # the first 3,000 t10k images
    assert 0 < metrics["reconstruction_mse"] < 0.06


def test_pushed_model_reconstructs_raw_uint8_test_images(pushed):
    model = pushed["model"]
    images = _test_images(pushed["root"])  # uint8 [3000, 28, 28], as the IDX file has them
    out = model.signatures["reconstruct"](images=tf.constant(images))
    reconstructions, errors = out["images"].numpy(), out["reconstruction_mse"].numpy()
    assert reconstructions.shape == (len(images), 28, 28, 1) and reconstructions.dtype == np.uint8
    # The Evaluator's metric is the mean of these per-image errors.
    metrics = _metrics(h.only(f"{pushed['root']}/Evaluator/evaluation/*"))
    assert errors.mean() == pytest.approx(metrics["reconstruction_mse"], rel=1e-4)
    # Reconstructions are much closer to their images than the mean image is.
    scaled = images / 255.0
    assert errors.mean() < 0.5 * np.mean((scaled - scaled.mean(axis=0)) ** 2)
    np.testing.assert_allclose(errors, np.mean((out["scaled"].numpy()[..., 0] - scaled) ** 2,
                                               axis=(1, 2)), rtol=1e-4, atol=1e-7)
    # encode → decode is the same round trip; PNG bytes give the same answer.
    codings = model.signatures["encode"](images=tf.constant(images[:8]))["codings"]
    assert codings.shape == (8, 30)
    decoded = model.signatures["decode"](codings=codings)["images"].numpy()
    # The same images in a batch of 8 instead of 3,000: float sums may round
    # a pixel to the next grey level.
    first = model.signatures["reconstruct"](images=tf.constant(images[:8]))["images"].numpy()
    np.testing.assert_allclose(first.astype(int), reconstructions[:8].astype(int), atol=1)
    np.testing.assert_array_equal(decoded, first)
    png = tf.stack([tf.io.encode_png(image[..., None]) for image in images[:8]])
    np.testing.assert_array_equal(model.signatures["reconstruct_png"](png=png)["images"].numpy(),
                                  first)


# A second pipeline run: the gan e2e test already shows an Evaluator refusing
# a crippled model in the default suite (`./dev test -m slow` runs this one).
@pytest.mark.slow
def test_crippled_model_is_refused_and_nothing_is_pushed(pushed):
    before = h.pushed_versions(pushed["serving"])
    code = run_pipeline([*SMOKE, "--work-dir", pushed["work"], "--epochs", "1",
                         "--steps-per-epoch", "1"])
    assert code == 3
    assert h.pushed_versions(pushed["serving"]) == before
    validation = tfma.load_validation_result(h.only(f"{pushed['root']}/Evaluator/evaluation/*"))
    assert not validation.validation_ok
    failures = [f for s in validation.metric_validations_per_slice for f in s.failures]
    # Both the value bound and the change against the blessed model fail.
    assert [f.metric_key.name for f in failures] == ["reconstruction_mse"] * 2
    assert {f.metric_key.is_diff for f in failures} == {False, True}
