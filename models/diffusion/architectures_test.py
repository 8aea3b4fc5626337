"""The U-Net: the book's layout, any image size, the time encoding, and a
``.keras`` save and reload."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.diffusion import architectures


def test_book_constants():
    assert architectures.VARIANTS == ("ddpm",) and architectures.DEFAULT_VARIANT == "ddpm"
    assert (architectures.BOOK_T, architectures.BOOK_S, architectures.BOOK_MAX_BETA) == (
        4000, 0.008, 0.999)
    assert (architectures.BOOK_EPOCHS, architectures.BOOK_BATCH_SIZE) == (100, 32)
    assert architectures.BOOK_VAL_LOSS == 0.0379


# Saved before any training step: its optimizer has no slots yet.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_unet_layout_and_save_load(tmp_path):
    model = architectures.build_model((28, 28, 1), timesteps=4000)
    assert set(model.input) == {"X_noisy", "time"}
    assert model.output.shape[1:] == (28, 28, 1)
    assert model.get_layer("pad").output.shape[1:3] == (32, 32)  # the book's 32 x 32
    assert model.get_layer("down_128_pool").output.shape[1:] == (4, 4, 128)
    assert model.get_layer("up_16_cross_skip").output.shape[1:] == (32, 32, 48)
    assert isinstance(model.get_layer("down_32_conv_1"), keras.layers.SeparableConv2D)
    assert isinstance(model.get_layer("up_64_conv_1"), keras.layers.Conv2DTranspose)
    assert isinstance(model.loss, keras.losses.Huber)
    assert isinstance(model.optimizer, keras.optimizers.Nadam)

    x = tf.random.normal((2, 28, 28, 1), seed=1)
    t = tf.constant([1, 3999])
    path = str(tmp_path / "unet.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("time_encoding"), architectures.TimeEncoding)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded({"X_noisy": x, "time": t})),
                               keras.ops.convert_to_numpy(model({"X_noisy": x, "time": t})),
                               atol=1e-5)


@pytest.mark.parametrize("shape, padded", [((10, 6, 3), (16, 8)), ((16, 16, 1), (16, 16))])
def test_any_image_size_is_padded_and_cropped_back(shape, padded):
    model = architectures.build_unet(shape, timesteps=10)
    assert model.get_layer("pad").output.shape[1:3] == padded
    out = model({"X_noisy": tf.zeros((2, *shape)), "time": tf.constant([0, 10])})
    assert out.shape == (2, *shape)


def test_time_encoding_is_the_books_sinusoid():
    encoding = architectures.TimeEncoding(10, 4)(tf.constant([0, 3])).numpy()
    np.testing.assert_allclose(encoding[0], [0, 1, 0, 1], atol=1e-7)
    np.testing.assert_allclose(encoding[1], [math.sin(3), math.cos(3),
                                             math.sin(3 / 100), math.cos(3 / 100)], rtol=1e-5)
    layer = architectures.TimeEncoding.from_config(architectures.TimeEncoding(10, 4).get_config())
    assert (layer.timesteps, layer.size) == (10, 4)
    with pytest.raises(ValueError, match="even"):
        architectures.TimeEncoding(10, 5)


@pytest.mark.parametrize("shape, timesteps, message", [
    ((28, 28), 10, "image_shape"), ((28, 0, 1), 10, "width"), ((8, 8, 1), 0, "timesteps")])
def test_bad_unet_arguments(shape, timesteps, message):
    with pytest.raises(ValueError, match=message):
        architectures.build_unet(shape, timesteps)
