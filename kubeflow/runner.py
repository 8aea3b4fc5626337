"""Compile a family's pipeline for Vertex AI Pipelines or Kubeflow Pipelines 2.

    python -m kubeflow.runner --image IMAGE --pipeline-root gs://BUCKET/root \\
        --serving-dir gs://BUCKET/serving [--family forecasting] [--variant seq2seq] \\
        [--profile reference] [--output forecasting_pipeline.json]

The pipeline is the one `pipelines.build_pipeline` builds for local runs (same
components, parameters and wiring); only the orchestration differs: every step
runs in IMAGE (see kubeflow/Dockerfile) and the orchestrator provides ML
Metadata. Nothing here contacts a server: the command writes a file and prints
how to submit it.

Output formats, chosen by the extension of --output:
  .json        a PipelineJob (pipelineSpec + runtimeConfig): for Vertex AI
               (`aiplatform.PipelineJob(template_path=...)`).
  .yaml/.yml   a PipelineSpec: for Vertex AI and for the KFP 2 client, whose
               `create_run_from_pipeline_package` reads only YAML.

Targets (--target): `vertex` (default) keeps the Resolver that hands the last
blessed model to the Evaluator; TFX compiles it to a Vertex "resolver" (an ML
Metadata query), which the open-source KFP 2 backend refuses ("resolver not
implemented yet"). `kfp` compiles without it, for self-hosted KFP 2: the
Evaluator then keeps its value thresholds (beat the naive forecast) but has
no baseline for the change threshold.

Importing TFX may print "Error importing: cannot import name 'addons'"; it is
harmless (an optional TFMA import that fails during start-up) and does not
affect compilation.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any, Sequence

from models.common.distribution import STRATEGIES
from pipelines.config import BEAM_PROFILES, beam_profile_args

# Beam arguments for every Beam-based step (StatisticsGen, Transform,
# Evaluator) when it runs in a container. DirectRunner still, but
# multi-processing with one worker per core: each step gets a pod or (Vertex)
# a VM of its own, so its cores would otherwise sit idle, and the few seconds
# each worker spends importing TensorFlow (why local runs use one in-memory
# worker, see pipelines.config.LOCAL_BEAM_ARGS) are small next to a container
# step's start-up, while they buy parallelism for larger inputs such as a big
# CSV import. "0" means os.cpu_count(), which in a Kubernetes pod is the
# node's core count, not the pod's CPU limit: on a KFP cluster with small CPU
# or memory limits pass --beam-arg=--direct_num_workers=N to match them. For
# data beyond one machine use Dataflow: --beam-arg=--runner=DataflowRunner
# plus --project, --region and --temp_location.
CONTAINER_BEAM_ARGS: tuple[str, ...] = (
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=0",
)

# What the KFP compiler accepts as a pipeline name (kfp.dsl.utils); Vertex AI
# derives job ids from it, Kubernetes resource names on KFP.
PIPELINE_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")

TARGETS = ("vertex", "kfp")

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


def compile_pipeline(family: str = "forecasting", *, image: str, output_path: str,
                     pipeline_root: str, serving_dir: str, variant: str | None = None,
                     profile: str | None = None, pipeline_name: str | None = None,
                     enable_cache: bool = True,
                     beam_pipeline_args: tuple[str, ...] = CONTAINER_BEAM_ARGS,
                     pipeline_spec_2_1: bool = False, target: str = "vertex",
                     warm_start: bool = False, distribution: str = "default",
                     **options: Any) -> str:
    """Compiles `family`'s pipeline for Kubeflow V2 and returns the file's path.

    image: the container every step runs in (this project installed).
    output_path: .json (PipelineJob) or .yaml/.yml (PipelineSpec); local or gs://.
    pipeline_root: where the orchestrator puts the artifacts (gs://... on Vertex).
    serving_dir: the Pusher's destination for blessed models.
    pipeline_name: default `family`; must match [a-z0-9][a-z0-9-]{0,127}.
    pipeline_spec_2_1: KFP pipeline-spec schema 2.1 instead of TFX's default 2.0.
    target: "vertex" (with the latest-blessed-model Resolver) or "kfp" (without).
    warm_start: the Trainer starts from the last blessed model (scheduled
        retraining; needs the Resolver, so target "vertex").
    distribution: the Trainer's tf.distribute strategy (pipelines.config.PipelineConfig).
    options: the family's spec options (forecasting: n_series, epochs, csv_path, ...).

    Raises ValueError for a missing image/root/serving dir, a bad name or
    output extension, and whatever the family rejects (unknown variant, ...).
    """
    for flag, value in (("image", image), ("pipeline_root", pipeline_root),
                        ("serving_dir", serving_dir), ("output_path", output_path)):
        if not value or not str(value).strip():
            raise ValueError(f"{flag} is required and must not be empty")
    if not output_path.endswith(JSON_SUFFIXES + YAML_SUFFIXES):
        raise ValueError(f"output_path must end with .json, .yaml or .yml, got {output_path!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if warm_start and target != "vertex":
        raise ValueError("warm_start needs the last blessed model, which only the vertex target "
                         "resolves; self-hosted KFP 2 cannot run TFX's Resolver")
    name = pipeline_name or family
    if not PIPELINE_NAME_PATTERN.match(name):
        raise ValueError(f"pipeline name {name!r} is not valid for Kubeflow/Vertex: use lower-case "
                         "letters, digits and '-', starting with a letter or digit (at most 128)")

    from tfx import v1 as tfx

    from pipelines import build_pipeline
    from pipelines.config import PipelineConfig

    config = PipelineConfig(
        pipeline_name=name,
        pipeline_root=pipeline_root,
        serving_dir=serving_dir,
        metadata_path=None,  # Vertex AI / KFP provide ML Metadata
        enable_cache=enable_cache,
        beam_pipeline_args=tuple(beam_pipeline_args),
        resolve_baseline=(target == "vertex"),
        warm_start=warm_start,
        distribution=distribution,
    )
    pipeline = build_pipeline(family, config, variant=variant, profile=profile, **options)

    if not _is_uri(output_path):
        output_path = os.path.abspath(output_path)
    output_dir, output_filename = os.path.split(output_path)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, use_pipeline_spec_2_1=pipeline_spec_2_1),
        output_dir=output_dir,
        output_filename=output_filename,
    )
    runner.run(pipeline)
    if output_path.endswith(YAML_SUFFIXES):
        # The YAML form holds the PipelineSpec alone: TFX drops runtimeConfig
        # (where the JSON form keeps the root), so record the root as the
        # spec's default; Vertex AI and KFP use it when a run names none.
        _set_default_pipeline_root(output_path, pipeline_root)
    return output_path


def load_pipeline_spec(path: str) -> tuple[dict, dict]:
    """(pipelineSpec, runtimeConfig) of a compiled file, either format.

    runtimeConfig is {} for the YAML form, which has none.
    """
    import json

    import yaml
    from tfx.dsl.io import fileio

    with fileio.open(path, "r") as f:
        text = f.read()
    if path.endswith(YAML_SUFFIXES):
        return yaml.safe_load(text), {}
    job = json.loads(text)
    return job["pipelineSpec"], job.get("runtimeConfig", {})


def resolver_tasks(pipeline_spec: dict) -> list[str]:
    """Tasks that run as ML Metadata queries ("resolver" executors): Vertex AI
    runs them, the open-source KFP 2 backend does not."""
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    components = pipeline_spec.get("components", {})
    tasks = pipeline_spec.get("root", {}).get("dag", {}).get("tasks", {})
    return sorted(
        name for name, task in tasks.items()
        if "resolver" in executors.get(
            components.get(task.get("componentRef", {}).get("name"), {}).get("executorLabel"), {}))


def _is_uri(path: str) -> bool:
    return "://" in path


def _set_default_pipeline_root(path: str, pipeline_root: str) -> None:
    import yaml
    from tfx.dsl.io import fileio

    with fileio.open(path, "r") as f:
        text = f.read()
    # Keep TFX's header comments (pipeline name, inputs) above the document.
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    spec = yaml.safe_load(text)
    spec["defaultPipelineRoot"] = pipeline_root
    with fileio.open(path, "w") as f:
        f.write(header)
        yaml.dump(spec, f, sort_keys=True)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

_REQUIRED = {
    "image": "--image IMAGE: the container image with this project installed "
             "(docker build -f kubeflow/Dockerfile -t IMAGE . && docker push IMAGE)",
    "pipeline_root": "--pipeline-root URI: where the steps write artifacts, storage every "
                     "step can reach (gs://BUCKET/root on Vertex AI)",
    "serving_dir": "--serving-dir URI: where the Pusher copies blessed models (gs://BUCKET/serving)",
}


def _parser() -> argparse.ArgumentParser:
    from pipelines.families import FAMILIES

    p = argparse.ArgumentParser(
        prog="python -m kubeflow.runner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", help="container image every step runs in (required)")
    p.add_argument("--pipeline-root", help="artifact root, e.g. gs://BUCKET/root (required)")
    p.add_argument("--serving-dir", help="Pusher destination, e.g. gs://BUCKET/serving (required)")
    p.add_argument("--family", default="forecasting", choices=sorted(FAMILIES),
                   help="model family (default: forecasting)")
    p.add_argument("--variant", help="model variant (default: the family's; forecasting: seq2seq)")
    p.add_argument("--profile", help="smoke (tiny) or reference (the book's settings; default)")
    p.add_argument("--pipeline-name", help="default: the family name ([a-z0-9-] only)")
    p.add_argument("--output", help="pipeline file: .json (Vertex AI) or .yaml (Vertex AI and "
                                    "the KFP 2 client); default: <pipeline-name>_pipeline.json")
    p.add_argument("--beam-arg", dest="beam_args", action="append", default=[], metavar="ARG",
                   help="extra Beam argument, appended to the defaults "
                        f"({' '.join(CONTAINER_BEAM_ARGS)}); write it as "
                        "--beam-arg=--direct_num_workers=4; repeatable")
    p.add_argument("--beam-profile", choices=sorted(BEAM_PROFILES),
                   help="run the Beam steps beyond one machine: dataflow (needs --beam-setting "
                        "project=, region=, temp_location=), flink or spark (need master=); "
                        "image= defaults to --image. Replaces the DirectRunner defaults")
    p.add_argument("--beam-setting", dest="beam_settings", action="append", default=[],
                   metavar="KEY=VALUE", help="a setting of --beam-profile; repeatable")
    p.add_argument("--distribution", default="default", choices=STRATEGIES,
                   help="the Trainer's tf.distribute strategy (mirrored: every GPU of the "
                        "Trainer's machine; multi_worker_mirrored: the workers TF_CONFIG names)")
    p.add_argument("--target", choices=TARGETS, default="vertex",
                   help="vertex (default; compares with the last blessed model) or kfp "
                        "(self-hosted KFP 2, whose backend cannot run TFX's Resolver)")
    p.add_argument("--no-cache", action="store_true", help="disable step caching")
    p.add_argument("--warm-start", action="store_true",
                   help="the Trainer starts from the last blessed model's weights (scheduled "
                        "retraining; vertex target only)")
    p.add_argument("--pipeline-spec-2-1", action="store_true",
                   help="emit KFP pipeline-spec schema 2.1 instead of TFX's default 2.0")
    return p


def submit_instructions(path: str, *, pipeline_name: str, pipeline_root: str,
                        resolvers: Sequence[str] = ()) -> str:
    """How to submit `path` to Vertex AI and to KFP 2 (text only)."""
    is_yaml = path.endswith(YAML_SUFFIXES)
    lines = [
        "Submit to Vertex AI Pipelines:",
        "  from google.cloud import aiplatform",
        "  aiplatform.init(project='PROJECT', location='REGION')",
        f"  aiplatform.PipelineJob(display_name={pipeline_name!r}, template_path={path!r},",
        f"                         pipeline_root={pipeline_root!r}).submit()",
        "",
        "Submit to Kubeflow Pipelines 2:",
    ]
    if is_yaml:
        lines += [
            "  import kfp",
            "  kfp.Client(host='KFP_ENDPOINT').create_run_from_pipeline_package(",
            f"      {path!r}, arguments={{}}, pipeline_root={pipeline_root!r})",
        ]
    else:
        lines += ["  the KFP client reads only YAML: compile again with "
                  f"--output {os.path.splitext(os.path.basename(path))[0]}.yaml"]
    if resolvers:
        lines += ["", f"Note: {', '.join(resolvers)} run as ML Metadata queries (Vertex AI "
                      "\"resolver\" executors); the open-source KFP 2 backend rejects them "
                      "(\"resolver not implemented yet\"): compile with --target kfp for a KFP 2 cluster."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    from pipelines.families import parse_args

    args, options = parse_args(parser, argv)
    missing = [text for key, text in _REQUIRED.items() if not (getattr(args, key) or "").strip()]
    if missing:
        parser.error("missing required arguments:\n  " + "\n  ".join(missing))

    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # google-api-core's Python-version notices, one per Google client module.
    warnings.filterwarnings("ignore", category=FutureWarning)

    name = args.pipeline_name or args.family
    beam_args = CONTAINER_BEAM_ARGS + tuple(args.beam_args)
    if args.beam_profile:
        settings = {"image": args.image}
        for item in args.beam_settings:
            key, sep, value = item.partition("=")
            if not sep:
                parser.error(f"--beam-setting wants KEY=VALUE, got {item!r}")
            settings[key.strip()] = value.strip()
        try:
            beam_args = beam_profile_args(args.beam_profile, settings) + tuple(args.beam_args)
        except ValueError as e:
            parser.error(str(e))
    elif args.beam_settings:
        parser.error("--beam-setting needs --beam-profile")
    for label, value in (("pipeline root", args.pipeline_root), ("serving dir", args.serving_dir)):
        if not _is_uri(value):
            print(f"warning: {label} {value!r} is a local path; each step runs in its own "
                  "container, so it must be storage every step can reach (gs://, s3://, a "
                  "mounted volume)", file=sys.stderr)
    try:
        path = compile_pipeline(
            args.family, image=args.image, output_path=args.output or f"{name}_pipeline.json",
            pipeline_root=args.pipeline_root, serving_dir=args.serving_dir,
            variant=args.variant, profile=args.profile, pipeline_name=name,
            enable_cache=not args.no_cache,
            beam_pipeline_args=beam_args,
            pipeline_spec_2_1=args.pipeline_spec_2_1, target=args.target,
            warm_start=args.warm_start, distribution=args.distribution, **options)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    spec, _ = load_pipeline_spec(path)
    print(path)  # stdout: the path alone, for scripts
    print(f"\ncompiled {args.family} (variant={args.variant or 'default'}, "
          f"profile={args.profile or 'default'}) for image {args.image}\n"
          f"  pipeline root: {args.pipeline_root}\n  serving dir:   {args.serving_dir}\n\n"
          + submit_instructions(path, pipeline_name=name, pipeline_root=args.pipeline_root,
                                resolvers=resolver_tasks(spec)),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
