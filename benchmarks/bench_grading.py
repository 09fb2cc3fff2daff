"""How long the autograder takes for a class: N submissions of chapter 1, graded in parallel.

    .venv/bin/python benchmarks/bench_grading.py [--n 30] [--jobs JOBS] [--assignment NAME]

Builds N submissions from the assignment's own notebooks (a third solved, a third blank, a
third with the first three exercises solved), grades one alone first (the baseline: a cold
kernel, a cold compilation cache), then all N with ``--jobs`` workers, and prints a Markdown
table: wall time, seconds per submission, and the ratio to the single submission.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib import grade  # noqa: E402


def _submissions(folder: Path, name: str, n: int) -> list[Path]:
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    blank = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    partly = nbformat.from_dict(json.loads(json.dumps(blank)))
    solved = 0
    for cell in partly.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if solved < 3 and cell.cell_type == "code" and cell.metadata["nbgrader"]["solution"]:
            source = next(
                c.source for c in solution.cells if c.metadata["nbgrader"]["grade_id"] == gid
            )
            cell.source = "".join(
                line for line in source.splitlines(keepends=True) if "### " not in line
            )
            solved += 1
    paths = []
    for i in range(n):
        nb = (solution, blank, partly)[i % 3]
        path = folder / f"student{i:02d}" / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--assignment", default="ch01_perceptron")
    args = parser.parse_args()
    assignment = ROOT / "solutions" / f"{args.assignment}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        paths = _submissions(Path(tmp), args.assignment, args.n)
        start = time.perf_counter()
        alone = grade.grade_submissions(paths[:1], assignment, roots=[Path(tmp)], jobs=1)
        single = time.perf_counter() - start
        start = time.perf_counter()
        results = grade.grade_submissions(paths, assignment, roots=[Path(tmp)], jobs=args.jobs)
        total = time.perf_counter() - start
    points = sorted({r.total for r in results})
    print(f"## Grading {args.n} submissions of {args.assignment} ({os.cpu_count()} CPU cores)\n")
    print("| what | wall time | per submission | ratio to one alone |")
    print("| --- | --- | --- | --- |")
    print(f"| one submission alone (baseline) | {single:.1f} s | {single:.1f} s | 1.00 |")
    print(
        f"| {args.n} submissions, {args.jobs} at a time | {total:.1f} s | "
        f"{total / args.n:.2f} s | {total / args.n / single:.2f} |"
    )
    print(
        f"\nTotals found: {points} (of {alone[0].possible:g}); flags: "
        f"{sum(bool(r.flags) for r in results)}"
    )


if __name__ == "__main__":
    main()
