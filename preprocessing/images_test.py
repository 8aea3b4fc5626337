"""Image scaling through TFT's Beam API, and the served inverse of it."""

import functools
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models.common import image_inputs
from preprocessing import image_contract as contract
from preprocessing import images

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = [4, 3, 2]
SIZE = 4 * 3 * 2
SPEC = {contract.IMAGE: tf.io.FixedLenFeature([SIZE], tf.int64),
        contract.LABEL: tf.io.FixedLenFeature([], tf.int64)}


def _pixels(n=30, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(20, 200, size=(n, SIZE)).astype(np.int64)
    pixels[:, 0] = 7  # a position that never varies
    return pixels


def _analyze_and_transform(pixels, options, *, output_dir=None):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    rows = [{contract.IMAGE: p, contract.LABEL: i % 3} for i, p in enumerate(pixels)]
    fn = functools.partial(images.preprocessing_fn, custom_config={"image_shape": SHAPE, **options})
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        (transformed, _), transform_fn = (
            (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(fn))
        if output_dir:
            _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    scaled = np.stack([r[contract.IMAGE_SCALED] for r in transformed])
    labels = np.array([r[contract.LABEL] for r in transformed])
    return scaled, labels


def test_unit_and_symmetric_fixed_use_the_nominal_range():
    pixels = _pixels()
    scaled, labels = _analyze_and_transform(pixels, {"scaling": "unit"})
    assert scaled.shape == (30, 4, 3, 2)
    np.testing.assert_allclose(scaled.reshape(30, -1), pixels / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, np.arange(30) % 3)
    scaled, _ = _analyze_and_transform(pixels, {"scaling": "symmetric"})
    np.testing.assert_allclose(scaled.reshape(30, -1), pixels / 127.5 - 1, rtol=1e-5, atol=1e-6)


def test_global_and_per_pixel_statistics_come_from_the_data():
    pixels = _pixels()
    scaled, _ = _analyze_and_transform(pixels, {"scaling": "unit", "statistics": "global"})
    low, high = pixels.min(), pixels.max()
    np.testing.assert_allclose(scaled.reshape(30, -1), (pixels - low) / (high - low), rtol=1e-5)
    scaled, _ = _analyze_and_transform(pixels, {"scaling": "unit", "statistics": "per_pixel"})
    flat = scaled.reshape(30, -1)
    np.testing.assert_allclose(flat[:, 1:].min(0), 0, atol=1e-6)
    np.testing.assert_allclose(flat[:, 1:].max(0), 1, atol=1e-6)
    np.testing.assert_array_equal(flat[:, 0], 0)  # constant position: 0, not NaN
    scaled, _ = _analyze_and_transform(pixels, {"scaling": "standardize", "statistics": "per_pixel"})
    flat = scaled.reshape(30, -1)
    np.testing.assert_allclose(flat[:, 1:].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(flat[:, 1:].std(0), 1, atol=1e-3)
    scaled, _ = _analyze_and_transform(pixels, {"scaling": "standardize", "statistics": "global"})
    np.testing.assert_allclose(scaled.reshape(30, -1),
                               (pixels - pixels.mean()) / pixels.std(), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("options, message", [
    ({"scaling": "minmax"}, "scaling must be one of"),
    ({"statistics": "median"}, "statistics must be one of"),
    ({"scaling": "standardize"}, "needs statistics"),
    ({"image_shape": [28, 28]}, "image_shape"),
    ({"image_shape": [5, 5, 1]}, "has 24 values per example, but image_shape"),
    ({"colour": True}, "unknown image preprocessing options"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        _analyze_and_transform(_pixels(4), options)


@pytest.mark.parametrize("options", [
    {"scaling": "unit"}, {"scaling": "symmetric", "statistics": "per_pixel"},
    {"scaling": "standardize", "statistics": "global"},
])
def test_served_scale_matches_transform_and_unscale_inverts_it(tmp_path, options):
    pixels = _pixels()
    scaled, _ = _analyze_and_transform(pixels, options, output_dir=str(tmp_path))
    transform = image_inputs.ImageTransform(tft.TFTransformOutput(str(tmp_path)))
    assert transform.shape == (4, 3, 2)
    uint8 = tf.constant(pixels.reshape(30, 4, 3, 2).astype(np.uint8))
    served = transform.scale(uint8).numpy()
    np.testing.assert_allclose(served, scaled, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(transform.unscale(tf.constant(scaled)).numpy(), uint8.numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[n, 4, 3, 2\]"):
        transform.scale(tf.zeros([1, 3, 4, 2], tf.uint8))


def test_png_decoding_matches_the_raw_pixels(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(5, 4 * 3), dtype=np.int64)
    spec = {contract.IMAGE: tf.io.FixedLenFeature([12], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    fn = functools.partial(images.preprocessing_fn, custom_config={"image_shape": [4, 3, 1]})
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        transform_fn = ([{contract.IMAGE: p} for p in pixels], metadata) | tft_beam.AnalyzeDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path))
    transform = image_inputs.ImageTransform(tft.TFTransformOutput(str(tmp_path)))
    uint8 = pixels.reshape(5, 4, 3, 1).astype(np.uint8)
    png = tf.stack([tf.io.encode_png(img) for img in uint8])
    np.testing.assert_array_equal(transform.decode(png).numpy(), uint8)
    # Grey images may come as [n, H, W].
    np.testing.assert_allclose(transform.scale(tf.constant(uint8[..., 0])).numpy(), uint8 / 255.0,
                               rtol=1e-6)
    wrong = tf.stack([tf.io.encode_png(tf.zeros([5, 5, 1], tf.uint8))])
    for decode in (transform.decode, tf.function(transform.decode)):  # eager and traced
        with pytest.raises(tf.errors.InvalidArgumentError, match="must be 4x3 pixels"):
            decode(wrong)
