"""Autoencoders trainer on a tiny real Transform output: the dataset, a few
training steps, the exported serving module and every one of its signatures."""

from __future__ import annotations


import numpy as np
import pytest
import tensorflow as tf

from models.autoencoders import architectures, trainer
from models.common import image_testing
from preprocessing import image_contract as contract

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (12, 12, 1)
N_IMAGES = 48


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """The real preprocessing_fn over tiny blobs: tft_output, transformed
    shard, raw uint8 images, their serialized raw examples."""
    data = image_testing.tiny_transform(str(tmp_path_factory.mktemp("autoencoders_tft")),
                                        image_testing.blobs(N_IMAGES, SHAPE),
                                        np.arange(N_IMAGES) % 3)
    return {"tft": data.tft_output, "files": data.files, "images": data.images,
            "examples": data.examples}


def _train_and_export(transformed, tmp_path, variant: str, **options):
    config = trainer.TrainConfig(variant=variant, batch_size=16, steps_per_epoch=3,
                                 learning_rate=0.01, **options)
    model, stats = trainer.train(config, transformed["files"], transformed["files"],
                                 transformed["tft"], train_steps=6)
    serving = trainer.AutoencoderServing(model, transformed["tft"], config)
    path = str(tmp_path / f"export_{variant}")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return model, stats, tf.saved_model.load(path)


def _call(loaded, name, **inputs):
    return {k: v.numpy() for k, v in loaded.signatures[name](**inputs).items()}


def test_dataset_feeds_scaled_images_as_inputs_and_targets(transformed):
    config = trainer.TrainConfig(batch_size=8)
    x, y = next(iter(trainer.make_dataset(transformed["files"], transformed["tft"], config,
                                          training=False)))
    assert x.shape == (8, *SHAPE) and x.dtype == tf.float32
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_allclose(np.sort(x.numpy().reshape(8, -1), axis=None),
                               np.sort(transformed["images"][:8].reshape(8, -1) / 255.0, axis=None),
                               atol=1e-6)  # the first 8 images, scaled to [0, 1]


