"""What each run of a pipeline did, from ML Metadata: `python -m pipelines.history`.

    python -m pipelines.history --pipeline-name forecasting [--work-dir .] [--json]

One line per run, oldest first: when it started, the span it read, how
data validation went, the spans trained on (a window with --train-spans),
whether a model was trained (and warm-started), the Evaluator's metrics
and blessing, and the version pushed. Reads the SQLite metadata that local
runs write (`tfx_metadata/<pipeline>/metadata.db`);
nothing is changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from pipelines.console import quiet_stderr

STATES = {1: "new", 2: "running", 3: "complete", 4: "failed", 5: "cached", 6: "canceled"}
# Metrics shown per run (whichever the Evaluator reported).
KEY_METRICS = ("mean_squared_error", "accuracy", "binary_accuracy", "sparse_categorical_accuracy",
               "bleu", "reconstruction_mse", "frechet_distance", "naive_forecast_skill")


@dataclasses.dataclass
class RunRecord:
    run_id: str
    started: str
    states: dict[str, str]  # node id -> execution state
    span: int | None = None
    examples: str | None = None
    trained_spans: list[int] = dataclasses.field(default_factory=list)  # Transform's input spans
    warm_start: str | None = None
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    blessed: bool | None = None
    pushed_version: str | None = None
    failed_at: str | None = None


def _node_of_execution(store, pipeline_name: str) -> dict[int, str]:
    """execution id -> node id, from the 'node' contexts."""
    nodes = {}
    for ctx in store.get_contexts_by_type("node"):
        node_id = ctx.name.split(".", 1)[1] if ctx.name.startswith(pipeline_name + ".") else ctx.name
        for execution in store.get_executions_by_context(ctx.id):
            nodes[execution.id] = node_id
    return nodes


def _outputs(store, execution_id: int, inputs: bool = False) -> dict[str, list]:
    """output (or input) key -> artifacts of one execution."""
    from ml_metadata.proto import metadata_store_pb2

    kinds = ((metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT) if inputs
             else (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT))
    events = [e for e in store.get_events_by_execution_ids([execution_id]) if e.type in kinds]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    out: dict[str, list] = {}
    for e in events:
        key = e.path.steps[0].key if e.path.steps else ""
        if e.artifact_id in artifacts:
            out.setdefault(key, []).append(artifacts[e.artifact_id])
    return out


def _custom(artifact, name: str):
    value = artifact.custom_properties.get(name)
    if value is None:
        return None
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _metrics(evaluation_uri: str) -> dict[str, float]:
    """The overall slice's key metrics of an Evaluator output (TFMA's or the
    sample-quality evaluator's)."""
    from components.sample_quality import executor as sample_quality

    if os.path.exists(os.path.join(evaluation_uri, sample_quality.RESULT_FILE)):
        result = sample_quality.load_result(evaluation_uri)
        return {k: float(v) for k, v in result.get("candidate", {}).items()
                if isinstance(v, (int, float)) and k in KEY_METRICS}
    import tensorflow_model_analysis as tfma

    try:
        results = tfma.load_metrics(evaluation_uri)
    except Exception:  # noqa: BLE001 - an evaluation without metrics (e.g. failed)
        return {}
    metrics: dict[str, float] = {}
    for per_slice in results:
        if per_slice.slice_key.single_slice_keys:
            continue  # overall slice only
        for kv in per_slice.metric_keys_and_values:
            if kv.key.model_name and kv.key.is_diff:
                continue
            name = kv.key.name
            if kv.key.is_diff or name not in KEY_METRICS or not kv.value.HasField("double_value"):
                continue
            if kv.key.model_name and kv.key.model_name != "candidate":
                continue
            metrics[name] = kv.value.double_value.value
    return metrics


