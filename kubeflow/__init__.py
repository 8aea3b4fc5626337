"""Kubeflow Pipelines 2 / Vertex AI Pipelines: the same TFX pipelines, in containers.

* ``kubeflow.runner``: compiles a family's pipeline (the one built by
  ``pipelines.build_pipeline``) with TFX's ``KubeflowV2DagRunner`` into a
  pipeline file, and prints how to submit it::

      python -m kubeflow.runner --image IMAGE \\
          --pipeline-root gs://BUCKET/root --serving-dir gs://BUCKET/serving

* ``kubeflow/Dockerfile``: the image every step runs in (this project and its
  pinned TFX stack installed); build it from the repository root with
  ``docker build -f kubeflow/Dockerfile -t IMAGE .``.

Every step runs ``python -m
tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`` in that
image; Trainer and Transform find ``run_fn``/``preprocessing_fn`` by dotted
path in the installed packages, so nothing else is shipped with the pipeline.
The orchestrator (Vertex AI or KFP) provides ML Metadata.
"""
