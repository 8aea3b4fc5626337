"""Code shared by the ExampleGen packages (fetching sources, TFRecord shards,
``Examples`` artifact properties).

Deliberately imports nothing: ``components.common.fetch`` and
``components.common.tfrecords`` need only TensorFlow, and only
``components.common.artifacts`` imports TFX.
"""
