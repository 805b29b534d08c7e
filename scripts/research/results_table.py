"""Print the comparison table of results/README.md from the metrics.json files under results/."""

import json
import sys
from pathlib import Path

rows = []
for m in sorted(Path(sys.argv[1] if len(sys.argv) > 1 else "results").rglob("metrics.json")):
    d = json.loads(m.read_text())
    meta_file = m.parent / "tinysent.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    val = meta.get("metrics", {}).get("validation", {})
    lo, hi = d["accuracy_ci95"]
    rows.append(
        (
            m.parent.relative_to(m.parents[2]) if len(m.parents) > 2 else m.parent,
            d["n"],
            d["accuracy"],
            lo,
            hi,
            d["macro_f1"],
            d["roc_auc"],
            val.get("val_accuracy"),
            val.get("val_n"),
        )
    )
print("| run | n | accuracy | 95 % CI (Wilson) | macro F1 | ROC-AUC | validation acc (n) |")
print("|---|---|---|---|---|---|---|")
for r, n, acc, lo, hi, f1, auc, va, vn in rows:
    v = f"{va:.4f} ({vn})" if va is not None else "–"
    print(f"| `{r}` | {n} | {acc:.2%} | {lo:.1%} – {hi:.1%} | {f1:.4f} | {auc:.4f} | {v} |")
