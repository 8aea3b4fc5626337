"""The training window of scheduled retraining: the last K spans that
passed data validation.

TFX's own ``SpanRangeStrategy`` (and the ``rolling_range`` resolver
function) picks the last K spans ExampleGen produced, validated or not: a
span that the ExampleValidator refused would still be trained on by the
next run that gets past validation. This strategy takes the same rolling
range over the spans the ``DataValidator`` published ``validated_statistics``
for, so a refused span never enters a window.

Which ingestion of a span: a span re-ingested after its files changed has
two ``Examples`` artifacts. Within one pipeline run, ExampleGen's artifact
is created before its statistics and those before the validator's copy,
and retrains hold a lock (``pipelines.retrain``), so the ingestion a
validated-statistics artifact vouches for is the span's newest ``Examples``
artifact created before it (ML Metadata ids grow with creation).
"""

from __future__ import annotations

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.types import standard_artifacts

from components.data_validation import spec

RESOLVER_ID = "validated_span_window_resolver"
EXAMPLES = "examples"
VALIDATED_STATISTICS = "validated_statistics"


def _span(artifact: types.Artifact) -> int:
    # ExampleGen records the span as a property and, as a string, as a
    # custom property (TFX's backward compatibility); either will do.
    if artifact.has_custom_property("span"):
        value = artifact.get_string_custom_property("span")
        return int(value) if value else artifact.get_int_custom_property("span")
    return int(artifact.span)


def window(examples: List[types.Artifact], validated: List[types.Artifact],
           num_spans: int) -> List[types.Artifact]:
    """The Examples of the last `num_spans` validated spans, oldest span
    first: for each span, the newest ingestion created before the span's
    newest validated statistics."""
    if num_spans < 1:
        raise ValueError(f"a training window needs num_spans >= 1, got {num_spans}")
    newest_validation: Dict[int, int] = {}
    for stats in validated:
        span = _span(stats)
        newest_validation[span] = max(newest_validation.get(span, -1), stats.id)
    chosen: Dict[int, types.Artifact] = {}
    for artifact in examples:
        span = _span(artifact)
        vouched = newest_validation.get(span)
        if vouched is None or artifact.id > vouched:
            continue
        if span not in chosen or artifact.id > chosen[span].id:
            chosen[span] = artifact
    return [chosen[s] for s in sorted(chosen)[-num_spans:]]


class ValidatedSpanWindowStrategy(resolver.ResolverStrategy):
    """Resolves ``examples`` to the last ``num_spans`` validated spans (see
    the module docstring); ``validated_statistics`` to their statistics."""

    def __init__(self, num_spans: int):
        self._num_spans = int(num_spans)

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        del store  # the inputs already hold every artifact of both channels
        validated = list(input_dict.get(VALIDATED_STATISTICS) or [])
        chosen = window(list(input_dict.get(EXAMPLES) or []), validated, self._num_spans)
        if not chosen:
            return None  # nothing validated yet: the consumers cannot run
        spans = {_span(a) for a in chosen}
        newest: Dict[int, types.Artifact] = {}
        for stats in validated:
            span = _span(stats)
            if span in spans and (span not in newest or stats.id > newest[span].id):
                newest[span] = stats
        return {EXAMPLES: chosen, VALIDATED_STATISTICS: [newest[s] for s in sorted(newest)]}


def validated_span_window(num_spans: int, *, example_gen_id: str = "ExampleGen",
                          validator_id: str = "ExampleValidator") -> "types.BaseNode":
    """A Resolver (id ``validated_span_window_resolver``) whose ``examples``
    output is the last `num_spans` spans that `validator_id` validated, as
    produced by `example_gen_id` in this and earlier runs. Make it run
    after the validator (``add_upstream_node``) so this run's span counts."""
    from tfx import v1 as tfx

    if num_spans < 1:
        raise ValueError(f"a training window needs num_spans >= 1, got {num_spans}")
    return tfx.dsl.Resolver(
        strategy_class=ValidatedSpanWindowStrategy,
        config={"num_spans": num_spans},
        examples=tfx.dsl.Channel(type=standard_artifacts.Examples,
                                 producer_component_id=example_gen_id, output_key="examples"),
        validated_statistics=tfx.dsl.Channel(type=standard_artifacts.ExampleStatistics,
                                             producer_component_id=validator_id,
                                             output_key=spec.VALIDATED_STATISTICS),
    ).with_id(RESOLVER_ID)
