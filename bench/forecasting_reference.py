"""Every forecasting variant through the pipeline factory at the book's settings.

    ./dev python bench/forecasting_reference.py            # full table (CPU: ~1 h)
    ./dev python bench/forecasting_reference.py --horizons 10 --variants linear seq2seq

Writes bench/results/forecasting_reference.json, bench/forecasting_reference.md
(the table beside the book's numbers) and bench/forecasting_forecasts.png.
Metrics are TFMA's, on the test split (1000 series), raw scale.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# MODELS.md §4 (validation MSE in the book).
BOOK = {
    (1, "naive"): 0.020, (1, "linear"): 0.004, (1, "simple_rnn"): 0.014, (1, "deep_rnn"): 0.003,
    (1, "deep_rnn_dense"): 0.003,
    (10, "naive"): 0.223, (10, "linear"): 0.0188, (10, "iterated_deep_rnn"): 0.029,
    (10, "deep_rnn_dense"): 0.008, (10, "seq2seq"): 0.006,
}
DEFAULT_VARIANTS = {
    1: ["linear", "simple_rnn", "deep_rnn", "deep_rnn_dense"],
    10: ["linear", "deep_rnn_dense", "seq2seq", "ln_rnn", "lstm", "gru", "conv_gru", "wavenet"],
}
LABELS = {"deep_rnn_dense": "deep_rnn_dense (seq2vec at 10 steps)",
          "iterated_deep_rnn": "deep_rnn (1-step) iterated 10×"}


def run_variant(work: str, horizon: int, variant: str, epochs: int | None,
                n_series: int | None) -> dict:
    options = {"horizon": horizon}
    if epochs:
        options["epochs"] = epochs
    if n_series:
        options["n_series"] = n_series
    row = common.run_variant("forecasting", f"forecasting_bench_h{horizon}", work, variant,
                             "reference", **options)
    row["horizon"] = horizon
    return row


def iterated_forecast(model_dir: str, series: np.ndarray, horizon: int) -> np.ndarray:
    """The book's iterated 1-step forecast: feed each prediction back in."""
    import tensorflow as tf

    forecast = tf.saved_model.load(model_dir).signatures["forecast"]
    window = series.astype("float32").copy()
    steps = []
    for _ in range(horizon):
        nxt = forecast(series=tf.constant(window))["forecast"].numpy()[:, :1]
        steps.append(nxt)
        window = np.concatenate([window[:, 1:], nxt], axis=1)
    return np.concatenate(steps, axis=1)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import tensorflow as tf

    from components.series_example_gen.series import synthetic_windows

    test = synthetic_windows(10_000, 50, 10, 42)["test"]
    candidates = [r for r in rows if r["horizon"] == 10 and r["variant"] in ("seq2seq", "deep_rnn_dense", "linear")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), sharey=True)
    t_in, t_out = np.arange(50), np.arange(50, 60)
    for ax, i in zip(axes, (0, 1, 2)):
        ax.plot(t_in, test.series[i], ".-", color="0.3", label="input")
        ax.plot(t_out, test.target[i], "o-", color="k", label="truth")
        ax.plot(t_out, np.repeat(test.series[i, -1], 10), ":", color="0.5", label="naive")
        for r in candidates:
            fc = tf.saved_model.load(r["model_dir"]).signatures["forecast"]
            y = fc(series=tf.constant(test.series[i:i + 1]))["forecast"].numpy()[0]
            ax.plot(t_out, y, "x-", label=r["variant"])
        ax.set_title(f"test series {test.ids[i]}")
        ax.set_xlabel("t")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def write_report(rows: list[dict], commands: list[str], path: str) -> None:
    lines = [
        "# Forecasting: every variant through the pipeline factory (reference settings)",
        "",
        "Commands (each row records the one that produced it in results/forecasting_reference.json):",
        "",
        *[f"    {c}" for c in commands],
        "",
        common.machine_line() + "  ",
        "Data: the book's synthetic series, seed 42, 10,000 series (7000 train / 2000 eval / "
        "1000 test). Metrics: TFMA on the **test** split, raw scale (the book reports validation MSE). "
        "For seq2seq-style variants the served forecast is the last time step, so TFMA's MSE "
        "is the book's `last_time_step_mse`.",
        "",
        "| horizon | variant | test MSE | book MSE | ratio | MAE | skill vs naive | epochs | trainer ex/s | pipeline wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        book = BOOK.get((r["horizon"], r["variant"]))
        mse = r.get("mean_squared_error")
        ratio = f"{mse / book:.2f}" if (book and mse is not None) else ""
        def fmt(v, spec=".4f"):
            return "" if v is None else format(v, spec)
        lines.append(
            f"| {r['horizon']} | {LABELS.get(r['variant'], r['variant'])} | {fmt(mse)} | "
            f"{'' if book is None else book} | {ratio} | {fmt(r.get('mean_absolute_error'))} | "
            f"{fmt(r.get('naive_forecast_skill'), '.3f')} | {r.get('epochs', '')} | "
            f"{fmt(r.get('examples_per_second'), '.0f')} | {fmt(r.get('wall_seconds'), '.0f')} |")
    lines += ["", "Trainer ex/s and wall times were measured while other work shared the 2 cores; "
              "bench/pipeline_cost.md has timings on a quiet machine.", "",
              "![forecasts](forecasting_forecasts.png)", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def report_only(results: str) -> None:
    rows = common.load_rows(results, True)
    default = "./dev python bench/forecasting_reference.py"
    commands = sorted({r.get("command", default).strip() for r in rows
                       if r["variant"] != "iterated_deep_rnn"})
    write_report(rows, commands, os.path.join(HERE, "forecasting_reference.md"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--horizons", type=int, nargs="+", default=[1, 10])
    p.add_argument("--variants", nargs="+", help="default: every variant of the table")
    p.add_argument("--epochs", type=int, help="override the book's 20 epochs")
    p.add_argument("--n-series", type=int)
    p.add_argument("--work-dir", default="/tmp/forecasting_bench")
    p.add_argument("--results", default=os.path.join(HERE, "results", "forecasting_reference.json"))
    p.add_argument("--report-only", action="store_true", help="rewrite the report from --results")
    p.add_argument("--merge", action="store_true",
                   help="keep the other rows of an earlier results file, replacing re-run ones")
    args = p.parse_args()

    if args.report_only:
        report_only(args.results)
        return
    kept = common.load_rows(args.results, args.merge)
    rows: list[dict] = []
    for horizon in args.horizons:
        for variant in args.variants or (["naive"] + DEFAULT_VARIANTS[horizon]):
            print(f"== horizon {horizon}: {variant}", file=sys.stderr, flush=True)
            row = run_variant(args.work_dir, horizon, variant, args.epochs, args.n_series)
            row["command"] = "./dev python bench/forecasting_reference.py " + " ".join(sys.argv[1:])
            rows.append(row)
            common.save_rows(args.results, kept + rows)

    one_step = [r for r in rows if r["horizon"] == 1 and r["variant"] == "deep_rnn"]
    if one_step:
        from components.series_example_gen.series import naive_mse, synthetic_windows

        test = synthetic_windows(10_000, 50, 10, 42)["test"]
        pred = iterated_forecast(one_step[0]["model_dir"], test.series, 10)
        rows.append({"horizon": 10, "variant": "iterated_deep_rnn",
                     "mean_squared_error": float(np.mean((pred - test.target) ** 2)),
                     "mean_absolute_error": float(np.mean(np.abs(pred - test.target))),
                     "naive_forecast_skill": 1 - float(np.mean((pred - test.target) ** 2)) / naive_mse(test)})
    rerun = {(r["horizon"], r["variant"]) for r in rows}
    if any(r["variant"] == "iterated_deep_rnn" for r in rows):
        rerun.add((10, "iterated_deep_rnn"))
    rows = [r for r in kept if (r["horizon"], r["variant"]) not in rerun] + rows
    # The naive rows: TFMA's naive MSE from any run of that horizon.
    for r in rows:
        if r["variant"] == "naive" and "naive_mean_squared_error" in r:
            r["mean_squared_error"] = r["naive_mean_squared_error"]
    rows.sort(key=lambda r: (r["horizon"], 0 if r["variant"] == "naive" else 1))
    common.save_rows(args.results, rows)
    default = "./dev python bench/forecasting_reference.py"
    commands = sorted({r.get("command", default).strip() for r in rows
                       if r["variant"] != "iterated_deep_rnn"})
    write_report(rows, commands, os.path.join(HERE, "forecasting_reference.md"))
    if any(r["horizon"] == 10 for r in rows):
        plot(rows, os.path.join(HERE, "forecasting_forecasts.png"))


if __name__ == "__main__":
    main()
