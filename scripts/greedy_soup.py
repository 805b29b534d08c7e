"""A greedy soup of 3-class students (tinysent.build.soup): every folder is scored alone on the
validation split that 3-class runs select on (``val_score``: TweetEval-val macro recall and
Sentiment140-val accuracy, averaged; rebuilt from the first folder's config), then ingredients join
best first while the uniform average scores no lower. The soup is written as a model folder (method
"soup", ingredients and their sha256 in its config) and every score tried goes to ``OUT.json``.
No test set is read.

    python scripts/greedy_soup.py runs/v5/student-best runs/v5/student-ensemble runs/v6/student \
        --out runs/v7/soup
"""

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> int:
    from tinysent.build.config import TrainConfig
    from tinysent.build.models import load_classifier
    from tinysent.build.soup import average, check_compatible, greedy_soup, write_soup
    from tinysent.build.three_class import make_evaluator, prepare_mixed
    from tinysent.core.errors import InputError
    from tinysent.core.meta import ModelMeta
    from tinysent.core.normalize import Normalizer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args()
    t0 = time.time()
    try:
        check_compatible(a.folders)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    meta = ModelMeta.load(a.folders[0])
    cfg = TrainConfig.from_dict({**meta.config, "max_length": meta.max_length})
    model, tokenizer, _, _ = load_classifier(a.folders[0], 3)
    prep = prepare_mixed(cfg, tokenizer, Normalizer(meta.normalizer_config))
    evaluate = make_evaluator(prep)
    tried: list[dict] = []

    def score(state: dict) -> float:
        model.load_state_dict(state)
        ev = evaluate(model.eval())
        tried.append(ev)
        return ev["val_score"]

    chosen, best = greedy_soup(a.folders, score, log=lambda m: print(m, flush=True))
    final = next(ev for ev in reversed(tried) if ev["val_score"] == best)
    write_soup(chosen, average(chosen), a.out, {**final, "metric": "val_score", "stage": "soup"})
    report = {
        "folders": [str(d) for d in a.folders],
        "tried": tried,
        "chosen": [str(d) for d in chosen],
        "val_score": best,
        "seconds": round(time.time() - t0, 1),
    }
    Path(f"{a.out}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({"chosen": report["chosen"], "val_score": best}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