def test_stacked_exports_every_signature(transformed, tmp_path):
    model, stats, loaded = _train_and_export(transformed, tmp_path, "stacked")
    assert stats["epochs"] == 2 and stats["image_shape"] == list(SHAPE)
    assert stats["codings_size"] == 30
    assert SHAPE and set(loaded.signatures) == {
        "serving_default", "encode", "decode", "reconstruct", "encode_png", "reconstruct_png"}
    images = transformed["images"][:5]  # uint8 [5, 12, 12, 1]

    codings = _call(loaded, "encode", images=tf.constant(images[..., 0]))  # [n, H, W]
    assert codings["codings"].shape == (5, 30) and codings["codings"].dtype == np.float32
    np.testing.assert_allclose(_call(loaded, "encode", images=tf.constant(images))["codings"],
                               codings["codings"], atol=1e-6)  # [n, H, W, C] alike
    # The Keras encoder on the scaled images gives the same codings.
    np.testing.assert_allclose(architectures.codings(model, images / 255.0), codings["codings"],
                               atol=1e-5)

    decoded = _call(loaded, "decode", codings=tf.constant(codings["codings"]))
    assert decoded["images"].shape == (5, *SHAPE) and decoded["images"].dtype == np.uint8
    assert decoded["scaled"].shape == (5, *SHAPE) and decoded["scaled"].dtype == np.float32
    np.testing.assert_array_equal(
        decoded["images"], np.clip(np.round(decoded["scaled"] * 255), 0, 255).astype(np.uint8))

    rebuilt = _call(loaded, "reconstruct", images=tf.constant(images))
    np.testing.assert_array_equal(rebuilt["images"], decoded["images"])  # decode(encode(x))
    np.testing.assert_allclose(rebuilt["scaled"], decoded["scaled"], atol=1e-6)
    expected_mse = np.mean((decoded["scaled"] - images / 255.0) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(rebuilt["reconstruction_mse"], expected_mse, rtol=1e-4)

    # The scoring signature reads raw examples (ExampleGen's int64 pixels).
    scored = _call(loaded, "serving_default", examples=tf.constant(transformed["examples"][:5]))
    np.testing.assert_allclose(scored["reconstruction_mse"], rebuilt["reconstruction_mse"], rtol=1e-5)

    # PNG bytes give what the uint8 images give.
    png = tf.stack([tf.io.encode_png(im) for im in images])
    from_png = _call(loaded, "reconstruct_png", png=png)
    for key in ("images", "scaled", "reconstruction_mse"):
        np.testing.assert_array_equal(from_png[key], rebuilt[key])
    np.testing.assert_array_equal(_call(loaded, "encode_png", png=png)["codings"], codings["codings"])

    # An image of another size is a clear error.
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images must be uint8 \[n, 12, 12, 1\]"):
        loaded.signatures["encode"](images=tf.zeros([2, 12, 11], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="12x12 pixels"):
        loaded.signatures["reconstruct_png"](png=tf.stack([tf.io.encode_png(tf.zeros([5, 5, 1], tf.uint8))]))


def test_variational_samples_deterministically_by_seed(transformed, tmp_path):
    _, _, loaded = _train_and_export(transformed, tmp_path, "variational")
    assert "sample" in loaded.signatures
    images = transformed["images"][:4]
    encoded = _call(loaded, "encode", images=tf.constant(images))
    assert encoded["codings"].shape == encoded["codings_log_var"].shape == (4, 10)
    # Deterministic: the mean codings.
    np.testing.assert_array_equal(_call(loaded, "encode", images=tf.constant(images))["codings"],
                                  encoded["codings"])
    decoded = _call(loaded, "decode", codings=tf.constant(encoded["codings"]))
    np.testing.assert_array_equal(_call(loaded, "reconstruct", images=tf.constant(images))["images"],
                                  decoded["images"])

    def sample(n, seed):
        return _call(loaded, "sample", n=tf.constant(n, tf.int32), seed=tf.constant(seed, tf.int64))

    first, again, other = sample(3, 7), sample(3, 7), sample(3, 8)
    assert first["images"].shape == (3, *SHAPE) and first["images"].dtype == np.uint8
    assert first["codings"].shape == (3, 10)
    np.testing.assert_array_equal(first["images"], again["images"])
    np.testing.assert_array_equal(first["codings"], again["codings"])
    assert not np.array_equal(first["codings"], other["codings"])
    np.testing.assert_array_equal(_call(loaded, "decode", codings=tf.constant(first["codings"]))["images"],
                                  first["images"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="n must be >= 1"):
        sample(0, 1)


# Variants with pieces the serving graph must carry: tied kernels, a noise
# layer's seed state, an activity regularizer (untrained: export is the point).
@pytest.mark.parametrize("variant, options", [
    ("tied", {}), ("denoising", {"noise": "gaussian"}), ("sparse_kl", {})])
def test_other_variants_export_and_reconstruct(transformed, tmp_path, variant, options):
    config = trainer.TrainConfig(variant=variant, **options)
    model = trainer.build_model(config, SHAPE)
    serving = trainer.AutoencoderServing(model, transformed["tft"], config)
    tf.saved_model.save(serving, str(tmp_path / variant), signatures=serving.signatures())
    loaded = tf.saved_model.load(str(tmp_path / variant))
    assert "sample" not in loaded.signatures
    images = transformed["images"][:3]
    rebuilt = _call(loaded, "reconstruct", images=tf.constant(images))
    np.testing.assert_allclose(rebuilt["scaled"], model(images / 255.0, training=False), atol=1e-5)
    decoded = _call(loaded, "decode", codings=tf.constant(
        _call(loaded, "encode", images=tf.constant(images))["codings"]))
    np.testing.assert_array_equal(rebuilt["images"], decoded["images"])


@pytest.mark.parametrize("options, message", [
    ({"variant": "pca"}, "Unknown autoencoders variant"),
    ({"batch_size": 0}, "batch_size"),
    ({"codings_size": -1}, "codings_size"),
    ({"noise": "gaussian"}, "denoising variant only"),
    ({"variant": "denoising", "noise": "salt"}, "noise must be one of"),
    ({"variant": "denoising", "noise_level": 2.0}, "dropout rate"),
    ({"output_activation": "relu"}, "output_activation"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"epochs": 3}, "unknown autoencoders trainer options"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(options)
