"""Classifier trainer on a tiny real Transform output: training, the exported
SavedModel's signatures after a reload (classify, classify_png,
serving_default, the MC-dropout uncertainty signature), transfer learning
from an exported model A, and bad options."""

from __future__ import annotations

import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.classifier import architectures, trainer
from models.common import image_testing
from models.common import training as common_training
from preprocessing import image_contract as contract

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (6, 6, 1)
N_IMAGES = 60
NAMES = ("stripe top", "stripe middle", "stripe bottom")

def _images(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint8 [n, 6, 6, 1]: a bright horizontal stripe whose row pair is the class, on noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(len(labels),) + SHAPE).astype(np.uint8)
    for image, label in zip(images, labels):
        image[2 * label:2 * label + 2] = 230
    return images


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The real preprocessing_fn over tiny images; task B = classes 0 and 2
    relabelled 0/1, written with the same transform graph."""
    tmp = tmp_path_factory.mktemp("classifier_tft")
    labels = np.arange(N_IMAGES) % 3
    images = _images(labels)
    tiny = image_testing.tiny_transform(str(tmp), images, labels)
    shard_b = str(tmp / "b.gz")
    image_testing.write_transformed(shard_b, [
        {contract.IMAGE_SCALED: r[contract.IMAGE_SCALED], contract.LABEL: int(r[contract.LABEL]) // 2}
        for r in tiny.rows if int(r[contract.LABEL]) != 1])
    return {"tmp": tmp, "tft": tiny.tft_output, "files": tiny.files,
            "files_b": [shard_b], "images": images, "labels": labels,
            "examples": tiny.examples}


def _train_and_export(data, name: str, config: trainer.TrainConfig, files=None, train_steps=8):
    files = files or data["files"]
    model, stats = trainer.train(config, files, files, data["tft"], train_steps=train_steps)
    run_dir = data["tmp"] / name
    fn_args = types.SimpleNamespace(model_run_dir=str(run_dir / "run"),
                                    serving_model_dir=str(run_dir / "serving"))
    common_training.save_run(fn_args, model, stats, config,
                             trainer.ClassifierServing(model, data["tft"], config))
    return model, stats, fn_args.serving_model_dir


def _call(loaded, name, **inputs):
    return {k: v.numpy() for k, v in loaded.signatures[name](**inputs).items()}


def _config(variant="baseline", **toolbox):
    return trainer.TrainConfig.from_custom_config({
        "variant": variant, "class_names": list(NAMES), "steps_per_epoch": 4,
        "toolbox": {"hidden_units": [16], "batch_size": 15, "optimizer": "adam",
                    "learning_rate": 0.02, **toolbox}})


@pytest.fixture(scope="module")
def baseline(data):
    model, stats, serving_dir = _train_and_export(data, "baseline", _config())
    return {"model": model, "stats": stats, "dir": serving_dir,
            "loaded": tf.saved_model.load(serving_dir)}


def test_trains_and_classifies_raw_images(data, baseline):
    stats = baseline["stats"]
    assert stats["epochs"] == 2 and stats["steps"] == 8 and stats["parameters"] > 0
    assert stats["history"]["val_accuracy"][-1] > 0.9  # the stripes are easy
    loaded = baseline["loaded"]
    assert set(loaded.signatures) == {"serving_default", trainer.SIGNATURE_CLASSIFY,
                                      trainer.SIGNATURE_CLASSIFY_PNG, trainer.SIGNATURE_FEATURES}
    images = data["images"][:9]
    out = _call(loaded, "classify", images=tf.constant(images))
    assert out["probabilities"].shape == (9, 3) and out["class_ids"].shape == (9,)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out["class_ids"], out["probabilities"].argmax(axis=1))
    assert [s.decode() for s in out["labels"]] == [NAMES[i] for i in out["class_ids"]]
    assert (out["class_ids"] == data["labels"][:9]).mean() > 0.8
    # The model the trainer holds gives the same probabilities on the scaled images.
    expected = baseline["model"](images.astype("float32") / 255.0, training=False)
    np.testing.assert_allclose(out["probabilities"], keras.ops.convert_to_numpy(expected), atol=1e-5)
    # Nothing was left for Keras: the Keras file travels inside the export.
    assert os.path.exists(common_training.keras_model_path(baseline["dir"]))


def test_features_are_the_activations_feeding_the_output_layer(data, baseline):
    images = data["images"][:7]
    out = _call(baseline["loaded"], trainer.SIGNATURE_FEATURES, images=tf.constant(images))
    assert out["features"].shape == (7, 16)  # the one hidden layer's units
    direct = _call(baseline["loaded"], "classify", images=tf.constant(images))
    np.testing.assert_allclose(out["probabilities"], direct["probabilities"], atol=1e-6)
    # The output layer applied to the features gives the probabilities back.
    head = baseline["model"].get_layer("output")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(out["features"])),
                               out["probabilities"], atol=1e-5)


def test_png_and_serialized_examples_give_the_same_answer(data, baseline):
    loaded = baseline["loaded"]
    images = data["images"][:5]
    direct = _call(loaded, "classify", images=tf.constant(images))
    png = tf.stack([tf.io.encode_png(im) for im in images])
    decoded = _call(loaded, "classify_png", png=png)
    np.testing.assert_allclose(decoded["probabilities"], direct["probabilities"], atol=1e-6)
    assert list(decoded["labels"]) == list(direct["labels"])
    served = _call(loaded, "serving_default", examples=tf.constant(data["examples"][:5]))
    assert set(served) == {"probabilities", "class_ids"}
    np.testing.assert_allclose(served["probabilities"], direct["probabilities"], atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="6x6 pixels"):
        _call(loaded, "classify_png", png=tf.stack([tf.io.encode_png(np.zeros((7, 6, 1), np.uint8))]))


def test_mc_dropout_model_has_the_uncertainty_signature(data):
    config = _config("mc_dropout", hidden_units=[32], dropout_rate=0.3)
    _, _, serving_dir = _train_and_export(data, "mc", config)
    loaded = tf.saved_model.load(serving_dir)
    images = tf.constant(data["images"][:6])
    plain = [_call(loaded, "classify", images=images)["probabilities"] for _ in range(2)]
    np.testing.assert_array_equal(plain[0], plain[1])  # dropout off outside MC mode

    def uncertain(n):
        return _call(loaded, trainer.SIGNATURE_UNCERTAINTY, images=images, n=tf.constant(n))

    out = uncertain(50)
    assert out["probabilities"].shape == out["std"].shape == (6, 3)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert (out["std"] > 0).any() and (out["std"] < 0.5).all()
    assert [s.decode() for s in out["labels"]] == [NAMES[i] for i in out["class_ids"]]
    again = uncertain(50)
    assert not np.allclose(again["probabilities"], out["probabilities"])  # new masks per call
    np.testing.assert_allclose(uncertain(1)["std"], 0.0, atol=1e-6)
    for n in (0, trainer.MAX_MC_SAMPLES + 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="between 1 and 1000"):
            uncertain(n)


def test_transfer_from_an_exported_model_a(data, baseline):
    config = trainer.TrainConfig.from_custom_config({
        "variant": "transfer", "base_model_dir": baseline["dir"], "class_names": ["top", "bottom"],
        "steps_per_epoch": 2, "toolbox": {"freeze_epochs": 1, "batch_size": 10}})
    model, stats, serving_dir = _train_and_export(data, "transfer", config,
                                                  files=data["files_b"], train_steps=6)
    assert [p["epochs"] for p in stats["phases"]] == [1, 2] and stats["epochs"] == 3
    assert len(stats["history"]["loss"]) == 3
    assert architectures.is_binary(model) and all(layer.trainable for layer in model.layers)
    base = keras.saving.load_model(common_training.keras_model_path(baseline["dir"]))
    tuned = keras.ops.convert_to_numpy(model.get_layer("hidden_1").kernel)
    original = keras.ops.convert_to_numpy(base.get_layer("hidden_1").kernel)
    assert tuned.shape == original.shape and not np.allclose(tuned, original)  # fine-tuned
    out = _call(tf.saved_model.load(serving_dir), "classify",
                images=tf.constant(data["images"][[0, 2, 3, 5]]))  # classes 0, 2, 0, 2
    assert out["probabilities"].shape == (4, 2)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert [s.decode() for s in out["labels"]] == ["top", "bottom", "top", "bottom"]


def test_transfer_names_a_missing_or_incompatible_base_model(data, baseline, tmp_path):
    def config(base_dir):
        return trainer.TrainConfig.from_custom_config({
            "variant": "transfer", "base_model_dir": base_dir, "class_names": ["a", "b"],
            "steps_per_epoch": 2})

    with pytest.raises(ValueError, match="base_model_dir: .*no keras/model.keras"):
        trainer.train(config(str(tmp_path)), data["files_b"], data["files_b"], data["tft"], 10)
    other = architectures.build_model(architectures.preset("baseline", hidden_units=(4,)),
                                      (5, 5, 1), 3)
    os.makedirs(tmp_path / "other" / "keras")
    other.save(str(tmp_path / "other" / "keras" / "model.keras"))
    with pytest.raises(ValueError,
                       match=r"takes images of shape \(5, 5, 1\), this data has \(6, 6, 1\)"):
        trainer.train(config(str(tmp_path / "other")), data["files_b"], data["files_b"],
                      data["tft"], 10)
    with pytest.raises(ValueError, match="no epoch to fine-tune"):
        trainer.train(config(baseline["dir"]), data["files_b"], data["files_b"], data["tft"], 8)


@pytest.mark.parametrize("custom_config, message", [
    ({"variant": "transfer"}, "the transfer variant needs base_model_dir"),
    ({"base_model_dir": "/somewhere"}, "base_model_dir is for the transfer variant only"),
    ({"class_names": ["only"]}, "class_names must name at least 2 classes"),
    ({"colour": "red"}, r"unknown classifier trainer options \['colour'\]"),
    ({"toolbox": {"activation": "tanh"}}, "activation must be one of"),
    ({"variant": "resnet"}, "variant must be one of baseline"),
])
def test_bad_trainer_options(custom_config, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(custom_config)
