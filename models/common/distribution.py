"""Which `tf.distribute` strategy a Trainer runs under, chosen by config.

`strategy_for(name)`:

  default                the one device TensorFlow picks (CPU or first GPU)
  mirrored               every GPU of this host (`MirroredStrategy`); on a
                         host without GPUs, its one CPU
  multi_worker_mirrored  synchronous data parallelism over the workers of
                         the cluster described by `TF_CONFIG` (what Vertex
                         AI and Kubeflow's TFJob set for each worker)
  auto                   multi_worker_mirrored when `TF_CONFIG` names more
                         than one task, mirrored on a multi-GPU host, else
                         default

The pipeline passes the name through the Trainer's `custom_config`
(`DISTRIBUTION_KEY`); `models.common.training.run` builds and trains the
model inside the strategy's scope, so every family gets it the same way.
Keras splits each (global) batch across the replicas.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile

# TensorFlow is imported where it is used: the command lines read the
# strategy names below before they set up logging and import TensorFlow.

DISTRIBUTION_KEY = "distribution"  # the Trainer custom_config key
DEFAULT = "default"
MIRRORED = "mirrored"
MULTI_WORKER_MIRRORED = "multi_worker_mirrored"
AUTO = "auto"
STRATEGIES = (DEFAULT, MIRRORED, MULTI_WORKER_MIRRORED, AUTO)


class DistributionError(ValueError):
    """A strategy that cannot run here (unknown name, no usable TF_CONFIG)."""


def cluster_spec() -> dict:
    """`TF_CONFIG` parsed ({} when unset); DistributionError naming the
    variable when it is not JSON with a `cluster` and a `task`."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return {}
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as e:
        raise DistributionError(f"TF_CONFIG is not JSON ({e.msg} at {e.pos})") from e
    if not isinstance(spec, dict) or not isinstance(spec.get("cluster"), dict) \
            or not isinstance(spec.get("task"), dict):
        raise DistributionError('TF_CONFIG needs {"cluster": {...}, "task": {"type": ..., '
                                f'"index": ...}}, got {raw[:200]!r}')
    return spec


def num_tasks() -> int:
    """How many tasks (chief, workers) the cluster in `TF_CONFIG` has; 1 without it."""
    cluster = cluster_spec().get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker")) or 1


def is_chief() -> bool:
    """Whether this process writes the run's outputs: the `chief` task, or
    worker 0 of a cluster without one, or a process outside any cluster."""
    spec = cluster_spec()
    if not spec:
        return True
    task = spec["task"]
    if task.get("type") == "chief":
        return True
    return (task.get("type") == "worker" and int(task.get("index", 0)) == 0
            and "chief" not in spec["cluster"])


@functools.cache
def _keras_multi_worker_strategy_class() -> type:
    import tensorflow as tf

    class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """MultiWorkerMirroredStrategy as Keras 3's TensorFlow trainer calls it.

        Keras 3 (keras-team/keras#20585) hands `reduce` a nest of per-replica
        batches (`fit`'s symbolic build) and reduces scalar logs along axis
        0; the collective strategy takes neither. Reducing each value on its
        own, a scalar without an axis, is what those calls mean. Remove once
        Keras handles it.
        """

        def reduce(self, reduce_op, value, axis):
            def one(v):
                local = self.experimental_local_results(v)[0] if isinstance(
                    v, tf.distribute.DistributedValues) else v
                rank = tf.convert_to_tensor(local).shape.rank
                return super(KerasMultiWorkerMirroredStrategy, self).reduce(
                    reduce_op, v, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    return KerasMultiWorkerMirroredStrategy


def resolve(name: str) -> str:
    """The concrete strategy name for `name` ("auto" decided here)."""
    if name not in STRATEGIES:
        raise DistributionError(f"unknown distribution {name!r}; choose one of {STRATEGIES}")
    if name != AUTO:
        return name
    import tensorflow as tf

    if num_tasks() > 1:
        return MULTI_WORKER_MIRRORED
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return MIRRORED
    return DEFAULT


def strategy_for(name: str):
    """The `tf.distribute.Strategy` `name` stands for (see the module doc)."""
    import tensorflow as tf

    name = resolve(name)
    if name == DEFAULT:
        return tf.distribute.get_strategy()
    if name == MIRRORED:
        return tf.distribute.MirroredStrategy()
    if num_tasks() < 2:
        raise DistributionError(
            "distribution multi_worker_mirrored needs TF_CONFIG naming the cluster's workers "
            '(e.g. {"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": '
            '"worker", "index": 0}}); it is unset or names one task')
    return _keras_multi_worker_strategy_class()()


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def shard_by_example(dataset):
    """Each worker takes every n-th example of the `tf.data.Dataset`: a split
    may be fewer TFRecord files than there are workers, which file sharding
    cannot divide."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def output_dir(path: str) -> str:
    """Where this process writes what belongs at `path`: `path` on the
    chief; a throwaway folder on the other workers (under multi-worker
    training every worker must run the same saves, but only one may write
    the real outputs)."""
    if is_chief():
        return path
    return tempfile.mkdtemp(prefix="worker-output-")
