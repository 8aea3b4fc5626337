"""The generative families' Evaluator: Fréchet distance and class coverage of
generated samples on a frozen classifier's features, with value and change
thresholds, written as a ModelBlessing the Pusher obeys."""

from components.sample_quality.component import SampleQualityEvaluator

__all__ = ["SampleQualityEvaluator"]
