"""The scheduled-retraining scenario on the sentiment family, by hand.

    ./dev python bench/sentiment_retraining.py [--imdb ../shared/datasets/imdb/aclImdb_train.tar.gz]

Four spans of disjoint IMDb training reviews, each written as a folder
`<work>/data/span-{SPAN}/train/{pos,neg}/<id>.txt` (the layout a user's own
labelled reviews take), and after each one `python -m pipelines.retrain`
as cron would call it (smoke model, every review of the span, a rolling
window of the last two validated spans):

  span 1  1,000 reviews per class            trains cold, pushed
  span 1  again, unchanged                   nothing run (exit 4)
  span 2  2,500 new reviews per class        trains warm on spans 1-2, pushed
  span 3  2,500 reviews cut to 12 words      stopped by data validation
                                             (the length mix drifted)
  span 4  2,500 reviews, labels shuffled     trains on spans 2 and 4, not blessed
                                             (accuracy on span 4 is chance)

After each step the served model (the newest pushed version) must be the
expected one; the script exits 1 otherwise. Writes
bench/results/sentiment_retraining.json and bench/sentiment_retraining.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.retraining import last_run, run_retrain  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMDB = os.path.join(os.path.dirname(HERE), "..", "shared", "datasets", "imdb",
                            "aclImdb_train.tar.gz")
SPANS = ((1, 1000, "as is"), (2, 2500, "as is"), (3, 2500, "cut to 12 words"),
         (4, 2500, "labels shuffled"))
EXPECTED = {"span 1": 0, "span 1 again": 4, "span 2": 0, "span 3": 1, "span 4": 3}


def read_train_reviews(archive: str) -> dict[str, list[tuple[str, str]]]:
    """class -> [(file name, text)] of the archive's train/{pos,neg} reviews, in a seeded order."""
    reviews: dict[str, list[tuple[str, str]]] = {"pos": [], "neg": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 4 and parts[1] == "train" and parts[2] in reviews:
                reviews[parts[2]].append((parts[3], tar.extractfile(member).read().decode("utf-8")))
    rng = random.Random(0)
    for cls in reviews:
        reviews[cls].sort()
        rng.shuffle(reviews[cls])
    return reviews


def write_span(data: str, span: int, per_class: int, change: str,
               pool: dict[str, list[tuple[str, str]]]) -> None:
    rng = random.Random(span)
    taken = {cls: [pool[cls].pop() for _ in range(per_class)] for cls in ("pos", "neg")}
    for cls, items in taken.items():
        for name, text in items:
            if change == "cut to 12 words":
                text = " ".join(text.split()[:12])
            folder = cls if change != "labels shuffled" else rng.choice(("pos", "neg"))
            path = os.path.join(data, f"span-{span}", "train", folder, f"{cls}{name[:-4]}.txt")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imdb", default=DEFAULT_IMDB, help="the aclImdb train archive")
    parser.add_argument("--work-dir", default="/tmp/sentiment-retraining")
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    data = os.path.join(args.work_dir, "data")
    pool = read_train_reviews(args.imdb)
    # File names carry no rating (<class><id>.txt): shuffled labels would
    # contradict IMDb's ratings, and a user's own reviews have none.
    argv = ["--family", "sentiment", "--profile", "smoke", "--work-dir", args.work_dir,
            "--imdb", os.path.join(data, "span-{SPAN}"), "--no-rating",
            "--max-reviews-per-class", "0", "--train-spans", "2"]
    serving = os.path.join(args.work_dir, "serving_model", "sentiment")

    def served() -> str | None:
        versions = sorted(os.listdir(serving), key=int) if os.path.isdir(serving) else []
        return versions[-1] if versions else None

    rows: dict[str, dict] = {}

    def step(name: str) -> None:
        row = run_retrain(argv, expected=(0, 1, 3, 4))
        if row["exit"] != 4:
            row.update(last_run(args.work_dir, "sentiment"))
        row["served"] = served()
        rows[name] = row
        print(f"{name}: exit {row['exit']} in {row['seconds']} s, served {row['served']}",
              flush=True)

    for span, per_class, change in SPANS:
        write_span(data, span, per_class, change, pool)
        step(f"span {span}")
        if span == 1:
            step("span 1 again")

    problems = [f"{name}: exit {rows[name]['exit']}, expected {code}"
                for name, code in EXPECTED.items() if rows[name]["exit"] != code]
    pushed = {name: rows[name].get("pushed") for name in rows}
    if rows["span 2"]["served"] != pushed["span 2"] or rows["span 1"]["served"] != pushed["span 1"]:
        problems.append("a pushed model is not the one served after its step")
    for name in ("span 3", "span 4"):
        if rows[name]["served"] != rows["span 2"]["served"]:
            problems.append(f"{name}: the served model changed")
    result = {"machine": f"{platform.node()}: {os.cpu_count()} cores, "
                         f"{platform.processor() or platform.machine()}",
              "command": "./dev python bench/sentiment_retraining.py",
              "spans": [{"span": s, "reviews_per_class": n, "change": c} for s, n, c in SPANS],
              "rows": rows, "problems": problems}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "sentiment_retraining.json"), "w") as f:
        json.dump(result, f, indent=2)
    write_report(result)
    for problem in problems:
        print(f"UNEXPECTED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def write_report(result: dict) -> None:
    rows = result["rows"]
    lines = [
        "# Scheduled retraining, sentiment family (by hand)",
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {result['machine']}, no GPU.",
        "",
        "Spans of disjoint IMDb training reviews as labelled folders "
        "(`<work>/data/span-{SPAN}/train/{pos,neg}/`); each step is the cron command "
        "`python -m pipelines.retrain --family sentiment --profile smoke --imdb "
        "'<work>/data/span-{SPAN}' --no-rating --max-reviews-per-class 0 --train-spans 2`, "
        "timed from process start to exit. Accuracy: TFMA's on the newest span's eval split.",
        "",
        "| step | data | exit | wall time | trained on spans | start | accuracy | served after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    data = {f"span {s['span']}": f"{s['reviews_per_class']:,} per class, {s['change']}"
            for s in result["spans"]}
    data["span 1 again"] = "span 1 unchanged"
    for name, row in rows.items():
        metrics = row.get("metrics") or {}
        accuracy = metrics.get("binary_accuracy", metrics.get("accuracy"))
        outcome = {0: "0 pushed", 1: f"1 failed at {row.get('failed_at')}", 3: "3 not blessed",
                   4: "4 nothing new"}[row["exit"]]
        spans = ",".join(str(s) for s in row.get("trained_spans") or []) or "-"
        lines.append(f"| {name} | {data[name]} | {outcome} | {row['seconds']:.1f} s | {spans} | "
                     f"{row.get('warm_start') or '-'} | "
                     f"{'-' if accuracy is None else f'{accuracy:.4f}'} | {row['served'] or '-'} |")
    lines += ["", "Outcome: " + ("every step as expected; the served model after span 3 and "
                                 "span 4 is still span 2's."
                                 if not result["problems"] else
                                 "NOT as expected: " + "; ".join(result["problems"])), ""]
    reason = rows["span 3"].get("output") or []
    if reason:
        lines += ["What span 3's run printed last:", "", "```", *reason, "```", ""]
    with open(os.path.join(HERE, "sentiment_retraining.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
