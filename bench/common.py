"""What every family's benchmark does: run one variant through the pipeline
factory and read back TFMA's metrics and the Trainer's statistics."""

from __future__ import annotations

import datetime
import glob
import json
import os
import platform
import time


def newest(pattern: str) -> str:
    """The output folder of the latest execution (folders end in its MLMD id)."""
    return max(glob.glob(pattern), key=lambda p: int(os.path.basename(p)))


def tfma_metrics(evaluation_dir: str, *, slice_feature: str | None = None) -> dict:
    """Overall metrics of the candidate model; with `slice_feature`, also
    {slice value: {metric: value}} under "slices"."""
    import tensorflow_model_analysis as tfma

    overall, slices = {}, {}
    for slice_metrics in tfma.load_metrics(evaluation_dir):
        keys = slice_metrics.slice_key.single_slice_keys
        if keys and (not slice_feature or keys[0].column != slice_feature):
            continue
        target = overall if not keys else slices.setdefault(
            keys[0].bytes_value.decode() if keys[0].bytes_value else str(keys[0].int64_value), {})
        for kv in slice_metrics.metric_keys_and_values:
            key = kv.key
            if key.is_diff or key.model_name not in ("", "candidate"):
                continue
            if kv.value.HasField("double_value"):
                target[key.name] = kv.value.double_value.value
    if slice_feature:
        overall["slices"] = slices
    return overall


def run_variant(family: str, pipeline_name: str, work_dir: str, variant: str, profile: str,
                *, slice_feature: str | None = None, **options) -> dict:
    """One pipeline run; returns timings, TFMA metrics and training stats."""
    from tfx import v1 as tfx

    from pipelines import build_pipeline, progress
    from pipelines.config import PipelineConfig

    config = PipelineConfig.local(pipeline_name, work_dir=work_dir)
    pipeline = build_pipeline(family, config, variant=variant, profile=profile, **options)
    t0 = time.perf_counter()
    with progress.reporting() as prog:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    row = {"variant": variant, "pipeline_root": config.pipeline_root, "wall_seconds": time.perf_counter() - t0,
           "component_seconds": dict(prog.durations), "cached": sorted(prog.cached)}
    evaluation = newest(f"{config.pipeline_root}/Evaluator/evaluation/*")
    if os.path.exists(os.path.join(evaluation, "sample_quality.json")):
        # The generative families' evaluator writes its own result file.
        with open(os.path.join(evaluation, "sample_quality.json")) as f:
            quality = json.load(f)
        row.update(quality["candidate"], validation_ok=quality["validation_ok"],
                   evaluation_dir=evaluation,
                   feature_model_dir=quality["feature_model"]["uri"])
    else:
        row.update(tfma_metrics(evaluation, slice_feature=slice_feature))
    with open(os.path.join(newest(f"{config.pipeline_root}/Trainer/model_run/*"),
                           "training_stats.json")) as f:
        stats = json.load(f)
    row["epochs"] = stats.get("epochs")
    row["steps"] = stats.get("steps")
    row["steps_per_epoch"] = stats.get("steps_per_epoch")
    row["examples_per_second"] = stats.get("steady_examples_per_second")
    row["train_seconds"] = stats.get("train_seconds_total")
    row["history"] = stats.get("history")
    row["epoch_seconds"] = stats.get("epoch_seconds")
    row["model_dir"] = os.path.join(newest(f"{config.pipeline_root}/Trainer/model/*"),
                                    "Format-Serving")
    return row


def machine_line() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, no GPU; "
            f"Python {platform.python_version()}; measured {datetime.date.today()}.")


def load_rows(path: str, merge: bool) -> list[dict]:
    if merge and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return []


def save_rows(path: str, rows: list[dict]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(rows, f, indent=2)
