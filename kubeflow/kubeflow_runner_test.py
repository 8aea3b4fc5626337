"""The Kubeflow V2 compilation of the forecasting pipeline, checked in the file.

Compiles the smoke profile (nothing is submitted) and reads the PipelineJob
JSON the way Vertex AI / KFP 2 will: tasks in pipelineSpec.root.dag.tasks,
their parameters as constants, executors in pipelineSpec.deploymentSpec.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from kubeflow import runner
from kubeflow.remote_sources import REMOTE_SOURCES

# google-api-core's end-of-life notices for Python 3.11, one per Google client module.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

IMAGE = "us-docker.pkg.dev/test-project/pipelines/keras-tfx-pipelines:test"
ROOT = "gs://test-bucket/pipeline-root"
SERVING = "gs://test-bucket/serving"
VARIANT = "lstm"  # not the default, so the variant visibly travels to the Trainer
TFX_ENTRYPOINT = ["python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
RESOLVER = "latest_blessed_model_resolver"
STATISTICS_RESOLVER = "latest_validated_statistics_resolver"  # the drift baseline


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = runner.compile_pipeline(
        "forecasting", image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING,
        variant=VARIANT, profile="smoke",
        output_path=str(tmp_path_factory.mktemp("kfp") / "forecasting_pipeline.json"))
    with open(path) as f:
        return path, json.load(f)


@pytest.fixture(scope="module")
def spec():
    from pipelines.families import forecasting

    return forecasting.build_spec(VARIANT, "smoke")


def _tasks(job):
    return job["pipelineSpec"]["root"]["dag"]["tasks"]


def _executor(job, task_name):
    ps = job["pipelineSpec"]
    label = ps["components"][_tasks(job)[task_name]["componentRef"]["name"]]["executorLabel"]
    return ps["deploymentSpec"]["executors"][label]


def _param(job, task_name, key):
    """A task's constant parameter as a Python value (schema 2.0 or 2.1)."""
    value = _tasks(job)[task_name]["inputs"]["parameters"][key]["runtimeValue"]
    value = value.get("constantValue", value.get("constant"))
    if isinstance(value, dict):  # 2.0: {"intValue": "10"} / {"stringValue": "..."}
        (kind, value), = value.items()
        return int(value) if kind == "intValue" else value
    return value


def _producer(job, task_name, key):
    ref = _tasks(job)[task_name]["inputs"]["artifacts"][key]["taskOutputArtifact"]
    return ref["producerTask"], ref["outputArtifactKey"]


def test_every_component_is_a_task(compiled):
    from pipelines.factory import COMPONENT_ORDER

    _, job = compiled
    tasks = set(_tasks(job))
    for node_id in COMPONENT_ORDER:
        assert node_id in tasks or any(t.startswith(node_id + "-") for t in tasks), node_id
    # The Resolver becomes two metadata-query tasks (blessing, then its model).
    assert tasks == (set(COMPONENT_ORDER) - {RESOLVER}) | {
        f"{RESOLVER}-model-blessing-resolver", f"{RESOLVER}-model-resolver"}
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "forecasting"


