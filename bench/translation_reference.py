"""The translation variants through the pipeline factory, with the schedule a CPU affords.

    ./dev python bench/translation_reference.py --variants attention,transformer --epochs 2
    ./dev python bench/translation_reference.py --padding --steps 300   # bucketing vs fixed padding
    ./dev python bench/translation_reference.py --report-only

Every row is one run of the translation pipeline (reference profile: the
shared spa-eng pairs, 100,000 train, the rest 70/30 eval/test; the book's
model sizes) for `epochs` × `steps-per-epoch` steps. Recorded per variant:
the validation learning curve (eval split, the book's "val accuracy"), the
Evaluator's token accuracy and greedy corpus BLEU on the test split, corpus
BLEU with beam width 4, a few translations, and decoding speed of the
`translate` signature (greedy and beam 4) against the book's Python
word-by-word loop. Writes bench/results/translation_reference.json and
bench/translation_reference.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets", "spa-eng", "spa.txt")
RESULTS = os.path.join(HERE, "results", "translation_reference.json")
BOOK = {"encoder_decoder": 0.6763, "bidirectional": 0.6906, "attention": 0.7077,
        "transformer": 0.7281}
TARGETS = {"attention": 0.70, "transformer": 0.72}
BOOK_STEPS = 3125 * 10  # ceil(100,000 / 32) × 10 epochs
EXAMPLES = ["I like soccer", "I like soccer and also going to the beach", "Thank you very much.",
            "Where is the train station?", "She didn't want to go to school today."]
SPEED_SENTENCES = 100
LOOP_SENTENCES = 10  # the book's loop is slow: time a few sentences and scale


def _test_pairs(pipeline_root: str) -> tuple[list[str], list[str]]:
    import tensorflow as tf

    from preprocessing import translation_contract as contract
    from tests import pipeline_outputs as outputs

    split = os.path.join(common.newest(f"{pipeline_root}/ExampleGen/examples/*"), "Split-test")
    spec = {k: tf.io.FixedLenFeature([], tf.string) for k in (contract.SOURCE, contract.TARGET)}
    rows = outputs.read_examples(split, spec)
    return ([s.decode() for s in rows[contract.SOURCE]], [t.decode() for t in rows[contract.TARGET]])


def _translate_all(translate, sentences: list[str], beam_width: int, batch: int = 256) -> list[str]:
    import tensorflow as tf

    out = []
    for i in range(0, len(sentences), batch):
        result = translate(sentences=tf.constant(sentences[i:i + batch]),
                           beam_width=tf.constant(beam_width, tf.int32),
                           max_length=tf.constant(50, tf.int32))
        out += [t.decode() for t in result["translation"].numpy()]
    return out


def bleu_and_examples(row: dict) -> dict:
    """Corpus BLEU of greedy and beam-4 translations of the test split,
    against references standardized as the model sees them."""
    import sacrebleu
    import tensorflow as tf

    from preprocessing import translation as features

    translate = tf.saved_model.load(row["model_dir"]).signatures["translate"]
    sources, targets = _test_pairs(row["pipeline_root"])
    references = [" ".join(w.decode() for w in words)
                  for words in features.tokenize(tf.constant(targets)).to_list()]
    result = {"test_pairs": len(sources)}
    for width in (1, 4):
        t0 = time.perf_counter()
        hypotheses = _translate_all(translate, sources, width)
        result[f"bleu_beam{width}"] = sacrebleu.corpus_bleu(hypotheses, [references]).score
        result[f"test_seconds_beam{width}"] = time.perf_counter() - t0
    result["examples"] = {s: {f"beam{w}": _translate_all(translate, [s], w)[0] for w in (1, 4)}
                          for s in EXAMPLES}
    return result


def python_loop_translate(model, tft_layer, target_words: list[str], sentence: str,
                          max_length: int = 50) -> str:
    """The book's `translate()`: one model.predict per output word, over the
    whole decoder input so far, argmax, stop at endofseq."""
    import numpy as np
    import tensorflow as tf

    from preprocessing import translation_contract as contract

    ids = tft_layer({contract.SOURCE: tf.constant([[sentence]]), contract.TARGET: tf.constant([[""]])})
    source = tf.sparse.to_dense(ids[contract.SOURCE_IDS]).numpy()
    decoder = [contract.SOS_ID]
    words = []
    for _ in range(max_length):
        probs = model.predict({"encoder_inputs": source, "decoder_inputs": np.array([decoder])},
                              verbose=0)
        next_id = int(np.argmax(probs[0, len(decoder) - 1]))
        if next_id == contract.EOS_ID:
            break
        words.append(target_words[next_id])
        decoder.append(next_id)
    return " ".join(words)


def decoding_speed(row: dict) -> dict:
    import keras
    import tensorflow as tf
    import tensorflow_transform as tft

    import models.translation.architectures  # noqa: F401  registers the custom layers
    from preprocessing import translation as features
    from preprocessing import translation_contract as contract

    sentences = _test_pairs(row["pipeline_root"])[0][:SPEED_SENTENCES]
    translate = tf.saved_model.load(row["model_dir"]).signatures["translate"]
    speed = {}
    for width in (1, 4):
        _translate_all(translate, sentences[:8], width)  # warm-up
        t0 = time.perf_counter()
        _translate_all(translate, sentences, width)
        speed[f"sentences_per_second_beam{width}"] = len(sentences) / (time.perf_counter() - t0)

    root = row["pipeline_root"]
    model = keras.saving.load_model(
        os.path.join(common.newest(f"{root}/Trainer/model_run/*"), "model.keras"))
    tft_output = tft.TFTransformOutput(common.newest(f"{root}/Transform/transform_graph/*"))
    target_words = list(contract.TARGET_SPECIAL_TOKENS) + [
        w.decode() for w in tft_output.vocabulary_by_name(contract.TARGET_VOCABULARY)]
    layer = tft_output.transform_features_layer()
    python_loop_translate(model, layer, target_words, sentences[0], 3)  # warm-up
    t0 = time.perf_counter()
    for sentence in sentences[:LOOP_SENTENCES]:
        python_loop_translate(model, layer, target_words, sentence)
    speed["sentences_per_second_python_loop"] = LOOP_SENTENCES / (time.perf_counter() - t0)
    speed["greedy_speedup"] = (speed["sentences_per_second_beam1"]
                               / speed["sentences_per_second_python_loop"])
    return speed


def write_report(rows: list[dict], path: str) -> None:
    variants = [r for r in rows if r.get("kind", "variant") == "variant"]
    padding = [r for r in rows if r.get("kind") == "padding"]
    lines = ["# English→Spanish translation through the pipeline", "", common.machine_line(), "",
             "Data: the shared spa-eng pairs (113,964; ¡ and ¿ dropped), shuffled with seed 42; "
             "first 100,000 train, the remaining 13,964 split 70/30 into eval (the book's "
             "validation set, 9,775 pairs) and test (the blessing split, 4,189 pairs). "
             "Vocabulary 1,000 per language (TFT, train split), sentences ≤ 50 tokens, "
             "batches of 32 bucketed by length. The book's model sizes (embed 128, LSTM 512; "
             "Transformer N=2, 8 heads, key_dim 128, FFN 128), Nadam 1e-3.", "",
             "BLEU is sacrebleu's corpus BLEU (13a) of the detokenized model output against the "
             "reference standardized the way the model sees text (lower-cased, ASCII punctuation "
             "stripped): the model cannot produce punctuation or capitals, so raw references "
             "would only measure that. Words outside the 1,000-word vocabulary come out as "
             "`[UNK]` and count as misses.", ""]
    if variants:
        lines += ["Token accuracy and greedy BLEU by the Evaluator (TFMA) on the test split; "
                  "beam-4 BLEU through the `translate` signature on the same split.", "",
                  "| variant | steps (share of book) | val accuracy (eval) | book | token accuracy (test) "
                  "| BLEU greedy | BLEU beam 4 | train time | ms/step | command |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in variants:
            history = r.get("history") or {}
            val = history.get("val_accuracy", [float("nan")])[-1]
            per_step = r["train_seconds"] / r["steps"] * 1000 if r.get("steps") else float("nan")
            lines.append(
                f"| {r['variant']} | {r['steps']:,} ({r['steps'] / BOOK_STEPS:.0%}) | {val:.4f} | "
                f"{BOOK.get(r['variant'], '—')} | {r.get('token_accuracy', float('nan')):.4f} | "
                f"{r.get('bleu', float('nan')):.2f} | "
                + (f"{r['bleu_beam4']:.2f}" if "bleu_beam4" in r else "not measured¹") + " | "
                f"{r['train_seconds'] / 60:.1f} min | {per_step:.0f} | `{r['command']}` |")
        lines += [f"\n¹ {r['variant']}: {r['extras_note']}." for r in variants if r.get("extras_note")]
        lines += ["", "Schedule: the book trains 10 epochs of 3,125 steps (31,250 steps, batch 32). "
                  "At the measured time per step that would take, on this CPU: "
                  + "; ".join(f"{r['variant']} {r['train_seconds'] / r['steps'] * BOOK_STEPS / 3600:.1f} h"
                              for r in variants if r.get("steps")) + "."]
        for variant, target in TARGETS.items():
            row = next((r for r in variants if r["variant"] == variant), None)
            if row:
                val = (row.get("history") or {}).get("val_accuracy", [float("nan")])[-1]
                verdict = "met" if val >= target else (
                    f"NOT met: {val:.4f} after {row['steps'] / BOOK_STEPS:.0%} of the book's steps")
                lines.append(f"Target {variant} ≥ {target}: {verdict}.")
        lines += ["", "Learning curves (val accuracy on the eval split after each epoch of "
                  "`steps_per_epoch` steps):", ""]
        for r in variants:
            curve = ", ".join(f"{v:.4f}" for v in (r.get("history") or {}).get("val_accuracy", []))
            lines.append(f"- {r['variant']} ({r['steps_per_epoch']:,} steps per epoch): {curve}")
        lines += ["", "## Decoding speed", "",
                  f"`translate` on {SPEED_SENTENCES} test sentences in one batch, against the "
                  "book's `translate()` loop (one `model.predict` per output word over the "
                  f"whole decoder input; timed on {LOOP_SENTENCES} sentences).", "",
                  "| variant | greedy sentences/s | beam 4 sentences/s | book's loop sentences/s | greedy speed-up |",
                  "|---|---|---|---|---|"]
        for r in variants:
            if "greedy_speedup" in r:
                lines.append(f"| {r['variant']} | {r['sentences_per_second_beam1']:.1f} | "
                             f"{r['sentences_per_second_beam4']:.1f} | "
                             f"{r['sentences_per_second_python_loop']:.2f} | "
                             f"**{r['greedy_speedup']:.0f}×** |")
        lines += ["", "## Examples (greedy / beam 4)", "",
                  "Attention weights of the attention variant for the book's beach sentence "
                  "(`translation_attention.png`, made with `./dev python -m "
                  "models.translation.translate <model> \"I like soccer and also going to the "
                  "beach\" --attention-png bench/translation_attention.png`):", "",
                  "![attention](translation_attention.png)", ""]
        for r in variants:
            lines += [f"**{r['variant']}**", ""]
            for sentence, out in r.get("examples", {}).items():
                lines.append(f"- {sentence} → {out['beam1']} / {out['beam4']}")
            lines.append("")
    if padding:
        lines += ["## Length bucketing against fixed padding", "",
                  "Training throughput of the same model and data, batches padded to their own "
                  "longest sentence (bucketed) or to 50 tokens (the book's fixed-length arrays):", "",
                  "| variant | padding | examples/s (steady) | command |", "|---|---|---|---|"]
        for r in padding:
            lines.append(f"| {r['variant']} | {'fixed 50' if r['fixed_padding'] else 'bucketed'} | "
                         f"{r['examples_per_second']:.0f} | `{r['command']}` |")
        by = {r["fixed_padding"]: r["examples_per_second"] for r in padding}
        if True in by and False in by:
            lines += ["", f"Speed-up of bucketing: **{by[False] / by[True]:.1f}×**."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", default=os.path.abspath(SHARED))
    p.add_argument("--variants", default="encoder_decoder,bidirectional,attention,bahdanau,transformer")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps-per-epoch", type=int, default=0, help="0 = one pass (3,125 steps)")
    p.add_argument("--padding", action="store_true",
                   help="measure bucketed vs fixed padding (attention, --steps steps each)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--work-dir", default="/tmp/translation_bench")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--merge", action="store_true", help="keep the other rows of --results")
    p.add_argument("--report-only", action="store_true", help="rewrite the report from --results")
    args = p.parse_args()
    rows = common.load_rows(args.results, args.merge or args.report_only)
    command = "./dev python bench/translation_reference.py " + " ".join(sys.argv[1:])
    if args.padding:
        for fixed in (False, True):
            row = common.run_variant("translation", "translation_padding", args.work_dir, "attention",
                                     "reference", source=args.pairs, epochs=2,
                                     steps_per_epoch=args.steps // 2, fixed_padding=fixed)
            row.update(kind="padding", fixed_padding=fixed, command=command)
            rows = [r for r in rows if not (r.get("kind") == "padding" and r["fixed_padding"] == fixed)]
            rows.append(row)
            common.save_rows(args.results, rows)
    elif not args.report_only:
        for variant in args.variants.split(","):
            row = common.run_variant("translation", "translation_bench", args.work_dir, variant,
                                     "reference", source=args.pairs, epochs=args.epochs,
                                     steps_per_epoch=args.steps_per_epoch)
            row.update(kind="variant", command=command)
            row.update(bleu_and_examples(row))
            row.update(decoding_speed(row))
            rows = [r for r in rows if not (r.get("kind", "variant") == "variant"
                                            and r["variant"] == variant)]
            rows.append(row)
            common.save_rows(args.results, rows)
            write_report(rows, os.path.join(HERE, "translation_reference.md"))
    write_report(rows, os.path.join(HERE, "translation_reference.md"))


if __name__ == "__main__":
    main()