def read_history(metadata_path: str, pipeline_name: str) -> list[RunRecord]:
    """Every run of `pipeline_name` recorded in the SQLite metadata at
    `metadata_path`, oldest first."""
    from tfx.orchestration import metadata

    if not os.path.exists(metadata_path):
        raise FileNotFoundError(f"{metadata_path}: no metadata (has {pipeline_name} run here?)")
    config = metadata.sqlite_metadata_connection_config(metadata_path)
    records = []
    with metadata.Metadata(config) as m:
        store = m.store
        node_of = _node_of_execution(store, pipeline_name)
        runs = sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch)
        for ctx in runs:
            executions = sorted(store.get_executions_by_context(ctx.id), key=lambda e: e.id)
            executions = [e for e in executions if e.id in node_of]
            if not executions:
                continue
            record = RunRecord(
                run_id=ctx.name, states={},
                started=_iso(ctx.create_time_since_epoch))
            for execution in executions:
                node = node_of[execution.id]
                state = STATES.get(execution.last_known_state, str(execution.last_known_state))
                record.states[node] = state
                # A resolver with nothing to resolve yet (the first run) is
                # recorded as failed by TFX, and the run goes on without it.
                if state == "failed" and record.failed_at is None and not node.endswith("_resolver"):
                    record.failed_at = node
                if state not in ("complete", "cached"):
                    continue
                outputs = _outputs(store, execution.id)
                if node == "ExampleGen" and outputs.get("examples"):
                    examples = outputs["examples"][0]
                    record.examples = examples.uri
                    record.span = _custom(examples, "span")
                elif node == "Transform":
                    # The spans trained on: this run's, or a window of them.
                    spans = (_custom(a, "span") for a in
                             _outputs(store, execution.id, inputs=True).get("examples", []))
                    record.trained_spans = sorted(int(s) for s in spans if s not in (None, ""))
                elif node == "Trainer" and outputs.get("model_run"):
                    record.warm_start = _warm_start(outputs["model_run"][0].uri)
                elif node == "Evaluator":
                    if outputs.get("evaluation"):
                        record.metrics = _metrics(outputs["evaluation"][0].uri)
                    if outputs.get("blessing"):
                        record.blessed = bool(_custom(outputs["blessing"][0], "blessed"))
                elif node == "Pusher" and outputs.get("pushed_model"):
                    pushed = outputs["pushed_model"][0]
                    if _custom(pushed, "pushed"):
                        record.pushed_version = str(_custom(pushed, "pushed_version"))
            records.append(record)
    return records


def _warm_start(model_run_uri: str) -> str | None:
    try:
        with open(os.path.join(model_run_uri, "training_stats.json")) as f:
            warm = json.load(f).get("warm_start") or {}
    except (OSError, ValueError):
        return None
    if warm.get("loaded"):
        return "warm"
    return "cold" if warm.get("from") is None else f"cold ({warm.get('reason')})"


def _iso(millis: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%SZ")


def format_history(records: list[RunRecord]) -> str:
    """A table, one run per line."""
    if not records:
        return "no runs recorded"
    lines = [f"{'started':20} {'span':>4}  {'validation':10} {'trained on':10} {'trainer':9} "
             f"{'blessed':7} {'pushed':12} metrics"]
    for r in records:
        validation = r.states.get("ExampleValidator", "-")
        trainer = r.states.get("Trainer", "-")
        if trainer == "complete" and r.warm_start:
            trainer = r.warm_start.split(" ")[0]
        blessed = "-" if r.blessed is None else ("yes" if r.blessed else "no")
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.metrics.items()))
        if r.failed_at:
            metrics = f"failed at {r.failed_at}" + (f"; {metrics}" if metrics else "")
        spans = ",".join(str(s) for s in r.trained_spans) or "-"
        lines.append(f"{r.started:20} {'-' if r.span is None else r.span:>4}  {validation:10} "
                     f"{spans:10} {trainer:9} {blessed:7} {r.pushed_version or '-':12} {metrics}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.history", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pipeline-name", "--family", dest="pipeline_name", default="forecasting",
                   help="the pipeline (default: forecasting; a family's pipeline has its name)")
    p.add_argument("--work-dir", default=".")
    p.add_argument("--metadata-path", help="default: <work-dir>/tfx_metadata/<pipeline>/metadata.db")
    p.add_argument("--json", action="store_true", help="print the records as JSON")
    args = p.parse_args(argv)
    path = args.metadata_path or os.path.join(
        os.path.abspath(args.work_dir), "tfx_metadata", args.pipeline_name, "metadata.db")
    with quiet_stderr(os.devnull) as console:  # TF/TFMA import chatter
        try:
            records = read_history(path, args.pipeline_name)
        except FileNotFoundError as e:
            print(f"error: {e}", file=console)
            return 2
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in records], indent=2))
    else:
        print(format_history(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
