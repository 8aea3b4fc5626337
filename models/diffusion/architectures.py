"""The book's denoising U-Net (Hands-On ML 3rd ed., ch. 17; MODELS.md §7).

Inputs ``{"X_noisy": float32 [n, H, W, C], "time": int32 [n]}`` (x_t and
its step t in 0..T) → the predicted noise ε̂ [n, H, W, C]. The image is
zero-padded to a multiple of 8 in each dimension (28 → 32, the size the
book reaches with a 3-pixel pad and a "valid" 3x3 conv; here a 2-pixel pad
and a "same" conv, the same arithmetic), so that the three 2x poolings
divide it evenly, then:

    Conv(16) → BN → ReLU, + time
    3 down blocks (32, 64, 128): 2 × [ReLU, SeparableConv 3x3, BN],
        MaxPool(3, s2) + a strided 1x1 conv of the block input, + time
    3 up blocks (64, 32, 16): 2 × [ReLU, Conv2DTranspose 3x3, BN],
        UpSampling(2) + an upsampled 1x1 conv of the block input, + time,
        concatenated with the matching down block's output
    Conv(C, 3x3), cropped back to H x W.

"+ time" adds a Dense projection of the sinusoidal time encoding
(``TimeEncoding``, 64 values) to every pixel. ``build_model`` compiles it as
the book: Huber loss, Nadam. Any H x W works (``build_unet`` pads and crops
back); the custom layer is a registered serializable, so the model survives
``model.save("….keras")`` and ``keras.models.load_model``.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

from models.common.arguments import check_int, check_learning_rate

VARIANTS = ("ddpm",)
DEFAULT_VARIANT = "ddpm"
BOOK_T = 4000
BOOK_S = 0.008
BOOK_MAX_BETA = 0.999
BOOK_EPOCHS = 100
BOOK_BATCH_SIZE = 32
BOOK_VAL_LOSS = 0.0379  # Huber, Fashion-MNIST (the notebook's)
TIME_EMBEDDING = 64


@keras.saving.register_keras_serializable(package="diffusion")
class TimeEncoding(keras.layers.Layer):
    """Step t (int [n], 0..T) → its sinusoidal encoding [n, size], the
    book's (the Transformer's positional encoding): entry 2i is
    sin(t / 10000^(2i / size)) and entry 2i + 1 the cosine of the same."""

    def __init__(self, timesteps: int, size: int = TIME_EMBEDDING, **kwargs):
        super().__init__(**kwargs)
        self.timesteps = check_int("timesteps", timesteps, 1)
        self.size = check_int("size", size, 2)
        if self.size % 2:
            raise ValueError(f"the time encoding size must be even, got size={size}")
        position = np.arange(self.timesteps + 1)[:, None]
        frequency = 1.0 / 10_000 ** (2 * np.arange(self.size // 2) / self.size)
        table = np.empty((self.timesteps + 1, self.size), np.float32)
        table[:, 0::2] = np.sin(position * frequency)
        table[:, 1::2] = np.cos(position * frequency)
        self.table = table  # a constant, not a weight: nothing to train or save

    def call(self, time):
        return keras.ops.take(keras.ops.convert_to_tensor(self.table),
                              keras.ops.cast(time, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.size)

    def get_config(self) -> dict:
        return {**super().get_config(), "timesteps": self.timesteps, "size": self.size}


def _add_time(x, time_encoding, units: int, name: str):
    """x + Dense(units)(time encoding), the same at every pixel."""
    projected = keras.layers.Dense(units, name=f"{name}_time")(time_encoding)
    projected = keras.layers.Reshape((1, 1, units), name=f"{name}_time_map")(projected)
    return keras.layers.Add(name=f"{name}_plus_time")([x, projected])


def build_unet(image_shape: Sequence[int], timesteps: int = BOOK_T) -> keras.Model:
    """The uncompiled U-Net for images of `image_shape` (H, W, C) and steps
    t in 0..`timesteps` (see the module docstring)."""
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape!r}")
    height, width, channels = (check_int(name, d, 1) for name, d in
                               zip(("height", "width", "channels"), image_shape))
    check_int("timesteps", timesteps, 1)
    # Three 2x poolings: pad to a multiple of 8, centred, and crop back at the end.
    pad_h, pad_w = (-height) % 8, (-width) % 8
    x_noisy = keras.Input(shape=(height, width, channels), name="X_noisy")
    time = keras.Input(shape=(), dtype="int32", name="time")
    time_encoding = TimeEncoding(timesteps, name="time_encoding")(time)

    z = keras.layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2),
                                    (pad_w // 2, pad_w - pad_w // 2)), name="pad")(x_noisy)
    z = keras.layers.Conv2D(16, 3, padding="same", name="stem_conv")(z)
    z = keras.layers.BatchNormalization(name="stem_bn")(z)
    z = keras.layers.Activation("relu", name="stem_relu")(z)
    z = _add_time(z, time_encoding, 16, "stem")
    skip, cross_skips = z, []

    for units in (32, 64, 128):
        name = f"down_{units}"
        for i in (1, 2):
            z = keras.layers.Activation("relu", name=f"{name}_relu_{i}")(z)
            z = keras.layers.SeparableConv2D(units, 3, padding="same", name=f"{name}_conv_{i}")(z)
            z = keras.layers.BatchNormalization(name=f"{name}_bn_{i}")(z)
        cross_skips.append(z)
        z = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(z)
        residual = keras.layers.Conv2D(units, 1, strides=2, padding="same",
                                       name=f"{name}_residual")(skip)
        z = keras.layers.Add(name=f"{name}_plus_residual")([z, residual])
        z = _add_time(z, time_encoding, units, name)
        skip = z

    for units in (64, 32, 16):
        name = f"up_{units}"
        for i in (1, 2):
            z = keras.layers.Activation("relu", name=f"{name}_relu_{i}")(z)
            z = keras.layers.Conv2DTranspose(units, 3, padding="same", name=f"{name}_conv_{i}")(z)
            z = keras.layers.BatchNormalization(name=f"{name}_bn_{i}")(z)
        z = keras.layers.UpSampling2D(2, name=f"{name}_upsample")(z)
        residual = keras.layers.UpSampling2D(2, name=f"{name}_residual_upsample")(skip)
        residual = keras.layers.Conv2D(units, 1, padding="same", name=f"{name}_residual")(residual)
        z = keras.layers.Add(name=f"{name}_plus_residual")([z, residual])
        z = _add_time(z, time_encoding, units, name)
        z = keras.layers.Concatenate(name=f"{name}_cross_skip")([z, cross_skips.pop()])
        skip = z

    z = keras.layers.Conv2D(channels, 3, padding="same", name="noise_conv")(z)
    noise = keras.layers.Cropping2D(((pad_h // 2, pad_h - pad_h // 2),
                                     (pad_w // 2, pad_w - pad_w // 2)), name="predicted_noise")(z)
    return keras.Model(inputs={"X_noisy": x_noisy, "time": time}, outputs=noise, name="unet")


def build_model(image_shape: Sequence[int], timesteps: int = BOOK_T, *,
                learning_rate: float = 1e-3) -> keras.Model:
    """The U-Net compiled as the book: Huber loss, Nadam."""
    model = build_unet(image_shape, timesteps)
    model.compile(loss=keras.losses.Huber(),
                  optimizer=keras.optimizers.Nadam(check_learning_rate(learning_rate)))
    return model
