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


# Beam runners beyond one machine, for the Beam-based steps (StatisticsGen,
# Transform, Evaluator): the runner's arguments and the settings each needs.
# Workers run this project's code, so the portable runners (Flink, Spark)
# start the pipeline image as their SDK harness and Dataflow uses it as its
# custom SDK container (the image derives from TFX's, which carries Beam's).
BEAM_PROFILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # profile: (argument templates, required settings)
    "dataflow": (("--runner=DataflowRunner", "--project={project}", "--region={region}",
                  "--temp_location={temp_location}", "--experiments=use_runner_v2",
                  "--sdk_container_image={image}"),
                 ("project", "region", "temp_location", "image")),
    "flink": (("--runner=FlinkRunner", "--flink_master={master}", "--environment_type=DOCKER",
               "--environment_config={image}"),
              ("master", "image")),
    "spark": (("--runner=SparkRunner", "--spark_master_url={master}",
               "--environment_type=DOCKER", "--environment_config={image}"),
              ("master", "image")),
}


def beam_profile_args(profile: str, settings: dict[str, str]) -> tuple[str, ...]:
    """The Beam arguments of `profile` (a key of BEAM_PROFILES) with
    `settings` filled in; ValueError naming the profile and every missing
    or unknown setting."""
    if profile not in BEAM_PROFILES:
        raise ValueError(f"unknown Beam profile {profile!r}; choose one of {sorted(BEAM_PROFILES)}")
    templates, required = BEAM_PROFILES[profile]
    missing = [k for k in required if not str(settings.get(k) or "").strip()]
    unknown = sorted(set(settings) - set(required))
    if missing or unknown:
        raise ValueError(
            f"Beam profile {profile!r} needs the settings {list(required)}"
            + (f"; missing: {missing}" if missing else "")
            + (f"; unknown: {unknown}" if unknown else ""))
    return tuple(t.format(**settings) for t in templates)


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
    # The Trainer's tf.distribute strategy (models.common.distribution):
    # default, mirrored, multi_worker_mirrored (from TF_CONFIG) or auto.
    distribution: str = "default"
    # Train on the last K spans that passed data validation (a rolling
    # window, components.data_validation.span_window); 1: the newest span
    # only. The Evaluator always judges on the newest span.
    train_spans: int = 1

    def __post_init__(self) -> None:
        from models.common.distribution import STRATEGIES

        if self.distribution not in STRATEGIES:
            raise ValueError(f"unknown distribution {self.distribution!r}; choose one of "
                             f"{STRATEGIES}")
        if not isinstance(self.train_spans, int) or self.train_spans < 1:
            raise ValueError(f"train_spans must be an integer >= 1, got {self.train_spans!r}")
        if self.train_spans > 1 and not self.resolve_baseline:
            raise ValueError("train_spans > 1 needs ML Metadata resolvers (resolve_baseline), "
                             "which this orchestrator cannot run")

    @classmethod
    def local(cls, pipeline_name: str, *, work_dir: str | None = None,
              pipeline_root: str | None = None, serving_dir: str | None = None,
              metadata_path: str | None = None, enable_cache: bool = True,
              beam_pipeline_args: tuple[str, ...] = LOCAL_BEAM_ARGS,
              warm_start: bool = False,
              warm_start_learning_rate_scale: float = 0.1,
              distribution: str = "default", train_spans: int = 1) -> "PipelineConfig":
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
            distribution=distribution,
            train_spans=train_spans,
        )
