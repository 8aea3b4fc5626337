"""TFT preprocessing for the image families: pixel scaling inside the graph.

The statistics (when the option asks for any) are computed once over the
train split by Transform and frozen into the transform graph, which every
served model applies to its raw uint8 input: training and serving scale
pixels with the same constants.

Options (Transform's ``custom_config``, see ``image_contract``):
  image_shape  [height, width, channels] of the images (default 28, 28, 1);
               the flat pixel feature must have exactly their product values.
  scaling      unit | symmetric | standardize
  statistics   fixed | global | per_pixel ("fixed" only for unit/symmetric)
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import schema_pb2

from preprocessing import image_contract as contract
from preprocessing import schema_features

# Jensen-Shannon divergence of the label histogram from the last validated
# span's above which the run stops: a class that goes missing or doubles
# its share (a broken export, a mislabelled batch) measures well above it.
LABEL_DRIFT_THRESHOLD = 0.1

DEFAULTS: dict[str, Any] = {
    "image_shape": list(contract.DEFAULT_SHAPE),
    "scaling": "unit",
    "statistics": "fixed",
}


def options(custom_config: dict[str, Any] | None) -> dict[str, Any]:
    """The options with defaults filled in; ValueError naming a bad one."""
    config = {k: v for k, v in (custom_config or {}).items() if k != "source_digest"}
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown image preprocessing options {unknown}; known: {sorted(DEFAULTS)}")
    merged = {**DEFAULTS, **config}
    shape = merged["image_shape"]
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)):
        raise ValueError(f"image_shape must be [height, width, channels] of positive integers, "
                         f"got {shape!r}")
    if merged["scaling"] not in contract.SCALINGS:
        raise ValueError(f"scaling must be one of {contract.SCALINGS}, got {merged['scaling']!r}")
    if merged["statistics"] not in contract.STATISTICS:
        raise ValueError(f"statistics must be one of {contract.STATISTICS}, "
                         f"got {merged['statistics']!r}")
    if merged["scaling"] == "standardize" and merged["statistics"] == "fixed":
        raise ValueError("scaling 'standardize' needs statistics 'global' or 'per_pixel' "
                         "(a mean and a standard deviation), not 'fixed'")
    merged["image_shape"] = [int(d) for d in shape]
    return merged


def _unit(pixels: tf.Tensor, statistics: str) -> tf.Tensor:
    """Pixels mapped to [0, 1] by the nominal range or the train split's min/max."""
    if statistics == "fixed":
        return pixels / 255.0
    per_pixel = statistics == "per_pixel"
    low = tft.min(pixels, reduce_instance_dims=not per_pixel)
    high = tft.max(pixels, reduce_instance_dims=not per_pixel)
    span = high - low
    # A position that never varies in training (an always-black border pixel)
    # maps to 0 instead of dividing by zero.
    return (pixels - low) / tf.where(span > 0, span, tf.ones_like(span))


def scale(pixels: tf.Tensor, scaling: str, statistics: str) -> tf.Tensor:
    """float32 pixels (batch, H*W*C) scaled as the options say."""
    if scaling == "unit":
        return _unit(pixels, statistics)
    if scaling == "symmetric":
        return 2.0 * _unit(pixels, statistics) - 1.0
    # standardize: TFT leaves a zero-variance position centred but unscaled.
    return tft.scale_to_z_score(pixels, elementwise=statistics == "per_pixel")


def preprocessing_fn(inputs: dict[str, tf.Tensor],
                     custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    """Raw examples (or served inputs) → ``IMAGE_SCALED`` float32 [H, W, C]
    and ``LABEL`` passed through when present."""
    config = options(custom_config)
    height, width, channels = config["image_shape"]
    pixels = inputs[contract.IMAGE]
    if isinstance(pixels, tf.SparseTensor):
        raise ValueError(f"feature {contract.IMAGE!r} must have a fixed length of "
                         f"{height * width * channels} values (one per pixel and channel); the "
                         "schema gives it a variable length: images of mixed sizes?")
    size = pixels.shape[-1]
    if size is not None and size != height * width * channels:
        raise ValueError(
            f"feature {contract.IMAGE!r} has {size} values per example, but image_shape "
            f"{config['image_shape']} needs {height * width * channels}"
            + (f" (a square image would be {math.isqrt(size)}x{math.isqrt(size)})"
               if math.isqrt(size) ** 2 == size else ""))
    scaled = scale(tf.cast(pixels, tf.float32), config["scaling"], config["statistics"])
    outputs = {contract.IMAGE_SCALED: tf.reshape(scaled, [-1, height, width, channels])}
    if contract.LABEL in inputs:
        outputs[contract.LABEL_XF] = tf.reshape(inputs[contract.LABEL], [-1])
    return outputs


def curated_schema(image_shape: list[int] | tuple[int, ...] = contract.DEFAULT_SHAPE,
                   num_classes: int | None = None,
                   label_drift_threshold: float = LABEL_DRIFT_THRESHOLD) -> schema_pb2.Schema:
    """The schema the image examples must meet: H*W*C pixels in [0, 255],
    one label in [0, num_classes) (no upper bound when the number of classes
    is not known up front), both always present, and the label distribution
    close to the last validated span's."""
    schema = schema_pb2.Schema()
    image = schema_features.required(schema, contract.IMAGE, schema_pb2.INT,
                                     math.prod(int(d) for d in image_shape))
    image.int_domain.min, image.int_domain.max = 0, 255
    label = schema_features.required(schema, contract.LABEL, schema_pb2.INT)
    label.int_domain.min = 0
    if num_classes:
        label.int_domain.max = int(num_classes) - 1
    label.drift_comparator.jensen_shannon_divergence.threshold = label_drift_threshold
    return schema
