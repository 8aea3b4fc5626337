"""Run a family's pipeline locally: `python -m pipelines.run --family forecasting`.

Prints progress as components start and finish, then where the pushed model
is, or why nothing was pushed. Exit status: 0 pushed, 3 ran but the Evaluator
did not bless the model (nothing pushed), 1 the run failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from models.common.distribution import STRATEGIES
from pipelines import console as console_lib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# google-api-core's end-of-life notices for Python 3.11, one per Google client module.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\..*")


def _parser(prog: str = "python -m pipelines.run", description: str = __doc__
            ) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="forecasting",
                   help="model family: forecasting (default), sentiment, char_rnn, translation, "
                        "autoencoders, classifier, gan, diffusion; "
                        "--family X --help lists that family's options")
    p.add_argument("--variant", help="model variant (default: the family's: forecasting seq2seq, "
                                     "sentiment mask_dropout, char_rnn stateless, "
                                     "translation attention, autoencoders stacked, "
                                     "classifier baseline, gan dcgan, diffusion ddpm)")
    p.add_argument("--profile", help="smoke (tiny, seconds) or reference (the book's settings; default)")
    p.add_argument("--pipeline-name", help="default: the family name")
    p.add_argument("--work-dir", default=".", help="base of tfx_pipeline_output/, tfx_metadata/, serving_model/")
    p.add_argument("--pipeline-root")
    p.add_argument("--serving-dir", help="default: <work-dir>/serving_model/<pipeline-name>")
    p.add_argument("--metadata-path")
    p.add_argument("--no-cache", action="store_true", help="re-run every component")
    p.add_argument("--verbose", action="store_true",
                   help="print TensorFlow/TFX/Beam logs and warnings (INFO level) here instead of "
                        "into <work-dir>/logs/<pipeline>-<time>.log")
    p.add_argument("--distribution", default="default", choices=STRATEGIES,
                   help="the Trainer's tf.distribute strategy: default (one device), mirrored "
                        "(every GPU here), multi_worker_mirrored (the workers named by "
                        "TF_CONFIG) or auto")
    p.add_argument("--train-spans", type=int, default=1, metavar="K",
                   help="train on the last K spans that passed data validation, this run's "
                        "included (a rolling window over a {SPAN} source; default 1: the "
                        "newest span only); the Evaluator judges on the newest span")
    return p


def _version_dirs(path: str) -> set[str]:
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def _latest_evaluation(pipeline_root: str) -> str | None:
    base = os.path.join(pipeline_root, "Evaluator", "evaluation")
    if not os.path.isdir(base):
        return None
    runs = [os.path.join(base, d) for d in os.listdir(base)]
    return max(runs, key=os.path.getmtime) if runs else None


def _explain_refusal(evaluation: str | None) -> str:
    if not evaluation:
        return "no evaluation output found"
    from components.sample_quality import executor as sample_quality

    if os.path.exists(os.path.join(evaluation, sample_quality.RESULT_FILE)):
        # The generative families' evaluator (its own result file, not TFMA's).
        result = sample_quality.load_result(evaluation)
        return "\n".join([f"evaluation: {evaluation}",
                          *(f"  failed: {f}" for f in result["failures"])])
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation)
    lines = [f"evaluation: {evaluation}"]
    for failure in result.metric_validations_per_slice:
        for f in failure.failures:
            lines.append(f"  failed: {f.metric_key.name} = {f.metric_value.double_value.value:.6g}"
                         f" ({f.message or 'threshold not met'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, _parser(), _run)


def cli_main(argv: list[str] | None, parser: argparse.ArgumentParser, run) -> int:
    """The frame of the command lines that run a pipeline (run, retrain):
    the log file, the family's options, then `run(args, options, name,
    console) -> exit status`."""
    # The log file is named before the family's modules import TensorFlow,
    # whose import already writes to standard error.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--family", default="forecasting")
    for flag in ("--pipeline-name", "--work-dir"):
        pre.add_argument(flag)
    pre.add_argument("--verbose", action="store_true")
    known = pre.parse_known_args(argv)[0]
    name = known.pipeline_name or known.family
    log = None if known.verbose else console_lib.log_path(known.work_dir or ".", name)
    with console_lib.quiet_stderr(log) as console:
        from pipelines.families import FAMILIES, family_module, parse_args

        if known.family in FAMILIES:  # its imports (TF, TFMA) write to stderr: the log's
            family_module(known.family)
        with contextlib.redirect_stderr(console):  # usage errors are for the user
            args, options = parse_args(parser, argv)
        status = run(args, options, args.pipeline_name or args.family, console)
        if log:
            print(f"full log (TensorFlow, Beam and TFX messages): {log}", file=console)
    return status


def configure(args: argparse.Namespace, options: dict, name: str, *, warm_start: bool = False,
              warm_start_learning_rate_scale: float = 0.1):
    """(PipelineConfig, pipeline) for parsed arguments; ValueError for a bad option."""
    from pipelines import build_pipeline
    from pipelines.config import PipelineConfig

    config = PipelineConfig.local(
        name, work_dir=args.work_dir, pipeline_root=args.pipeline_root,
        serving_dir=args.serving_dir, metadata_path=args.metadata_path,
        enable_cache=not args.no_cache, warm_start=warm_start,
        warm_start_learning_rate_scale=warm_start_learning_rate_scale,
        distribution=getattr(args, "distribution", "default"),
        train_spans=getattr(args, "train_spans", 1))
    return config, build_pipeline(args.family, config, variant=args.variant,
                                  profile=args.profile, **options)


def execute(pipeline, config, args: argparse.Namespace, console
            ) -> tuple[int, str | None, str | None]:
    """Runs `pipeline` with the local runner, printing progress and the
    result; returns (exit status, the pushed model's folder or None, the
    error or refusal that stopped it or None)."""
    from tfx import v1 as tfx

    from pipelines import progress

    name = config.pipeline_name
    print(f"pipeline {name}: family={args.family} variant={args.variant or 'default'} "
          f"profile={args.profile or 'default'}\n  root: {config.pipeline_root}\n"
          f"  metadata: {config.metadata_path}", file=console)
    before = _version_dirs(config.serving_dir)
    try:
        with progress.reporting(verbose=args.verbose, stream=console):
            tfx.orchestration.LocalDagRunner().run(pipeline)
    except Exception as e:  # noqa: BLE001 - report any component failure plainly
        error = f"{type(e).__name__}: {e}"
        print(f"\nerror: pipeline {name} failed: {error}\n"
              f"nothing was pushed; models already in {config.serving_dir} are untouched.",
              file=console)
        return 1, None, error

    pushed = sorted(_version_dirs(config.serving_dir) - before)
    if pushed:
        path = os.path.join(config.serving_dir, pushed[-1])
        print(f"\nblessed and pushed: {path}", file=console)
        return 0, path, None
    refusal = _explain_refusal(_latest_evaluation(config.pipeline_root))
    print("\nthe Evaluator did not bless this model: nothing pushed.\n" + refusal, file=console)
    return 3, None, refusal


def _run(args: argparse.Namespace, options: dict, name: str, console) -> int:
    try:
        config, pipeline = configure(args, options, name)
    except ValueError as e:
        print(f"error: {e}", file=console)
        return 2
    return execute(pipeline, config, args, console)[0]


if __name__ == "__main__":
    status = main()
    # Exit without interpreter teardown: TF 2.16's function destructors print
    # "Exception ignored ... AtomicFunction.__del__" noise during shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
