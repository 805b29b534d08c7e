"""`tinysent data check` on a large labelled CSV: wall time and peak memory (max RSS), to show memory
stays flat in the file size (the reader streams; duplicates are counted from 12 bytes a row).

    .venv/bin/python benchmarks/data_check_memory.py [--rows 2420000]
writes benchmarks/results/data_check_memory.json. The file is generated here (tweet-like rows, 3
labels, 2 % duplicates) in a temporary folder and removed afterwards.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

WORDS = [
    "the", "a", "so", "my", "this", "that", "day", "night", "love", "hate", "flight", "bag", "late",
    "delayed", "great", "awful", "service", "crew", "seat",
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_420_000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "data_check_memory.json"))
    a = ap.parse_args()
    rng = random.Random(0)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (a.rows // 10, a.rows):
            path = Path(tmp) / f"big-{rows}.csv"
            with open(path, "w", encoding="utf-8") as f:
                f.write("text,label\n")
                last = ""
                for i in range(rows):
                    if i and rng.random() < 0.02:
                        f.write(last)
                        continue
                    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))) + f" #{i}"
                    last = f'"{text}",{rng.choice(("negative", "neutral", "positive"))}\n'
                    f.write(last)
            cmd = [sys.executable, "-m", "tinysent.apps.cli", "data", "check", str(path), "--compact"]
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            wall = time.time() - t0
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
            summary = json.loads(p.stdout)
            runs.append(
                {
                    "rows": rows,
                    "file_mb": round(path.stat().st_size / 1e6, 1),
                    "wall_s": round(wall, 1),
                    "max_rss_mb": round(peak_kb / 1024, 1),
                    "rows_read": summary["rows"],
                    "duplicates": summary["duplicates"],
                }
            )
            print(runs[-1], flush=True)
            path.unlink()
    write_result(a.out, "data_check_memory", {"runs": runs})


if __name__ == "__main__":
    main()
