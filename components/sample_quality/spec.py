"""``SampleQualityEvaluator``'s inputs, outputs and parameters."""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.types.system_executions import Evaluate

# Inputs
EXAMPLES = "examples"  # raw examples (ExampleGen's); the real images
MODEL = "model"  # the candidate generator
BASELINE_MODEL = "baseline_model"  # the last blessed generator (optional)
FEATURE_MODEL = "feature_model"  # the frozen classifier whose features are compared
# Outputs
EVALUATION = "evaluation"
BLESSING = "blessing"


class SampleQualityEvaluatorSpec(ComponentSpec):
    """See ``component.SampleQualityEvaluator`` for what each parameter means."""

    PARAMETERS = {
        "split": ExecutionParameter(type=str),
        "num_samples": ExecutionParameter(type=int),
        "max_real": ExecutionParameter(type=int),
        "seed": ExecutionParameter(type=int),
        "batch_size": ExecutionParameter(type=int),
        "generate_args": ExecutionParameter(type=str),  # JSON object
        "max_frechet_distance": ExecutionParameter(type=float),
        "frechet_tolerance": ExecutionParameter(type=float),
        "min_class_coverage": ExecutionParameter(type=float),
        "max_class_share": ExecutionParameter(type=float),
        "feature_signature": ExecutionParameter(type=str),
    }
    INPUTS = {
        EXAMPLES: ChannelParameter(type=standard_artifacts.Examples),
        MODEL: ChannelParameter(type=standard_artifacts.Model),
        BASELINE_MODEL: ChannelParameter(type=standard_artifacts.Model, optional=True),
        FEATURE_MODEL: ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {
        EVALUATION: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }
    TYPE_ANNOTATION = Evaluate
