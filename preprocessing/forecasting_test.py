"""Transform semantics of the forecasting preprocessing_fn, run through TFT's Beam API."""

import functools
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from preprocessing import forecasting

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SPEC = {"series": tf.io.FixedLenFeature([5], tf.float32),
        "target": tf.io.FixedLenFeature([2], tf.float32)}


def _analyze_and_transform(rows, custom_config):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    fn = functools.partial(forecasting.preprocessing_fn, custom_config=custom_config)
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        (transformed, _), _ = ((rows, metadata) | tft_beam.AnalyzeAndTransformDataset(fn))
    return transformed


def _rows(seed=0, n=40):
    rng = np.random.default_rng(seed)
    values = 3.0 + 2.0 * rng.normal(size=(n, 7)).astype("float32")
    return [{"series": v[:5], "target": v[5:]} for v in values], values


def test_zscore_uses_one_mean_and_std_over_all_training_values():
    rows, values = _rows()
    out = _analyze_and_transform(rows, {"scaling": "zscore"})
    series = np.stack([r[forecasting.SERIES_SCALED] for r in out])
    mean, std = values[:, :5].mean(), values[:, :5].std()
    np.testing.assert_allclose(series, (values[:, :5] - mean) / std, rtol=1e-4, atol=1e-4)
    target = np.stack([r[forecasting.TARGET_SCALED] for r in out])
    np.testing.assert_allclose(target, (values[:, 5:] - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose([r[forecasting.SCALE_CENTER] for r in out], mean, rtol=1e-5)
    np.testing.assert_allclose([r[forecasting.SCALE_FACTOR] for r in out], std, rtol=1e-4)


def test_maxabs_puts_training_inputs_in_tanh_range():
    rows, values = _rows(1)
    out = _analyze_and_transform(rows, {"scaling": "maxabs"})
    series = np.stack([r[forecasting.SERIES_SCALED] for r in out])
    assert np.abs(series).max() == pytest.approx(1.0, abs=1e-5)
    centered = values[:, :5] - values[:, :5].mean()
    np.testing.assert_allclose(series, centered / np.abs(centered).max(), rtol=1e-4, atol=1e-4)


def test_unknown_scaling_is_rejected():
    rows, _ = _rows()
    with pytest.raises(ValueError, match="scaling must be one of"):
        _analyze_and_transform(rows, {"scaling": "minmax"})
