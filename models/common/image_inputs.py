"""Inputs of the image families' trainers and serving graphs.

Everything here reads the image shape and the pixel scaling from Transform's
output, so a trainer or a served model never carries a second copy of them:

* ``image_shape(tft_output)``: (H, W, C) of the transformed images;
* ``dataset(...)``: the transformed examples as a tf.data pipeline;
* ``ImageTransform``: the transform graph applied to raw uint8 images or
  encoded PNG/JPEG bytes (what served models take), and its inverse, which
  turns model outputs in the scaled space back into uint8 images.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models.common import data
from preprocessing import image_contract as contract


def image_shape(tft_output: tft.TFTransformOutput) -> tuple[int, int, int]:
    """(height, width, channels) of ``IMAGE_SCALED`` as Transform wrote it."""
    spec = tft_output.transformed_feature_spec()[contract.IMAGE_SCALED]
    shape = tuple(int(d) for d in spec.shape)
    if len(shape) != 3:
        raise ValueError(f"transformed {contract.IMAGE_SCALED!r} has shape {shape}; expected "
                         "(height, width, channels): was the transform built by "
                         "preprocessing.images?")
    return shape  # type: ignore[return-value]


def dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput, *,
            batch_size: int, training: bool, seed: int = 42,
            to_model_io: Callable[[dict[str, tf.Tensor]], tuple] | None = None,
            shuffle_buffer: int = 60_000) -> tf.data.Dataset:
    """Transformed examples → batches of ``to_model_io(features)``.

    Interleaved parallel reads and batched parsing (``data.transformed_dataset``),
    then cache, shuffle, batch, parallel map and prefetch for training; the
    evaluation side is cached and batched, with a known cardinality so Keras
    sees where it ends.
    """
    spec = tft_output.transformed_feature_spec()
    ds = data.transformed_dataset(file_patterns, spec)
    if training:
        return data.training_pipeline(ds, batch_size=batch_size, seed=seed,
                                      shuffle_buffer=shuffle_buffer, batch_map=to_model_io)
    ds = data.with_known_cardinality(ds.cache()).batch(batch_size)
    if to_model_io is not None:
        ds = ds.map(to_model_io, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def scaled_extremes(tft_output: tft.TFTransformOutput) -> tuple[np.ndarray, np.ndarray]:
    """What Transform makes of an all-black and an all-white image, per pixel
    (float32 [H, W, C] each): the range a generator's output must reach."""
    images = ImageTransform(tft_output)
    probes = tf.stack([tf.zeros(images.shape, tf.uint8),
                       tf.fill(images.shape, tf.constant(255, tf.uint8))])
    black, white = images.scale(probes).numpy()
    return black, white


class ImageTransform(tf.Module):
    """The transform graph for served images.

    ``scale`` takes uint8 images [n, H, W] or [n, H, W, C] and returns what
    the models were trained on; ``decode`` turns PNG/JPEG bytes into such
    uint8 images; ``unscale`` maps model outputs back to uint8 pixels.

    Transform's scalings are affine per pixel (x → a·x + b), so the inverse is
    probed from the transform graph itself (the images of all-0 and all-255
    pixels give b and a) instead of being recomputed from a copy of the
    statistics.
    """

    def __init__(self, tft_output: tft.TFTransformOutput):
        super().__init__()
        self.tft_layer = tft_output.transform_features_layer()
        self.shape = image_shape(tft_output)

    def _check_uint8(self, images: tf.Tensor) -> tf.Tensor:
        height, width, channels = self.shape
        if images.dtype != tf.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype.name}")
        if images.shape.rank == 3 and channels == 1:
            images = images[..., tf.newaxis]
        tf.debugging.assert_equal(
            tf.shape(images)[1:], tf.constant([height, width, channels]),
            message=f"images must have shape [n, {height}, {width}, {channels}]"
                    + (f" or [n, {height}, {width}]" if channels == 1 else ""))
        return images

    def scale(self, images: tf.Tensor) -> tf.Tensor:
        """uint8 [n, H, W(, C)] → float32 [n, H, W, C] as in training."""
        images = self._check_uint8(images)
        flat = tf.reshape(tf.cast(images, tf.int64), [tf.shape(images)[0], -1])
        return self.tft_layer({contract.IMAGE: flat})[contract.IMAGE_SCALED]

    def decode(self, encoded: tf.Tensor) -> tf.Tensor:
        """PNG/JPEG/GIF/BMP bytes [n] → uint8 [n, H, W, C] (an image of
        another size fails with the expected shape named)."""
        height, width, channels = self.shape

        def one(data: tf.Tensor) -> tf.Tensor:
            image = tf.io.decode_image(data, channels=channels, expand_animations=False)
            check = tf.debugging.assert_equal(
                tf.shape(image)[:2], tf.constant([height, width]),
                message=f"encoded images must be {height}x{width} pixels")
            with tf.control_dependencies([check]):
                # A no-op on a valid image that gives it a static shape: a bare
                # ensure_shape (even behind an identity with the check as a
                # control dependency) runs first in a traced graph and fails
                # with a message that names no expected size.
                image = tf.image.resize_with_crop_or_pad(image, height, width)
            return tf.ensure_shape(image, [height, width, channels])

        return tf.map_fn(one, encoded, fn_output_signature=tf.TensorSpec(
            [height, width, channels], tf.uint8))

    def unscale(self, scaled: tf.Tensor) -> tf.Tensor:
        """Model outputs in the scaled space → uint8 [n, H, W, C] (rounded, clipped)."""
        probes = tf.stack([tf.zeros(self.shape, tf.uint8), tf.fill(self.shape, tf.constant(255, tf.uint8))])
        low, high = tf.unstack(self.scale(probes))
        step = (high - low) / 255.0  # scaled units per grey level
        raw = (scaled - low) / tf.where(tf.abs(step) > 0, step, tf.ones_like(step))
        return tf.cast(tf.clip_by_value(tf.round(raw), 0.0, 255.0), tf.uint8)
