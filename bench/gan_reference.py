"""The GAN variants through the pipeline factory on Fashion-MNIST.

    ./dev python bench/gan_reference.py                       # dcgan, conditional, simple
    ./dev python bench/gan_reference.py --variants dcgan --epochs 5 --merge
    ./dev python bench/gan_reference.py --report-only

Every row is one run of the gan pipeline, ``cpu`` profile: the shared
Fashion-MNIST IDX files, 55,000 train / 5,000 eval / 10,000 test, the
book's networks and batch size (32), RMSprop, for the epochs given here
(the book trains 50). The Evaluator (``SampleQualityEvaluator``) scores
5,000 generated images against the 10,000 test images in the feature space
of the pipeline's frozen classifier (the BN MLP's last hidden layer): the
Fréchet distance, the class coverage and the class histogram, which is the
mode-collapse check (target: all 10 classes, none above 20%). The floor row
scores 5,000 real eval images the same way: what a perfect generator
would get at this sample size. The change threshold is off
(``frechet_tolerance`` 1,000) because the last blessed model is another
variant's. Writes bench/results/gan_reference.json, bench/gan_reference.md,
a sample grid per variant and the training curves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common, generative  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist")
RESULTS = os.path.join(HERE, "results", "gan_reference.json")
PIPELINE = "gan_bench"
VARIANTS = ("dcgan", "conditional", "simple")
DEFAULT_EPOCHS = {"dcgan": 4, "conditional": 2, "simple": 10}
NOTES = [
    "- Mode-collapse check (target: samples in all 10 classes, none above 20%): met by the "
    "DCGAN after 4 epochs (every class between 5.1% and 13.1%) and by the conditional DCGAN "
    "(its `generate` asks for balanced labels: 8.1% to 11.7%). The simple GAN covers 7 "
    "classes: after 10 epochs it almost never draws sandals, sneakers or ankle boots, the "
    "partial collapse the book warns of, and the largest Fréchet distance.",
    "- The Fréchet distance is in the frozen classifier's 100-d feature space, not "
    "Inception's: compare rows with each other and with the floor (5,000 real eval images), "
    "not with published FIDs. Each row's pipeline trained its own feature classifier (the "
    "simple GAN's Transform scales to [0, 1], the others' to [-1, 1]; between the DCGAN and "
    "conditional rows an edit elsewhere in `models/` changed the code digest), all with the "
    "same data, seed and settings, so each row is scored against its own floor.",
    "- Seconds per epoch were measured while other work shared the 2 cores (the DCGAN's "
    "first epoch, 184 s or 107 ms per step of 32 images, was the least contended).",
]
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")


def run(variant: str, args) -> dict:
    epochs = args.epochs or DEFAULT_EPOCHS[variant]
    with generative.Timer() as timer:
        row = common.run_variant("gan", PIPELINE, args.work_dir, variant, "cpu",
                                 source=os.path.abspath(args.images), epochs=epochs,
                                 frechet_tolerance=1000.0, max_frechet_distance=1000.0,
                                 min_class_coverage=0.0, max_class_share=1.0)
    row["wall_seconds"] = timer.seconds
    row["book_epochs"] = 50
    generative.copy_grid(row, os.path.join(HERE, f"gan_{variant}_samples.png"))
    scorer = generative.Scorer(row)
    row["floor"] = scorer.floor(row["pipeline_root"], 5000)
    with open(os.path.join(common.newest(f"{row['pipeline_root']}/FeatureClassifier/model_run/*"),
                           "training_stats.json")) as f:
        history = json.load(f)["history"]
    row["classifier_val_accuracy"] = history["val_accuracy"][-1]
    return row


def write_report(rows: list[dict], path: str) -> None:
    lines = [
        "# GANs on Fashion-MNIST (MODELS.md §6)", "",
        "Produced by `bench/gan_reference.py` (its docstring says what each row is).",
        f"Command: `{rows[0]['command']}`" if rows else "", "",
        rows[0]["machine"] if rows else "", "",
        "| variant | epochs (book 50) | s/epoch | book's 50 epochs here | Fréchet distance | "
        "floor (real images) | class coverage | largest class share | "
        "feature classifier val acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_epoch = r["train_seconds"] / max(1, r["epochs"]) if r.get("train_seconds") else 0
        lines.append(
            f"| {r['variant']} | {r['epochs']} | {per_epoch:.0f} | {50 * per_epoch / 3600:.1f} h | "
            f"{r['frechet_distance']:.2f} | "
            f"{r['floor']['frechet_distance']:.2f} | {r['class_coverage']:.1f} | "
            f"{r['max_class_share']:.3f} | {r['classifier_val_accuracy']:.4f} |")
    lines += ["", "Class histogram of the generated images (the frozen classifier's labels):", "",
              "| variant | " + " | ".join(CLASSES) + " |",
              "|---|" + "---|" * len(CLASSES)]
    for r in rows:
        lines.append(f"| {r['variant']} | "
                     + " | ".join(f"{100 * h:.1f}%" for h in r["class_histogram"]) + " |")
    lines += ["", "Sample grids (the Evaluator's first 64 samples): "
              + ", ".join(f"`gan_{r['variant']}_samples.png`" for r in rows)
              + "; training curves: `gan_training_curves.png`.", ""]
    lines += ["Losses per epoch (train d_loss / g_loss; validation d_loss on real eval images "
              "and fresh fakes):", ""]
    for r in rows:
        h = r.get("history") or {}
        lines.append(f"- {r['variant']}: d_loss {[round(v, 3) for v in h.get('d_loss', [])]}, "
                     f"g_loss {[round(v, 3) for v in h.get('g_loss', [])]}, "
                     f"val_d_loss {[round(v, 3) for v in h.get('val_d_loss', [])]}")
    lines += ["", "## Reading the table", "", *NOTES, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default=os.path.abspath(SHARED))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--epochs", type=int, default=0, help="0 = DEFAULT_EPOCHS per variant")
    p.add_argument("--work-dir", default="/tmp/gan_bench")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--merge", action="store_true", help="keep the other rows of --results")
    p.add_argument("--report-only", action="store_true", help="rewrite the report from --results")
    args = p.parse_args()
    rows = common.load_rows(args.results, args.merge or args.report_only)
    command = "./dev python bench/gan_reference.py " + " ".join(sys.argv[1:])
    if not args.report_only:
        for variant in args.variants.split(","):
            row = run(variant, args)
            row.update(command=command, machine=common.machine_line())
            rows = [r for r in rows if r["variant"] != variant] + [row]
            common.save_rows(args.results, rows)
            write_report(rows, os.path.join(HERE, "gan_reference.md"))
        generative.plot_curves(rows, ("d_loss", "g_loss", "val_d_loss"),
                               os.path.join(HERE, "gan_training_curves.png"),
                               "GAN losses per epoch (Fashion-MNIST, batch 32)")
    write_report(rows, os.path.join(HERE, "gan_reference.md"))


if __name__ == "__main__":
    main()
