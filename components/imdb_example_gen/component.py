"""TFX component that writes IMDb movie reviews into an ``Examples`` artifact.

``ImdbExampleGen`` reads the Large Movie Review Dataset (aclImdb v1) from a
directory, a ``.tar.gz`` archive or a URL (downloaded once into a cache), or a
user's own labelled text folders in the same layout, and produces what TFX's
own ExampleGen produces, so StatisticsGen, SchemaGen, Transform, Trainer and
Evaluator read the output unchanged:

* ``<uri>/Split-train``, ``Split-eval`` and, when the source has ``test/``,
  ``Split-test``, holding GZIP TFRecord files ``data_tfrecord-SSSSS-of-NNNNN.gz``
  of serialized ``tf.train.Example`` (features ``text`` [bytes], ``label``
  [int64, 1 = positive], ``rating`` [int64, 1-10 or -1], ``review_id``
  [bytes], ``length_bucket`` [bytes]; see ``reviews.py``);
* ``split_names`` = the splits written (JSON, via
  ``artifact_utils.encode_split_names``);
* custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
  ``file_format = "tfrecords_gzip"`` (the values ExampleGen sets), plus
  ``num_examples_<split>`` and ``num_bad_<kind>`` (e.g. ``num_bad_empty_file``,
  ``num_bad_not_utf_8``) for every kind in ``reviews.BAD_KINDS``.
"""

import re

from absl import logging
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import artifacts
from components.imdb_example_gen import reviews as reviews_lib


def bad_property_name(kind: str) -> str:
  """``"not UTF-8"`` -> ``"num_bad_not_utf_8"``."""
  return "num_bad_" + re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_")


def validate_parameters(*, eval_fraction: float = 0.1,
                        max_reviews_per_class: int = 0, num_shards: int = 1,
                        require_rating: int = 1) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not 0.0 < eval_fraction < 1.0:
    raise ValueError("parameter eval_fraction must be > 0 and < 1, got "
                     f"{eval_fraction!r}")
  if max_reviews_per_class < 0:
    raise ValueError("parameter max_reviews_per_class must be >= 0 (0 = all),"
                     f" got {max_reviews_per_class!r}")
  if num_shards < 1:
    raise ValueError(f"parameter num_shards must be >= 1, got {num_shards!r}")
  if require_rating not in (0, 1):
    raise ValueError("parameter require_rating must be 0 or 1, got "
                     f"{require_rating!r}")


def log_scan(scan: reviews_lib.ReviewScan) -> None:
  """Logs the per-folder counts and the per-kind bad-file report."""
  for line in scan.report().splitlines():
    if scan.num_bad and line.lstrip().startswith("bad ("):
      logging.warning("ImdbExampleGen: %s", line.strip())
    else:
      logging.info("ImdbExampleGen: %s", line.strip())


def publish(examples: standard_artifacts.Examples, splits: dict,
            scan: reviews_lib.ReviewScan, num_shards: int) -> None:
  """Writes ``splits`` under ``examples.uri`` and sets the artifact properties."""
  reviews_lib.write_examples(examples.uri, splits, num_shards=num_shards)
  counts = {f"num_examples_{name}": len(rs) for name, rs in splits.items()}
  counts.update((bad_property_name(kind), scan.bad_counts.get(kind, 0))
                for kind in reviews_lib.BAD_KINDS)
  artifacts.mark_tf_examples(examples, splits, counts)
  for name, rs in splits.items():
    n_pos = sum(r.label for r in rs)
    logging.info("Split %s: %d reviews (%d pos, %d neg; %d shards) -> "
                 "%s/Split-%s", name, len(rs), n_pos, len(rs) - n_pos,
                 num_shards, examples.uri, name)


@component
def ImdbExampleGen(
    examples: OutputArtifact[standard_artifacts.Examples],
    source: Parameter[str],
    cache_dir: Parameter[str] = "",
    sha256: Parameter[str] = "",
    eval_fraction: Parameter[float] = 0.1,
    max_reviews_per_class: Parameter[int] = 0,
    require_rating: Parameter[int] = 1,
    seed: Parameter[int] = 42,
    num_shards: Parameter[int] = 4,
) -> None:
  """Imports labelled reviews; train/eval = 90/10% of ``train/`` by hash.

  ``source``: a directory or ``.tar.gz`` archive in the aclImdb layout
  (``[aclImdb/]{train,test}/{pos,neg}/<id>_<rating>.txt``), or an
  ``http(s)://``/``file://`` URL of such an archive, downloaded once into
  ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``) and checked against
  ``sha256`` when given (``reviews.IMDB_SHA256`` for ``reviews.IMDB_URL``).
  ``test/`` reviews, when present, become the ``test`` split.

  ``max_reviews_per_class`` > 0 keeps a deterministic subset of that many
  reviews per class in every split (smoke runs). ``require_rating=0`` accepts
  file names without ``_<rating>`` (rating -1). Bad files (empty, not UTF-8,
  no/inconsistent rating, duplicate id) are skipped and reported; more than
  1% bad files, or a structural problem, fails with ``ReviewDataError``.
  """
  validate_parameters(eval_fraction=eval_fraction,
                      max_reviews_per_class=max_reviews_per_class,
                      num_shards=num_shards, require_rating=require_rating)
  path = reviews_lib.fetch(source, cache_dir, sha256=sha256 or None)
  if path != source:
    logging.info("ImdbExampleGen: %s -> %s", source, path)
  scan = reviews_lib.read_reviews(path, require_rating=bool(require_rating))
  log_scan(scan)
  splits = reviews_lib.split_reviews(scan, eval_fraction=eval_fraction,
                                     seed=seed)
  if max_reviews_per_class:
    splits = reviews_lib.subsample(splits, max_reviews_per_class, seed=seed)
    logging.info("ImdbExampleGen: kept at most %d reviews per class per split",
                 max_reviews_per_class)
  publish(examples, splits, scan, num_shards)