def test_pipeline_root_and_runtime(compiled):
    _, job = compiled
    assert job["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    assert job["pipelineSpec"]["schemaVersion"] == "2.0.0"
    assert all(t.get("cachingOptions", {}).get("enableCache", True) for t in _tasks(job).values())


def test_every_executor_runs_in_the_image(compiled):
    _, job = compiled
    containers, resolvers = [], []
    for name in _tasks(job):
        executor = _executor(job, name)
        if "container" in executor:
            containers.append(name)
            container = executor["container"]
            assert container["image"] == IMAGE, name
            assert container["command"] == TFX_ENTRYPOINT, name
            assert container["args"][-2:] == list(runner.CONTAINER_BEAM_ARGS), name
        else:
            assert set(executor) == {"resolver"}, (name, executor)
            resolvers.append(name)
    assert len(containers) == 8
    assert resolvers == runner.resolver_tasks(job["pipelineSpec"]) == [
        f"{RESOLVER}-model-blessing-resolver", f"{RESOLVER}-model-resolver", STATISTICS_RESOLVER]
    args = _executor(job, "ExampleGen")["container"]["args"]
    assert args[args.index("--executor_class_path") + 1] == (
        "components.series_example_gen.component.SyntheticSeriesExampleGen_Executor")


def test_parameters_are_wired(compiled, spec):
    _, job = compiled
    from pipelines.families.forecasting import PROFILES

    assert _param(job, "ExampleGen", "n_series") == PROFILES["smoke"].n_series
    assert _param(job, "ExampleGen", "n_steps") == 50
    assert _param(job, "ExampleGen", "horizon") == 10

    assert _param(job, "Transform", "preprocessing_fn") == (
        "preprocessing.forecasting.preprocessing_fn") == spec.preprocessing_fn
    assert json.loads(_param(job, "Transform", "splits_config")) == {
        "analyze": ["train"], "transform": ["train", "eval"]}

    assert _param(job, "Trainer", "run_fn") == "models.forecasting.trainer.run_fn" == spec.run_fn
    train_args = json.loads(_param(job, "Trainer", "train_args"))
    assert train_args == {"num_steps": spec.train_steps, "splits": ["train"]}
    custom_config = json.loads(_param(job, "Trainer", "custom_config"))
    # The spec's hyperparameters plus the code digest that keys the cache.
    assert custom_config.pop("source_digest")
    assert custom_config == spec.custom_config
    assert custom_config["variant"] == VARIANT

    assert json.loads(_param(job, "Evaluator", "example_splits")) == ["test"]
    eval_config = json.loads(_param(job, "Evaluator", "eval_config"))
    metrics = {m["class_name"]: m for m in eval_config["metrics_specs"][0]["metrics"]}
    assert metrics["NaiveForecastSkill"]["module"] == "models.forecasting.evaluation"

    push_destination = json.loads(_param(job, "Pusher", "push_destination"))
    assert push_destination == {"filesystem": {"base_directory": SERVING}}


def test_artifacts_flow_between_tasks(compiled):
    _, job = compiled
    assert _producer(job, "StatisticsGen", "examples") == ("ExampleGen", "examples")
    assert _producer(job, "Transform", "schema") == ("SchemaGen", "schema")
    assert _producer(job, "Trainer", "examples") == ("Transform", "transformed_examples")
    assert _producer(job, "Trainer", "transform_graph") == ("Transform", "transform_graph")
    assert _producer(job, "Evaluator", "model") == ("Trainer", "model")
    assert _producer(job, "Evaluator", "baseline_model") == (f"{RESOLVER}-model-resolver", "model")
    assert _producer(job, "Pusher", "model_blessing") == ("Evaluator", "blessing")


def test_example_gen_step_runs_through_the_container_entrypoint(compiled, tmp_path):
    """What the image runs for the ExampleGen task: the compiled command and
    arguments, with the executor input the orchestrator would substitute."""
    _, job = compiled
    component = job["pipelineSpec"]["components"]["ExampleGen"]
    container = _executor(job, "ExampleGen")["container"]
    executor_input = {
        "inputs": {"parameters": {k: v["runtimeValue"]["constantValue"] for k, v in
                                  _tasks(job)["ExampleGen"]["inputs"]["parameters"].items()}},
        "outputs": {
            "artifacts": {"examples": {"artifacts": [{
                "name": "projects/p/locations/l/metadataStores/default/artifacts/1",
                "type": component["outputDefinitions"]["artifacts"]["examples"]["artifactType"],
                "uri": str(tmp_path / "examples"),
            }]}},
            "outputFile": str(tmp_path / "executor_output.json"),
        },
    }
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
    command = [sys.executable] + container["command"][1:] + args
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]

    with open(tmp_path / "executor_output.json") as f:
        (examples,) = json.load(f)["artifacts"]["examples"]["artifacts"]
    assert json.loads(examples["metadata"]["split_names"]) == ["train", "eval", "test"]
    assert examples["metadata"]["payload_format"] == "FORMAT_TF_EXAMPLE"
    for split in ("train", "eval", "test"):
        assert os.listdir(tmp_path / "examples" / f"Split-{split}")


