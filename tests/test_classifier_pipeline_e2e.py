"""The classifier pipeline end to end on the shared Fashion-MNIST files
(smoke profile): `python -m pipelines.run` pushes a model blessed on
accuracy, with per-class recall and calibration error sliced by class, and
the pushed SavedModel labels real test images it was never trained on."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from models.classifier import trainer
from models.common import training as common_training
from pipelines.run import main as run_pipeline
from preprocessing import image_contract as contract
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

FASHION_MNIST = h.shared_dataset("fashion-mnist")


def _test_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The last n official test images (the smoke run evaluates on the first 3,000)."""
    with gzip.open(os.path.join(FASHION_MNIST, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(os.path.join(FASHION_MNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images[-n:], labels[-n:].astype(np.int64)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    work = tmp_path_factory.mktemp("classifier")
    code = run_pipeline(["--family", "classifier", "--profile", "smoke", "--images", FASHION_MNIST,
                         "--work-dir", str(work)])
    assert code == 0
    serving = str(work / "serving_model" / "classifier")
    versions = h.pushed_versions(serving)
    assert len(versions) == 1
    model_dir = os.path.join(serving, versions[0])
    return {"root": str(work / "tfx_pipeline_output" / "classifier"), "model_dir": model_dir,
            "model": tf.saved_model.load(model_dir)}


def test_evaluator_blesses_with_accuracy_recall_and_calibration_by_class(pushed):
    evaluation = h.only(f"{pushed['root']}/Evaluator/evaluation/*")
    assert tfma.load_validation_result(evaluation).validation_ok
    overall, by_class, recalls = {}, {}, {}
    for metrics in tfma.load_metrics(evaluation):
        keys = metrics.slice_key.single_slice_keys
        target = overall if not keys else by_class.setdefault(keys[0].int64_value, {})
        assert not keys or keys[0].column == contract.LABEL
        for kv in metrics.metric_keys_and_values:
            if kv.key.name == "recall" and not keys:
                recalls[kv.key.sub_key.class_id.value] = kv.value.double_value.value
            elif kv.value.HasField("double_value"):
                target[kv.key.name] = kv.value.double_value.value
    assert overall["example_count"] == 3000
    assert 0.6 <= overall["sparse_categorical_accuracy"] < 1
    assert 0 <= overall["expected_calibration_error"] < 0.5
    assert sorted(recalls) == list(range(10)) and all(0 <= r <= 1 for r in recalls.values())
    assert sorted(by_class) == list(range(10))
    # A class's slice accuracy is its top-1 recall; the binarized recall
    # counts a class as predicted only at probability >= 0.5, which implies top-1.
    for class_id, metrics in by_class.items():
        assert recalls[class_id] <= metrics["sparse_categorical_accuracy"] + 1e-6


def test_pushed_model_labels_real_test_images(pushed):
    model = pushed["model"]
    assert {"serving_default", trainer.SIGNATURE_CLASSIFY, trainer.SIGNATURE_CLASSIFY_PNG} <= set(
        model.signatures)
    images, labels = _test_images(500)
    out = {k: v.numpy() for k, v in model.signatures["classify"](images=tf.constant(images)).items()}
    assert out["probabilities"].shape == (500, 10)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert (out["class_ids"] == labels).mean() > 0.6
    assert [s.decode() for s in out["labels"][:20]] == [
        contract.FASHION_MNIST_CLASSES[i] for i in out["class_ids"][:20]]
    png = model.signatures["classify_png"](
        png=tf.stack([tf.io.encode_png(image) for image in images[:8]]))
    np.testing.assert_array_equal(png["class_ids"].numpy(), out["class_ids"][:8])
    # A later run can warm-start (transfer) from the pushed folder.
    assert os.path.getsize(common_training.keras_model_path(pushed["model_dir"])) > 0
