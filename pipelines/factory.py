"""The one pipeline factory: every family runs through the same components."""

from __future__ import annotations

import hashlib
import importlib.util
import os

from tfx import v1 as tfx

from google.protobuf import text_format

from components.data_validation import CuratedSchemaGen, DataValidator
from components.data_validation import component as data_validation
from components.data_validation import span_window
from models.common.distribution import DEFAULT as DEFAULT_DISTRIBUTION, DISTRIBUTION_KEY
from models.common.training import WARM_START_LR_SCALE
from pipelines.config import PipelineConfig
from pipelines.spec import EVAL, TRAIN, EvaluationInputs, FamilySpec

COMPONENT_ORDER = (
    "ExampleGen", "StatisticsGen", "SchemaGen", "latest_validated_statistics_resolver",
    "ExampleValidator", "Transform", "latest_blessed_model_resolver", "Trainer",
    "Evaluator", "Pusher",
)
# The nodes that are ML Metadata queries (not on self-hosted KFP 2).
RESOLVERS = ("latest_validated_statistics_resolver", "latest_blessed_model_resolver")


def source_digest(dotted_path: str) -> str:
    """Hash of every .py file in the top-level package of `dotted_path`.

    Components name user code by module path, and TFX's cache key holds only
    that path; passing this digest as a parameter makes an edit to the code
    invalidate cached Transform/Trainer results instead of silently reusing them.
    """
    top = dotted_path.split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"cannot locate package {top!r} of {dotted_path!r}")
    digest = hashlib.sha256()
    for root in spec.submodule_search_locations:
        for folder, dirs, files in sorted(os.walk(root)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py") and not name.endswith("_test.py"):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, root).encode())
                    with open(path, "rb") as f:
                        digest.update(f.read())
    return digest.hexdigest()[:16]


def create_pipeline(spec: FamilySpec, config: PipelineConfig) -> tfx.dsl.Pipeline:
    """ExampleGen → StatisticsGen → SchemaGen → ExampleValidator → Transform →
    Trainer → Evaluator → Pusher, with two ML Metadata queries: the last
    validated span's statistics (the ExampleValidator's drift baseline) and
    the last blessed model (the Evaluator's baseline and, with
    `config.warm_start`, the Trainer's starting point)."""
    example_gen = spec.data_source().with_id("ExampleGen")
    examples = example_gen.outputs["examples"]

    statistics_gen = tfx.components.StatisticsGen(examples=examples)
    if spec.schema is not None:
        schema_gen = CuratedSchemaGen(schema_text=text_format.MessageToString(spec.schema))
    elif spec.schema_path:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=spec.schema_path)
    else:
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True)
    schema_gen = schema_gen.with_id("SchemaGen")
    schema = schema_gen.outputs["schema"]

    nodes = [example_gen, statistics_gen, schema_gen]
    baseline_statistics = None
    if config.resolve_baseline:
        statistics_resolver = data_validation.baseline_resolver("ExampleValidator")
        nodes.append(statistics_resolver)
        baseline_statistics = statistics_resolver.outputs["statistics"]
    # Stops the run on any anomaly (schema or drift); Transform waits for it.
    example_validator = DataValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema,
        baseline_statistics=baseline_statistics, examples=examples).with_id("ExampleValidator")
    nodes.append(example_validator)

    # What Transform analyzes and the Trainer fits: this run's span, or the
    # last K validated spans (this one included, hence after the validator).
    train_examples = examples
    window = None
    if config.train_spans > 1:
        window = span_window.validated_span_window(config.train_spans)
        window.add_upstream_node(example_validator)
        train_examples = window.outputs[span_window.EXAMPLES]

    model_resolver = None
    if config.resolve_baseline:
        model_resolver = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
        ).with_id("latest_blessed_model_resolver")
    baseline_model = model_resolver.outputs["model"] if model_resolver else None

    transform = tfx.components.Transform(
        examples=train_examples,
        schema=schema,
        preprocessing_fn=spec.preprocessing_fn,
        # Statistics come from the train split only; the held-out split is
        # never transformed because the Evaluator feeds raw examples to the model.
        splits_config=tfx.proto.SplitsConfig(analyze=[TRAIN], transform=[TRAIN, EVAL]),
        # Pre/post-transform statistics double Transform's cost and nothing
        # downstream reads them.
        disable_statistics=True,
        custom_config={**spec.preprocessing_config,
                       "source_digest": source_digest(spec.preprocessing_fn)},
    )
    transform.add_upstream_node(example_validator)

    trainer = tfx.components.Trainer(
        run_fn=spec.run_fn,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=tfx.proto.TrainArgs(splits=[TRAIN], num_steps=spec.train_steps),
        eval_args=tfx.proto.EvalArgs(splits=[EVAL], num_steps=spec.eval_steps),
        custom_config={**spec.custom_config, "source_digest": source_digest(spec.run_fn),
                       **({WARM_START_LR_SCALE: config.warm_start_learning_rate_scale}
                          if config.warm_start else {}),
                       # Only when asked: the default keeps earlier runs' cache keys.
                       **({DISTRIBUTION_KEY: config.distribution}
                          if config.distribution != DEFAULT_DISTRIBUTION else {})},
        # Warm start: the run_fn loads the last blessed model's weights
        # (models.common.training.warm_start_from).
        base_model=baseline_model if config.warm_start else None,
    )

    if window is not None:
        nodes.append(window)
    nodes.append(transform)
    if model_resolver is not None:
        nodes.append(model_resolver)
    nodes.append(trainer)

    if spec.evaluation is not None:
        *extra, evaluator = spec.evaluation(EvaluationInputs(
            examples=examples, transformed_examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"], schema=schema,
            model=trainer.outputs["model"], baseline_model=baseline_model))
        if evaluator.id != "Evaluator" or "blessing" not in evaluator.outputs:
            raise ValueError(f"family {spec.name!r}: its evaluation must end in a node with id "
                             f"'Evaluator' and a 'blessing' output; got {evaluator.id!r}")
        nodes.extend(extra)
    else:
        evaluator = tfx.components.Evaluator(
            examples=examples,
            example_splits=[spec.evaluation_split],
            model=trainer.outputs["model"],
            baseline_model=baseline_model,
            eval_config=spec.eval_config,
        )

    # Pushes only when the Evaluator blessed the model.
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_dir)),
    )

    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[*nodes, evaluator, pusher],
        enable_cache=config.enable_cache,
        metadata_connection_config=(
            tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
            if config.metadata_path else None),
        beam_pipeline_args=list(config.beam_pipeline_args),
    )
