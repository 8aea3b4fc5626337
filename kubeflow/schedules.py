"""Scheduled retraining on Vertex AI Pipelines and Kubeflow Pipelines 2, every family at once.

    python -m kubeflow.schedules --image IMAGE --pipeline-root gs://BUCKET/root \\
        --serving-dir gs://BUCKET/serving --cron "0 3 * * *" --output-dir schedules \\
        [--family forecasting --family translation ...] [--project P --region R] \\
        [--time-zone Europe/Paris] [--option translation.source=gs://BUCKET/spa-eng/spa.txt]

Per family (all of them unless --family is given) it writes, into --output-dir:
  <family>_pipeline.json            the Vertex AI PipelineJob (kubeflow.runner, target vertex)
  <family>_pipeline.yaml            the KFP 2 PipelineSpec (kubeflow.runner, target kfp)
  <family>_vertex_schedule.json     the body of a Vertex AI Schedule: what
                                    `aiplatform.PipelineJob(...).create_schedule(...)` sends
  <family>_kfp_recurring_run.json   the body of a KFP v2beta1 RecurringRun: what
                                    `kfp.Client().create_recurring_run(...)` sends
and prints how to submit each. Nothing contacts a server. Both bodies are
built through the SDKs' own types (google.cloud.aiplatform_v1.types.Schedule,
kfp_server_api.V2beta1RecurringRun), so a misspelt field fails here rather
than at submission.

Each schedule starts at most one run at a time (see MAX_CONCURRENT_RUNS).
--cron takes the five standard fields (minute hour day-of-month month
day-of-week); KFP's scheduler wants a seconds field first, which is added for
the recurring run. --time-zone (an IANA name) becomes Vertex AI's "TZ=" prefix;
KFP has no per-run time zone: its scheduler uses the cluster's
(CRON_SCHEDULE_TIMEZONE of ml-pipeline-scheduledworkflow, UTC by default).

Family options: --option FAMILY.KEY=VALUE (repeatable; KEY as in the family's
build_spec, e.g. source, source_format, epochs, variant; VALUE read as JSON
when it parses, else as text). With a single --family, that family's own
flags (as in `python -m kubeflow.runner`) work too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from typing import Any, Iterable, Mapping, Sequence

from kubeflow import runner

# One run at a time per schedule. A retraining run compares its model with the
# last blessed one and pushes to one serving directory: two overlapping runs
# would train on the same data, judge against the same baseline and race on
# the push, and a run that outlasts the interval would pile up paid
# machines. Vertex AI skips a run that falls due while one is active
# (allow_queueing stays false); KFP holds it until the active run ends and,
# with no catch-up, runs only the latest missed one. Either way the next run
# reads the newest data.
MAX_CONCURRENT_RUNS = 1

# Standard five-field cron, as Vertex AI reads it; each field's range and the
# names it accepts (KFP's robfig/cron takes the same names).
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {name: i for i, name in enumerate(_MONTHS, start=1)}),
    # 0-6 only: KFP's cron refuses 7 for Sunday, which some crons accept.
    ("day-of-week", 0, 6, {name: i for i, name in enumerate(_WEEKDAYS)}),
)

# Google Cloud project ids (6-30 characters; optionally domain-scoped) and
# Vertex AI regions (us-central1, europe-west4, ...).
PROJECT_PATTERN = re.compile(r"^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REGION_PATTERN = re.compile(r"^[a-z]+(?:-[a-z]+)+[0-9]+$")

# The Vertex body's parent when no --project/--region is given: the SDK call
# fills them from aiplatform.init; for REST, replace them first.
PROJECT_PLACEHOLDER = "PROJECT"
REGION_PLACEHOLDER = "REGION"

# Vertex AI display names: at most 128 characters.
MAX_DISPLAY_NAME = 128

# What --option may set besides the family's CLI_OPTIONS.
COMPILE_OPTIONS = ("variant", "profile")

FILE_SUFFIXES = {
    "vertex_pipeline": "_pipeline.json",
    "kfp_pipeline": "_pipeline.yaml",
    "vertex_schedule": "_vertex_schedule.json",
    "kfp_recurring_run": "_kfp_recurring_run.json",
}


@dataclasses.dataclass(frozen=True)
class ScheduleFiles:
    """What `write_schedules` wrote for one family."""

    family: str
    pipeline_name: str
    display_name: str  # of the Vertex schedule and the KFP recurring run
    vertex_cron: str
    kfp_cron: str
    vertex_pipeline: str
    kfp_pipeline: str
    vertex_schedule: str
    kfp_recurring_run: str


# ---------------------------------------------------------------------------
# Cron, time zone, names
# ---------------------------------------------------------------------------

def check_cron(cron: str) -> str:
    """Validates a five-field cron expression; returns it with single spaces.

    Accepts what both Vertex AI and KFP's scheduler read alike: per field `*`,
    numbers, names (JAN-DEC, SUN-SAT), ranges `a-b`, steps `*/n` or `a-b/n`,
    and comma lists. Refuses macros (@daily), seconds fields, a time zone in
    the expression, `?`, out-of-range values, backward ranges and steps
    without a range, each with a ValueError naming the field.
    """
    if not isinstance(cron, str) or not cron.strip():
        raise ValueError("cron is required: five fields (minute hour day-of-month month "
                         "day-of-week), e.g. '0 3 * * *' for 03:00 every day")
    fields = cron.split()
    if fields[0].startswith("@"):
        raise ValueError(f"cron {cron!r}: macros such as {fields[0]} are not read alike by "
                         "Vertex AI and KFP; write the five fields, e.g. '0 3 * * *'")
    if "=" in fields[0]:
        raise ValueError(f"cron {cron!r}: give the time zone separately (time_zone, "
                         "--time-zone), not as a prefix of the expression")
    if len(fields) != len(CRON_FIELDS):
        hint = (" (no seconds field: the one KFP needs is added when the recurring run "
                "is written)" if len(fields) == 6 else "")
        raise ValueError(f"cron {cron!r} has {len(fields)} fields; expected 5: minute hour "
                         f"day-of-month month day-of-week{hint}")
    for field, (label, low, high, names) in zip(fields, CRON_FIELDS):
        for item in field.split(","):
            _check_cron_item(f"cron {cron!r}, {label} field", item, low, high, names)
    return " ".join(fields)


def _check_cron_item(where: str, item: str, low: int, high: int, names: dict[str, int]) -> None:
    base, slash, step = item.partition("/")
    if slash:
        if not step.isdigit() or int(step) == 0:
            raise ValueError(f"{where}: step {step!r} in {item!r} must be a positive whole number")
        if base != "*" and "-" not in base:
            raise ValueError(f"{where}: a step needs '*' or a range before it: write "
                             f"'{base}-{high}/{step}' instead of {item!r}")
    if base == "*":
        return
    if base == "?":
        raise ValueError(f"{where}: '?' is not standard cron; use '*'")
    start, dash, end = base.partition("-")
    first = _cron_value(where, start, low, high, names)
    if dash and first > _cron_value(where, end, low, high, names):
        raise ValueError(f"{where}: range {base!r} runs backwards; ranges cannot wrap "
                         "around, write two ranges separated by a comma")


def _cron_value(where: str, text: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.isdigit():
        value = int(text)
        if not low <= value <= high:
            hint = " (0 is Sunday; KFP's cron does not accept 7)" if names.get("SUN") == 0 else ""
            raise ValueError(f"{where}: {value} is out of range {low}-{high}{hint}")
        return value
    if text.upper() in names:
        return names[text.upper()]
    accepted = f" or a name ({', '.join(names)})" if names else ""
    raise ValueError(f"{where}: {text!r} is not a number {low}-{high}{accepted}")


def kfp_cron(cron: str) -> str:
    """The six-field form KFP's scheduler (robfig/cron) reads: seconds first.

    `0 3 * * *` (03:00 daily) becomes `0 0 3 * * *`; passing the five fields
    unchanged would make KFP read the minute as seconds and run every hour.
    """
    return "0 " + check_cron(cron)


def vertex_cron(cron: str, time_zone: str | None = None) -> str:
    """The cron Vertex AI stores: `TZ=<IANA zone> ` before the five fields when
    a time zone is given (without one, Vertex AI reads the expression in UTC)."""
    cron = check_cron(cron)
    return f"TZ={check_time_zone(time_zone)} {cron}" if time_zone else cron


def check_time_zone(time_zone: str) -> str:
    """Returns `time_zone` if it names a zone of the IANA database (what Vertex
    AI accepts after "TZ="), else raises ValueError."""
    import zoneinfo

    name = (time_zone or "").strip()
    try:
        if not name or name != time_zone:
            raise ValueError
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValueError(f"time zone {time_zone!r} is not an IANA time zone name "
                         "(e.g. UTC, Europe/Paris, America/New_York)") from None
    return name


def pipeline_name_for(family: str, prefix: str = "") -> str:
    """The pipeline name of `family`: `prefix` + the family with '-' for '_'
    (Kubeflow/Vertex names allow no '_'). Raises ValueError if not valid."""
    return _check_pipeline_name(f"{prefix}{family.replace('_', '-')}")


def _check_pipeline_name(name: str) -> str:
    if not runner.PIPELINE_NAME_PATTERN.match(name):
        raise ValueError(f"pipeline name {name!r} is not valid for Kubeflow/Vertex: use lower-case "
                         "letters, digits and '-', starting with a letter or digit (at most 128)")
    return name


def _vertex_parent(project: str | None, region: str | None) -> str:
    if (project is None) != (region is None):
        raise ValueError("give both project and region (the schedule's parent is "
                         "projects/PROJECT/locations/REGION), or neither")
    if project is None:
        return f"projects/{PROJECT_PLACEHOLDER}/locations/{REGION_PLACEHOLDER}"
    if not PROJECT_PATTERN.match(project):
        raise ValueError(f"project {project!r} is not a Google Cloud project id (6 to 30 "
                         "lower-case letters, digits and '-', starting with a letter)")
    if not REGION_PATTERN.match(region or ""):
        raise ValueError(f"region {region!r} is not a Vertex AI region (e.g. us-central1, "
                         "europe-west4)")
    return f"projects/{project}/locations/{region}"


def _display_name(pipeline_name: str) -> str:
    name = f"{pipeline_name}-retraining"
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"display name {name!r} is longer than {MAX_DISPLAY_NAME} characters "
                         "(Vertex AI's limit): use a shorter pipeline name")
    return name


# ---------------------------------------------------------------------------
# The two bodies
# ---------------------------------------------------------------------------

def vertex_schedule(pipeline_job: Mapping[str, Any], *, display_name: str, cron: str,
                    time_zone: str | None = None, project: str | None = None,
                    region: str | None = None) -> dict:
    """The body of a Vertex AI Schedule that runs `pipeline_job` (a compiled
    PipelineJob: pipelineSpec + runtimeConfig) on `cron`, as REST JSON.

    The same resource `aiplatform.PipelineJob(...).create_schedule(cron=...,
    max_concurrent_run_count=1, max_concurrent_active_run_count=1)` creates:
    the request holds the parent and the job's pipelineSpec and runtimeConfig.
    Both run limits are 1: max_concurrent_run_count bounds the runs being
    started, max_concurrent_active_run_count the runs not yet finished, which
    is what keeps two retraining runs from overlapping. Built through
    `aiplatform_v1.types.Schedule` (unknown fields refused) and checked to
    survive its JSON round trip.
    """
    from google.cloud.aiplatform_v1.types import Schedule
    from google.protobuf import json_format

    if not display_name or len(display_name) > MAX_DISPLAY_NAME:
        raise ValueError(f"display name must be 1 to {MAX_DISPLAY_NAME} characters, "
                         f"got {display_name!r}")
    body = {
        "displayName": display_name,
        "cron": vertex_cron(cron, time_zone),
        "maxConcurrentRunCount": str(MAX_CONCURRENT_RUNS),  # int64: a string in JSON
        "maxConcurrentActiveRunCount": str(MAX_CONCURRENT_RUNS),
        "createPipelineJobRequest": {
            "parent": _vertex_parent(project, region),
            "pipelineJob": {
                "pipelineSpec": pipeline_job["pipelineSpec"],
                "runtimeConfig": pipeline_job.get("runtimeConfig", {}),
            },
        },
    }
    try:
        schedule = Schedule.from_json(json.dumps(body))
    except json_format.ParseError as e:
        raise ValueError(f"not a valid Vertex AI Schedule: {e}") from None
    text = Schedule.to_json(schedule, including_default_value_fields=False)
    if Schedule.from_json(text) != schedule:
        raise ValueError("the Vertex AI Schedule does not survive its JSON round trip")
    return json.loads(text)


def kfp_recurring_run(pipeline_spec: Mapping[str, Any], *, display_name: str, cron: str,
                      pipeline_root: str, description: str = "") -> dict:
    """The body of a KFP v2beta1 RecurringRun that runs `pipeline_spec` (a
    PipelineSpec, as in the YAML file) on `cron` (five fields; KFP's seconds
    field is added), as the JSON `kfp.Client().create_recurring_run(...)` posts.

    At most one run at a time (max_concurrency), enabled, and no catch-up: a
    schedule resumed after a pause or an outage runs once, for the latest
    interval, instead of once per missed one. The pipeline spec goes through
    KFP's PipelineSpec proto as the client does, and the body through
    `kfp_server_api.V2beta1RecurringRun` and its Trigger/CronSchedule models
    (unknown fields refused), then a serialise/deserialise round trip.
    """
    import types

    import kfp_server_api
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    try:
        spec = json_format.MessageToDict(
            json_format.ParseDict(dict(pipeline_spec), pipeline_spec_pb2.PipelineSpec()))
    except json_format.ParseError as e:
        raise ValueError(f"not a valid KFP PipelineSpec: {e}") from None
    if not display_name:
        raise ValueError("display name must not be empty")
    run = kfp_server_api.V2beta1RecurringRun(
        display_name=display_name,
        description=description or None,
        pipeline_spec=spec,
        runtime_config=kfp_server_api.V2beta1RuntimeConfig(
            pipeline_root=pipeline_root, parameters={}),
        trigger=kfp_server_api.V2beta1Trigger(
            cron_schedule=kfp_server_api.V2beta1CronSchedule(cron=kfp_cron(cron))),
        max_concurrency=str(MAX_CONCURRENT_RUNS),  # int64: a string in the API's JSON
        mode=kfp_server_api.RecurringRunMode.ENABLE,
        no_catchup=True,
    )
    client = kfp_server_api.ApiClient()
    body = client.sanitize_for_serialization(run)
    again = client.deserialize(types.SimpleNamespace(data=json.dumps(body)),
                               "V2beta1RecurringRun")
    if again != run or client.sanitize_for_serialization(again) != body:
        raise ValueError("the KFP RecurringRun does not survive its JSON round trip")
    return body


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def write_schedules(family: str, *, image: str, pipeline_root: str, serving_dir: str,
                    cron: str, output_dir: str, project: str | None = None,
                    region: str | None = None, time_zone: str | None = None,
                    pipeline_name: str | None = None, warm_start: bool = False,
                    **options: Any) -> ScheduleFiles:
    """Compiles `family` for both targets and writes its four files (see the
    module docstring) into `output_dir`; returns their paths.

    pipeline_name: default the family with '-' for '_'.
    warm_start: the Vertex pipeline's Trainer starts from the last blessed
        model (the KFP pipeline cannot: KFP 2 does not run TFX's Resolver).
    options: passed to `kubeflow.runner.compile_pipeline` for both targets
        (variant, profile, enable_cache, beam_pipeline_args, the family's
        build_spec options such as source).

    Raises ValueError (bad cron, time zone, project, region or name; what
    compile_pipeline refuses) before anything is written.
    """
    name = pipeline_name or pipeline_name_for(family)
    plan = _plan(name, cron=cron, time_zone=time_zone, project=project, region=region)
    return _write(family, plan, image=image, pipeline_root=pipeline_root,
                  serving_dir=serving_dir, output_dir=output_dir, project=project,
                  region=region, time_zone=time_zone, warm_start=warm_start, options=options)


def write_all_schedules(families: Iterable[str] | None = None, *, image: str, pipeline_root: str,
                        serving_dir: str, cron: str, output_dir: str, project: str | None = None,
                        region: str | None = None, time_zone: str | None = None,
                        name_prefix: str = "", warm_start: bool = False,
                        family_options: Mapping[str, Mapping[str, Any]] | None = None,
                        **options: Any) -> list[ScheduleFiles]:
    """`write_schedules` for each of `families` (default: all), one schedule per
    family on the same cron.

    name_prefix: put before each pipeline name (e.g. "prod-").
    family_options: per family, options for that family only (its data
        source, ...); they override `options`, which every family gets.

    Every argument is checked before the first compilation, so a bad one
    leaves no partial output.
    """
    from pipelines.families import FAMILIES

    families = list(families or FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {', '.join(map(repr, unknown))}; available: "
                         f"{sorted(FAMILIES)}")
    family_options = dict(family_options or {})
    stray = sorted(set(family_options) - set(families))
    if stray:
        raise ValueError(f"options given for {', '.join(stray)}, which is not among the "
                         f"families scheduled ({', '.join(families)})")
    plans = {f: _plan(pipeline_name_for(f, name_prefix), cron=cron, time_zone=time_zone,
                      project=project, region=region) for f in dict.fromkeys(families)}
    return [
        _write(f, plan, image=image, pipeline_root=pipeline_root, serving_dir=serving_dir,
               output_dir=output_dir, project=project, region=region, time_zone=time_zone,
               warm_start=warm_start, options={**options, **family_options.get(f, {})})
        for f, plan in plans.items()]


@dataclasses.dataclass(frozen=True)
class _Plan:
    pipeline_name: str
    display_name: str
    cron: str  # the five fields, checked
    vertex_cron: str
    kfp_cron: str


def _plan(pipeline_name: str, *, cron: str, time_zone: str | None, project: str | None,
          region: str | None) -> _Plan:
    """Checks what can be checked without compiling."""
    _check_pipeline_name(pipeline_name)
    _vertex_parent(project, region)
    return _Plan(pipeline_name=pipeline_name, display_name=_display_name(pipeline_name),
                 cron=check_cron(cron), vertex_cron=vertex_cron(cron, time_zone),
                 kfp_cron=kfp_cron(cron))


def _write(family: str, plan: _Plan, *, image: str, pipeline_root: str, serving_dir: str,
           output_dir: str, project: str | None, region: str | None, time_zone: str | None,
           warm_start: bool, options: Mapping[str, Any]) -> ScheduleFiles:
    from tfx.dsl.io import fileio

    if not output_dir or not str(output_dir).strip():
        raise ValueError("output_dir is required and must not be empty")
    if not runner._is_uri(output_dir):
        output_dir = os.path.abspath(output_dir)
    fileio.makedirs(output_dir)
    paths = {key: os.path.join(output_dir, family + suffix) for key, suffix in FILE_SUFFIXES.items()}
    common = dict(image=image, pipeline_root=pipeline_root, serving_dir=serving_dir,
                  pipeline_name=plan.pipeline_name, **options)
    runner.compile_pipeline(family, output_path=paths["vertex_pipeline"], target="vertex",
                            warm_start=warm_start, **common)
    runner.compile_pipeline(family, output_path=paths["kfp_pipeline"], target="kfp", **common)

    spec, runtime_config = runner.load_pipeline_spec(paths["vertex_pipeline"])
    schedule = vertex_schedule({"pipelineSpec": spec, "runtimeConfig": runtime_config},
                               display_name=plan.display_name, cron=plan.cron,
                               time_zone=time_zone, project=project, region=region)
    kfp_spec, _ = runner.load_pipeline_spec(paths["kfp_pipeline"])
    description = f"Scheduled retraining of the {family} pipeline, cron '{plan.cron}'"
    if time_zone:
        description += f" meant in {time_zone} (KFP reads it in its scheduler's time zone)"
    recurring = kfp_recurring_run(kfp_spec, display_name=plan.display_name, cron=plan.cron,
                                  pipeline_root=pipeline_root, description=description)
    for key, body in (("vertex_schedule", schedule), ("kfp_recurring_run", recurring)):
        with fileio.open(paths[key], "w") as f:
            f.write(json.dumps(body, indent=2) + "\n")
    return ScheduleFiles(family=family, pipeline_name=plan.pipeline_name,
                         display_name=plan.display_name, vertex_cron=plan.vertex_cron,
                         kfp_cron=plan.kfp_cron, **paths)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

_REQUIRED = {
    **runner._REQUIRED,
    "cron": "--cron EXPR: when to run, five cron fields in quotes, e.g. \"0 3 * * *\" "
            "(03:00 every day)",
    "output_dir": "--output-dir DIR: where the pipeline files and schedule bodies go",
}


def submit_instructions(written: Sequence[ScheduleFiles], *, project: str | None,
                        region: str | None, pipeline_root: str,
                        time_zone: str | None = None) -> str:
    """How to submit each family's schedule to Vertex AI and to KFP 2 (text only)."""
    location = (f"project={project!r}, location={region!r}" if project
                else "project='PROJECT', location='REGION'")
    url_project, url_region = (project, region) if project else ("PROJECT", "REGION")
    endpoint = (f"https://{url_region}-aiplatform.googleapis.com/v1/projects/{url_project}"
                f"/locations/{url_region}/schedules")
    lines = [
        "Vertex AI (Python; the SDK builds the same Schedule as the *_vertex_schedule.json file):",
        "  from google.cloud import aiplatform",
        f"  aiplatform.init({location})",
    ]
    for w in written:
        lines += [
            f"  aiplatform.PipelineJob(display_name={w.pipeline_name!r}, "
            f"template_path={w.vertex_pipeline!r}).create_schedule(",
            f"      cron={w.vertex_cron!r}, display_name={w.display_name!r},",
            f"      max_concurrent_run_count={MAX_CONCURRENT_RUNS}, "
            f"max_concurrent_active_run_count={MAX_CONCURRENT_RUNS})",
        ]
    lines += ["", "Vertex AI (REST, the body as written):"]
    for w in written:
        lines.append(f"  curl -X POST -H \"Authorization: Bearer $(gcloud auth print-access-token)\" "
                     f"-H 'Content-Type: application/json' -d @{w.vertex_schedule} {endpoint}")
    if not project:
        lines.append("  (the bodies' parent is projects/PROJECT/locations/REGION: pass --project "
                     "and --region, or replace both, before posting)")
    lines += [
        "",
        "Kubeflow Pipelines 2 (Python; creates the same RecurringRun as the "
        "*_kfp_recurring_run.json file):",
        "  import kfp",
        "  client = kfp.Client(host='KFP_ENDPOINT')",
        "  experiment = client.create_experiment('retraining')",
    ]
    for w in written:
        lines += [
            f"  client.create_recurring_run(experiment_id=experiment.experiment_id, "
            f"job_name={w.display_name!r},",
            f"      cron_expression={w.kfp_cron!r}, max_concurrency={MAX_CONCURRENT_RUNS}, "
            "no_catchup=True,",
            f"      pipeline_package_path={w.kfp_pipeline!r}, pipeline_root={pipeline_root!r})",
        ]
    lines += ["", "Kubeflow Pipelines 2 (REST, the body as written; it names no experiment, "
                  "so the run goes to the default one):"]
    for w in written:
        lines.append(f"  curl -X POST -H 'Content-Type: application/json' "
                     f"-d @{w.kfp_recurring_run} KFP_ENDPOINT/apis/v2beta1/recurringruns")
    lines += ["", "Note: the KFP pipelines run without TFX's Resolver (the KFP 2 backend does "
                  "not implement it): no comparison with the last blessed model, no warm start."]
    if time_zone and time_zone != "UTC":
        lines.append(f"Note: KFP reads the cron in its scheduler's time zone (UTC unless the "
                     f"cluster sets CRON_SCHEDULE_TIMEZONE), not {time_zone}.")
    return "\n".join(lines)


def _parser(single_family: str | None) -> argparse.ArgumentParser:
    from pipelines.families import FAMILIES, family_module

    p = argparse.ArgumentParser(
        prog="python -m kubeflow.schedules", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", help="container image every step runs in (required)")
    p.add_argument("--pipeline-root", help="artifact root, e.g. gs://BUCKET/root (required)")
    p.add_argument("--serving-dir", help="Pusher destination, e.g. gs://BUCKET/serving (required)")
    p.add_argument("--cron", help="five cron fields in quotes, e.g. \"0 3 * * *\" (required)")
    p.add_argument("--output-dir", help="where the files go (required; local or gs://)")
    p.add_argument("--family", dest="families", action="append", choices=sorted(FAMILIES),
                   help="a family to schedule; repeatable (default: all)")
    p.add_argument("--project", help="Google Cloud project of the Vertex AI schedule")
    p.add_argument("--region", help="its region, e.g. us-central1")
    p.add_argument("--time-zone", help="IANA time zone of the cron on Vertex AI (default UTC)")
    p.add_argument("--profile", help="smoke or reference (default: each family's)")
    p.add_argument("--name-prefix", default="",
                   help="before each pipeline name, e.g. prod- (names: the family, '-' for '_')")
    p.add_argument("--option", dest="options", action="append", default=[],
                   metavar="FAMILY.KEY=VALUE",
                   help="a family's option, e.g. translation.source=gs://B/spa-eng/spa.txt or "
                        "forecasting.variant=lstm; VALUE is read as JSON when it parses; "
                        "repeatable")
    p.add_argument("--warm-start", action="store_true",
                   help="the Vertex pipelines' Trainer starts from the last blessed model")
    p.add_argument("--no-cache", action="store_true", help="disable step caching")
    p.add_argument("--beam-arg", dest="beam_args", action="append", default=[], metavar="ARG",
                   help="extra Beam argument (as in kubeflow.runner); repeatable")
    if single_family:
        family_module(single_family).add_cli_arguments(
            p.add_argument_group(f"{single_family} options"))
    return p


def parse_option(text: str, families: Sequence[str]) -> tuple[str, str, Any]:
    """`FAMILY.KEY=VALUE` → (family, key, value); ValueError naming what is wrong.

    KEY may be written with '-' (max-pairs) or '_'; VALUE is JSON when it
    parses (10, 0.5, true, [28,28,1]), else text (gs://..., idx).
    """
    from pipelines.families import family_module

    target, eq, raw = text.partition("=")
    family, dot, key = target.partition(".")
    if not eq or not dot or not family or not key:
        raise ValueError(f"option {text!r} must read FAMILY.KEY=VALUE, e.g. "
                         "translation.source=gs://BUCKET/spa-eng/spa.txt")
    if family not in families:
        raise ValueError(f"option {text!r} is for {family!r}, which is not among the families "
                         f"scheduled ({', '.join(families)})")
    key = key.replace("-", "_")
    allowed = tuple(family_module(family).CLI_OPTIONS) + COMPILE_OPTIONS
    if key not in allowed:
        raise ValueError(f"option {text!r}: {family} has no option {key!r}; it has "
                         f"{', '.join(sorted(allowed))}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return family, key, value


def main(argv: list[str] | None = None) -> int:
    from pipelines.families import FAMILIES, family_module

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--family", dest="families", action="append")
    chosen = pre.parse_known_args(argv)[0].families or []
    single = chosen[0] if len(set(chosen)) == 1 and chosen[0] in FAMILIES else None
    parser = _parser(single)
    args = parser.parse_args(argv)
    missing = [text for key, text in _REQUIRED.items() if not (getattr(args, key) or "").strip()]
    if missing:
        parser.error("missing required arguments:\n  " + "\n  ".join(missing))
    families = list(dict.fromkeys(args.families or FAMILIES))

    family_options: dict[str, dict[str, Any]] = {}
    if single:
        family_options[single] = {k: getattr(args, k) for k in family_module(single).CLI_OPTIONS
                                  if getattr(args, k, None) is not None}
    try:
        for text in args.options:
            family, key, value = parse_option(text, families)
            family_options.setdefault(family, {})[key] = value
    except ValueError as e:
        parser.error(str(e))

    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # google-api-core's Python-version notices, one per Google client module.
    warnings.filterwarnings("ignore", category=FutureWarning)

    for label, value in (("pipeline root", args.pipeline_root), ("serving dir", args.serving_dir)):
        if not runner._is_uri(value):
            print(f"warning: {label} {value!r} is a local path; each step runs in its own "
                  "container, so it must be storage every step can reach (gs://, s3://, a "
                  "mounted volume)", file=sys.stderr)
    options: dict[str, Any] = dict(
        enable_cache=not args.no_cache,
        beam_pipeline_args=runner.CONTAINER_BEAM_ARGS + tuple(args.beam_args))
    if args.profile:
        options["profile"] = args.profile
    try:
        written = write_all_schedules(
            families, image=args.image, pipeline_root=args.pipeline_root,
            serving_dir=args.serving_dir, cron=args.cron, output_dir=args.output_dir,
            project=args.project, region=args.region, time_zone=args.time_zone,
            name_prefix=args.name_prefix, warm_start=args.warm_start,
            family_options=family_options, **options)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    for w in written:  # stdout: the files alone, for scripts
        print("\n".join((w.vertex_pipeline, w.kfp_pipeline, w.vertex_schedule, w.kfp_recurring_run)))
    print(f"\nscheduled {', '.join(w.family for w in written)}: Vertex AI cron "
          f"{written[0].vertex_cron!r}, KFP cron {written[0].kfp_cron!r}, at most "
          f"{MAX_CONCURRENT_RUNS} run at a time\n\n"
          + submit_instructions(written, project=args.project, region=args.region,
                                pipeline_root=args.pipeline_root, time_zone=args.time_zone),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
