"""Marks a TFX ``Examples`` artifact the way TFX's own ExampleGen does.

Sets ``split_names`` (JSON, via ``artifact_utils.encode_split_names``), the
custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
``file_format = "tfrecords_gzip"`` (what ``tfx.components.util.examples_utils``
reads; tfx 1.16), and the caller's integer custom properties.
"""

from typing import Iterable, Mapping, Optional

from tfx.types import artifact_utils
from tfx.types import standard_artifacts

# Custom-property names and values understood by
# tfx.components.util.examples_utils (tfx 1.16).
PAYLOAD_FORMAT_PROPERTY = "payload_format"
PAYLOAD_FORMAT_TF_EXAMPLE = "FORMAT_TF_EXAMPLE"
FILE_FORMAT_PROPERTY = "file_format"
FILE_FORMAT_TFRECORDS_GZIP = "tfrecords_gzip"


def mark_tf_examples(
    examples: standard_artifacts.Examples, split_names: Iterable[str],
    int_properties: Optional[Mapping[str, int]] = None) -> None:
  """Marks ``examples`` as GZIP TFRecords of ``tf.train.Example`` splits.

  ``split_names`` (e.g. the ``{name: records}`` dict that was written) becomes
  the artifact's ``split_names``, in order. ``int_properties`` (name -> value) are set as integer custom properties
  (e.g. ``num_examples_train``).
  """
  examples.split_names = artifact_utils.encode_split_names(list(split_names))
  examples.set_string_custom_property(PAYLOAD_FORMAT_PROPERTY,
                                      PAYLOAD_FORMAT_TF_EXAMPLE)
  examples.set_string_custom_property(FILE_FORMAT_PROPERTY,
                                      FILE_FORMAT_TFRECORDS_GZIP)
  for name, value in (int_properties or {}).items():
    examples.set_int_custom_property(name, int(value))
