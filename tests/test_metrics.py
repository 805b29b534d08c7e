"""core.metrics (numpy only, so a predict-only install can evaluate) against scikit-learn."""

import numpy as np
import pytest

from tinysent.core.metrics import (
    binary_metrics,
    class_metrics,
    confusion,
    per_class,
    roc_auc,
    wilson_interval,
)

sk = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 500)
    pred = np.where(rng.random(500) < 0.6, y, rng.integers(0, 3, 500))
    pred[:5] = 1  # class 0 may lose every prediction in a bootstrap; defined as 0 both ways
    np.testing.assert_array_equal(confusion(y, pred, 3), sk.confusion_matrix(y, pred, labels=[0, 1, 2]))
    ours = per_class(y, pred, 3)
    theirs = sk.precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)
    m = class_metrics(y, pred)
    assert m["macro_recall"] == pytest.approx(sk.recall_score(y, pred, average="macro"))
    assert m["macro_recall_ci95"][0] < m["macro_recall"] < m["macro_recall_ci95"][1]
    yb = rng.integers(0, 2, 300)
    score = np.round(np.clip(yb * 0.3 + rng.random(300) * 0.7, 0, 1), 2)  # rounded: many ties
    assert roc_auc(yb, score) == pytest.approx(sk.roc_auc_score(yb, score))
    b = binary_metrics(yb, score, 0.5)
    assert b["accuracy"] == pytest.approx(sk.accuracy_score(yb, score >= 0.5))
    assert b["macro_f1"] == pytest.approx(sk.f1_score(yb, score >= 0.5, average="macro"))


def test_edge_cases_are_defined():
    assert roc_auc(np.ones(4, int), np.arange(4.0)) is None  # one class: no AUC
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # textbook values (Wilson 1927; e.g. Newcombe 1998, table I): 5/10 and 0/10
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
