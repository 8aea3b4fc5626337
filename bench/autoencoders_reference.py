"""The autoencoder variants through the pipeline factory on Fashion-MNIST.

    ./dev python bench/autoencoders_reference.py                    # every variant, book epochs
    ./dev python bench/autoencoders_reference.py --variants convolutional --epochs 3 --merge
    ./dev python bench/autoencoders_reference.py --figures-only     # PNGs from the last runs
    ./dev python bench/autoencoders_reference.py --report-only

Every row is one run of the autoencoders pipeline, reference profile: the
shared Fashion-MNIST IDX files, 55,000 train / 5,000 eval (the book's
validation set: the last 5,000 training images) / 10,000 test (t10k, the
blessing split); the book's model, epochs and batch size per variant unless
`--epochs` says otherwise. Recorded per variant: Keras' validation loss on
the eval split after the last epoch (the book's number: regularization and
latent terms included), the reconstruction MSE alone on the eval split, the
Evaluator's (TFMA) reconstruction MSE on the test split, time per epoch,
and for the sparse variants the mean activation of the codings.

Figures (from the pushed SavedModels' signatures, on test images):
autoencoders_reconstructions.png (originals and each variant's
reconstructions), autoencoders_vae_samples.png (`sample`),
autoencoders_vae_interpolation.png (`encode`, then `decode` of codings on
the line between two images) and autoencoders_tsne.png (t-SNE of the
stacked autoencoder's 30-d codings of 5,000 test images, coloured by class).

The variants share one pipeline (ExampleGen, StatisticsGen and Transform run
once, then come from the cache); the change threshold is turned off
(`mse_tolerance` 1.0) because the last blessed model is another variant's.
Writes bench/results/autoencoders_reference.json and
bench/autoencoders_reference.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets", "fashion-mnist")
RESULTS = os.path.join(HERE, "results", "autoencoders_reference.json")
PIPELINE = "autoencoders_bench"
VARIANTS = ("stacked", "tied", "convolutional", "denoising", "sparse_l1", "sparse_kl",
            "variational")
FIGURES = {"reconstructions": "autoencoders_reconstructions.png",
           "samples": "autoencoders_vae_samples.png",
           "interpolation": "autoencoders_vae_interpolation.png",
           "tsne": "autoencoders_tsne.png"}
TSNE_IMAGES = 5_000


def _book():
    from models.autoencoders import architectures

    return architectures


def test_images(pipeline_root: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [n, 28, 28] test images and their labels, from ExampleGen's output."""
    import tensorflow as tf

    from preprocessing import image_contract as contract
    from tests import pipeline_outputs as outputs

    split = os.path.join(common.newest(f"{pipeline_root}/ExampleGen/examples/*"), "Split-test")
    rows = outputs.read_examples(split, {
        contract.IMAGE: tf.io.FixedLenFeature([28 * 28], tf.int64),
        contract.LABEL: tf.io.FixedLenFeature([], tf.int64)})
    return rows[contract.IMAGE].reshape(-1, 28, 28).astype(np.uint8), rows[contract.LABEL]


def coding_activity(row: dict) -> dict:
    """Mean coding activation over the test images (sparse variants: the
    book's KL target is 0.1) and the share of codings above 0.5."""
    import tensorflow as tf

    images, _ = test_images(row["pipeline_root"])
    encode = tf.saved_model.load(row["model_dir"]).signatures["encode"]
    codings = np.concatenate([encode(images=tf.constant(images[i:i + 1000]))["codings"].numpy()
                              for i in range(0, len(images), 1000)])
    return {"mean_activation": float(codings.mean()),
            "share_above_half": float((codings > 0.5).mean())}


