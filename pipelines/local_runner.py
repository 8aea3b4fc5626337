"""Runner file for the TFX CLI's local engine:

    tfx pipeline create --engine local --pipeline_path pipelines/local_runner.py
    tfx run create --engine local --pipeline_name forecasting

The CLI executes this file as a script. The family, variant and profile come
from environment variables so one file serves every family:
PIPELINE_FAMILY (forecasting), PIPELINE_VARIANT, PIPELINE_PROFILE, and
PIPELINE_WORK_DIR (outputs; default: the current directory).
"""

import os
import sys

# Run as a script, this file's folder would shadow top-level modules
# (`config`, `spec`, ...); the installed package is what we import.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

from tfx import v1 as tfx  # noqa: E402

from pipelines import build_pipeline  # noqa: E402
from pipelines.config import PipelineConfig  # noqa: E402


def pipeline_from_environment():
    family = os.environ.get("PIPELINE_FAMILY", "forecasting")
    config = PipelineConfig.local(family, work_dir=os.environ.get("PIPELINE_WORK_DIR"))
    return build_pipeline(family, config,
                          variant=os.environ.get("PIPELINE_VARIANT") or None,
                          profile=os.environ.get("PIPELINE_PROFILE") or None)


if __name__ == "__main__":
    from pipelines import progress

    with progress.reporting():
        tfx.orchestration.LocalDagRunner().run(pipeline_from_environment())
