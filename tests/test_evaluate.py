import json

import numpy as np
import pytest

from tinysent.apps.evaluate import binary_metrics, evaluate, wilson_interval


def test_wilson_known_values():
    # By hand, z = 1.96: centre (0.81 + z²/200) / (1 + z²/100) = 0.7985, half-width 0.0763.
    lo, hi = wilson_interval(81, 100)
    assert lo == pytest.approx(0.7222, abs=1e-4) and hi == pytest.approx(0.8749, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.2, 0.9, 0.8, 0.4, 0.7, 0.95])
    m = binary_metrics(y, p)
    assert m["n"] == 8 and m["correct"] == 6 and m["accuracy"] == 0.75
    assert m["confusion_matrix"]["rows_true_cols_pred"] == [[2, 1], [1, 4]]
    assert m["per_class"]["positive"]["precision"] == pytest.approx(4 / 5)
    assert m["per_class"]["negative"]["recall"] == pytest.approx(2 / 3)
    # AUC: 15 positive/negative pairs; the positive scores higher in 14 (only 0.4 < 0.6 is misordered).
    assert m["roc_auc"] == pytest.approx(14 / 15)


def test_evaluate_writes_metrics_plots_and_smoke(trained_model, test_file, tmp_path):
    m = evaluate(trained_model, test_file, tmp_path / "ev")
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["n"] == 120 and saved["excluded_neutral"] == 10 and 0.9 <= saved["accuracy"] <= 1
    assert saved["accuracy"] == m["accuracy"] and len(saved["smoke"]) == 9
    for png in ("confusion_matrix.png", "roc.png", "training_curves.png"):
        data = (tmp_path / "ev" / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    preds = [json.loads(x) for x in (tmp_path / "ev" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 120 and set(preds[0]) == {"line", "true", "positive"}  # no tweet text copied
