"""The forecasting pipeline end to end through the local TFX runner.

One smoke run is shared by the checks on what it pushed; later tests reuse
its metadata so the Evaluator has a blessed baseline to compare with.
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft

from pipelines.run import main as run_pipeline
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("forecasting")
    code = run_pipeline(["--profile", "smoke", "--work-dir", str(work)])
    root = os.path.join(work, "tfx_pipeline_output", "forecasting")
    serving = os.path.join(work, "serving_model", "forecasting")
    return {"code": code, "work": str(work), "root": root, "serving": serving}


def test_smoke_run_blesses_and_pushes(smoke_run):
    assert smoke_run["code"] == 0
    versions = h.pushed_versions(smoke_run["serving"])
    assert len(versions) == 1
    validation = tfma.load_validation_result(h.only(f"{smoke_run['root']}/Evaluator/evaluation/*"))
    assert validation.validation_ok
    # The Trainer ran under the default tf.distribute strategy: one replica, no cluster.
    with open(os.path.join(h.only(f"{smoke_run['root']}/Trainer/model_run/*"),
                           "training_stats.json")) as f:
        assert json.load(f)["distribution"] == {"strategy": "default", "replicas": 1, "workers": 1}


def test_pushed_model_answers_forecast_on_raw_series(smoke_run):
    model_dir = os.path.join(smoke_run["serving"], h.pushed_versions(smoke_run["serving"])[0])
    loaded = tf.saved_model.load(model_dir)  # no Keras needed to serve
    assert {"serving_default", "forecast"} <= set(loaded.signatures)
    test = h.raw_examples(smoke_run["root"], "test")
    forecast = loaded.signatures["forecast"](series=tf.constant(test["series"]))["forecast"].numpy()
    assert forecast.shape == (len(test["series"]), 10)
    # Forecasts are on the raw scale and beat the naive forecast.
    model_mse = np.mean((forecast - test["target"]) ** 2)
    naive_mse = np.mean((test["series"][:, -1:] - test["target"]) ** 2)
    assert model_mse < naive_mse
    # serving_default (serialized tf.Example, as TFMA and TF Serving call it) agrees.
    serialized = h.serialized_examples(smoke_run["root"], "test")
    by_example = loaded.signatures["serving_default"](
        examples=tf.constant(serialized))["forecast"].numpy()
    np.testing.assert_allclose(by_example, forecast, atol=1e-6)


def test_serving_graph_matches_model_on_transform_output(smoke_run):
    """Skew test: `forecast` on raw series == trained model on Transform's
    materialized output (mapped back to the raw scale)."""
    root = smoke_run["root"]
    model_dir = os.path.join(smoke_run["serving"], h.pushed_versions(smoke_run["serving"])[0])
    serving = tf.saved_model.load(model_dir).signatures["forecast"]
    import models.forecasting.architectures  # noqa: F401  registers custom objects
    model = keras.saving.load_model(h.only(f"{root}/Trainer/model_run/*/model.keras"))

    tft_output = tft.TFTransformOutput(h.only(f"{root}/Transform/transform_graph/*"))
    transformed = h.read_examples(
        os.path.join(h.only(f"{root}/Transform/transformed_examples/*"), "Split-eval"),
        tft_output.transformed_feature_spec())
    raw = h.raw_examples(root, "eval")
    order = {sid: i for i, sid in enumerate(raw["series_id"].reshape(-1))}
    rows = [order[sid] for sid in transformed["series_id"].reshape(-1)]
    assert len(rows) == len(order)

    z = model.predict(transformed["series_scaled"][..., None], verbose=0)
    if z.ndim == 3:
        z = z[:, -1, :]
    from_transform = z * transformed["scale_factor"][:, None] + transformed["scale_center"][:, None]
    from_raw = serving(series=tf.constant(raw["series"][rows]))["forecast"].numpy()
    np.testing.assert_allclose(from_raw, from_transform, atol=1e-5)


def test_crippled_model_is_not_blessed_and_nothing_is_pushed(smoke_run):
    before = h.pushed_versions(smoke_run["serving"])
    # An untrained linear model (learning rate 0 keeps its random initial
    # weights) forecasts worse than repeating the last value.
    code = run_pipeline(["--profile", "smoke", "--work-dir", smoke_run["work"],
                         "--variant", "linear", "--learning-rate", "0"])
    assert code == 3
    assert h.pushed_versions(smoke_run["serving"]) == before
    validation = tfma.load_validation_result(h.only(f"{smoke_run['root']}/Evaluator/evaluation/*"))
    assert not validation.validation_ok
    failed = {f.metric_key.name for s in validation.metric_validations_per_slice for f in s.failures}
    assert "naive_forecast_skill" in failed
    # The change threshold against the blessed baseline fails too.
    assert "mean_squared_error" in failed


def test_bad_csv_fails_before_anything_downstream_runs(tmp_path, capsys):
    bad = tmp_path / "series.csv"
    bad.write_text("series_id,timestamp,value\na,1,0.5\na,2,oops\n")
    code = run_pipeline(["--profile", "smoke", "--work-dir", str(tmp_path),
                         "--csv", str(bad), "--csv-layout", "long"])
    assert code == 1
    err = capsys.readouterr().err
    assert "series.csv" in err and "row 3" in err and "oops" in err
    root = tmp_path / "tfx_pipeline_output" / "forecasting"
    assert not (root / "StatisticsGen").exists()
    assert not (tmp_path / "serving_model").exists()


# A whole second pipeline on a CSV (the importer's parsing is unit-tested in
# components/series_example_gen; `./dev test -m slow` runs this one).
@pytest.mark.slow
def test_users_own_csv_runs_end_to_end(tmp_path):
    # 40 long-format series of 120 noisy sine steps: enough windows per split.
    t = np.arange(120)
    rng = np.random.default_rng(7)
    lines = ["series_id,timestamp,value"]
    for s in range(40):
        values = np.sin(t * (0.1 + 0.005 * s) + s) + 0.05 * rng.normal(size=t.size)
        lines += [f"s{s},{i},{v:.5f}" for i, v in enumerate(values)]
    csv_path = tmp_path / "sensors.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    code = run_pipeline(["--profile", "smoke", "--work-dir", str(tmp_path), "--csv", str(csv_path),
                         "--stride", "5", "--epochs", "3"])
    assert code == 0
    assert len(h.pushed_versions(str(tmp_path / "serving_model" / "forecasting"))) == 1
