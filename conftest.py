"""Test order for the parallel run: the longest files first.

pytest-xdist (`--dist loadfile`) hands each worker whole files in the order
of the collection (`--no-loadscope-reorder` in pyproject.toml; its default
order, most tests first, puts the end-to-end files, which have few tests
but take minutes each, last, so one worker runs them alone at the end).
Starting with the longest and filling in with the many short files is what
keeps both cores busy to the end.
"""

from __future__ import annotations

import pytest

# Files by time on the 2-core CI machine (pytest --durations), longest first.
# A file not listed keeps its collection order after these.
LONGEST_FIRST = (
    "tests/test_translation_pipeline_e2e.py",
    "tests/test_diffusion_pipeline_e2e.py",
    "tests/test_sentiment_pipeline_e2e.py",
    "tests/test_char_rnn_pipeline_e2e.py",
    "tests/test_gan_pipeline_e2e.py",
    "tests/test_classifier_pipeline_e2e.py",
    "tests/test_autoencoders_pipeline_e2e.py",
    "tests/test_forecasting_pipeline_e2e.py",
    "models/diffusion/trainer_test.py",
    "models/translation/architectures_test.py",
    "tests/test_sentiment_trainer.py",
    "tests/test_char_rnn_trainer.py",
)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}

    def key(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::", 1)[0], len(rank))

    items.sort(key=key)  # stable: each file's tests keep their order
