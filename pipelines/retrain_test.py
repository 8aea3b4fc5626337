"""The retrain command's lock, state and input fingerprint (no pipeline run;
tests/test_retraining_scenario_e2e.py runs the spans end to end)."""

from __future__ import annotations

import argparse
import os

import pytest

from pipelines import retrain


def test_lock_is_exclusive_and_released(tmp_path):
    path = str(tmp_path / "meta" / retrain.LOCK_FILE)
    with retrain.exclusive(path):
        with pytest.raises(retrain.Locked):
            with retrain.exclusive(path):
                pass
    with retrain.exclusive(path):  # free again once the holder left
        assert open(path).read().strip() == str(os.getpid())


def test_a_held_lock_means_nothing_runs(tmp_path, capsys):
    lock = tmp_path / "tfx_metadata" / "forecasting" / retrain.LOCK_FILE
    with retrain.exclusive(str(lock)):
        code = retrain.main(["--work-dir", str(tmp_path), "--profile", "smoke", "--verbose"])
    assert code == retrain.LOCKED
    assert "another retrain of forecasting is running" in capsys.readouterr().err
    assert not (tmp_path / "tfx_pipeline_output").exists()


def test_state_survives_damage(tmp_path):
    path = str(tmp_path / retrain.STATE_FILE)
    assert retrain.read_state(path) == {}
    retrain.write_state(path, {"key": "k", "outcome": "pushed"})
    assert retrain.read_state(path) == {"key": "k", "outcome": "pushed"}
    with open(path, "w") as f:
        f.write("{half")
    assert retrain.read_state(path) == {}  # runs again rather than skipping wrongly


def _args(**kw):
    return argparse.Namespace(**{"family": "forecasting", "variant": None, "profile": None, **kw})


def test_run_key_changes_with_data_and_options():
    data = {"span": 1, "fingerprint": "a"}
    key = retrain.run_key(_args(), {"epochs": 2}, data)
    assert key == retrain.run_key(_args(), {"epochs": 2}, dict(data))
    assert key != retrain.run_key(_args(), {"epochs": 3}, data)
    assert key != retrain.run_key(_args(), {"epochs": 2}, {"span": 1, "fingerprint": "b"})
    assert key != retrain.run_key(_args(variant="lstm"), {"epochs": 2}, data)
    assert key == retrain.run_key(_args(train_spans=1), {"epochs": 2}, data)
    assert key != retrain.run_key(_args(train_spans=3), {"epochs": 2}, data)


def test_input_fingerprint_of_the_latest_span(tmp_path):
    from pipelines import build_pipeline
    from pipelines.config import PipelineConfig

    for span in (1, 2):
        folder = tmp_path / "data" / f"span-{span}"
        folder.mkdir(parents=True)
        (folder / "series.csv").write_text("series_id,a,b\nx,1,2\n" * span)
    pipeline = build_pipeline(
        "forecasting", PipelineConfig.local("forecasting", work_dir=str(tmp_path)),
        profile="smoke", csv_path=str(tmp_path / "data" / "span-{SPAN}" / "series.csv"))
    found = retrain.input_fingerprint(pipeline)
    assert found["span"] == 2 and found["input_base"] == str(tmp_path / "data")
    assert "num_files:1" in found["fingerprint"]
    # The synthetic source reads no files: nothing to fingerprint.
    synthetic = build_pipeline("forecasting", PipelineConfig.local("f", work_dir=str(tmp_path)),
                               profile="smoke")
    assert retrain.input_fingerprint(synthetic) is None
