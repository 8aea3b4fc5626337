"""Where a pipeline run keeps its outputs: the one place for paths and runner settings."""

from __future__ import annotations

import dataclasses
import os

# Beam's DirectRunner defaults to several worker processes, each of which
# re-imports TensorFlow; for the small data of a local run one in-process
# worker is several times cheaper (see bench/pipeline_cost.md).
LOCAL_BEAM_ARGS: tuple[str, ...] = (
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
)


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Paths and runner settings for one pipeline, independent of the family."""

    pipeline_name: str
    pipeline_root: str
    serving_dir: str
    metadata_path: str | None  # SQLite file; None when the orchestrator provides MLMD
    enable_cache: bool = True
    beam_pipeline_args: tuple[str, ...] = LOCAL_BEAM_ARGS
    # Compare with the last blessed model. Self-hosted KFP 2 cannot run TFX's
    # Resolver (Vertex AI and the local runner can); without it the Evaluator
    # skips its change threshold and keeps the value thresholds.
    resolve_baseline: bool = True
    # Start training from the last blessed model's weights (scheduled
    # retraining on a new span); needs resolve_baseline.
    warm_start: bool = False
    # The warm-started optimizer's learning rate, as a fraction of the
    # family's: fine-tuning, not training from scratch.
    warm_start_learning_rate_scale: float = 0.1

    @classmethod
    def local(cls, pipeline_name: str, *, work_dir: str | None = None,
              pipeline_root: str | None = None, serving_dir: str | None = None,
              metadata_path: str | None = None, enable_cache: bool = True,
              beam_pipeline_args: tuple[str, ...] = LOCAL_BEAM_ARGS,
              warm_start: bool = False,
              warm_start_learning_rate_scale: float = 0.1) -> "PipelineConfig":
        """Defaults under `work_dir` (the current directory):
        tfx_pipeline_output/<name>/, tfx_metadata/<name>/metadata.db,
        serving_model/<name>/<version>/."""
        work_dir = os.path.abspath(work_dir or os.getcwd())
        return cls(
            pipeline_name=pipeline_name,
            pipeline_root=os.path.abspath(
                pipeline_root or os.path.join(work_dir, "tfx_pipeline_output", pipeline_name)),
            serving_dir=os.path.abspath(
                serving_dir or os.path.join(work_dir, "serving_model", pipeline_name)),
            metadata_path=os.path.abspath(
                metadata_path or os.path.join(work_dir, "tfx_metadata", pipeline_name, "metadata.db")),
            enable_cache=enable_cache,
            beam_pipeline_args=tuple(beam_pipeline_args),
            warm_start=warm_start,
            warm_start_learning_rate_scale=warm_start_learning_rate_scale,
        )
