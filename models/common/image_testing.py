"""A real Transform output over tiny images, for the image trainers' tests.

Runs ``preprocessing.images.preprocessing_fn`` through TFT's Beam
implementation (as the Transform component does), writes the transform graph
with the raw schema beside it, and the transformed examples as one GZIP'd
shard: what a Trainer's ``fn_args`` would point at, in about a second.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

from preprocessing import image_contract as contract
from preprocessing import images as image_preprocessing


@dataclasses.dataclass
class TinyTransform:
    tft_output: tft.TFTransformOutput
    files: list[str]  # the transformed shard(s)
    images: np.ndarray  # uint8 [n, H, W, C], the raw images in order
    labels: np.ndarray  # int64 [n]
    examples: list[bytes]  # serialized raw tf.Examples (ExampleGen's form)
    rows: list[dict]  # the transformed rows (IMAGE_SCALED, LABEL), in order


def blobs(n: int, shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Bright Gaussian blobs on black: uint8 [n, H, W, C]."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w]
    centres = rng.uniform(2, h - 2, size=(n, 2))
    image = np.exp(-((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2) / 6.0)
    return np.repeat((image * 255).round().astype(np.uint8)[..., None], c, axis=-1)


def raw_example(image: np.ndarray, label: int) -> bytes:
    feature = {contract.IMAGE: tf.train.Feature(int64_list=tf.train.Int64List(
                   value=image.reshape(-1).astype(np.int64))),
               contract.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def tiny_transform(directory: str, images: np.ndarray, labels: np.ndarray, *,
                   scaling: str = "unit", statistics: str = "fixed") -> TinyTransform:
    """Transform `images` (uint8 [n, H, W, C]) and `labels` into `directory`."""
    shape = images.shape[1:]
    spec = {contract.IMAGE: tf.io.FixedLenFeature([int(np.prod(shape))], tf.int64),
            contract.LABEL: tf.io.FixedLenFeature([], tf.int64)}
    rows = [{contract.IMAGE: im.reshape(-1).astype(np.int64), contract.LABEL: int(label)}
            for im, label in zip(images, labels)]
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    fn = functools.partial(image_preprocessing.preprocessing_fn, custom_config={
        "image_shape": list(shape), "scaling": scaling, "statistics": statistics})
    tft_dir = os.path.join(directory, "tft")
    with tft_beam.Context(temp_dir=os.path.join(directory, "beam")):
        (out, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(tft_dir)
    # The Transform component also records the raw schema beside the graph.
    metadata_io.write_metadata(metadata,
                               os.path.join(tft_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    shard = os.path.join(directory, "transformed.gz")
    write_transformed(shard, out)
    return TinyTransform(tft.TFTransformOutput(tft_dir), [shard], images,
                         np.asarray(labels, np.int64),
                         [raw_example(im, label) for im, label in zip(images, labels)], list(out))


def write_transformed(path: str, rows: list[dict]) -> None:
    """Transformed rows (IMAGE_SCALED, LABEL) as one GZIP'd TFRecord shard."""
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for r in rows:
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                contract.IMAGE_SCALED: tf.train.Feature(float_list=tf.train.FloatList(
                    value=np.asarray(r[contract.IMAGE_SCALED]).reshape(-1))),
                contract.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(
                    value=[int(r[contract.LABEL])])),
            })).SerializeToString())
