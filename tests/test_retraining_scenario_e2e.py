"""Scheduled retraining of the forecasting pipeline, span by span.

`python -m pipelines.retrain` over `<data>/span-{SPAN}/series.csv`, as cron
would call it after each new span lands:

  span 1  the book's series                  trains cold, pushed
  span 1  again, unchanged                   nothing run (exit 4)
  span 2  three times as many series         trains warm on spans 1-2, pushed
  span 3  the same series in other units     stopped by data validation (drift)
  span 4  random walks (nothing to learn)    trains on spans 2 and 4 (never the
                                             refused 3), not blessed, not pushed

Training reads a rolling window of the last two validated spans
(`--train-spans 2`); the Evaluator judges on the newest span.

After each step the served model (the newest pushed version) is the
expected one, and `python -m pipelines.history` tells the same story.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from components.series_example_gen import series as series_lib
from pipelines import history, retrain
from tests import pipeline_outputs as h

# Five forecasting runs (over three minutes on two cores): the default suite
# has the forecasting pipeline's own e2e run (tests/test_forecasting_pipeline_e2e.py,
# a refused model included); `./dev test -m slow` runs this scenario.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_STEPS = 70  # per series: windows of 50 + 10, every 5 steps: 3 windows


def _write_span(data: str, span: int, values: np.ndarray) -> None:
    folder = os.path.join(data, f"span-{span}")
    os.makedirs(folder)
    with open(os.path.join(folder, "series.csv"), "w") as f:
        f.write("series_id," + ",".join(f"t{i}" for i in range(values.shape[1])) + "\n")
        for i, row in enumerate(values):
            f.write(f"span{span}-{i}," + ",".join(f"{v:.5f}" for v in row) + "\n")


def _random_walks(n_series: int, seed: int) -> np.ndarray:
    """Walks started from the book's series values, small steps: the same
    range of values, but the last value is the best forecast there is."""
    rng = np.random.RandomState(seed)
    start = series_lib.generate_time_series(n_series, N_STEPS, seed)[:, :1]
    return (start + np.cumsum(rng.normal(0, 0.01, (n_series, N_STEPS)), axis=1)).astype(np.float32)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("retrain"))
    data = os.path.join(work, "data")
    argv = ["--family", "forecasting", "--profile", "smoke", "--work-dir", work,
            "--csv", os.path.join(data, "span-{SPAN}", "series.csv"), "--csv-layout", "wide",
            "--stride", "5", "--epochs", "2", "--train-spans", "2"]
    serving = os.path.join(work, "serving_model", "forecasting")
    model_runs = os.path.join(work, "tfx_pipeline_output", "forecasting", "Trainer", "model_run")
    steps = {}

    def step(name: str) -> None:
        code = retrain.main(argv)
        steps[name] = {"code": code,
                       "served": (h.pushed_versions(serving) or [None])[-1],
                       "versions": h.pushed_versions(serving),
                       "trainings": len(os.listdir(model_runs)) if os.path.isdir(model_runs) else 0,
                       "state": retrain.read_state(os.path.join(
                           work, "tfx_metadata", "forecasting", retrain.STATE_FILE))}

    _write_span(data, 1, series_lib.generate_time_series(200, N_STEPS, seed=1))
    step("span1")
    step("span1 again")
    _write_span(data, 2, series_lib.generate_time_series(600, N_STEPS, seed=2))
    step("span2")
    _write_span(data, 3, 100 * series_lib.generate_time_series(600, N_STEPS, seed=3))
    step("span3")
    _write_span(data, 4, _random_walks(600, seed=4))
    step("span4")
    return {"work": work, "steps": steps, "serving": serving,
            "root": os.path.join(work, "tfx_pipeline_output", "forecasting")}


def _trainer_stats(root: str) -> list[dict]:
    runs = sorted(os.listdir(os.path.join(root, "Trainer", "model_run")), key=int)
    return [json.load(open(os.path.join(root, "Trainer", "model_run", r, "training_stats.json")))
            for r in runs]


def test_first_span_trains_cold_and_pushes(scenario):
    first = scenario["steps"]["span1"]
    assert first["code"] == retrain.PUSHED
    assert len(first["versions"]) == 1
    assert _trainer_stats(scenario["root"])[0]["warm_start"]["from"] is None


def test_unchanged_span_runs_nothing(scenario):
    again = scenario["steps"]["span1 again"]
    assert again["code"] == retrain.NOTHING_NEW
    assert again["versions"] == scenario["steps"]["span1"]["versions"]


def test_better_span_retrains_warm_and_pushes(scenario):
    second = scenario["steps"]["span2"]
    assert second["code"] == retrain.PUSHED
    assert len(second["versions"]) == 2
    warm = _trainer_stats(scenario["root"])[1]["warm_start"]
    assert warm["loaded"], warm
    assert warm["from"].startswith(os.path.join(scenario["root"], "Trainer", "model"))


def test_corrupted_span_stops_at_validation_and_serving_is_untouched(scenario):
    third = scenario["steps"]["span3"]
    assert third["code"] == retrain.FAILED
    assert third["served"] == scenario["steps"]["span2"]["served"]
    assert len(third["versions"]) == 2
    # Nothing after the validator ran: no third training.
    assert third["trainings"] == scenario["steps"]["span2"]["trainings"] == 2
    # The run stopped with every anomaly named (the retrain state keeps the
    # reason for whoever reads the cron job's outcome): the values drifted
    # from span 2's, the last validated span.
    state = third["state"]
    assert state["outcome"] == "failed" and state["span"] == 3
    assert state["reason"].startswith("DataValidationError: data validation found anomalies")
    assert "train: feature 'series': High approximate Jensen-Shannon divergence" in state["reason"]
    assert "drift against" in state["reason"]


def test_degraded_span_trains_but_is_not_pushed(scenario):
    fourth = scenario["steps"]["span4"]
    assert fourth["code"] == retrain.NOT_BLESSED
    assert fourth["versions"] == scenario["steps"]["span2"]["versions"]
    assert fourth["trainings"] == 3


def test_history_tells_each_run(scenario):
    records = history.read_history(
        os.path.join(scenario["work"], "tfx_metadata", "forecasting", "metadata.db"), "forecasting")
    assert [r.span for r in records] == [1, 2, 3, 4]
    # The rolling window: the last two validated spans; span 3 was refused.
    assert [r.trained_spans for r in records] == [[1], [1, 2], [], [2, 4]]
    assert [r.blessed for r in records] == [True, True, None, False]
    assert [bool(r.pushed_version) for r in records] == [True, True, False, False]
    assert records[2].failed_at == "ExampleValidator"
    assert records[1].warm_start == "warm" and records[0].warm_start == "cold"
    assert "mean_squared_error" in records[1].metrics
    table = history.format_history(records)
    assert "failed at ExampleValidator" in table
    assert " 2,4 " in table
