"""Compile the recipes' recorded step times into the package's table (``src/tinysent/recipes/
timings.json``), which ``tinysent recipe run`` prints as each step's expected time and ``recipe list``
as each recipe's total, with the machine and date they were measured on.

    python scripts/recipe_timings.py

Each source is a recipe run's ``timings.jsonl`` kept in results/ (the last row per step: a step rerun
later replaces the earlier one); a step taken from another work folder (``--reuse``) counts the time
it ran there. Steps no recorded run made stay out of the table (their time is printed as unknown).
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {  # recipe: the results/ folders of its runs from nothing, in the order they were made
    "sentiment": ["results/recipe-sentiment-rev2-2026-12-06"],
    "accurate": ["results/recipe-accurate-2026-12-06"],
    "own-task": ["results/own-task-600-2026-12-08"],
}
ABOUT = {  # what the recorded run read, where its time depends on the user's data
    "own-task": "600 labelled tweets (TweetEval emotion's first 600 training rows, 4 labels)",
}
OUT = ROOT / "src/tinysent/recipes/timings.json"


def steps_of(folder: Path) -> dict:
    rows = [json.loads(x) for x in (folder / "timings.jsonl").read_text().splitlines() if x.strip()]
    out = {}
    for r in rows:
        ran = r.get("ran_there") or r
        out[r["step"]] = {
            "seconds": ran["seconds"],
            "cpu": ran.get("cpu", r.get("cpu")),
            "cores": ran.get("cores", r.get("cores")),
            "gpu": ran.get("gpu", r.get("gpu")),
            "date": (ran.get("finished") or r["finished"])[:10],
            "source": str(folder.relative_to(ROOT)),
        }
    return out


def main() -> None:
    table = {}
    for recipe, folders in SOURCES.items():
        steps = {}
        for f in folders:
            steps.update(steps_of(ROOT / f))
        table[recipe] = {"about": ABOUT.get(recipe), "steps": steps}
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    for recipe, entry in table.items():
        steps = entry["steps"]
        total = sum(s["seconds"] for s in steps.values())
        print(f"{recipe}: {len(steps)} steps, {total / 3600:.2f} h recorded")


if __name__ == "__main__":
    main()
