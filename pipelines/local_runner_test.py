"""The TFX CLI's runner file builds every family's pipeline from the
environment (what `tfx pipeline create` executes), without running it."""

from __future__ import annotations

import pytest

from pipelines import local_runner

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.mark.parametrize("family, source_env", [("gan", "GAN_SOURCE"),
                                                ("diffusion", "DIFFUSION_SOURCE")])
def test_generative_families_build_from_the_environment(monkeypatch, tmp_path, family,
                                                        source_env):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("PIPELINE_FAMILY", family)
    monkeypatch.setenv("PIPELINE_PROFILE", "smoke")
    monkeypatch.setenv("PIPELINE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv(source_env, str(tmp_path))
    pipeline = local_runner.pipeline_from_environment()
    ids = [node.id for node in pipeline.components]
    assert pipeline.pipeline_info.pipeline_name == family
    assert {"ExampleGen", "Transform", "Trainer", "FeatureClassifier", "Evaluator",
            "Pusher"} <= set(ids)
    assert str(tmp_path) in pipeline.components[ids.index("ExampleGen")].exec_properties[
        "input_base"]
