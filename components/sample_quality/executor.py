"""``SampleQualityEvaluator``'s executor: sample, score, bless or refuse.

1. The frozen classifier's ``features`` signature (uint8 images → features
   and class probabilities) embeds up to ``max_real`` real images of the
   split and ``num_samples`` images from the candidate's ``generate``
   signature (batch i drawn with seed ``seed + i``; ``generate_args`` adds
   the family's own inputs, e.g. a diffusion sampler and its step count).
2. ``metrics.score`` gives the Fréchet distance, class coverage and largest
   class share; the baseline (the last blessed model, when there is one) is
   scored the same way with the same seeds.
3. The candidate is blessed when every configured threshold holds: value
   thresholds on its own scores, and the change threshold "at most
   ``frechet_tolerance`` worse than the baseline's Fréchet distance".

Outputs are what TFX's Evaluator writes, so the Pusher and the
latest-blessed-model resolver read them unchanged: the blessing artifact
holds a ``BLESSED`` or ``NOT_BLESSED`` file and the ``blessed``,
``current_model(_id)`` and ``baseline_model(_id)`` custom properties. The
evaluation folder holds ``sample_quality.json`` (every score, threshold and
failure) and ``samples.png`` (a grid of the candidate's first samples).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import absl.logging
import numpy as np
import tensorflow as tf
from tfx import types
from tfx.components.evaluator import constants
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components.sample_quality import metrics, spec
from preprocessing import image_contract as contract

RESULT_FILE = "sample_quality.json"
SAMPLES_FILE = "samples.png"
GENERATE_SIGNATURE = "generate"
GRID_IMAGES = 64


class SampleQualityError(ValueError):
    """A model or input the evaluator cannot use (named in the message)."""


def saved_model_dir(uri: str) -> str:
    """A Trainer's model artifact (``<uri>/Format-Serving``) or a pushed or
    imported SavedModel folder (``<uri>/saved_model.pb``)."""
    if fileio.exists(os.path.join(uri, "saved_model.pb")):
        return uri
    path = path_utils.serving_model_path(uri)
    if not fileio.exists(os.path.join(path, "saved_model.pb")):
        raise SampleQualityError(f"{uri}: no SavedModel here or in {path}")
    return path


def _signature(model_dir: str, name: str):
    loaded = tf.saved_model.load(model_dir)
    if name not in loaded.signatures:
        raise SampleQualityError(f"{model_dir}: no {name!r} signature (has "
                                 f"{sorted(loaded.signatures)})")
    return loaded, loaded.signatures[name]


class Generator:
    """A generator's ``generate`` signature: ``n``, ``seed`` (+ extra scalar
    inputs) → ``images`` uint8 [n, H, W, C]."""

    def __init__(self, model_dir: str, generate_args: dict[str, Any] | None = None):
        self.model_dir = model_dir
        self._loaded, self._generate = _signature(model_dir, GENERATE_SIGNATURE)
        inputs = self._generate.structured_input_signature[1]
        missing = {"n", "seed"} - set(inputs)
        if missing:
            raise SampleQualityError(f"{model_dir}: 'generate' lacks inputs {sorted(missing)}")
        extra = dict(generate_args or {})
        unknown = set(extra) - set(inputs)
        if unknown:
            raise SampleQualityError(f"generate_args {sorted(unknown)} are not inputs of "
                                     f"{model_dir}'s 'generate' (it takes {sorted(inputs)})")
        absent = set(inputs) - {"n", "seed"} - set(extra)
        if absent:
            raise SampleQualityError(f"{model_dir}'s 'generate' also needs {sorted(absent)}: "
                                     "give them in generate_args")
        self._inputs = inputs
        self._extra = {k: tf.constant(v, inputs[k].dtype) for k, v in extra.items()}

    def sample(self, n: int, seed: int, batch_size: int) -> tuple[np.ndarray, float]:
        """`n` images in batches (batch i with seed `seed + i`) and the
        seconds they took."""
        batches, start = [], time.perf_counter()
        for i in range(math.ceil(n / batch_size)):
            size = min(batch_size, n - i * batch_size)
            out = self._generate(n=tf.constant(size, self._inputs["n"].dtype),
                                 seed=tf.constant(seed + i, self._inputs["seed"].dtype),
                                 **self._extra)
            if "images" not in out:
                raise SampleQualityError(f"{self.model_dir}: 'generate' returned "
                                         f"{sorted(out)}, no 'images'")
            images = out["images"].numpy()
            if images.dtype != np.uint8 or images.ndim != 4 or len(images) != size:
                raise SampleQualityError(f"{self.model_dir}: 'generate' must return uint8 images "
                                         f"[{size}, H, W, C]; got {images.dtype} {images.shape}")
            batches.append(images)
        return np.concatenate(batches), time.perf_counter() - start


class FeatureModel:
    """The frozen classifier: uint8 images → (features [n, d], class ids [n])."""

    def __init__(self, model_dir: str, signature: str):
        self.model_dir = model_dir
        self._loaded, self._features = _signature(model_dir, signature)
        self.signature = signature

    def __call__(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        features, class_ids = [], []
        for start in range(0, len(images), batch_size):
            out = self._features(images=tf.constant(images[start:start + batch_size]))
            features.append(out["features"].numpy())
            class_ids.append(np.argmax(out["probabilities"].numpy(), axis=-1))
        return np.concatenate(features), np.concatenate(class_ids)

    @property
    def num_classes(self) -> int:
        return int(self._features.structured_outputs["probabilities"].shape[-1])


def read_images(examples: types.Artifact, split: str, shape: tuple[int, ...],
                limit: int) -> np.ndarray:
    """Up to `limit` raw images of `split` as uint8 [n, H, W, C]."""
    uri = artifact_utils.get_split_uri([examples], split)
    files = sorted(fileio.glob(os.path.join(uri, "*")))
    if not files:
        raise SampleQualityError(f"split {split!r} of {examples.uri} has no files")
    feature = {contract.IMAGE: tf.io.FixedLenFeature([int(np.prod(shape))], tf.int64)}
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit).batch(1000)
    try:
        images = [tf.io.parse_example(batch, feature)[contract.IMAGE].numpy() for batch in ds]
    except tf.errors.InvalidArgumentError as e:
        raise SampleQualityError(
            f"split {split!r}: cannot read {contract.IMAGE!r} as {shape} images (the generator's "
            f"shape): {e.message.splitlines()[0]}") from e
    pixels = np.concatenate(images)
    if pixels.min() < 0 or pixels.max() > 255:
        raise SampleQualityError(f"split {split!r}: pixel values outside 0..255")
    return pixels.astype(np.uint8).reshape((-1, *shape))


def sample_grid(images: np.ndarray, columns: int = 8) -> np.ndarray:
    """uint8 [n, H, W, C] → one uint8 [rows·H, columns·W, C] image (1-pixel gaps)."""
    n, h, w, c = images.shape
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, c), 255, np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        grid[r * (h + 1):r * (h + 1) + h, k * (w + 1):k * (w + 1) + w] = image
    return grid


def check_thresholds(candidate: metrics.SampleQuality, baseline: metrics.SampleQuality | None,
                     params: dict[str, Any]) -> list[str]:
    """The thresholds the candidate fails, as sentences (empty: blessed).
    A threshold of 0 (1 for max_class_share) is off."""
    failures = []
    fd = candidate.frechet_distance
    if params["max_frechet_distance"] > 0 and not fd <= params["max_frechet_distance"]:
        failures.append(f"frechet_distance {fd:.4g} > max_frechet_distance "
                        f"{params['max_frechet_distance']:.4g}")
    if baseline is not None and not fd <= baseline.frechet_distance + params["frechet_tolerance"]:
        failures.append(f"frechet_distance {fd:.4g} is more than frechet_tolerance "
                        f"{params['frechet_tolerance']:.4g} above the last blessed model's "
                        f"{baseline.frechet_distance:.4g}")
    if candidate.class_coverage < params["min_class_coverage"]:
        failures.append(f"class_coverage {candidate.class_coverage:.3g} < min_class_coverage "
                        f"{params['min_class_coverage']:.3g}")
    if candidate.max_class_share > params["max_class_share"]:
        failures.append(f"max_class_share {candidate.max_class_share:.3g} > max_class_share "
                        f"{params['max_class_share']:.3g}")
    return failures


class Executor(base_executor.BaseExecutor):
    """Scores generated samples and writes the blessing (see the module docstring)."""

    def Do(self, input_dict: dict[str, list[types.Artifact]],
           output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any]) -> None:
        params = dict(exec_properties)
        generate_args = json.loads(params.get("generate_args") or "{}")
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL])
        baselines = input_dict.get(spec.BASELINE_MODEL) or []
        baseline = baselines[0] if baselines else None
        if baseline is not None and baseline.id == model.id:
            baseline = None  # the candidate was blessed before: nothing to compare with
        features = FeatureModel(
            saved_model_dir(artifact_utils.get_single_uri(input_dict[spec.FEATURE_MODEL])),
            params["feature_signature"])

        candidate = Generator(saved_model_dir(model.uri), generate_args)
        samples, seconds = candidate.sample(params["num_samples"], params["seed"],
                                            params["batch_size"])
        real = read_images(artifact_utils.get_single_instance(input_dict[spec.EXAMPLES]),
                           params["split"], samples.shape[1:], params["max_real"])
        real_features, real_ids = features(real)
        real_stats = metrics.feature_statistics(real_features)

        def scored(images: np.ndarray) -> metrics.SampleQuality:
            generated, class_ids = features(images)
            return metrics.score(real_features, generated, class_ids, features.num_classes,
                                 real_statistics=real_stats)

        quality = scored(samples)
        result: dict[str, Any] = {
            "candidate": {**quality.as_dict(), "model": model.uri,
                          "seconds_per_image": seconds / len(samples)},
            "real": {"split": params["split"], "num_images": len(real),
                     "class_histogram": metrics.class_histogram(
                         real_ids, features.num_classes).tolist()},
            "feature_model": {"uri": features.model_dir, "signature": features.signature},
            "generate_args": generate_args, "seed": params["seed"],
        }
        baseline_quality = None
        if baseline is not None:
            baseline_samples, _ = Generator(saved_model_dir(baseline.uri), generate_args).sample(
                params["num_samples"], params["seed"], params["batch_size"])
            baseline_quality = scored(baseline_samples)
            result["baseline"] = {**baseline_quality.as_dict(), "model": baseline.uri}
        failures = check_thresholds(quality, baseline_quality, params)
        result.update(validation_ok=not failures, failures=failures, thresholds={
            k: params[k] for k in ("max_frechet_distance", "frechet_tolerance",
                                   "min_class_coverage", "max_class_share")})
        absl.logging.info("sample quality: %s", json.dumps(result, indent=1))

        evaluation = artifact_utils.get_single_uri(output_dict[spec.EVALUATION])
        io_utils.write_string_file(os.path.join(evaluation, RESULT_FILE),
                                   json.dumps(result, indent=2))
        grid = sample_grid(samples[:GRID_IMAGES])
        io_utils.write_bytes_file(os.path.join(evaluation, SAMPLES_FILE),
                                  tf.io.encode_png(grid).numpy())
        self._write_blessing(output_dict[spec.BLESSING][0], model, baseline, failures)

    @staticmethod
    def _write_blessing(blessing: types.Artifact, model: types.Artifact,
                        baseline: types.Artifact | None, failures: list[str]) -> None:
        """What TFX's Evaluator records, so the Pusher and the latest-blessed
        resolver treat this blessing like its."""
        blessed = not failures
        name = constants.BLESSED_FILE_NAME if blessed else constants.NOT_BLESSED_FILE_NAME
        io_utils.write_string_file(os.path.join(blessing.uri, name), "")
        blessing.set_int_custom_property(
            constants.ARTIFACT_PROPERTY_BLESSED_KEY,
            constants.BLESSED_VALUE if blessed else constants.NOT_BLESSED_VALUE)
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY,
                                            model.uri)
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY,
                                         model.id)
        if baseline is not None:
            blessing.set_string_custom_property(
                constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
            blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY,
                                             baseline.id)
        if failures:
            blessing.set_string_custom_property(
                constants.ARTIFACT_PROPERTY_BLESSING_MESSAGE_KEY, "; ".join(failures)[:1000])


def load_result(evaluation_uri: str) -> dict[str, Any]:
    """The scores and decision an evaluation folder holds."""
    return json.loads(io_utils.read_string_file(os.path.join(evaluation_uri, RESULT_FILE)))
