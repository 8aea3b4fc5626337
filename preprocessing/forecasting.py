"""TensorFlow Transform for the forecasting family.

The z-score statistics are computed once, over the train split only, by TFT
analyzers and become constants of the transform graph. The exported model
applies that same graph to raw series at serving time and maps forecasts back
to the original scale, so training and serving cannot disagree.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

# Raw feature names, as written by components.series_example_gen.
SERIES = "series"
TARGET = "target"
SERIES_ID = "series_id"

# Transformed feature names.
SERIES_Z = "series_z"
TARGET_Z = "target_z"
NORM_MEAN = "norm_mean"
NORM_STD = "norm_std"

# Guards against a constant training series (std 0) blowing up the z-score.
_MIN_STD = 1e-6


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Z-scores inputs and targets with one mean/std over all training values.

    One scalar mean/std (not per time step) keeps the model's view of the
    series shift-invariant, like the book's raw-scale models.
    """
    series = tf.cast(inputs[SERIES], tf.float32)
    mean = tft.mean(series)
    std = tf.maximum(tf.sqrt(tft.var(series)), _MIN_STD)
    outputs = {SERIES_Z: (series - mean) / std}
    if TARGET in inputs:
        outputs[TARGET_Z] = (tf.cast(inputs[TARGET], tf.float32) - mean) / std
    if SERIES_ID in inputs:
        # Carried through so Transform's output can be joined back to raw
        # examples (the skew test); serving graphs never ask for it.
        outputs[SERIES_ID] = inputs[SERIES_ID]
    # Per-row copies of the statistics so the serving graph can undo the
    # scaling; they depend only on `series`, so they exist at serving time.
    batch = tf.shape(series)[0]
    outputs[NORM_MEAN] = tf.fill([batch], mean)
    outputs[NORM_STD] = tf.fill([batch], std)
    return outputs
