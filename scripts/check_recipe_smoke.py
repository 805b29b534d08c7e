"""CI's check of the recipe runner on the real chain: `tinysent recipe run smoke` in a fresh work
folder (the sentiment recipe's steps at tiny settings), the packed model loads and predicts through
`tinysent.load`, and a second run skips every step within 30 seconds.

    python scripts/check_recipe_smoke.py [--data ../shared/data] [--work DIR]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(work: Path, data: str) -> tuple[list[dict], float]:
    t0 = time.time()
    cmd = [
        sys.executable,
        "-m",
        "tinysent",
        "recipe",
        "run",
        "smoke",
        "--work",
        str(work),
        "--set",
        f"data={data}",
    ]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"recipe run smoke failed (exit {r.returncode})")
    return json.loads(r.stdout)["steps"], time.time() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--work", type=Path, default=None)
    a = p.parse_args()
    work = a.work or Path(tempfile.mkdtemp()) / "smoke"
    first, took = run(work, a.data)
    print(
        f"smoke: {len(first)} steps in {took:.0f} s: "
        + ", ".join(f"{s['step']} {s['seconds']:.0f} s" for s in first)
    )
    import tinysent

    print("load:", tinysent.load(work / "model").predict("what a lovely day"))
    v = json.loads((work / "model" / "validation.json").read_text())  # pack --validate
    print("default path vs fp32 on validation:", {k: v[k] for k in v if k.endswith("label_agreement")})
    second, again = run(work, a.data)
    states = {s["state"] for s in second}
    print(f"second run: {again:.1f} s, states {sorted(states)}")
    if states != {"skipped"} or again > 30:
        sys.exit("the second run must skip every step within 30 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