def test_vertex_sdk_accepts_the_file(compiled):
    """google-cloud-aiplatform builds the job locally (no request is sent)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    path, _ = compiled
    job = aiplatform.PipelineJob(display_name="forecasting", template_path=path,
                                 project="test-project", location="us-central1",
                                 credentials=AnonymousCredentials())
    resource = job.to_dict()
    assert resource["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    assert set(resource["pipelineSpec"]["root"]["dag"]["tasks"]) == set(_tasks(compiled[1]))


def test_cli_writes_yaml_for_kfp(tmp_path, capsys):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    out = tmp_path / "forecasting.yaml"
    code = runner.main(["--image", IMAGE, "--pipeline-root", ROOT, "--serving-dir", SERVING,
                        "--profile", "smoke", "--variant", "gru", "--epochs", "2",
                        "--output", str(out), "--beam-arg=--direct_num_workers=4",
                        "--pipeline-spec-2-1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(out)
    assert "aiplatform.PipelineJob(" in captured.err
    assert "create_run_from_pipeline_package(" in captured.err
    assert "resolver not implemented yet" in captured.err  # the KFP 2 limit is reported

    with open(out) as f:
        (document,) = list(yaml.safe_load_all(f))  # as the KFP client reads it
    spec = json_format.ParseDict(document, pipeline_spec_pb2.PipelineSpec())
    assert spec.default_pipeline_root == ROOT
    assert spec.schema_version == "2.1.0"
    trainer = spec.root.dag.tasks["Trainer"].inputs.parameters
    assert json.loads(trainer["custom_config"].runtime_value.constant.string_value)["variant"] == "gru"
    args = list(spec.deployment_spec["executors"]["Transform_executor"]["container"]["args"])
    assert args[-3:] == list(runner.CONTAINER_BEAM_ARGS) + ["--direct_num_workers=4"]


def test_cli_without_image_fails_clearly():
    result = subprocess.run(
        [sys.executable, "-m", "kubeflow.runner", "--pipeline-root", ROOT, "--serving-dir", SERVING],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "missing required arguments" in result.stderr
    assert "--image IMAGE" in result.stderr
    assert "kubeflow/Dockerfile" in result.stderr
    assert "--pipeline-root" not in result.stderr.split("missing required arguments")[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"image": ""}, "image is required"),
    ({"serving_dir": " "}, "serving_dir is required"),
    ({"output_path": "pipeline.txt"}, "must end with .json, .yaml or .yml"),
    ({"pipeline_name": "Forecasting_v2"}, "not valid for Kubeflow/Vertex"),
    ({"variant": "transformer"}, "Unknown forecasting variant"),
])
def test_compile_rejects_bad_arguments(tmp_path, kwargs, message):
    arguments = dict(image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
                     output_path=str(tmp_path / "p.json"))
    arguments.update(kwargs)
    if not arguments["output_path"].startswith("/"):
        arguments["output_path"] = str(tmp_path / arguments["output_path"])
    with pytest.raises(ValueError, match=message):
        runner.compile_pipeline("forecasting", **arguments)
    assert not (tmp_path / "p.json").exists()


def test_kfp_target_compiles_without_resolver(tmp_path):
    path = runner.compile_pipeline(
        "forecasting", image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
        target="kfp", output_path=str(tmp_path / "forecasting_pipeline.json"))
    with open(path) as f:
        job = json.load(f)
    tasks = _tasks(job)
    assert not [t for t in tasks if t.startswith(RESOLVER)]
    assert "baseline_model" not in tasks["Evaluator"]["inputs"].get("artifacts", {})
    assert {"Evaluator", "Pusher", "Trainer"} <= set(tasks)
    assert not runner.resolver_tasks(job["pipelineSpec"])


@pytest.mark.parametrize("family, options",
                         [(f, o) for f, o in REMOTE_SOURCES.items() if f != "forecasting"])
def test_every_family_compiles_through_the_same_runner(tmp_path, family, options):
    path = runner.compile_pipeline(
        family, image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
        pipeline_name=family.replace("_", "-"),
        output_path=str(tmp_path / f"{family}.json"), **options)
    with open(path) as f:
        job = json.load(f)
    tasks = _tasks(job)
    assert {"ExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
            "Trainer", "Evaluator", "Pusher"} <= set(tasks)
    for name, task in tasks.items():
        if name not in runner.resolver_tasks(job["pipelineSpec"]):
            assert _executor(job, name)["container"]["image"] == IMAGE
    assert _param(job, "Trainer", "run_fn") == f"models.{family}.trainer.run_fn"
    # Every family's ExampleGen is TFX's file-based one: a folder and a pattern.
    if family == "translation":
        assert _param(job, "ExampleGen", "input_base") == "gs://test-bucket/spa-eng"
        assert "spa.txt" in _param(job, "ExampleGen", "input_config")
    elif family in ("classifier", "autoencoders", "gan", "diffusion"):
        assert _param(job, "ExampleGen", "input_base") == "gs://test-bucket/fashion-mnist"
        assert "*-ubyte*" in _param(job, "ExampleGen", "input_config")
    else:  # sentiment, char_rnn: the archive or text file is the one input file
        folder, name = options["source"].rsplit("/", 1)
        assert _param(job, "ExampleGen", "input_base") == folder
        assert name in _param(job, "ExampleGen", "input_config")


@pytest.mark.parametrize("family", ["gan", "diffusion"])
def test_generative_families_bless_by_sample_quality(tmp_path, family):
    path = runner.compile_pipeline(
        family, image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
        source="gs://test-bucket/fashion-mnist", source_format="idx",
        output_path=str(tmp_path / f"{family}.json"))
    with open(path) as f:
        job = json.load(f)
    # The frozen classifier trains on the same Transform output; the
    # sample-quality Evaluator reads it, the candidate and the last blessed
    # generator, and the Pusher obeys its blessing.
    assert _param(job, "FeatureClassifier", "run_fn") == "models.classifier.trainer.run_fn"
    assert _producer(job, "FeatureClassifier", "examples") == ("Transform", "transformed_examples")
    assert _producer(job, "Evaluator", "feature_model") == ("FeatureClassifier", "model")
    assert _producer(job, "Evaluator", "model") == ("Trainer", "model")
    assert _producer(job, "Evaluator", "baseline_model") == (f"{RESOLVER}-model-resolver", "model")
    assert _producer(job, "Pusher", "model_blessing") == ("Evaluator", "blessing")
    assert _param(job, "Evaluator", "split") == "test"
    assert "components.sample_quality.executor.Executor" in json.dumps(_executor(job, "Evaluator"))


def test_validation_gates_transform_and_warm_start_is_off_by_default(compiled):
    _, job = compiled
    tasks = _tasks(job)
    # The drift baseline is the last validated span's statistics; Transform
    # waits for the validator, which fails the run on any anomaly.
    assert _producer(job, "ExampleValidator", "baseline_statistics") == (
        STATISTICS_RESOLVER, "statistics")
    assert "ExampleValidator" in tasks["Transform"]["dependentTasks"]
    assert "components.data_validation.executor.Executor" in json.dumps(
        _executor(job, "ExampleValidator"))
    # The curated schema travels as text: no path of the compiling machine.
    assert "drift_comparator" in _param(job, "SchemaGen", "schema_text")
    assert "base_model" not in tasks["Trainer"]["inputs"].get("artifacts", {})


def test_retraining_pipeline_warm_starts_from_the_last_blessed_model(tmp_path):
    path = runner.compile_pipeline(
        "forecasting", image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
        warm_start=True, output_path=str(tmp_path / "forecasting_pipeline.json"))
    with open(path) as f:
        job = json.load(f)
    assert _producer(job, "Trainer", "base_model") == (f"{RESOLVER}-model-resolver", "model")


BEAM_STEPS = ("StatisticsGen", "Transform", "Evaluator")


@pytest.mark.parametrize("profile, settings, expected", [
    ("dataflow", ["project=test-project", "region=europe-west4",
                  "temp_location=gs://test-bucket/tmp"],
     ["--runner=DataflowRunner", "--project=test-project", "--region=europe-west4",
      "--temp_location=gs://test-bucket/tmp", f"--sdk_container_image={IMAGE}"]),
    ("flink", ["master=flink-jobmanager:8081"],
     ["--runner=FlinkRunner", "--flink_master=flink-jobmanager:8081",
      "--environment_type=DOCKER", f"--environment_config={IMAGE}"]),
    ("spark", ["master=spark://spark-master:7077"],
     ["--runner=SparkRunner", "--spark_master_url=spark://spark-master:7077",
      "--environment_type=DOCKER", f"--environment_config={IMAGE}"]),
])
def test_beam_profiles_compile_into_every_beam_step(tmp_path, profile, settings, expected):
    output = str(tmp_path / f"{profile}.json")
    code = runner.main(["--image", IMAGE, "--pipeline-root", ROOT, "--serving-dir", SERVING,
                        "--profile", "smoke", "--output", output, "--beam-profile", profile,
                        *(f"--beam-setting={s}" for s in settings)])
    assert code == 0
    with open(output) as f:
        job = json.load(f)
    for step in BEAM_STEPS:
        args = _executor(job, step)["container"]["args"]
        for arg in expected:
            assert arg in args, (step, arg)
        # The profile replaces the local DirectRunner defaults.
        assert not set(runner.CONTAINER_BEAM_ARGS) & set(args), step


def test_a_beam_profile_names_its_missing_settings(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        runner.main(["--image", IMAGE, "--pipeline-root", ROOT, "--serving-dir", SERVING,
                     "--output", str(tmp_path / "x.json"), "--beam-profile", "dataflow",
                     "--beam-setting=project=p"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'dataflow'" in err and "missing: ['region', 'temp_location']" in err


def test_distribution_reaches_the_trainer(tmp_path):
    path = runner.compile_pipeline(
        "forecasting", image=IMAGE, pipeline_root=ROOT, serving_dir=SERVING, profile="smoke",
        output_path=str(tmp_path / "forecasting.json"), distribution="multi_worker_mirrored")
    with open(path) as f:
        job = json.load(f)
    custom_config = json.loads(_param(job, "Trainer", "custom_config"))
    assert custom_config["distribution"] == "multi_worker_mirrored"