def run(variant: str, args) -> dict:
    options = {"source": os.path.abspath(args.images), "mse_tolerance": 1.0}
    if args.epochs:
        options["epochs"] = args.epochs
    t0 = time.perf_counter()
    row = common.run_variant("autoencoders", PIPELINE, args.work_dir, variant, "reference",
                             **options)
    row["wall_seconds"] = time.perf_counter() - t0
    book = _book()
    row["book_epochs"] = book.BOOK_EPOCHS[variant]
    row["batch_size"] = book.BOOK_BATCH_SIZE[variant]
    with open(os.path.join(common.newest(f"{row['pipeline_root']}/Trainer/model_run/*"),
                           "training_stats.json")) as f:
        row["parameters"] = json.load(f).get("parameters")
    import tensorflow_model_analysis as tfma

    evaluation = common.newest(f"{row['pipeline_root']}/Evaluator/evaluation/*")
    row["blessed"] = bool(tfma.load_validation_result(evaluation).validation_ok)
    if variant in ("sparse_l1", "sparse_kl"):
        row.update(coding_activity(row))
    return row


# --- figures ----------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _latest_model(rows: list[dict], variant: str) -> dict | None:
    found = [r for r in rows if r["variant"] == variant and os.path.isdir(r.get("model_dir", ""))]
    return found[-1] if found else None


