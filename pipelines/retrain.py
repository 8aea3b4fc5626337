"""Retrain a family's pipeline on its newest data: `python -m pipelines.retrain`.

Safe to run from cron. Takes every option of `python -m pipelines.run`;
point the source at a pattern with `{SPAN}` (e.g. `--csv
'/data/sales/span-{SPAN}/*.csv'`) and each run reads the latest span.

  * Warm start: the Trainer starts from the last blessed model's weights,
    at a tenth of the family's learning rate (--warm-start-lr-scale).
  * The Evaluator compares the new model with that model, so a push happens
    only on non-regression; otherwise the served model stays as it is.
  * A lock (`<metadata dir>/retrain.lock`): a run that finds another one
    still going leaves at once (exit 5) instead of writing beside it.
  * Idempotent: the input fingerprint of the latest span (TFX's: file
    names, sizes and modification times) and the options are recorded in
    `<metadata dir>/retrain_state.json` after a run that finished (pushed
    or not blessed); the same span unchanged, with the same options, is
    not run again (exit 4; `--force` runs it anyway). A failed run is
    retried by the next call.

Exit status: 0 pushed, 3 ran but not blessed (nothing pushed), 4 nothing
new, 5 another retrain of this pipeline is running, 1 the run failed (data
validation included; nothing pushed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import os
import sys
from typing import Any, Iterator

from pipelines import run as run_lib

PUSHED, FAILED, BAD_ARGUMENTS, NOT_BLESSED, NOTHING_NEW, LOCKED = 0, 1, 2, 3, 4, 5
OUTCOMES = {PUSHED: "pushed", NOT_BLESSED: "not blessed", FAILED: "failed"}
STATE_FILE = "retrain_state.json"
LOCK_FILE = "retrain.lock"


class Locked(RuntimeError):
    """Another process holds the pipeline's retrain lock."""


@contextlib.contextmanager
def exclusive(path: str) -> Iterator[None]:
    """Holds an exclusive lock on `path` for the block; Locked at once if
    another process holds it. The kernel drops the lock when the holder
    dies, so a crashed run never blocks the next one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise Locked(path) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def input_fingerprint(pipeline) -> dict[str, Any] | None:
    """The span, version and fingerprint TFX's driver will see for the
    pipeline's file-based ExampleGen, or None for a source with no files
    (synthetic data)."""
    from tfx.components.example_gen import utils as example_gen_utils
    from tfx.proto import example_gen_pb2, range_config_pb2
    from tfx.utils import proto_utils

    node = next(c for c in pipeline.components if c.id == "ExampleGen")
    props = node.exec_properties
    if "input_base" not in props or not props.get("input_base"):
        return None
    input_config = props["input_config"]
    if isinstance(input_config, str):
        input_config = proto_utils.json_to_proto(input_config, example_gen_pb2.Input())
    range_config = props.get("range_config")
    if isinstance(range_config, str):
        range_config = proto_utils.json_to_proto(range_config, range_config_pb2.RangeConfig())
    fingerprint, span, version = example_gen_utils.calculate_splits_fingerprint_span_and_version(
        props["input_base"], input_config.splits, range_config or None)
    return {"input_base": props["input_base"], "span": span, "version": version,
            "fingerprint": fingerprint}


def run_key(args: argparse.Namespace, options: dict, data: dict | None) -> str:
    """What makes two retrains the same: family, variant, profile, options
    and the data's fingerprint."""
    what = {"family": args.family, "variant": args.variant, "profile": args.profile,
            "options": options, "data": data,
            "warm_start_lr_scale": getattr(args, "warm_start_lr_scale", None)}
    if getattr(args, "train_spans", 1) != 1:  # only then: earlier states keep their keys
        what["train_spans"] = args.train_spans
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def read_state(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError:
        return {}  # a damaged state file: run again rather than skip wrongly


def write_state(path: str, state: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _parser() -> argparse.ArgumentParser:
    p = run_lib._parser("python -m pipelines.retrain", __doc__)
    p.add_argument("--force", action="store_true",
                   help="run even when the latest span is unchanged since the last retrain")
    p.add_argument("--warm-start-lr-scale", type=float, default=0.1, metavar="F",
                   help="the warm-started optimizer's learning rate, as a fraction of the "
                        "family's (default 0.1: fine-tuning)")
    return p


def _retrain(args: argparse.Namespace, options: dict, name: str, console) -> int:
    try:
        if not args.warm_start_lr_scale > 0:
            raise ValueError(f"--warm-start-lr-scale must be > 0, got {args.warm_start_lr_scale}")
        config, pipeline = run_lib.configure(
            args, options, name, warm_start=True,
            warm_start_learning_rate_scale=args.warm_start_lr_scale)
    except ValueError as e:
        print(f"error: {e}", file=console)
        return BAD_ARGUMENTS
    metadata_dir = os.path.dirname(config.metadata_path)
    try:
        with exclusive(os.path.join(metadata_dir, LOCK_FILE)):
            return _retrain_locked(args, options, config, pipeline, metadata_dir, console)
    except Locked as e:
        print(f"another retrain of {name} is running (lock {e}); nothing done", file=console)
        return LOCKED


def _retrain_locked(args, options, config, pipeline, metadata_dir: str, console) -> int:
    try:
        data = input_fingerprint(pipeline)
    except Exception as e:  # noqa: BLE001 - TFX's driver would fail the same way
        print(f"error: cannot read the input of {config.pipeline_name}: {e}", file=console)
        return FAILED
    key = run_key(args, options, data)
    state_path = os.path.join(metadata_dir, STATE_FILE)
    last = read_state(state_path)
    span = data["span"] if data else None
    if (not args.force and last.get("key") == key
            and last.get("outcome") in (OUTCOMES[PUSHED], OUTCOMES[NOT_BLESSED])):
        print(f"nothing new for {config.pipeline_name}: "
              + (f"span {span} is unchanged" if data else "same source and options")
              + f" since the retrain of {last.get('finished')} ({last.get('outcome')}"
              + (f": {last['pushed']}" if last.get("pushed") else "") + "); nothing run",
              file=console)
        return NOTHING_NEW
    if data:
        print(f"retraining {config.pipeline_name} on span {span} of {data['input_base']}",
              file=console)
    status, pushed, reason = run_lib.execute(pipeline, config, args, console)
    write_state(state_path, {
        "key": key, "span": span, "data": data, "outcome": OUTCOMES.get(status, str(status)),
        "pushed": pushed, "reason": reason,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    return status


def main(argv: list[str] | None = None) -> int:
    return run_lib.cli_main(argv, _parser(), _retrain)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # as pipelines.run: skip TF 2.16's noisy interpreter teardown
