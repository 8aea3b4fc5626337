"""Bucket sources the Kubeflow tests compile every family with: a step runs in
a container, so a family's data must be storage the containers reach, and
nothing here contacts the bucket. Forecasting needs none (its default series
is generated)."""

REMOTE_SOURCES: dict[str, dict] = {
    "forecasting": {},
    "sentiment": {"source": "gs://test-bucket/aclImdb_v1.tar.gz"},
    "char_rnn": {"source": "gs://test-bucket/shakespeare.txt"},
    "translation": {"source": "gs://test-bucket/spa-eng/spa.txt"},
    "classifier": {"source": "gs://test-bucket/fashion-mnist", "source_format": "idx"},
    "autoencoders": {"source": "gs://test-bucket/fashion-mnist", "source_format": "idx"},
    "gan": {"source": "gs://test-bucket/fashion-mnist", "source_format": "idx"},
    "diffusion": {"source": "gs://test-bucket/fashion-mnist", "source_format": "idx"},
}
