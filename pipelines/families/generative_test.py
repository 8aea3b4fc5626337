"""The gan and diffusion family specs: profiles, options checked before a
run, and the evaluation wiring (in-pipeline or imported feature classifier,
the sample-quality Evaluator feeding the Pusher)."""

from __future__ import annotations

import json

import pytest

from pipelines.config import PipelineConfig
from pipelines.factory import create_pipeline
from pipelines.families import diffusion, gan

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _nodes(spec, tmp_path) -> dict:
    pipeline = create_pipeline(spec, PipelineConfig.local(spec.name, work_dir=str(tmp_path)))
    return {node.id: node for node in pipeline.components}


def test_gan_variants_get_the_scaling_their_output_reaches():
    assert gan.build_spec("simple", "smoke").preprocessing_config["scaling"] == "unit"
    assert gan.build_spec("dcgan", "smoke").preprocessing_config["scaling"] == "symmetric"
    spec = gan.build_spec("conditional", "smoke", replay_size=64)
    assert spec.custom_config["num_classes"] == 10 and spec.custom_config["replay_size"] == 64
    assert spec.train_steps == 2 * 79  # 2 epochs of 2,500 images at batch 32


def test_the_pipeline_trains_a_feature_classifier_and_blesses_by_sample_quality(tmp_path):
    nodes = _nodes(gan.build_spec("dcgan", "smoke", source=str(tmp_path), source_format="idx"), tmp_path)
    assert "FeatureClassifier" in nodes and "Evaluator" in nodes
    evaluator = nodes["Evaluator"]
    assert type(evaluator).__name__ == "SampleQualityEvaluator"
    assert evaluator.exec_properties["split"] == "test"
    assert evaluator.exec_properties["max_frechet_distance"] == 60.0
    classifier = nodes["FeatureClassifier"]
    config = json.loads(classifier.exec_properties["custom_config"])
    assert config["variant"] == "batch_norm" and len(config["class_names"]) == 10
    assert nodes["Pusher"].inputs["model_blessing"].producer_component_id == "Evaluator"


def test_a_pushed_classifier_can_be_imported_instead(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"")
    spec = diffusion.build_spec("ddpm", "smoke", source=str(tmp_path), source_format="idx",
                                feature_classifier=str(tmp_path))
    nodes = _nodes(spec, tmp_path)
    assert type(nodes["FeatureClassifier"]).__name__ == "Importer"
    assert json.loads(nodes["Evaluator"].exec_properties["generate_args"]) == {
        "sampler": "ddim", "steps": 10}
    with pytest.raises(ValueError, match="no saved_model.pb"):
        gan.build_spec("dcgan", "smoke", feature_classifier=str(tmp_path / "missing"))


def test_diffusion_sampler_options():
    spec = diffusion.build_spec("ddpm", "smoke", sampler="ddpm", timesteps=50)
    nodes_args = spec.custom_config
    assert nodes_args["timesteps"] == 50
    with pytest.raises(ValueError, match="sampler must be one of"):
        diffusion.build_spec("ddpm", "smoke", sampler="euler")
    with pytest.raises(ValueError, match="sampler_steps must be between 1 and timesteps"):
        diffusion.build_spec("ddpm", "smoke", sampler_steps=5000)


@pytest.mark.parametrize("build, options, message", [
    (gan.build_spec, {"variant": "wgan"}, "Unknown gan variant"),
    (gan.build_spec, {"epochs": -1}, "epochs >= 1"),
    (gan.build_spec, {"replay_fraction": 2.0}, "replay_fraction"),
    (gan.build_spec, {"num_samples": 1}, "num_samples"),
    (gan.build_spec, {"min_class_coverage": 1.5}, "min_class_coverage"),
    (gan.build_spec, {"dataset": "cifar10"}, "dataset must be one of"),
    (diffusion.build_spec, {"timesteps": 0}, "timesteps"),
    (diffusion.build_spec, {"frechet_tolerance": -1.0}, "frechet_tolerance"),
])
def test_bad_options_fail_before_anything_runs(tmp_path, build, options, message):
    variant = options.pop("variant", None) or ("dcgan" if build is gan.build_spec else "ddpm")
    with pytest.raises(ValueError, match=message):
        build(variant, "smoke", source=str(tmp_path), source_format="idx", **options)
