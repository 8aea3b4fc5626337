"""Image ExampleGen (IDX files, Keras .npz, folders of PNG/JPEG -> TFX
``Examples``), a custom executor on TFX's ``FileBasedExampleGen``."""

from components.image_example_gen.component import ImageExampleGen
from components.image_example_gen.component import dataset_source
from components.image_example_gen.images import ImageDataError

__all__ = [
    "ImageDataError",
    "ImageExampleGen",
    "dataset_source",
]
