"""`tfx pipeline create` / `tfx run create --engine local` on the runner file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The translation e2e test runs its pipeline through the same CLI on every
# default run; this forecasting run repeats it for another family.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tfx(args: list[str], env: dict, cwd: str) -> subprocess.CompletedProcess:
    tfx_cli = os.path.join(os.path.dirname(sys.executable), "tfx")
    return subprocess.run([tfx_cli, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def test_tfx_cli_local_engine_runs_forecasting(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path / "home"), PIPELINE_PROFILE="smoke",
               PIPELINE_WORK_DIR=str(tmp_path / "work"), TF_CPP_MIN_LOG_LEVEL="2")
    runner = os.path.join(REPO, "pipelines", "local_runner.py")
    created = _tfx(["pipeline", "create", "--engine", "local", "--pipeline_path", runner],
                   env, str(tmp_path))
    assert created.returncode == 0, created.stderr[-3000:]
    ran = _tfx(["run", "create", "--engine", "local", "--pipeline_name", "forecasting"],
               env, str(tmp_path))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "Pusher done" in ran.stderr
    serving = tmp_path / "work" / "serving_model" / "forecasting"
    assert len(os.listdir(serving)) == 1
