"""Schedule bodies for Vertex AI and KFP 2: cron checks, the SDK types, files per family."""

import json

import pytest

from kubeflow import schedules
from kubeflow.remote_sources import REMOTE_SOURCES

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

IMAGE, ROOT, SERVING = "gcr.io/test-project/pipelines:1", "gs://test-bucket/root", "gs://test-bucket/serving"


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/15 0-6 * * MON-FRI", "30 2 1,15 JAN-JUN 0"])
def test_valid_crons_pass(cron):
    assert schedules.check_cron(cron) == cron


@pytest.mark.parametrize("cron, message", [
    ("", "cron is required"), ("@daily", "macros"), ("TZ=UTC 0 3 * * *", "time zone separately"),
    ("0 0 3 * * *", "no seconds field"), ("60 3 * * *", "minute field: 60 is out of range"),
    ("0 3 * * 7", "KFP's cron does not accept 7"), ("0 3 * 5-2 *", "runs backwards"),
    ("0 3/2 * * *", "needs '\\*' or a range"), ("0 3 ? * *", "not standard cron"),
    ("0 3 * FOO *", "'FOO' is not a number"),
])
def test_bad_crons_are_refused_by_field(cron, message):
    with pytest.raises(ValueError, match=message):
        schedules.check_cron(cron)


def test_each_orchestrator_gets_its_own_cron_form():
    # KFP's scheduler reads a seconds field first: without it "0 3" would be minute 3 hourly.
    assert schedules.kfp_cron("0 3 * * *") == "0 0 3 * * *"
    assert schedules.vertex_cron("0 3 * * *", "Europe/Paris") == "TZ=Europe/Paris 0 3 * * *"
    assert schedules.vertex_cron("0 3 * * *") == "0 3 * * *"
    with pytest.raises(ValueError, match="not an IANA time zone"):
        schedules.vertex_cron("0 3 * * *", "Mars/Olympus")


def test_vertex_body_is_a_schedule_with_one_run_at_a_time():
    from google.cloud.aiplatform_v1.types import Schedule

    job = {"pipelineSpec": {"pipelineInfo": {"name": "forecasting"}}, "runtimeConfig": {}}
    body = schedules.vertex_schedule(job, display_name="forecasting-retraining", cron="0 3 * * *",
                                     time_zone="UTC", project="my-project", region="us-central1")
    schedule = Schedule.from_json(json.dumps(body))
    assert schedule.cron == "TZ=UTC 0 3 * * *"
    assert schedule.max_concurrent_run_count == 1
    assert schedule.create_pipeline_job_request.parent == "projects/my-project/locations/us-central1"
    with pytest.raises(ValueError, match="both project and region"):
        schedules.vertex_schedule(job, display_name="x", cron="0 3 * * *", project="my-project")
    with pytest.raises(ValueError, match="display name"):
        schedules.vertex_schedule(job, display_name="x" * 129, cron="0 3 * * *")


def test_kfp_body_is_a_recurring_run_without_catch_up():
    import kfp_server_api

    spec = {"pipelineInfo": {"name": "forecasting"}, "root": {}, "schemaVersion": "2.1.0"}
    body = schedules.kfp_recurring_run(spec, display_name="forecasting-retraining",
                                       cron="0 3 * * *", pipeline_root=ROOT)
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert body["max_concurrency"] == "1" and body["no_catchup"] is True
    assert body["mode"] == kfp_server_api.RecurringRunMode.ENABLE
    with pytest.raises(ValueError, match="not a valid KFP PipelineSpec"):
        schedules.kfp_recurring_run({"noSuchField": 1}, display_name="x", cron="0 3 * * *",
                                    pipeline_root=ROOT)


@pytest.mark.parametrize("family, options", REMOTE_SOURCES.items())
def test_every_family_gets_four_files_that_load_in_the_sdk_types(tmp_path, family, options):
    from google.cloud.aiplatform_v1.types import Schedule

    from pipelines.families import FAMILIES

    assert family in FAMILIES
    written = schedules.write_schedules(family, image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING,
                                        cron="0 3 * * *", output_dir=str(tmp_path),
                                        profile="smoke", **options)
    with open(written.vertex_schedule) as f:
        schedule = Schedule.from_json(f.read())
    job = json.loads(Schedule.to_json(schedule))["createPipelineJobRequest"]["pipelineJob"]
    assert {"Trainer", "Pusher"} <= set(job["pipelineSpec"]["root"]["dag"]["tasks"])
    with open(written.kfp_recurring_run) as f:
        run = json.load(f)
    assert run["display_name"] == f"{family.replace('_', '-')}-retraining"
    assert run["runtime_config"]["pipeline_root"] == ROOT


def test_schedule_families_cover_the_registry():
    from pipelines.families import FAMILIES

    assert set(FAMILIES) == set(REMOTE_SOURCES)  # a new family must be given a source there


def test_cli_refuses_a_bad_cron_before_writing(tmp_path, capsys):
    code = schedules.main(["--image", IMAGE, "--pipeline-root", ROOT, "--serving-dir", SERVING,
                           "--cron", "0 25 * * *", "--output-dir", str(tmp_path / "out"),
                           "--family", "forecasting"])
    assert code == 2
    assert "hour field: 25 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_option_names_unknown_keys():
    with pytest.raises(ValueError, match="forecasting has no option 'colour'"):
        schedules.parse_option("forecasting.colour=red", ["forecasting"])
    assert schedules.parse_option("translation.max-pairs=100", ["translation"]) == (
        "translation", "max_pairs", 100)
