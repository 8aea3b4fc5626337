"""TensorFlow Transform for the forecasting family.

The scaling statistics are computed once, over the train split only, by TFT
analyzers and become constants of the transform graph. The exported model
applies that same graph to raw series at serving time and maps forecasts back
to the original scale, so training and serving cannot disagree.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import schema_pb2

from preprocessing import schema_features

# Raw feature names, as written by components.series_example_gen.
SERIES = "series"
TARGET = "target"
SERIES_ID = "series_id"

# Transformed feature names.
SERIES_SCALED = "series_scaled"
TARGET_SCALED = "target_scaled"
SCALE_CENTER = "scale_center"
SCALE_FACTOR = "scale_factor"

SCALINGS = ("zscore", "maxabs")

# Jensen-Shannon divergence between the value histograms of the `series`
# feature in this span and the last validated one above which the run
# stops: the book's series from one span to the next measure ~0.01; a unit
# change (values x100) or a sign flip measures > 0.5.
DRIFT_THRESHOLD = 0.2

# Guards against a constant training series (scale 0) blowing up the scaling.
_MIN_SCALE = 1e-6


def preprocessing_fn(inputs: dict[str, tf.Tensor],
                     custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    """Centres on the train mean and divides by one scale over all values.

    scaling="zscore" (default) divides by the standard deviation. "maxabs"
    divides by the largest |value − mean| seen in training, so the data lie
    in [−1, 1]: the range of models whose output is a tanh unit (the book's
    SimpleRNN(1) heads), which z-scores (|z| up to ~2) would clip.
    One scalar for all time steps keeps the series' shape intact.
    """
    scaling = (custom_config or {}).get("scaling", "zscore")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    series = tf.cast(inputs[SERIES], tf.float32)
    center = tft.mean(series)
    if scaling == "zscore":
        scale = tf.sqrt(tft.var(series))
    else:
        scale = tft.max(tf.abs(series - center))
    scale = tf.maximum(scale, _MIN_SCALE)

    outputs = {SERIES_SCALED: (series - center) / scale}
    if TARGET in inputs:
        outputs[TARGET_SCALED] = (tf.cast(inputs[TARGET], tf.float32) - center) / scale
    if SERIES_ID in inputs:
        # Carried through so Transform's output can be joined back to raw
        # examples (the skew test); serving graphs never ask for it.
        outputs[SERIES_ID] = inputs[SERIES_ID]
    # Per-row copies of the statistics so the serving graph can undo the
    # scaling; they depend only on `series`, so they exist at serving time.
    batch = tf.shape(series)[0]
    outputs[SCALE_CENTER] = tf.fill([batch], center)
    outputs[SCALE_FACTOR] = tf.fill([batch], scale)
    return outputs


def curated_schema(n_steps: int = 50, horizon: int = 10,
                   drift_threshold: float = DRIFT_THRESHOLD) -> schema_pb2.Schema:
    """The schema the forecasting examples must meet (what ImportSchemaGen
    imports, instead of one inferred from each run's own data, which could
    never flag anything): every window has `n_steps` finite values and
    `horizon` finite targets and an id, and the value distribution may not
    drift from the last validated span's by more than `drift_threshold`."""
    schema = schema_pb2.Schema()
    for name, size in ((SERIES, n_steps), (TARGET, horizon)):
        feature = schema_features.required(schema, name, schema_pb2.FLOAT, size)
        feature.float_domain.disallow_nan = True
        feature.float_domain.disallow_inf = True
        if name == SERIES:
            feature.drift_comparator.jensen_shannon_divergence.threshold = drift_threshold
    schema_features.required(schema, SERIES_ID, schema_pb2.BYTES)
    return schema
