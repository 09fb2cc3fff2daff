"""Try the grader against every attack of ``tests/grading_attacks.py``, with ``make grade``.

::

    python scripts/grading_attacks.py build DIR     # DIR/submissions: 43 attacks + 4 honest ones
    make grade SUBMISSIONS=DIR/submissions ASSIGNMENT=ch01_perceptron \\
         OUT=DIR/grades/grades.csv GRADE_ARGS="--root DIR/course --memory-limit 1500"
    python scripts/grading_attacks.py check DIR     # the verdict, as a Markdown table

``build`` writes the submissions, what the attacks aim at (a victim's perfect submission, an older
gradebook, a copy of ``solutions/``, a folder that stands for the rest of the machine) and the
hashes of every file there and in ``course_lib/``. ``check`` reads the gradebook and says, for
each attack, the points, the flags and whether the grader did what ``Expect`` asks; then whether
any file changed and whether any process an attack started is still alive. It exits 1 if
anything is wrong. Every path an attack aims at is inside DIR (see the corpus's docstring).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import grading_attacks as ga  # noqa: E402

HONEST = {"alice": 11.0, "bob": 0.0, "carol": 3.0}


def _watched(ctx: ga.AttackContext) -> dict[str, Path]:
    return {
        "submissions": ctx.submissions,
        "solutions": ctx.solutions,
        "outside": ctx.outside,
        "library": ROOT / "course_lib",
    }


def build(folder: Path) -> int:
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        print(f"error: {folder} is not empty", file=sys.stderr)
        return 2
    ctx = ga.AttackContext.create(folder)
    solution = nbformat.read(ROOT / "solutions" / f"{ga.ASSIGNMENT}.ipynb", as_version=4)
    blank = nbformat.read(ROOT / "exercises" / f"{ga.ASSIGNMENT}_exercises.ipynb", as_version=4)
    ga.prepare(ctx, solution, blank)
    for attack in ga.ATTACKS:
        ga.write_submission(attack, ctx, solution, blank)
    partly = ga._copy(blank)
    theirs = ga.solution_cells(solution)
    for name, cell in list(ga.solution_cells(partly).items())[:3]:
        lines = ga._source(theirs[name]).splitlines(keepends=True)
        cell.source = "".join(line for line in lines if "### " not in line)
    for name, nb in (("alice", solution), ("bob", blank), ("carol", partly)):
        nbformat.write(nb, ctx.submissions / f"{name}_{ga.ASSIGNMENT}.ipynb")
    before = {k: ga.fingerprints(v) for k, v in _watched(ctx).items()}
    (folder / "context.json").write_text(
        json.dumps({"marker": ctx.marker, "before": before, "gradebook": str(ctx.gradebook)})
    )
    n = len(HONEST) + 1  # and the victim
    print(f"{len(ga.ATTACKS)} attacks and {n} honest submissions in {ctx.submissions}")
    print(
        f"now: make grade SUBMISSIONS={ctx.submissions} ASSIGNMENT={ga.ASSIGNMENT} "
        f'OUT={ctx.gradebook} GRADE_ARGS="--root {ctx.solutions.parent} --memory-limit '
        f'{int(ctx.memory_limit_mb)}"'
    )
    return 0


def _alive(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def check(folder: Path) -> int:
    folder = folder.resolve()
    saved = json.loads((folder / "context.json").read_text())
    ctx = ga.AttackContext.create(folder)
    gradebook = Path(saved["gradebook"])
    rows = {
        Path(r["submission"]).name: r
        for r in list(csv.DictReader(gradebook.open(encoding="utf-8")))[1:]
    }
    wrong = 0
    print("| submission | audit row | what it tries | points | flags | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, total in HONEST.items():
        row = rows.get(f"{name}_{ga.ASSIGNMENT}.ipynb")
        if row is None:
            wrong += 1
            print(f"| {name} | honest | - | - | - | MISSING |")
            continue
        ok = float(row["total"]) == total and not row["flags"]
        wrong += not ok
        print(f"| {name} | honest | - | {row['total']} | {row['flags'] or '-'} | "
              f"{'right' if ok else 'WRONG'} |")  # fmt: skip
    for attack in ga.ATTACKS:
        row = rows.get(attack.file_name)
        if row is None:
            wrong += 1
            print(f"| {attack.name} | {attack.audit or 'own'} | {attack.description} | - | - "
                  "| MISSING |")  # fmt: skip
            continue
        problems = ga.judge(
            attack,
            points=float(row["total"]),
            flags=row["flags"],
            reasons=row["reasons"] + " " + row.get("notes", ""),
        )
        wrong += bool(problems)
        flags = row["flags"].replace("|", "/") or "-"
        verdict = "ok" if not problems else "WRONG: " + "; ".join(problems)
        print(f"| {attack.name} | {attack.audit or 'own'} | {attack.description} | "
              f"{row['total']} | {flags} | {verdict} |")  # fmt: skip
    after = {k: ga.fingerprints(v) for k, v in _watched(ctx).items()}
    changed = [k for k in saved["before"] if after.get(k) != saved["before"][k]]
    backups = [b.read_text() for b in gradebook.parent.glob(f"{gradebook.name}.bak-*")]
    left = _alive(saved["marker"])
    kept = backups == ["an older gradebook\n"]
    print(f"\nfiles changed: {changed or 'none'}; old gradebook kept: {kept}; "
          f"processes left: {len(left)}")  # fmt: skip
    wrong += bool(changed) + bool(left) + (not kept)
    return 1 if wrong else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("build", "check"))
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    return build(args.folder) if args.what == "build" else check(args.folder)


if __name__ == "__main__":
    sys.exit(main())
