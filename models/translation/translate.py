"""Translate sentences with a pushed translation model (no Keras needed):

    python -m models.translation.translate serving_model/translation/1795... \\
        "I like soccer" "I like soccer and also going to the beach" \\
        --beam-width 4 --attention-png attention.png

Prints one translation per sentence. With --attention-png (attention
variants) the first sentence's attention weights are drawn as a heat map:
one row per generated Spanish token, one column per English token.
Exit status: 0 done, 2 bad arguments or a model without that signature.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from preprocessing import translation_contract as contract  # noqa: E402


def translate(model_dir: str, sentences: list[str], *, beam_width: int = 1,
              max_length: int = contract.MAX_LENGTH) -> list[str]:
    """The model's `translate` signature over `sentences`."""
    fn = tf.saved_model.load(model_dir).signatures[contract.SIGNATURE_TRANSLATE]
    out = fn(sentences=tf.constant(sentences), beam_width=tf.constant(beam_width, tf.int32),
             max_length=tf.constant(max_length, tf.int32))
    return [t.decode("utf-8") for t in out["translation"].numpy()]


def attention_matrix(model_dir: str, sentence: str,
                     max_length: int = contract.MAX_LENGTH) -> tuple[list[str], list[str], np.ndarray]:
    """(target tokens, source tokens, weights [target, source]) of the greedy
    translation of `sentence`; ValueError for a model without attention."""
    model = tf.saved_model.load(model_dir)
    if contract.SIGNATURE_ATTENTION not in model.signatures:
        raise ValueError(f"{model_dir}: this model has no {contract.SIGNATURE_ATTENTION!r} "
                         "signature (only the attention variants do)")
    out = model.signatures[contract.SIGNATURE_ATTENTION](
        sentences=tf.constant([sentence]), max_length=tf.constant(max_length, tf.int32))
    n_target, n_source = int(out["target_lengths"][0]), int(out["source_lengths"][0])
    target = [t.decode("utf-8") for t in out["target_tokens"].numpy()[0][:n_target]]
    source = [t.decode("utf-8") for t in out["source_tokens"].numpy()[0][:n_source]]
    return target, source, out["weights"].numpy()[0][:n_target, :n_source]


def plot_attention(target: list[str], source: list[str], weights: np.ndarray, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(source), 1 + 0.45 * len(target)))
    ax.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right")
    ax.set_yticks(range(len(target)), target)
    ax.set_xlabel("source tokens")
    ax.set_ylabel("generated tokens")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.translation.translate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", help="a pushed model: serving_model/translation/<version>")
    p.add_argument("sentences", nargs="+")
    p.add_argument("--beam-width", type=int, default=1, help=f"1 = greedy (1..{contract.MAX_BEAM_WIDTH})")
    p.add_argument("--max-length", type=int, default=contract.MAX_LENGTH,
                   help=f"most tokens per translation (1..{contract.MAX_DECODE_LENGTH})")
    p.add_argument("--attention-png", help="write the first sentence's attention heat map here")
    args = p.parse_args(argv)
    if not 1 <= args.beam_width <= contract.MAX_BEAM_WIDTH:
        p.error(f"--beam-width must be in 1..{contract.MAX_BEAM_WIDTH}, got {args.beam_width}")
    if not 1 <= args.max_length <= contract.MAX_DECODE_LENGTH:
        p.error(f"--max-length must be in 1..{contract.MAX_DECODE_LENGTH}, got {args.max_length}")
    if not os.path.isdir(args.model_dir):
        p.error(f"{args.model_dir}: no such model folder")
    blank = [i for i, s in enumerate(args.sentences) if not s.strip()]
    if blank:
        p.error(f"sentence {blank[0] + 1} is empty")
    for sentence, translation in zip(args.sentences, translate(
            args.model_dir, args.sentences, beam_width=args.beam_width, max_length=args.max_length)):
        print(f"{sentence}\t{translation}")
    if args.attention_png:
        try:
            target, source, weights = attention_matrix(args.model_dir, args.sentences[0], args.max_length)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        plot_attention(target, source, weights, args.attention_png)
        print(f"attention heat map: {args.attention_png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
