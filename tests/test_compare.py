"""`tinysent compare`: two evaluations of one test set, paired (one paired bootstrap and one McNemar
test, in core/metrics, numpy only)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tinysent.apps.cli import main
from tinysent.core.metrics import mcnemar, paired_bootstrap

ROOT = Path(__file__).resolve().parents[1]
DATA_SHA = "0" * 64  # the hand-made evaluations' test file


def _evaluation(folder, true, pred, labels=("negative", "neutral", "positive"), metric="macro_recall"):
    folder.mkdir(parents=True)
    rows = [{"line": i + 1, "true": t, "pred": p} for i, (t, p) in enumerate(zip(true, pred))]
    (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "metrics.json").write_text(
        json.dumps(
            {
                "metric": metric,
                "confusion_matrix": {"labels": list(labels)},
                "model": folder.name,
                "data_sha256": DATA_SHA,
            }
        )
    )
    return folder


def test_mcnemar_matches_the_exact_binomial_test():
    scipy = pytest.importorskip("scipy.stats")
    for n01, n10 in [(0, 0), (3, 10), (659, 396), (10, 50), (7, 0), (200, 201)]:
        a = np.array([1] * n01 + [0] * n10 + [1] * 4, bool)
        b = np.array([0] * n01 + [1] * n10 + [1] * 4, bool)
        want = scipy.binomtest(n01, n01 + n10, 0.5).pvalue if n01 + n10 else 1.0
        got = mcnemar(a, b)
        assert (got["a_only"], got["b_only"]) == (n01, n10)
        assert got["p_value"] == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_a_paired_difference_is_exact_for_identical_systems_and_signed():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    good = np.where(rng.random(500) < 0.8, y, (y + 1) % 3)
    worse = np.where(rng.random(500) < 0.6, y, (y + 2) % 3)
    same = paired_bootstrap("macro_recall", y, good, good, ("a", "b", "c"), n_boot=200)
    assert same["difference"] == 0 and same["difference_ci95"] == [0.0, 0.0]
    d = paired_bootstrap("macro_f1", y, good, worse, ("a", "b", "c"), n_boot=200)
    lo, hi = d["difference_ci95"]
    assert 0 < lo <= d["difference"] <= hi and d["a_score"] - d["b_score"] == d["difference"]


def test_compare_two_evaluate_folders_through_the_cli(tmp_path, capsys):
    rng = np.random.default_rng(1)
    names = ["negative", "neutral", "positive"]
    true = [names[i] for i in rng.integers(0, 3, 300)]
    a = _evaluation(tmp_path / "a", true, [t if rng.random() < 0.85 else "neutral" for t in true])
    b = _evaluation(tmp_path / "b", true, [t if rng.random() < 0.7 else "negative" for t in true])
    out = tmp_path / "ab.json"
    assert main(["compare", str(a), str(b), "--n-boot", "300", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["n"] == 300 and r["metric"] == "macro_recall" and r["difference"] > 0
    assert r["mcnemar"]["a_only"] > r["mcnemar"]["b_only"] and r["difference_ci95"][0] > 0
    assert json.loads(capsys.readouterr().out) == r
    # another metric on request; the same folder against itself: no difference
    assert main(["compare", str(a), str(a), "--metric", "f1:neutral", "--n-boot", "50"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["metric"] == "f1:neutral" and r["difference"] == 0 and r["mcnemar"]["p_value"] == 1.0


def test_compare_refuses_evaluations_of_other_rows(tmp_path, capsys):
    a = _evaluation(tmp_path / "a", ["negative", "positive"], ["negative", "negative"])
    b = _evaluation(tmp_path / "b", ["positive", "positive"], ["negative", "positive"])
    assert main(["compare", str(a), str(b)]) == 2
    assert "not evaluated on the same test rows" in capsys.readouterr().err
    binary = tmp_path / "s140"
    binary.mkdir()
    (binary / "predictions.jsonl").write_text(
        json.dumps({"line": 1, "true": "negative", "positive": 0.2}) + "\n"
    )
    (binary / "metrics.json").write_text("{}")  # no threshold: its labels can't be read back
    assert main(["compare", str(binary), str(a)]) == 2
    assert "names no threshold" in capsys.readouterr().err
    damaged = _evaluation(tmp_path / "damaged", ["negative"], ["negative"])
    (damaged / "metrics.json").write_text("{not json")
    assert main(["compare", str(damaged), str(a)]) == 2
    assert "metrics.json is not valid JSON" in capsys.readouterr().err
    (damaged / "metrics.json").write_text("{}")
    (damaged / "predictions.jsonl").write_text(
        '{"line": 1, "true": "negative", "pred": "negative"}\n[1, 2]\n'
    )
    assert main(["compare", str(damaged), str(a)]) == 2
    assert "predictions.jsonl line 2: not a prediction" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "nope"), str(a)]) == 2
    assert "not a `tinysent evaluate` folder" in capsys.readouterr().err


def _binary_evaluation(folder, true, p_pos, threshold):
    folder.mkdir(parents=True)
    rows = [{"line": i + 1, "true": t, "positive": p} for i, (t, p) in enumerate(zip(true, p_pos))]
    (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = {"labels": ["negative", "positive"]}
    (folder / "metrics.json").write_text(
        json.dumps({"threshold": threshold, "confusion_matrix": labels, "data_sha256": DATA_SHA})
    )
    return folder


def test_compare_reads_a_binary_test_sets_probabilities_through_evaluates_threshold(tmp_path, capsys):
    """Sentiment140's evaluations hold P(positive): compared as the labels evaluate scored (each
    model's own threshold, >= positive), by accuracy."""
    true = ["negative", "negative", "positive", "positive", "positive"]
    a = _binary_evaluation(tmp_path / "a", true, [0.1, 0.4, 0.6, 0.7, 0.5], threshold=0.5)  # 5 right
    # the same probabilities under a threshold of 0.65: tweets 3 and 5 turn negative (3 right)
    b = _binary_evaluation(tmp_path / "b", true, [0.1, 0.4, 0.6, 0.7, 0.5], threshold=0.65)
    assert main(["compare", str(a), str(b), "--n-boot", "100"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["metric"] == "accuracy" and r["labels"] == ["negative", "positive"]
    assert (r["a_score"], r["b_score"]) == (1.0, 0.6) and r["difference"] == pytest.approx(0.4)
    assert r["mcnemar"]["a_only"] == 2 and r["mcnemar"]["b_only"] == 0 and r["answers_agree"] == 0.6


def test_compare_reproduces_a_committed_paired_result(capsys):
    v9 = ROOT / "results" / "cpu-2026-12-01" / "v9-shipped" / "tweeteval-test"
    v8 = ROOT / "results" / "cpu-2026-12-01" / "v8-shipped" / "tweeteval-test"
    committed = ROOT / "results" / "cpu-2026-12-01" / "v9-vs-v8-tweeteval-test.json"
    if not (v9.exists() and v8.exists() and committed.exists()):
        pytest.skip("the committed v9 / v8 evaluations are not in this checkout")
    assert main(["compare", str(v9), str(v8)]) == 0
    r, want = json.loads(capsys.readouterr().out), json.loads(committed.read_text())
    assert r["difference"] == want["difference"]
    assert r["difference_ci95"] == want["difference_ci95_paired_bootstrap"]
    assert r["mcnemar"]["a_only"] == want["mcnemar"]["a_only"] == 659


def test_compare_of_committed_sentiment140_evaluations_scores_what_evaluate_reported(capsys):
    rebuilt = ROOT / "results" / "recipe-sentiment-2026-12-06" / "eval-sentiment140"
    v9 = ROOT / "results" / "cpu-2026-12-01" / "v9-shipped" / "sentiment140-test"
    committed = ROOT / "results" / "recipe-sentiment-2026-12-06" / "rebuilt-vs-v9-sentiment140-test.json"
    if not (rebuilt.exists() and v9.exists() and committed.exists()):
        pytest.skip("the committed Sentiment140 evaluations are not in this checkout")
    assert main(["compare", str(rebuilt), str(v9)]) == 0
    r = json.loads(capsys.readouterr().out)
    for side, folder in (("a_score", rebuilt), ("b_score", v9)):
        assert r[side] == json.loads((folder / "metrics.json").read_text())["accuracy"]
    assert r["n"] == 359 and r["mcnemar"] == json.loads(committed.read_text())["mcnemar"]


def test_compare_refuses_other_test_texts_and_an_edited_predictions_file(trained_model, tmp_path, capsys):
    """Two files whose line numbers and true labels match (sorted by label, other texts) are told
    apart by their texts' hash; a predictions.jsonl edited after evaluate is refused; an evaluation
    that names no hash of its data cannot be compared."""
    import csv

    rows = [("positive", f"good day {i}") if i % 2 else ("negative", f"bad day {i}") for i in range(40)]
    files = {}
    for name, texts in (("a", [t for _, t in rows]), ("b", [t.replace("day", "night") for _, t in rows])):
        files[name] = tmp_path / f"{name}.csv"
        with open(files[name], "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows((t, lab) for (lab, _), t in zip(rows, texts))
    for name in ("a", "b"):
        args = ["evaluate", "--model", str(trained_model), "--test-data", str(files[name])]
        assert main([*args, "--out", str(tmp_path / f"e{name}")]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "ea"), str(tmp_path / "ea"), "--n-boot", "50"]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "ea"), str(tmp_path / "eb")]) == 2
    assert "their test texts differ" in capsys.readouterr().err
    preds = tmp_path / "ea" / "predictions.jsonl"
    preds.write_text(preds.read_text().replace('"pred": "negative"', '"pred": "positive"', 1))
    assert main(["compare", str(tmp_path / "ea"), str(tmp_path / "ea")]) == 2
    assert "not the file metrics.json was computed from" in capsys.readouterr().err
    bare = _evaluation(tmp_path / "bare", ["negative"], ["negative"])
    m = json.loads((bare / "metrics.json").read_text())
    del m["data_sha256"]
    (bare / "metrics.json").write_text(json.dumps(m))
    assert main(["compare", str(bare), str(bare)]) == 2
    assert "names no hash of its test data" in capsys.readouterr().err
