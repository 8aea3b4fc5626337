"""DDPM on Fashion-MNIST through the pipeline factory, and DDIM against the
full ancestral loop.

    ./dev python bench/diffusion_reference.py                  # train (cpu profile) + samplers
    ./dev python bench/diffusion_reference.py --epochs 2 --samples 200
    ./dev python bench/diffusion_reference.py --samplers-only  # reuse the last trained model
    ./dev python bench/diffusion_reference.py --samplers-only --reexport --no-ddpm
    ./dev python bench/diffusion_reference.py --report-only

1. One run of the diffusion pipeline, ``cpu`` profile with `--epochs`: the
   shared Fashion-MNIST IDX files, 55,000 train / 5,000 eval / 10,000 test,
   the book's U-Net, T = 4,000 cosine schedule, Huber loss, Nadam, batch 32.
   Recorded: the validation loss per epoch (the book's 0.0379 is after 100
   epochs), time per epoch, the Evaluator's score (DDIM, 50 steps).
2. With the trained model's own ``generate`` signature: `--samples` images
   per sampler (DDIM at 10, 25, 50 and 100 steps, and the full 4,000-step
   DDPM loop, all with the same seeds), each scored like the Evaluator does
   (Fréchet distance and class coverage in the frozen classifier's feature
   space against the 10,000 test images), and the wall time per 16 images.
   The floor row scores as many real eval images: the metric's value for a
   perfect generator at this sample size.

Writes bench/results/diffusion_reference.json, bench/diffusion_reference.md,
a sample grid per sampler and the validation-loss curve.
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
RESULTS = os.path.join(HERE, "results", "diffusion_reference.json")
UNCLIPPED = os.path.join(HERE, "results", "diffusion_samplers_unclipped.json")
PIPELINE = "diffusion_bench"
DDIM_STEPS = (10, 25, 50, 100)
BOOK_VAL_LOSS = 0.0379
BOOK_EPOCHS = 100


def train(args) -> dict:
    with generative.Timer() as timer:
        row = common.run_variant("diffusion", PIPELINE, args.work_dir, "ddpm", "cpu",
                                 source=os.path.abspath(args.images), epochs=args.epochs,
                                 frechet_tolerance=1000.0, max_frechet_distance=1000.0)
    row["wall_seconds"] = timer.seconds
    return row


def export_current(row: dict, path: str) -> str:
    """The trained weights (the Trainer's Keras file) exported with this
    checkout's serving code: sampler changes are measured without retraining."""
    import keras
    import tensorflow as tf
    import tensorflow_transform as tft

    from models.diffusion import trainer

    run_dir = common.newest(f"{row['pipeline_root']}/Trainer/model_run/*")
    with open(os.path.join(run_dir, "training_stats.json")) as f:
        config = trainer.TrainConfig(**json.load(f)["config"])
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    tft_output = tft.TFTransformOutput(
        common.newest(f"{row['pipeline_root']}/Transform/transform_graph/*"))
    serving = trainer.DiffusionServing(model, tft_output, config)
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return path


def compare_samplers(row: dict, n: int, ddpm: bool, model_dir: str) -> list[dict]:
    scorer = generative.Scorer(row)
    results = [{"sampler": "real eval images (floor)", "steps": 0, **scorer.floor(
        row["pipeline_root"], n)}]
    settings = [("ddim", s) for s in DDIM_STEPS] + ([("ddpm", 4000)] if ddpm else [])
    for sampler, steps in settings:
        # Calls of 16 images, as a client would ask: the time per call is the
        # figure the speed-up compares.
        images, seconds = generative.sample(model_dir, n, batch_size=16, steps=steps,
                                            sampler=sampler)
        seconds_16 = seconds / (n / 16)
        results.append({"sampler": sampler, "steps": steps, "seconds": seconds,
                        "seconds_per_16": seconds_16, **scorer.score(images)})
        generative.grid_png(images[:64], os.path.join(HERE, f"diffusion_{sampler}_{steps}.png"))
        print(f"{sampler} {steps}: FD {results[-1]['frechet_distance']:.2f}, "
              f"{seconds_16:.1f} s / 16 images", flush=True)
    return results


def write_report(row: dict, samplers: list[dict], path: str) -> None:
    history = row.get("history") or {}
    per_epoch = row["train_seconds"] / max(1, row["epochs"])
    lines = [
        "# Diffusion (DDPM) on Fashion-MNIST (MODELS.md §7)", "",
        "Produced by `bench/diffusion_reference.py` (its docstring says what each row is).",
        f"Command: `{row['command']}`", "", row["machine"], "",
        "## Training", "",
        f"{row['epochs']} epochs of {row['steps_per_epoch']} steps (batch 32) in "
        f"{row['train_seconds']:.0f} s ({per_epoch:.0f} s per epoch). The book's 100 epochs "
        f"would take about {BOOK_EPOCHS * per_epoch / 3600:.1f} hours on this machine.", "",
        "| epoch | train loss | validation loss (Huber) |", "|---|---|---|",
    ]
    for i, (loss, val) in enumerate(zip(history.get("loss", []), history.get("val_loss", [])), 1):
        lines.append(f"| {i} | {loss:.4f} | {val:.4f} |")
    final = history.get("val_loss", [float("nan")])[-1]
    lines += ["", f"Validation loss after {row['epochs']} epochs: **{final:.4f}**; the book's "
              f"after 100: {BOOK_VAL_LOSS} ({100 * (final / BOOK_VAL_LOSS - 1):+.0f}%).", "",
              f"The pipeline's Evaluator (DDIM, 50 steps, {row['num_samples']} images, with the "
              f"first samplers, see the last section): Fréchet distance "
              f"{row['frechet_distance']:.2f}, class coverage {row['class_coverage']:.1f}, "
              f"largest class share {row['max_class_share']:.3f}. The sampler rows below use "
              "the same weights exported with the current serving code (`--reexport`).", "",
              "## Samplers", "",
              f"{samplers[0]['num_samples'] if samplers else 0} images per sampler, the same "
              "seeds; Fréchet distance in the frozen classifier's feature space against the "
              "10,000 test images.", "",
              "| sampler | model calls | Fréchet distance | class coverage | largest class share "
              "| s per 16 images | speed-up vs DDPM |", "|---|---|---|---|---|---|---|"]
    ddpm = next((s for s in samplers if s["sampler"] == "ddpm"), None)
    for s in samplers:
        speed = (f"{ddpm['seconds_per_16'] / s['seconds_per_16']:.0f}×"
                 if ddpm and s.get("seconds_per_16") else "")
        time_16 = f"{s['seconds_per_16']:.2f}" if s.get("seconds_per_16") else ""
        lines.append(f"| {s['sampler']} | {s['steps'] or ''} | {s['frechet_distance']:.2f} | "
                     f"{s['class_coverage']:.1f} | {s['max_class_share']:.3f} | {time_16} | "
                     f"{speed} |")
    fast = [s for s in samplers if s["sampler"] == "ddim" and ddpm and s["steps"] <= 100
            and ddpm["seconds_per_16"] / s["seconds_per_16"] >= 40
            and s["frechet_distance"] <= 1.2 * ddpm["frechet_distance"]]
    if ddpm:
        lines += ["", "Target (DDIM at ≤ 100 steps ≥ 40× faster than the 4,000-step loop, with a "
                  "Fréchet distance no worse than 1.2× the loop's): "
                  + ("met by " + ", ".join(f"{s['steps']} steps" for s in fast) if fast
                     else "not met") + ". With this 4-epoch model the deterministic sampler "
                  "scores better than the ancestral loop, whose 4,000 noisy steps compound the "
                  "network's error; the DDIM paper's 'about equal' is for fully trained models. "
                  "Class coverage is low for every sampler (the largest class takes 37-52% of "
                  "the samples): a 4-epoch U-Net, not the book's 100 epochs."]
    lines += ["", "Grids: " + ", ".join(f"`diffusion_{s['sampler']}_{s['steps']}.png`"
                                        for s in samplers if s["steps"]) + ".", ""]
    if os.path.exists(UNCLIPPED):
        with open(UNCLIPPED) as f:
            before = json.load(f)[1:]
        lines += ["## Before the sampler fixes", "",
                  "The same trained weights sampled with the first samplers (commit 54442e7): "
                  "DDIM kept the network's own ε̂ after clipping x̂0, and DDPM used the book's "
                  "update x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t + √β_t z, which at t = T "
                  "(α_T = 0.001) multiplies the network's error by 32. Saturated black or "
                  "white samples made the distances explode; the current samplers recompute "
                  "ε̂ from the clipped x̂0 (DDIM) and step with the posterior mean of the clipped "
                  "x̂0 (DDPM), as the DDPM/DDIM reference code does.", "",
                  "| sampler | model calls | Fréchet distance |", "|---|---|---|"]
        lines += [f"| {s['sampler']} | {s['steps'] or ''} | {s['frechet_distance']:.1f} |"
                  for s in before]
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default=os.path.abspath(SHARED))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=64, help="images per sampler (a multiple of 16)")
    p.add_argument("--no-ddpm", action="store_true", help="skip the 4,000-step loop")
    p.add_argument("--work-dir", default="/tmp/diffusion_bench")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--samplers-only", action="store_true")
    p.add_argument("--reexport", action="store_true",
                   help="sample from the trained weights exported with this checkout's code")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    command = "./dev python bench/diffusion_reference.py " + " ".join(sys.argv[1:])
    saved = common.load_rows(args.results, True)
    row = saved[0] if saved and (args.samplers_only or args.report_only) else None
    samplers = saved[1:] if row and args.report_only else []
    if row is None:
        row = train(args)
        row.update(command=command, machine=common.machine_line())
        common.save_rows(args.results, [row])
    if not args.report_only:
        model_dir = row["model_dir"]
        if args.reexport:
            model_dir = export_current(row, os.path.join(args.work_dir, "reexported"))
        samplers = compare_samplers(row, args.samples, not args.no_ddpm, model_dir)
        if args.no_ddpm:  # keep a measured DDPM row of the same weights
            samplers += [s for s in saved[1:] if s["sampler"] == "ddpm"]
        common.save_rows(args.results, [row, *samplers])
        generative.plot_curves([row], ("loss", "val_loss"),
                               os.path.join(HERE, "diffusion_training_curve.png"),
                               "DDPM Huber loss per epoch (Fashion-MNIST, batch 32)")
    write_report(row, samplers, os.path.join(HERE, "diffusion_reference.md"))


if __name__ == "__main__":
    main()
