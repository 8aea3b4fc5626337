"""IMDb reviews ExampleGen (labelled text folders -> TFX ``Examples``), a custom
executor on TFX's ``FileBasedExampleGen``."""

from components.imdb_example_gen.component import ImdbExampleGen
from components.imdb_example_gen.reviews import IMDB_SHA256
from components.imdb_example_gen.reviews import IMDB_URL
from components.imdb_example_gen.reviews import Review
from components.imdb_example_gen.reviews import ReviewDataError
from components.imdb_example_gen.reviews import ReviewScan

__all__ = [
    "IMDB_SHA256",
    "IMDB_URL",
    "ImdbExampleGen",
    "Review",
    "ReviewDataError",
    "ReviewScan",
]
