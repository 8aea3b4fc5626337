"""The validated-span training window: which ingestions it picks."""

from __future__ import annotations

import pytest
from tfx.dsl.components.common import resolver
from tfx.types import standard_artifacts

from components.data_validation import span_window, spec


def _examples(artifact_id: int, span: int):
    a = standard_artifacts.Examples()
    a.id = artifact_id
    a.set_int_custom_property("span", span)  # as ExampleGen's driver records it
    return a


def _validated(artifact_id: int, examples_id: int):
    """The validator's output vouching for the Examples artifact `examples_id`."""
    a = standard_artifacts.ExampleStatistics()
    a.id = artifact_id
    a.set_int_custom_property(spec.EXAMPLES_ID_PROPERTY, examples_id)
    return a


def _ids(artifacts):
    return [a.id for a in artifacts]


def test_last_k_validated_spans_oldest_first():
    examples = [_examples(1, 1), _examples(10, 2), _examples(20, 3), _examples(30, 4)]
    validated = [_validated(3, 1), _validated(12, 10), _validated(22, 20), _validated(32, 30)]
    assert _ids(span_window.window(examples, validated, 2)) == [20, 30]
    assert _ids(span_window.window(examples, validated, 10)) == [1, 10, 20, 30]
    assert _ids(span_window.window(examples, validated, 1)) == [30]


def test_a_refused_span_never_enters_the_window():
    # Span 3 failed validation (no validated statistics); span 4 passed.
    examples = [_examples(1, 1), _examples(10, 2), _examples(20, 3), _examples(30, 4)]
    validated = [_validated(3, 1), _validated(12, 10), _validated(32, 30)]
    assert _ids(span_window.window(examples, validated, 2)) == [10, 30]


def test_a_reingested_span_uses_the_validated_ingestion():
    # Span 2 was re-ingested twice: id 15 passed validation (17), id 25 was refused.
    examples = [_examples(1, 1), _examples(10, 2), _examples(15, 2), _examples(25, 2)]
    validated = [_validated(3, 1), _validated(12, 10), _validated(17, 15)]
    assert _ids(span_window.window(examples, validated, 2)) == [1, 15]


def test_the_span_as_a_string_property_too():
    a = standard_artifacts.Examples()
    a.set_string_custom_property("span", "7")
    assert spec.span_of(a) == 7
    assert spec.span_of(standard_artifacts.Examples()) == 0


def test_nothing_validated_resolves_nothing():
    strategy = span_window.ValidatedSpanWindowStrategy(num_spans=3)
    assert strategy.resolve_artifacts(None, {"examples": [_examples(1, 1)],
                                             "validated_statistics": []}) is None
    resolved = strategy.resolve_artifacts(
        None, {"examples": [_examples(1, 1), _examples(10, 2)],
               "validated_statistics": [_validated(3, 1), _validated(12, 10)]})
    assert _ids(resolved["examples"]) == [1, 10]
    assert _ids(resolved["validated_statistics"]) == [3, 12]


@pytest.mark.parametrize("k", [0, -1])
def test_bad_window_sizes_are_refused(k):
    with pytest.raises(ValueError, match="num_spans >= 1"):
        span_window.validated_span_window(k)
    with pytest.raises(ValueError, match="num_spans >= 1"):
        span_window.window([], [], k)


def test_bad_train_spans_in_the_config():
    from pipelines.config import PipelineConfig

    with pytest.raises(ValueError, match="train_spans must be an integer >= 1"):
        PipelineConfig.local("p", work_dir="/tmp/x", train_spans=0)
    with pytest.raises(ValueError, match="needs ML Metadata resolvers"):
        PipelineConfig(pipeline_name="p", pipeline_root="/r", serving_dir="/s", metadata_path=None,
                       resolve_baseline=False, train_spans=2)


def test_the_factory_trains_on_the_window_and_evaluates_on_the_newest_span(tmp_path):
    from pipelines import build_pipeline
    from pipelines.config import PipelineConfig

    def nodes(train_spans):
        pipeline = build_pipeline(
            "forecasting", PipelineConfig.local("f", work_dir=str(tmp_path), train_spans=train_spans),
            profile="smoke")
        return {c.id: c for c in pipeline.components}

    assert span_window.RESOLVER_ID not in nodes(1)
    found = nodes(3)
    window = found[span_window.RESOLVER_ID]
    assert window.exec_properties[resolver.RESOLVER_CONFIG] == {"num_spans": 3}
    assert "ExampleValidator" in {n.id for n in window.upstream_nodes}
    assert found["Transform"].inputs["examples"] is window.outputs["examples"]
    assert found["Evaluator"].inputs["examples"] is found["ExampleGen"].outputs["examples"]


def test_retrain_takes_train_spans():
    from pipelines import retrain

    args = retrain._parser().parse_args(["--train-spans", "2"])
    assert args.train_spans == 2