def plot_reconstructions(rows: list[dict], path: str, n: int = 10) -> None:
    import tensorflow as tf

    plt = _plt()
    present = [r for r in (_latest_model(rows, v) for v in VARIANTS) if r]
    if not present:
        return
    images, _ = test_images(present[0]["pipeline_root"])
    images = images[:n]
    fig, axes = plt.subplots(len(present) + 1, n, figsize=(n * 1.0, (len(present) + 1) * 1.1))
    lines = [("original", images)]
    for row in present:
        model = tf.saved_model.load(row["model_dir"])
        out = model.signatures["reconstruct"](images=tf.constant(images))
        lines.append((f"{row['variant']}", out["images"].numpy()[..., 0]))
    for r, (label, pictures) in enumerate(lines):
        for c in range(n):
            axes[r, c].imshow(pictures[c], cmap="binary", vmin=0, vmax=255)
            axes[r, c].axis("off")
        axes[r, 0].text(-4, 14, label, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(left=0.16, wspace=0.05, hspace=0.05)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_vae(rows: list[dict], samples_path: str, interpolation_path: str) -> None:
    import tensorflow as tf

    plt = _plt()
    row = _latest_model(rows, "variational")
    if not row:
        return
    model = tf.saved_model.load(row["model_dir"])
    samples = model.signatures["sample"](n=tf.constant(36, tf.int32),
                                         seed=tf.constant(42, tf.int64))["images"].numpy()
    fig, axes = plt.subplots(3, 12, figsize=(12, 3.2))
    for ax, image in zip(axes.flat, samples):
        ax.imshow(image[..., 0], cmap="binary", vmin=0, vmax=255)
        ax.axis("off")
    fig.suptitle("VAE: decoded codings drawn from N(0, I) (`sample`, seed 42)")
    fig.savefig(samples_path, dpi=90, bbox_inches="tight")
    plt.close(fig)

    # Semantic interpolation: pairs of test images of different classes.
    images, labels = test_images(row["pipeline_root"])
    pairs = []
    for a, b in ((0, 9), (1, 7), (5, 8), (2, 3)):  # trouser→boot, T-shirt→sneaker, ...
        pairs.append((int(np.flatnonzero(labels == a)[0]), int(np.flatnonzero(labels == b)[0])))
    steps = np.linspace(0.0, 1.0, 9, dtype=np.float32)
    fig, axes = plt.subplots(len(pairs), len(steps), figsize=(len(steps) * 1.0, len(pairs) * 1.1))
    for r, (i, j) in enumerate(pairs):
        codings = model.signatures["encode"](images=tf.constant(images[[i, j]]))["codings"].numpy()
        line = (1 - steps[:, None]) * codings[0] + steps[:, None] * codings[1]
        decoded = model.signatures["decode"](codings=tf.constant(line))["images"].numpy()
        for c, image in enumerate(decoded):
            axes[r, c].imshow(image[..., 0], cmap="binary", vmin=0, vmax=255)
            axes[r, c].axis("off")
    fig.suptitle("VAE: decoded codings on the line between two test images' mean codings")
    fig.savefig(interpolation_path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_tsne(rows: list[dict], path: str) -> dict:
    import tensorflow as tf
    from sklearn.manifold import TSNE

    from preprocessing import image_contract as contract

    plt = _plt()
    row = _latest_model(rows, "stacked")
    if not row:
        return {}
    images, labels = test_images(row["pipeline_root"])
    images, labels = images[:TSNE_IMAGES], labels[:TSNE_IMAGES]
    encode = tf.saved_model.load(row["model_dir"]).signatures["encode"]
    codings = encode(images=tf.constant(images))["codings"].numpy()
    t0 = time.perf_counter()
    points = TSNE(init="pca", learning_rate="auto", random_state=42).fit_transform(codings)
    seconds = time.perf_counter() - t0
    points = (points - points.min(0)) / (points.max(0) - points.min(0))
    fig, ax = plt.subplots(figsize=(9, 8))
    cmap = plt.get_cmap("tab10")
    ax.scatter(points[:, 0], points[:, 1], c=labels, s=6, cmap="tab10")
    for k, name in enumerate(contract.FASHION_MNIST_CLASSES):
        centre = np.median(points[labels == k], axis=0)
        ax.text(*centre, name, fontsize=11, weight="bold", color=cmap(k),
                ha="center", va="center",
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    ax.set_title(f"t-SNE of the stacked autoencoder's 30-d codings ({len(images):,} test images)")
    ax.axis("off")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return {"tsne_images": len(images), "tsne_seconds": seconds}


# --- report --------------------------------------------------------------------------------


def write_report(rows: list[dict], path: str, extras: dict) -> None:
    book = _book()
    lines = ["# Autoencoders on Fashion-MNIST through the pipeline", "",
             rows[0].get("machine", common.machine_line()) if rows else common.machine_line(), "",
             "Data: the shared Fashion-MNIST IDX files; 55,000 train / 5,000 eval (the last "
             "5,000 training images: the book's validation set) / 10,000 test (t10k, the "
             "blessing split). Pixels scaled to [0, 1] by Transform (x / 255). The book's "
             "models, Nadam 1e-3, MSE; each variant's epochs and batch size from the book "
             "unless the row says otherwise.", "",
             "- **val loss**: Keras' loss on the eval split after the last epoch: the book's "
             "figure (the sparse variants' activity penalties and the VAE's latent loss / 784 "
             "are part of it; the VAE reconstructs from *sampled* codings).",
             "- **val MSE**: the reconstruction MSE alone, same pass.",
             "- **test MSE (TFMA)**: the Evaluator's `reconstruction_mse` on the test split "
             "through the exported `serving_default` (raw tf.Examples in; deterministic: the "
             "VAE decodes its mean codings, the denoising noise is off).", "",
             "| variant | epochs (book) | batch | val loss | book val loss | val MSE | test MSE "
             "(TFMA) | params | s/epoch | train time | pipeline wall | blessed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by_variant = {r["variant"]: r for r in rows}
    for variant in VARIANTS:
        r = by_variant.get(variant)
        if not r:
            lines.append(f"| {variant} | not run | | | {book.BOOK_VAL_LOSS[variant]} | | | | | | | |")
            continue
        history = r.get("history") or {}
        val_loss = history.get("val_loss", [float("nan")])[-1]
        val_mse = history.get("val_mse", [float("nan")])[-1]
        per_epoch = r["train_seconds"] / r["epochs"] if r.get("epochs") else float("nan")
        lines.append(
            f"| {variant} | {r['epochs']} ({r['book_epochs']}) | {r['batch_size']} | "
            f"{val_loss:.4f} | {book.BOOK_VAL_LOSS[variant]} | {val_mse:.4f} | "
            f"{r.get('reconstruction_mse', float('nan')):.4f} | {r.get('parameters', '')} | "
            f"{per_epoch:.1f} | {r['train_seconds'] / 60:.1f} min | "
            f"{r['wall_seconds'] / 60:.1f} min | {'yes' if r.get('blessed') else 'no'} |")
    commands = sorted({r["command"] for r in rows if r.get("command")})
    lines += ["", "Commands:", ""] + [f"- `{c}`" for c in commands]
    short = [r for r in rows if r.get("epochs") and r["epochs"] < r["book_epochs"]]
    if short:
        lines += ["", "Fewer epochs than the book (CPU time): "
                  + "; ".join(f"{r['variant']} {r['epochs']} of {r['book_epochs']} "
                              f"(the book's schedule would take ~"
                              f"{r['train_seconds'] / r['epochs'] * r['book_epochs'] / 60:.0f} min "
                              "of training here)" for r in short) + "."]
    sparse = [r for r in rows if "mean_activation" in r]
    if sparse:
        lines += ["", "Sparsity of the 300 codings over the test images (mean activation; the KL "
                  "regularizer's target is 0.1):", ""]
        lines += [f"- {r['variant']}: mean activation {r['mean_activation']:.3f}, "
                  f"{r['share_above_half']:.1%} of codings above 0.5" for r in sparse]
    lines += ["", "Learning curves (val loss on the eval split after each epoch):", ""]
    for variant in VARIANTS:
        r = by_variant.get(variant)
        if r:
            curve = ", ".join(f"{v:.4f}" for v in (r.get("history") or {}).get("val_loss", []))
            lines.append(f"- {variant}: {curve}")
    lines += ["", "## Figures", "",
              "Test images (top) and their reconstructions through each pushed model's "
              "`reconstruct` signature:", "", f"![reconstructions]({FIGURES['reconstructions']})", "",
              "Variational autoencoder, new images from the `sample` signature:", "",
              f"![samples]({FIGURES['samples']})", "",
              "Semantic interpolation: decoded points on the line between the mean codings of "
              "two test images of different classes:", "",
              f"![interpolation]({FIGURES['interpolation']})", ""]
    if extras.get("tsne_images"):
        lines += [f"t-SNE of the stacked autoencoder's 30-d codings of the first "
                  f"{extras['tsne_images']:,} test images (scikit-learn, "
                  f"{extras['tsne_seconds']:.0f} s), coloured by class:", ""]
    lines += [f"![t-SNE]({FIGURES['tsne']})", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default=os.path.abspath(SHARED))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--epochs", type=int, default=0, help="0 = the book's per variant")
    p.add_argument("--work-dir", default="/tmp/autoencoders_bench")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--merge", action="store_true", help="keep the other rows of --results")
    p.add_argument("--report-only", action="store_true", help="rewrite the report from --results")
    p.add_argument("--figures-only", action="store_true", help="redraw the PNGs and the report")
    args = p.parse_args()
    rows = common.load_rows(args.results, args.merge or args.report_only or args.figures_only)
    command = "./dev python bench/autoencoders_reference.py " + " ".join(sys.argv[1:])
    if not (args.report_only or args.figures_only):
        for variant in args.variants.split(","):
            row = run(variant, args)
            row.update(command=command, machine=common.machine_line())
            rows = [r for r in rows if r["variant"] != variant] + [row]
            common.save_rows(args.results, rows)
            write_report(rows, os.path.join(HERE, "autoencoders_reference.md"), {})
    extras = {}
    if not args.report_only:
        plot_reconstructions(rows, os.path.join(HERE, FIGURES["reconstructions"]))
        plot_vae(rows, os.path.join(HERE, FIGURES["samples"]), os.path.join(HERE, FIGURES["interpolation"]))
        extras = plot_tsne(rows, os.path.join(HERE, FIGURES["tsne"]))
        if extras:
            for r in rows:
                r.pop("tsne_images", None), r.pop("tsne_seconds", None)
            rows[0].update(extras)
            common.save_rows(args.results, rows)
    else:
        extras = {k: rows[0][k] for k in ("tsne_images", "tsne_seconds") if rows and k in rows[0]}
    write_report(rows, os.path.join(HERE, "autoencoders_reference.md"), extras)


if __name__ == "__main__":
    main()
