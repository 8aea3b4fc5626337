"""Does the char-RNN validation protocol explain the gap to the book?

The pipeline validates on back-to-back windows (each character predicted
once); the book validates on windows starting at every character (each
character predicted at every context length 1..100). This scores a trained
model both ways, and back to back at several alignments, on the same split.

    ./dev python bench/char_rnn_val_protocol.py \
        --pipeline-root /tmp/crnn40/tfx_pipeline_output/char_rnn_bench
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # noqa: E402


def accuracy(model, ids: np.ndarray, starts: np.ndarray, length: int, batch: int = 512) -> float:
    correct = total = 0
    span = np.arange(length + 1)
    for i in range(0, len(starts), batch):
        windows = ids[starts[i:i + batch, None] + span[None, :]]
        predicted = np.argmax(np.asarray(model(windows[:, :-1], training=False)), axis=-1)
        correct += int((predicted == windows[:, 1:]).sum())
        total += predicted.size
    return correct / total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pipeline-root", required=True,
                   help="a char_rnn pipeline's output folder (holds Transform/ and Trainer/)")
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--results", default="bench/results/char_rnn_val_protocol.json")
    args = p.parse_args()
    if args.window < 5:
        p.error(f"--window must be >= 5 (five offsets are scored), got {args.window}")
    for part in ("Transform/transform_graph", "Transform/transformed_examples", "Trainer/model_run"):
        if not glob.glob(f"{args.pipeline_root.rstrip('/')}/{part}/*"):
            p.error(f"{args.pipeline_root} has no {part}/: not a char_rnn pipeline output folder")

    import keras
    import tensorflow_transform as tft

    from models.char_rnn import trainer

    root = args.pipeline_root.rstrip("/")
    tft_output = tft.TFTransformOutput(common.newest(f"{root}/Transform/transform_graph/*"))
    eval_files = glob.glob(common.newest(f"{root}/Transform/transformed_examples/*") + "/Split-eval/*")
    ids = trainer.id_stream(eval_files, tft_output)
    model_path = common.newest(f"{root}/Trainer/model_run/*") + "/model.keras"
    model = keras.saving.load_model(model_path, compile=False)
    last = len(ids) - args.window - 1
    row: dict = {"model": model_path, "eval_chars": int(len(ids)), "machine": common.machine_line()}
    row["back_to_back"] = accuracy(model, ids, np.arange(0, last + 1, args.window), args.window)
    started = time.time()
    row["every_character"] = accuracy(model, ids, np.arange(0, last + 1), args.window)
    row["every_character_seconds"] = round(time.time() - started, 1)
    row["back_to_back_by_offset"] = {
        str(offset): accuracy(model, ids, np.arange(offset, last + 1, args.window), args.window)
        for offset in range(0, args.window, args.window // 5)}
    print(json.dumps(row, indent=2))
    with open(args.results, "w") as f:
        json.dump(row, f, indent=2)


if __name__ == "__main__":
    main()
