import base64
import json
import math
import re
import statistics

import numpy as np
import pytest

from tinysent.apps.report import build_report
from tinysent.apps.report.baselines import Majority, TfidfLogReg, mcnemar, three_way_accuracy
from tinysent.core.metrics import expected_calibration_error
from tinysent.train.calibrate import fit_temperature

from .conftest import tiny_train_args


def test_mcnemar_exact_by_hand():
    a = np.array([1, 1, 1, 1, 0, 0, 1, 1], bool)
    b = np.array([0, 0, 0, 1, 1, 0, 1, 1], bool)
    r = mcnemar(a, b)  # discordant: a-only 3, b-only 1 → p = 2 * (C(4,0)+C(4,1)) / 16 = 0.625
    assert (r["a_only"], r["b_only"]) == (3, 1) and r["p_value"] == pytest.approx(0.625)
    assert mcnemar(a, a)["p_value"] == 1.0
    assert mcnemar(np.ones(20, bool), np.zeros(20, bool))["p_value"] == pytest.approx(2 / 2**20)


def test_ece_by_hand():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.9, 0.9, 0.3])  # confidences 0.9, 0.9, 0.9, 0.7; correct 1, 1, 0, 1
    ece, table = expected_calibration_error(y, p, bins=5)
    # bin [0.9, 1.0]: 3 items, accuracy 2/3, confidence 0.9 → 0.75 * |0.667 - 0.9|; bin [0.7, 0.8): 0.25 * 0.3
    assert ece == pytest.approx(0.75 * abs(2 / 3 - 0.9) + 0.25 * 0.3)
    assert sum(t["n"] for t in table) == 4


def test_top_label_calibration_by_hand():
    from tinysent.core.metrics import top_label_calibration

    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    y = np.array([0, 2, 0, 1])  # right, wrong, right, wrong
    ece, table = top_label_calibration(y, probs, bins=2)  # bins [1/3, 2/3), [2/3, 1]
    # low bin: 0.5 and 0.6, one right → 0.5 * |0.5 - 0.55|; high bin: 0.8 and 0.8, one right → 0.5 * 0.3
    assert ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.3)
    assert [t["n"] for t in table] == [2, 2]
    # two labels: the same as the binary form
    p = np.array([0.9, 0.9, 0.9, 0.3])
    assert top_label_calibration(np.array([1, 1, 0, 0]), np.c_[1 - p, p], 5)[0] == pytest.approx(
        expected_calibration_error(np.array([1, 1, 0, 0]), p, 5)[0]
    )


def test_temperature_recovers_an_overconfident_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 1)) * 2
    y = (rng.random(4000) < 1 / (1 + np.exp(-z[:, 0]))).astype(int)
    logits = np.hstack([np.zeros_like(z), z * 3])  # three times too confident
    assert fit_temperature(logits, y) == pytest.approx(3.0, rel=0.15)


def test_three_way_accuracy():
    pol = np.array([0, 2, 4, 4])
    p = np.array([0.1, 0.5, 0.9, 0.6])
    assert three_way_accuracy(pol, p, (0.35, 0.65)) == 0.75
    assert math.isclose(three_way_accuracy(pol, p, (0.5, 0.5)), 0.75)


def test_baselines_train_on_a_fixture(train_file, test_file):
    from tinysent.data import sentiment140 as D

    c, t = D.read(train_file), D.read(test_file).polar()
    tf = TfidfLogReg().fit(c.texts, c.classes)
    assert ((tf.predict_proba(t.texts) >= 0.5) == t.classes).mean() > 0.95  # held-out tweets
    assert list(Majority().fit(["a", "b", "c"], np.array([1, 1, 0])).predict_proba(["x", "y"])) == [1.0, 1.0]
    assert list(Majority().fit(["a", "b", "c"], np.array([0, 0, 1])).predict_proba(["x"])) == [0.0]


def test_html_report_has_every_section_and_image(trained_model, train_file, test_file, tmp_path):
    s = build_report([str(trained_model)], test_file, tmp_path / "r", train_path=train_file)
    page = (tmp_path / "r" / "report.html").read_text()
    for section in ('id="summary"', 'id="mcnemar"', 'id="plots"', 'id="mistakes"'):
        assert section in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    figures = re.findall(r'<figure id="fig-([a-z0-9]+)">', page)
    # the figures of every page, then the binary task's own (no learning curve: curve did not run)
    assert figures == ["confusion", "f1", "reliability", "roc", "threshold", "neutral", "lengths"]
    assert len(images) == 7 and all(
        base64.b64decode(i).startswith(b"\x89PNG") and len(i) > 2000 for i in images
    )
    names = [r["system"] for r in s["systems"]]
    assert (
        names[0] == "tinysent: tiny-clf"
        and any("VADER" in n for n in names)
        and any("TF-IDF" in n for n in names)
    )
    assert len(s["mcnemar"]) == len(names) * (len(names) - 1) // 2
    saved = json.loads((tmp_path / "r" / "report.json").read_text())
    assert saved["n_binary"] == 120 and saved["n_all"] == 130
    assert "## Paired McNemar tests" in (tmp_path / "r" / "report.md").read_text()


def test_calibrate_stores_a_temperature_that_predict_uses(trained_model, tmp_path):
    import shutil

    import tinysent
    from tinysent.core.meta import ModelMeta
    from tinysent.train.calibrate import calibrate

    m = tmp_path / "m"
    shutil.copytree(trained_model, m)
    before = tinysent.load(m).predict("i love this great day")["positive"]
    r = calibrate(m)
    assert r["temperature"] > 0 and r["val_n"] == 120 and r["ece_after"] <= r["ece_before"] + 1e-9
    assert ModelMeta.load(m).temperature == pytest.approx(r["temperature"])
    after = tinysent.load(m).predict("i love this great day")["positive"]
    assert after != pytest.approx(before)


def test_several_seeds_train_and_report_mean_and_std(tiny_base, train_file, test_file, tmp_path):
    from tinysent.apps.cli import main

    out = tmp_path / "multi"
    assert main(["train", "--seeds", "2", *tiny_train_args(tiny_base, train_file, out, epochs=1)]) == 0
    summary = json.loads((out / "seeds.json").read_text())
    accs = [r["best"]["val_accuracy"] for r in summary["seeds"]]
    assert [r["seed"] for r in summary["seeds"]] == [0, 1]
    assert summary["val_accuracy_std"] == pytest.approx(statistics.stdev(accs))
    s = build_report([str(out)], test_file, tmp_path / "r")
    per_seed = [r["accuracy"] for r in s["systems"] if r["system"].startswith("tinysent: multi/seed-")]
    assert s["multi_seed"][0]["seeds"] == 2 and len(per_seed) == 2
    assert s["multi_seed"][0]["accuracy_mean"] == pytest.approx(np.mean(per_seed))
    assert 'id="seeds"' in (tmp_path / "r" / "report.html").read_text()
    assert "## Several seeds" in (tmp_path / "r" / "report.md").read_text()
