"""Time-series ExampleGen components (windows of series -> TFX ``Examples``)."""

from components.series_example_gen.component import CsvSeriesExampleGen
from components.series_example_gen.component import SyntheticSeriesExampleGen
from components.series_example_gen.series import SeriesDataError
from components.series_example_gen.series import WindowSet

__all__ = [
    "CsvSeriesExampleGen",
    "SeriesDataError",
    "SyntheticSeriesExampleGen",
    "WindowSet",
]
