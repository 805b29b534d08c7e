"""The exact counts on the real Sentiment140 files in ../shared (skipped when absent)."""

import pytest

from tinysent.data import sentiment140 as D

from .conftest import SHARED

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/sentiment140 is absent"),
]


def test_test_set():
    c = D.read(SHARED / "testdata.manual.2009.06.14.csv")
    assert len(c) == 498 and not c.problems
    assert c.label_counts() == {"negative": 177, "neutral": 139, "positive": 182}
    assert len(c.polar()) == 359


def test_head_10000_in_the_original_layout():
    c = D.read(SHARED / "training.head10000.csv")
    assert len(c) == 10000 and c.columns == 6 and not c.problems
    assert c.label_counts()["negative"] == 10000
    assert c.texts[0].startswith("@switchfoot http://twitpic.com/2y1zl - Awww")


def test_full_training_set():
    c = D.read(SHARED / "training.1600000.polarity_text.csv.gz")
    assert len(c) == 1_600_000 and c.columns == 2 and not c.problems
    assert c.label_counts() == {"negative": 800_000, "neutral": 0, "positive": 800_000}
    assert c.lines[0] == 1 and c.polarity[799_999] == 0 and c.polarity[800_000] == 4
    assert D.duplicate_stats(c)["duplicate_rows"] == 16309
