"""The training window of scheduled retraining: the last K spans that
passed data validation.

TFX's own ``SpanRangeStrategy`` (and the ``rolling_range`` resolver
function) picks the last K spans ExampleGen produced, validated or not: a
span that the ExampleValidator refused would still be trained on by the
next run that gets past validation. This strategy takes the same rolling
range over the spans the ``DataValidator`` published ``validated_statistics``
for, so a refused span never enters a window.

Which ingestion of a span: a span re-ingested after its files changed has
two ``Examples`` artifacts. The validator records on its
``validated_statistics`` the id of the ``Examples`` artifact it vouches for
(``spec.EXAMPLES_ID_PROPERTY``); for each span the window takes the newest
ingestion that passed.
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


def window(examples: List[types.Artifact], validated: List[types.Artifact],
           num_spans: int) -> List[types.Artifact]:
    """The Examples of the last `num_spans` validated spans, oldest span
    first: for each span, the newest ingestion that passed validation."""
    if num_spans < 1:
        raise ValueError(f"a training window needs num_spans >= 1, got {num_spans}")
    passed = {stats.get_int_custom_property(spec.EXAMPLES_ID_PROPERTY) for stats in validated
              if stats.has_custom_property(spec.EXAMPLES_ID_PROPERTY)}
    chosen: Dict[int, types.Artifact] = {}
    for artifact in examples:
        if artifact.id not in passed:
            continue
        span = spec.span_of(artifact)
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
        ids = {a.id for a in chosen}
        vouching = [s for s in validated
                    if s.get_int_custom_property(spec.EXAMPLES_ID_PROPERTY) in ids]
        return {EXAMPLES: chosen, VALIDATED_STATISTICS: sorted(vouching, key=lambda a: a.id)}


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
