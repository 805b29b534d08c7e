"""3-class data (SemEval, TweetEval), mixed binary/3-class training, 3-class prediction and evaluation."""

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tinysent.core.normalize import Normalizer
from tinysent.data import semeval as H

from .conftest import FILLER, NEG_WORDS, POS_WORDS, make_tweets, write_six_col


def tweets3(n: int, seed: int) -> list[tuple[str, str]]:
    """(label, text): positive / negative tweets carry a sentiment word, neutral ones none."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("negative", "neutral", "positive")[i % 3]
        words = rng.sample(FILLER, rng.randint(3, 7))
        if label != "neutral":
            words.insert(
                rng.randrange(len(words) + 1), rng.choice(POS_WORDS if label == "positive" else NEG_WORDS)
            )
        rows.append((label, " ".join(words)))
    return rows


def write_semeval(path, rows, start_id=1000):
    lines = [f"{start_id + i}\t{lab}\t{t}" for i, (lab, t) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_tweeteval(folder, split, rows):
    folder.mkdir(parents=True, exist_ok=True)
    code = {"negative": "0", "neutral": "1", "positive": "2"}
    (folder / "mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n")
    (folder / f"{split}_text.txt").write_text("\n".join(t for _, t in rows) + "\n", encoding="utf-8")
    (folder / f"{split}_labels.txt").write_text("\n".join(code[lab] for lab, _ in rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("three")
    sem = root / "semeval"
    sem.mkdir()
    rows = tweets3(900, seed=11)
    write_semeval(sem / "twitter-2016train-A.tsv", rows[:600])
    write_semeval(sem / "twitter-2013train-A.tsv", rows[600:], start_id=5000)
    te = root / "tweeteval"
    write_tweeteval(te, "val", tweets3(150, seed=12))
    write_tweeteval(te, "test", tweets3(150, seed=13))
    s140 = write_six_col(root / "s140.csv", make_tweets(600, seed=14))
    return sem, te, s140


def data3(sources) -> dict:
    """The data settings that 3-class training and distillation on the fixture sources share."""
    sem, te, s140 = sources
    return dict(
        num_labels=3,
        handlabelled_data=str(sem),
        tweeteval_data=str(te),
        train_data=str(s140),
        max_train=300,
        val_fraction=0.1,
        max_val=None,
        batch_size=32,
        eval_every=20,
    )


def config3(sources, base, out, **overrides):
    """A quick 3-class fine-tuning config on the fixture sources (keyword overrides win)."""
    from tinysent.data.config import TrainConfig

    fields = dict(
        **data3(sources), base=str(base), out=str(out), epochs=8, lr=3e-3, patience=None, max_length=32
    )
    return TrainConfig(**{**fields, **overrides})


def test_semeval_reader_drops_placeholders_and_repeated_ids(tmp_path):
    f = tmp_path / "x-A.tsv"
    f.write_text(
        "1\tpositive\tgreat day\n2\tnegative\tNot Available\n1\tpositive\tgreat day again\n"
        "3\tneutral\tthe bus is at 9\n4\tmeh\twhat\n5\tNEGATIVE\tawful\tso awful\n",
        encoding="utf-8",
    )
    c = H.read_semeval(f)
    assert c.texts == ["great day", "the bus is at 9", "awful\tso awful"]
    assert c.polarity.tolist() == [4, 2, 0]
    kinds = sorted(p.kind for p in c.problems)
    assert kinds == ["duplicate_id", "placeholder", "polarity"]
    assert [p.line for p in c.problems if p.kind == "duplicate_id"] == [3]


def test_semeval_reader_reads_a_folder_and_names_bad_encoding(tmp_path):
    write_semeval(tmp_path / "a-A.tsv", [("positive", "good")])
    write_semeval(tmp_path / "b-A.tsv", [("negative", "bad")], start_id=9)
    assert H.read_semeval(tmp_path).texts == ["good", "bad"]
    (tmp_path / "c-A.tsv").write_bytes(b"1\tpositive\t\xff\xfe\n")
    with pytest.raises(H.DataError, match="not UTF-8"):
        H.read_semeval(tmp_path)


def test_tweeteval_reader_pairs_texts_and_labels(tmp_path):
    write_tweeteval(tmp_path, "val", [("negative", "a"), ("neutral", "b"), ("positive", "c")])
    c = H.read_tweeteval(tmp_path, "val")
    assert c.texts == ["a", "b", "c"] and H.classes3(c.polarity).tolist() == [0, 1, 2]
    (tmp_path / "val_labels.txt").write_text("0\n1\n")
    with pytest.raises(H.DataError, match="3 lines but val_labels.txt has 2"):
        H.read_tweeteval(tmp_path, "val")
    (tmp_path / "val_labels.txt").write_text("0\n1\n7\n")
    with pytest.raises(H.DataError, match="line 3"):
        H.read_tweeteval(tmp_path, "val")
    with pytest.raises(H.DataError, match="test_text.txt: missing"):
        H.read_tweeteval(tmp_path, "test")


def test_raw_and_anonymised_tweets_normalise_alike_and_overlaps_go():
    n = Normalizer()
    raw = "@Microsoft  I LOVE the new office https://t.co/AbC123 "
    anon = "@user I love the new office http"
    assert H.fold(raw, n) == H.fold(anon, n)
    corpus = H.Corpus([raw, "another tweet"], np.array([4, 2], np.int8), np.array([1, 2]), "x")
    kept, dropped = H.drop_overlap(corpus, [anon], n)
    assert kept.texts == ["another tweet"] and dropped == 1


def test_kind_of_and_data_check(sources, capsys):
    from tinysent.apps.cli import main

    sem, te, s140 = sources
    assert (H.kind_of(sem), H.kind_of(te), H.kind_of(s140)) == ("semeval", "tweeteval", "sentiment140")
    assert main(["data", "check", str(sem), str(te), "--compact"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [o["rows"] for o in out] == [900, 150, 150]
    assert out[0]["labels"] == {"negative": 300, "neutral": 300, "positive": 300}


def test_binary_rows_supervise_only_the_share():
    from tinysent.train.three_class import MixedCrossEntropy

    class Head(torch.nn.Module):
        def __init__(self, z):
            super().__init__()
            self.z = torch.nn.Parameter(z)

        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": self.z})()

    batch = {
        "input_ids": None,
        "attention_mask": None,
        "index": torch.tensor([0, 1]),
        "labels": torch.tensor([2, 1]),
    }
    for mode, neutral_grad_zero in (("share", True), ("full", False)):
        m = Head(torch.tensor([[0.1, 0.5, 0.3], [0.2, 0.1, -0.3]]))
        loss, _ = MixedCrossEntropy(np.array([True, False]), mode)(m, batch)
        loss.backward()
        assert (m.z.grad[0, 1].abs() < 1e-9).item() == neutral_grad_zero  # row 0: a binary "positive"
        assert m.z.grad[1].abs().sum() > 0  # row 1: a 3-class "neutral" always learns
    m = Head(torch.tensor([[0.0, 5.0, 0.0]]))
    one = {**batch, "index": torch.tensor([0]), "labels": torch.tensor([2])}
    share, _ = MixedCrossEntropy(np.array([True]), "share")(m, one)
    assert share.item() == pytest.approx(np.log(2))  # only P(pos) vs P(neg) = 1/2 counts


def test_widened_binary_model_keeps_its_binary_answer(trained_model):
    from transformers import AutoModelForSequenceClassification

    from tinysent.train.heads import widen_to_three

    m = AutoModelForSequenceClassification.from_pretrained(trained_model).eval()
    ids = torch.tensor([[2, 30, 40, 3], [2, 50, 60, 3]])
    before = m(input_ids=ids).logits.softmax(-1)[:, 1]
    widen_to_three(m)
    p = m(input_ids=ids).logits.softmax(-1)
    assert m.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    torch.testing.assert_close(p[:, 2] / (p[:, 0] + p[:, 2]), before)


@pytest.fixture(scope="module")
def model3(sources, tiny_base, tmp_path_factory):
    """A tiny 3-class model trained on the SemEval-like fixture plus binary Sentiment140 rows."""
    from tinysent.train.finetune import train

    sem, te, s140 = sources
    out = tmp_path_factory.mktemp("m3") / "model"
    summary = train(
        config3(sources, tiny_base, out, binary_loss="share"),  # v3's recipe; the default (full) below
        progress=False,
    )
    return out, summary


def test_mixed_training_learns_three_classes_and_the_binary_rows(model3):
    out, summary = model3
    assert summary["data"]["rows"] == 900 + 300 and summary["data"]["binary_rows"] == 300
    best = summary["best"]
    assert best["val3_macro_recall"] >= 0.9 and best["val2_accuracy"] >= 0.9
    assert best["metric"] == "val_score" and "val_accuracy" not in best  # the selection metric, by name
    assert best["val_score"] == pytest.approx((best["val3_macro_recall"] + best["val2_accuracy"]) / 2)
    meta = json.loads((out / "tinysent.json").read_text())
    assert meta["labels"] == ["negative", "neutral", "positive"]


def test_three_class_predict_and_its_binary_answer(model3, capsys):
    import tinysent
    from tinysent.apps.cli import main

    out, _ = model3
    m = tinysent.load(out)
    r = m.predict("the weather is at home today")
    assert set(r) >= {"label", "negative", "neutral", "positive"}
    assert r["negative"] + r["neutral"] + r["positive"] == pytest.approx(1, abs=1e-5)
    recs = m.predict(["i love this great day", "i hate this awful day", "the phone is at home"])
    assert [x["label"] for x in recs] == ["positive", "negative", "neutral"]
    b = m.predict(["i love this great day", "the phone is at home"], binary=True)
    assert b[0]["label"] == "positive" and set(b[1]) == {"label", "positive", "negative"}
    with pytest.raises(ValueError, match="labels neutral itself"):
        m.predict("x", neutral_band=(0.4, 0.6))
    assert main(["predict", "--model", str(out), "--binary", "i hate this awful day"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "negative"


def test_evaluate_tweeteval_reports_macro_recall_with_an_interval(model3, sources, tmp_path, capsys):
    from tinysent.apps.cli import main

    out, _ = model3
    sem, te, s140 = sources
    assert main(["evaluate", "--model", str(out), "--test-data", str(te), "--out", str(tmp_path / "e")]) == 0
    printed = json.loads(capsys.readouterr().out)
    m = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert m["n"] == 150 and m["split"] == "test" and printed["macro_recall"] == m["macro_recall"]
    lo, hi = m["macro_recall_ci95"]
    assert lo <= m["macro_recall"] <= hi
    assert np.array(m["confusion_matrix"]["rows_true_cols_pred"]).sum() == 150
    assert m["macro_recall"] >= 0.9 and m["binary_rows"]["n"] == 100
    assert (tmp_path / "e" / "confusion_matrix.png").exists()
    # the same 3-class model on Sentiment140's binary rows, by P(pos) vs P(neg)
    assert (
        main(["evaluate", "--model", str(out), "--test-data", str(s140), "--out", str(tmp_path / "s")]) == 0
    )
    assert json.loads((tmp_path / "s" / "metrics.json").read_text())["accuracy"] >= 0.9


def test_three_class_metrics_by_hand():
    from tinysent.apps.evaluate import three_class_metrics

    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    m = three_class_metrics(y, pred, n_boot=200)
    assert m["macro_recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"]["rows_true_cols_pred"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    lo, hi = m["macro_recall_ci95"]
    assert 0 <= lo < m["macro_recall"] < hi <= 1  # 6 tweets: a wide interval
    assert three_class_metrics(y, pred, n_boot=200)["macro_recall_ci95"] == [lo, hi]  # seeded


def test_three_class_distillation_across_tokenizers(
    model3, sources, trained_model, tiny_base, tmp_path, monkeypatch
):
    """A binary student grows a neutral class and learns from a 3-class teacher that reads tweets with
    another tokenizer (the same words under other ids), with a binary teacher for the Sentiment140
    rows; the teachers' probabilities are cached per text and reused."""
    import shutil

    from tinysent.train import three_class as mixed
    from tinysent.train.distill import DistillConfig, distill
    from tinysent.train.finetune import train

    teacher3, _ = model3
    sem, te, s140 = sources
    other_base = tmp_path / "base-other-vocab"
    shutil.copytree(tiny_base, other_base)
    spec = json.loads((other_base / "tokenizer.json").read_text())
    v = spec["model"]["vocab"]
    words = sorted(w for w in v if w.isalpha() and len(w) > 2)
    ids = [v[w] for w in words]
    for w, i in zip(words, ids[1:] + ids[:1]):  # rotate the ids of whole words
        v[w] = i
    (other_base / "tokenizer.json").write_text(json.dumps(spec))
    other = tmp_path / "teacher-other-vocab"
    t_other = train(
        config3(sources, other_base, other, train_data=None, max_train=0, val_fraction=0.01, max_val=4000),
        progress=False,
    )
    from tinysent.runtime.predictor import load

    a = load(teacher3).token_ids(["love"])[0][0]
    b = load(other).token_ids(["love"])[0][0]
    assert a != b  # the two teachers really read tweets differently

    def cfg(out, teacher=None):
        return DistillConfig(
            **data3(sources),
            teacher=teacher or str(teacher3),
            binary_teacher=str(trained_model),
            student=str(trained_model),
            stage1_epochs=0,
            stage2_epochs=6,
            stage2_lr=3e-3,
            out=str(out),
        )

    s = distill(cfg(tmp_path / "st"), progress=False)
    assert s["best"]["val3_macro_recall"] >= 0.9 and s["best"]["val2_accuracy"] >= 0.9
    cached = sorted((tmp_path / "st").glob("teacher_probs-*.npy"))
    assert len(cached) == 2  # one per teacher
    r = load(tmp_path / "st").predict("the phone is at home")
    assert set(r) >= {"negative", "neutral", "positive"}
    # teacher probabilities are cached per text: asked again, the teacher does not run again
    import tinysent.runtime.predictor as P

    calls, real = [], P.load
    monkeypatch.setattr(P, "load", lambda *a, **k: calls.append(1) or real(*a, **k))
    texts = ["i love it", "the phone is at home"]
    p1 = mixed.teacher_probs(other, texts, tmp_path / "c")
    p2 = mixed.teacher_probs(other, texts, tmp_path / "c")
    assert len(calls) == 1 and np.array_equal(p1, p2) and p1.shape == (2, 3)
    assert (mixed.teacher_probs(trained_model, texts, tmp_path / "c")[:, 1] == 0).all()  # binary: no neutral
    monkeypatch.undo()
    s2 = distill(cfg(tmp_path / "st2", teacher=str(other)), progress=False)
    floor = t_other["best"]["val3_macro_recall"]
    assert floor > 0.5 and s2["best"]["val3_macro_recall"] >= floor - 0.1  # it learns what that teacher knows


def test_tweeteval_report_puts_models_baselines_and_published_figures_on_one_page(
    model3, trained_model, sources, tmp_path, capsys
):
    from tinysent.apps.cli import main

    out3, _ = model3
    sem, te, _ = sources
    args = ["report", "--model", str(out3), "--model", str(trained_model), "--test-data", str(te)]
    assert main([*args, "--train-data", str(sem), "--out", str(tmp_path / "r")]) == 0
    s = json.loads((tmp_path / "r" / "report.json").read_text())
    names = [r["system"] for r in s["systems"]]
    assert (
        names[0] == f"tinysent: tiny-bert fine-tuned in {out3.parent.name}"  # OUT/model: base and run
        and any("VADER" in n for n in names)
        and any("TF-IDF" in n for n in names)
    )
    by = {r["system"]: r for r in s["systems"]}
    assert by[names[0]]["macro_recall"] >= 0.9  # the 3-class model
    assert by[names[1]]["recall"]["neutral"] < 1.0  # a binary model's neutral comes from the band alone
    assert s["published"]["BERTweet"] == 73.4 and s["baseline_train_rows"] == 900
    md = (tmp_path / "r" / "report.md").read_text()
    assert "published: RoBERTa-base | 0.713" in md and "macro_recall" in capsys.readouterr().out
    page = (tmp_path / "r" / "report.html").read_text()  # the page every task gets
    assert re.findall(r'<figure id="fig-([a-z0-9]+)">', page) == ["confusion", "f1", "reliability"]
    assert by[names[0]]["ece"] is not None and by[names[1]]["ece"] is None  # a binary model: no 3-way P


def test_scoring_and_serving_carry_the_third_class(model3, tmp_path):
    import csv

    import tinysent
    from tinysent.apps.score import score_file

    out3, _ = model3
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"text": "i love this great day"}\n{"text": "the phone is at home"}\n{"x": 1}\n')
    counts = score_file(tinysent.load(out3), inp, tmp_path / "o.csv", progress=False)
    assert counts == {"skipped_already_done": 0, "scored": 2, "errors": 1}
    rows = list(csv.DictReader((tmp_path / "o.csv").read_text().splitlines()))
    assert list(rows[0]) == ["id", "line", "label", "negative", "neutral", "positive", "error"]
    assert [r["label"] for r in rows] == ["positive", "neutral", ""] and rows[2]["error"]
    score_file(tinysent.load(out3), inp, tmp_path / "b.jsonl", progress=False, binary=True)
    recs = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert "neutral" not in recs[1] and recs[1]["label"] in ("negative", "positive")


def test_service_answers_three_classes(model3):
    import asyncio

    import httpx

    from tinysent.apps.serve import create_app

    out3, _ = model3
    asgi, app = create_app(str(out3))

    async def go():
        async with app.router.lifespan_context(app):
            await app.state.loading  # the model loads once the server (here: the lifespan) is up
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                r = await c.post(
                    "/v1/predict", json={"texts": ["i hate this awful day", "the phone is at home"]}
                )
                b = await c.post("/v1/predict", json={"texts": ["the phone is at home"], "binary": True})
                bad = await c.post("/v1/predict", json={"texts": ["x"], "neutral_band": [0.4, 0.6]})
                return r, b, bad

    r, b, bad = asyncio.run(go())
    preds = r.json()["predictions"]
    assert r.status_code == 200 and [p["label"] for p in preds] == ["negative", "neutral"]
    assert all(abs(p["negative"] + p["neutral"] + p["positive"] - 1) < 1e-4 for p in preds)
    assert b.status_code == 200 and "neutral" not in b.json()["predictions"][0]
    assert bad.status_code == 422 and "labels neutral itself" in bad.json()["error"]


def test_calibration_of_a_three_class_model_is_per_class(model3, tmp_path):
    import shutil

    from tinysent.train.calibrate import calibrate, classwise_ece

    m = tmp_path / "m"
    shutil.copytree(model3[0], m)
    r = calibrate(m)
    assert r["on"] == "TweetEval validation" and r["val_n"] == 150 and r["temperature"] > 0
    assert set(r["classwise_ece_after"]) == {"negative", "neutral", "positive"}
    assert sum(r["classwise_ece_after"].values()) <= sum(r["classwise_ece_before"].values()) + 1e-6
    assert json.loads((m / "tinysent.json").read_text())["temperature"] == pytest.approx(r["temperature"])
    y = np.array([0, 1, 2, 2])
    sure = np.eye(3)[y]
    assert classwise_ece(y, sure, "abc") == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert classwise_ece(y, np.full((4, 3), 1 / 3), "abc")["c"] == pytest.approx(abs(0.5 - 1 / 3))


def test_int8_export_of_a_three_class_model_is_checked_on_both_validation_sets(model3, tmp_path, capsys):
    from tinysent.apps.cli import main

    out3, _ = model3
    ref = tmp_path / "ref.txt"  # parity on tweets of the fixture's kind (the built-in ones are foreign to it)
    ref.write_text("\n".join(t for _, t in tweets3(60, seed=21)))
    args = ["export", "--model", str(out3), "--out", str(tmp_path / "o"), "--int8", "--validate"]
    assert main([*args, "--reference", str(ref)]) == 0
    v = json.loads((tmp_path / "o" / "validation.json").read_text())
    assert v["tweeteval_val_n"] == 150 and v["val_n"] == 60
    assert v["tweeteval_val_label_agreement"] >= 0.95 and v["label_agreement"] >= 0.95
    import tinysent

    fast = tinysent.load(tmp_path / "o")
    assert fast.backend.name == "onnx" and fast.predict("the phone is at home")["label"] == "neutral"


def test_the_default_binary_loss_is_full_and_learns_all_three_classes(sources, tiny_base, tmp_path):
    from tinysent.train.finetune import train

    sem, te, s140 = sources
    cfg = config3(sources, tiny_base, tmp_path / "m")
    assert cfg.binary_loss == "full"
    best = train(cfg, progress=False)["best"]
    assert best["val3_macro_recall"] >= 0.9 and best["val2_accuracy"] >= 0.9


def test_a_three_class_run_without_its_data_fails_before_loading_anything(capsys):
    from tinysent.apps.cli import main

    assert main(["train", "--num-labels", "3", "--base", "no-such-model", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--handlabelled-data" in err and "hub" not in err
    assert main(["distill", "--teacher", "t", "--num-labels", "3", "--stage1-epochs", "0"]) == 2
    assert "--tweeteval-data" in capsys.readouterr().err


def test_distil_with_sentiment140_as_transfer_tweets_unlabelled_ones_and_an_ensemble(
    model3, sources, trained_model, tmp_path, capsys
):
    """``--emoticon-targets teacher``: the Sentiment140 rows learn the 3-class teacher's probabilities
    (one teacher pass over every row, no binary teacher); ``--unlabelled`` tweets join the transfer
    set; ``--ensemble`` averages teachers' probabilities; a wrong teacher folder is a one-line error."""
    from tinysent.apps.cli import main
    from tinysent.train import three_class as mixed

    teacher3, _ = model3
    sem, te, s140 = sources
    extra = tmp_path / "more.txt"
    extra.write_text("\n".join(t for _, t in tweets3(60, seed=21)) + "\n\n", encoding="utf-8")
    out = tmp_path / "st"
    args = ["distill", "--teacher", str(teacher3), "--student", str(trained_model), "--num-labels", "3"]
    args += ["--handlabelled-data", str(sem), "--tweeteval-data", str(te), "--train-data", str(s140)]
    args += ["--max-train", "300", "--val-fraction", "0.1", "--batch-size", "32", "--eval-every", "20"]
    args += ["--stage1-epochs", "0", "--stage2-epochs", "4", "--stage2-lr", "3e-3", "--min-steps", "0"]
    args += ["--emoticon-targets", "teacher", "--unlabelled", str(extra), "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    meta = json.loads((out / "tinysent.json").read_text())
    assert meta["config"]["emoticon_targets"] == "teacher" and meta["train_rows"] == 900 + 300 + 60
    assert meta["metrics"]["validation"]["val3_macro_recall"] >= 0.9
    # every row through the 3-class teacher: the transfer set's pass and the unlabelled tweets' own
    assert len(list(out.glob("teacher_probs-*.npy"))) == 2
    start = json.loads((out / "train_log.jsonl").read_text().splitlines()[0])
    assert start["unlabelled_rows"] == 60
    # a second run naming the first's folder as --teacher-cache reads the teacher's outputs from there
    import tinysent.runtime.predictor as rp

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rp, "load", lambda *a, **k: pytest.fail("the teacher ran again"))
        again = tmp_path / "again"
        assert main([*args, "--teacher-cache", str(out), "--stage2-epochs", "0.1", "--out", str(again)]) == 0
        # without the unlabelled tweets (or with others) the transfer set's pass is the same file
        fewer = [a for a in args if a not in ("--unlabelled", str(extra))]
        fewer += ["--teacher-cache", str(out), "--stage2-epochs", "0.1", "--out", str(tmp_path / "f")]
        assert main(fewer) == 0
    assert (again / "model.safetensors").exists() and not list(again.glob("teacher_probs-*.npy"))
    # --augment 2: two perturbed copies of each unlabelled tweet join it (short ones may give fewer)
    aug = tmp_path / "aug"
    assert main([*args, "--augment", "2", "--stage2-epochs", "0.1", "--out", str(aug)]) == 0
    n_aug = json.loads((aug / "train_log.jsonl").read_text().splitlines()[0])["unlabelled_rows"]
    assert 60 + 100 <= n_aug <= 60 + 120
    assert json.loads((aug / "tinysent.json").read_text())["train_rows"] == 900 + 300 + n_aug
    no_file = [a for a in args if a not in ("--unlabelled", str(extra))]
    assert main([*no_file, "--augment", "2", "--out", str(tmp_path / "na")]) == 2
    assert "--unlabelled" in capsys.readouterr().err and not (tmp_path / "na").exists()

    texts = ["i love it", "the phone is at home", "awful day"]
    one = mixed.teacher_probs(teacher3, texts, tmp_path / "c")
    binary = mixed.teacher_probs(trained_model, texts, tmp_path / "c")
    both = mixed.teacher_probs([str(teacher3), str(trained_model)], texts, tmp_path / "c")
    np.testing.assert_allclose(both, (one + binary) / 2, atol=1e-6)

    # a long teacher pass stopped midway keeps its finished chunks, and the rerun starts after them
    import tinysent.core.files as files

    calls, logits, autocast_on = [], rp.Predictor.logits, []

    def counted(self, ids, *a, **k):
        calls.append(len(ids))
        autocast_on.append(torch.is_autocast_enabled("cpu"))
        if len(calls) == 2 and stop_once:
            raise KeyboardInterrupt
        return logits(self, ids, *a, **k)

    five = [*texts, "so happy today", "meh"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(files, "CHUNK_ROWS", 2)
        mp.setattr(rp.Predictor, "logits", counted)
        stop_once = True
        with pytest.raises(KeyboardInterrupt):
            mixed.teacher_probs(teacher3, five, tmp_path / "r")
        assert len(list((tmp_path / "r").glob("teacher_probs-*.rows0-2.npy"))) == 1 and calls == [2, 2]
        stop_once = False
        resumed = mixed.teacher_probs(teacher3, five, tmp_path / "r")
    assert calls == [2, 2, 2, 1]  # rows 2-4 and 4-5 only: rows 0-2 were read back
    assert sorted(p.suffix for p in (tmp_path / "r").iterdir()) == [".npy", ".npz"]  # parts gone; index
    np.testing.assert_allclose(resumed, mixed.teacher_probs(teacher3, five, tmp_path / "whole"), atol=1e-5)

    # another transfer set in the same folder (a held-out file less, tweets more): the rows of texts an
    # earlier pass of the same teacher had are read back, only the new ones computed
    calls.clear()
    autocast_on.clear()
    other = [five[3], "a brand new tweet", five[0]]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rp.Predictor, "logits", counted)
        got = mixed.teacher_probs(teacher3, other, tmp_path / "r")
        assert calls == [1]
        mixed.teacher_probs(teacher3, other, tmp_path / "r", temperature=2.0)  # other outputs: all three
        assert calls == [1, 3]
        # a bf16 pass (--mixed-precision bf16) runs under autocast and never reads the fp32 rows back,
        # nor does an fp32 pass read its rows; a second bf16 pass does
        bf16 = mixed.teacher_probs(teacher3, other, tmp_path / "r", precision="bf16")
        assert calls == [1, 3, 3] and autocast_on == [False, False, True]
        mixed.teacher_probs(teacher3, other, tmp_path / "r", precision="bf16")
        assert calls == [1, 3, 3]
        assert mixed.teacher_probs(teacher3, other, tmp_path / "r").tolist() == got.tolist()
        assert calls == [1, 3, 3]
    np.testing.assert_allclose(bf16, got, atol=0.05)  # bf16 arithmetic: close, not equal
    np.testing.assert_allclose(got, mixed.teacher_probs(teacher3, other, tmp_path / "fresh"), atol=1e-5)

    capsys.readouterr()
    assert main([*args, "--ensemble", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "not a model folder" in err and "Traceback" not in err
    assert not (tmp_path / "x" / "model.safetensors").exists()
    missing = [a if a != str(extra) else str(tmp_path / "none.txt") for a in args]
    assert main([*missing, "--out", str(tmp_path / "y")]) == 2  # before any model or data is loaded
    assert "--unlabelled" in capsys.readouterr().err and not (tmp_path / "y").exists()
    assert main([*args, "--teacher-cache", str(extra), "--out", str(tmp_path / "z")]) == 2  # a file
    assert "--teacher-cache" in capsys.readouterr().err and not (tmp_path / "z").exists()


def test_class_offsets_from_calibrate_and_every_path_that_decides_with_it(
    model3, sources, tmp_path, capsys, caplog
):
    """``calibrate --class-offsets`` fits offsets on TweetEval validation and keeps them only when their
    cross-fitted gain is positive; a stored bias decides evaluate's, predict's and the exported
    model's labels alike."""
    import shutil

    import tinysent
    from tinysent.apps.cli import main
    from tinysent.train.calibrate import crossfit_offsets_gain, fit_class_offsets

    m = tmp_path / "m"
    shutil.copytree(model3[0], m)
    assert main(["calibrate", "--model", str(m), "--class-offsets"]) == 0
    r = json.loads(capsys.readouterr().out)["class_offsets"]
    meta = json.loads((m / "tinysent.json").read_text())
    assert r["kept"] == (r["crossfit_gain"] > 0) and (meta["class_offsets"] is not None) == r["kept"]
    assert r["val_macro_recall_after"] >= r["val_macro_recall_before"]
    # offsets found where they pay: few negatives predicted → the negative offset rises
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    lp = np.log(np.where(np.eye(3)[y] == 1, 0.5, 0.25)) + rng.normal(0, 0.3, (600, 3))
    lp[:, 0] -= 0.6
    b = fit_class_offsets(lp, y)
    assert b[1] == 0.0 and b[0] > 0.3 and crossfit_offsets_gain(lp, y) > 0.02
    # a stored bias decides everywhere: what log P + bias says, in evaluate, predict and the export
    from tinysent.data.semeval import classes3, read_tweeteval

    _, te, _ = sources
    test = read_tweeteval(te, "test")
    meta["temperature"] = 20.0  # the tiny model is sure of everything: soften it to make ties
    (m / "tinysent.json").write_text(json.dumps(meta))
    probs, _ = tinysent.load(m, backend="torch").proba(test.texts)  # labels in that order
    bias = np.array([0.0, 0.0, 0.0])
    bias[0] = np.quantile(np.log(probs[:, 1:].max(1)) - np.log(probs[:, 0]), 0.5)  # half turn negative
    meta["class_offsets"] = bias.tolist()
    (m / "tinysent.json").write_text(json.dumps(meta))
    want = np.argmax(np.log(probs) + bias, 1)
    assert 0.3 < (want == 0).mean() < 0.8 and (want != np.argmax(probs, 1)).any()
    got = [r["label"] for r in tinysent.load(m, backend="torch").predict(test.texts)]
    assert got == [("negative", "neutral", "positive")[k] for k in want]
    assert main(["evaluate", "--model", str(m), "--test-data", str(te), "--out", str(tmp_path / "e")]) == 0
    ev = json.loads((tmp_path / "e" / "metrics.json").read_text())
    cm = np.array(ev["confusion_matrix"]["rows_true_cols_pred"])
    y = classes3(test.polarity)
    assert (cm == np.array([[((y == i) & (want == j)).sum() for j in range(3)] for i in range(3)])).all()
    assert main(["export", "--model", str(m), "--out", str(tmp_path / "o")]) == 0
    onnx = [r["label"] for r in tinysent.load(tmp_path / "o").predict(test.texts)]
    assert np.mean([a == b for a, b in zip(onnx, got)]) >= 0.98
    # calibrating again without --class-offsets drops the stored offsets (fitted at another
    # temperature) and says so: the model decides by argmax again, and the report names what went
    capsys.readouterr()
    card = {"tier": "accurate", "scores": {"tweeteval_test_macro_recall": 0.7081}}
    card |= {"n": {"tweeteval_test_macro_recall": 12284}, "speed": {"relative_to_shipped": 0.5}}
    meta = json.loads((m / "tinysent.json").read_text())
    (m / "tinysent.json").write_text(json.dumps({**meta, "card": card}))  # measured with the offsets
    with caplog.at_level("WARNING"):
        assert main(["calibrate", "--model", str(m)]) == 0
    dropped = json.loads(capsys.readouterr().out)["class_offsets"]
    assert dropped["kept"] is False and dropped["dropped"]["negative"] == pytest.approx(bias[0])
    assert "dropped the class offsets" in caplog.text and "--class-offsets" in caplog.text
    assert json.loads((m / "tinysent.json").read_text())["class_offsets"] is None
    # the card's scores were measured under the rule calibrate changed: dropped, said; the rest kept
    after = json.loads((m / "tinysent.json").read_text())["card"]
    assert after == {"tier": "accurate", "speed": {"relative_to_shipped": 0.5}}
    assert "tweeteval_test_macro_recall 0.7081" in caplog.text and "evaluate --card" in caplog.text
    plain = [r["label"] for r in tinysent.load(m, backend="torch").predict(test.texts)]
    assert plain == [("negative", "neutral", "positive")[k] for k in np.argmax(probs, 1)]


def test_a_held_out_semeval_file_is_the_validation_split_for_training_and_calibration(
    sources, tiny_base, tmp_path, capsys
):
    """``--handlabelled-holdout FILE``: that file's tweets leave training and become the 3-class
    split that selects; calibrate reads the same split from the model's config; a name that is not a
    file of the folder is a one-line error before anything loads."""
    from tinysent.apps.cli import main
    from tinysent.data.semeval import read_semeval, validation3
    from tinysent.train.calibrate import calibrate
    from tinysent.train.finetune import train

    sem, te, _ = sources
    name = "twitter-2013train-A.tsv"
    held, on = validation3(str(te), str(sem), [name])
    assert on == f"held-out {name}" and 0 < len(held) <= 300
    cfg = config3(sources, tiny_base, tmp_path / "m", handlabelled_holdout=[name], epochs=1, max_train=0)
    best = train(cfg, progress=False)["best"]
    assert best["val3_n"] == len(held)
    start = json.loads((tmp_path / "m" / "train_log.jsonl").read_text().splitlines()[0])
    assert start["handlabelled_read"] == len(read_semeval(sem, exclude={name})) <= 600
    r = calibrate(tmp_path / "m")
    assert r["on"] == on and r["val_n"] == len(held)

    args = ["train", "--num-labels", "3", "--handlabelled-data", str(sem), "--tweeteval-data", str(te)]
    bad = ["--handlabelled-holdout", "nope.tsv", "--base", "no-such-model", "--out", str(tmp_path / "x")]
    assert main([*args, *bad]) == 2 and not (tmp_path / "x").exists()
    err = capsys.readouterr().err
    assert "--handlabelled-holdout nope.tsv" in err and "Traceback" not in err and "hub" not in err
    every = ["--handlabelled-holdout", name, "--handlabelled-holdout", "twitter-2016train-A.tsv"]
    assert main([*args, *every, "--base", "no-such-model", "--out", str(tmp_path / "x")]) == 2
    assert "leave at least one for training" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_teacher_table_on_validation_only_and_across_vocabularies(model3, sources, tmp_path, monkeypatch):
    """scripts/research/teacher_ensemble.py --val-only is how a recipe chooses its teacher: it must
    read no test set. A teacher whose vocabulary differs from the student's (MPNet's) must read the student's
    Sentiment140 validation split as text, not as the student's token ids."""
    import shutil
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts" / "research"))
    import teacher_ensemble

    teacher3, _ = model3
    _, te, _ = sources
    data = tmp_path / "data" / "tweeteval"
    data.mkdir(parents=True)
    for f in ("val_text.txt", "val_labels.txt", "mapping.txt"):  # no test split here: reading one would fail
        shutil.copy(te / f, data / f)
    # the same model, its vocabulary's ids shuffled: the same texts become other token ids
    other = tmp_path / "other"
    shutil.copytree(teacher3, other, ignore=shutil.ignore_patterns("checkpoint"))
    tok = json.loads((other / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    words = sorted(w for w in vocab if not w.startswith("["))
    ids = sorted(vocab[w] for w in words)
    vocab.update(zip(words, ids[::-1]))
    (other / "tokenizer.json").write_text(json.dumps(tok))

    def table(student: Path, name: str) -> dict:
        out = tmp_path / f"{name}.json"
        argv = ["teacher_ensemble.py", str(teacher3), "--val-only", "--s140-val-of", str(student)]
        monkeypatch.setattr(sys, "argv", [*argv, "--data", str(data.parent), "--out", str(out)])
        teacher_ensemble.main()
        return json.loads(out.read_text())["systems"][str(teacher3)]

    same, shuffled = table(teacher3, "same"), table(other, "shuffled")
    assert set(same) == {"tweeteval_val", "sentiment140_val"}  # no test rows
    assert same["sentiment140_val"]["n"] > 0 and same["tweeteval_val"]["macro_recall"] > 0.5
    assert shuffled["sentiment140_val"] == same["sentiment140_val"]  # read as text: the same answers


def test_soup_of_3_class_models_chooses_on_validation_and_writes_a_model(model3, tmp_path, capsys):
    """`tinysent soup` on 3-class models: every ingredient scored on the 3-class validation rebuilt
    from the first one's config; one that spoils the average is left out; the soup is a model folder
    recording the best score tried; folders that cannot be averaged are one line."""
    from tests.test_soup import perturbed_copy
    from tinysent.apps.cli import main

    m, _ = model3
    near = perturbed_copy(m, tmp_path / "near", 0.01, seed=3)
    far = perturbed_copy(m, tmp_path / "far", 1.0, seed=4)  # noise far above the weights' scale
    out = tmp_path / "soup"
    assert main(["soup", str(far), str(m), str(near), "--out", str(out)]) == 0
    report = json.loads((out / "choice.json").read_text())
    assert str(far) not in report["chosen"] and len(report["tried"]) == 3 + 2
    assert report["val_score"] == max(t["val_score"] for t in report["tried"]) > 0.6
    assert all("val3_macro_recall" in t and "val2_accuracy" in t for t in report["tried"])
    meta = json.loads((out / "tinysent.json").read_text())
    assert meta["method"] == "soup" and meta["metrics"]["validation"]["val_score"] == report["val_score"]
    capsys.readouterr()
    assert main(["soup", str(m), str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "has no model.safetensors" in capsys.readouterr().err


def test_teacher_agreement_on_unlabelled_tweets(model3, tmp_path, monkeypatch):
    """scripts/research/teacher_agreement.py: a model agrees with itself on every tweet (KL 0); a damaged copy
    agrees less and diverges; blank lines are not tweets."""
    import sys

    from tests.test_soup import perturbed_copy

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts" / "research"))
    import teacher_agreement

    m, _ = model3
    far = perturbed_copy(m, tmp_path / "far", 1.0, seed=4)
    texts = tmp_path / "recent.txt"
    texts.write_text("\n".join(t for _, t in tweets3(200, seed=31)) + "\n\n", encoding="utf-8")
    out = tmp_path / "agree.json"
    argv = ["teacher_agreement.py", str(m), str(m), str(far), "--texts", str(texts), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    teacher_agreement.main()
    doc = json.loads(out.read_text())
    same, other = doc["students"][str(m)], doc["students"][str(far)]
    assert doc["n"] == 200 and same["label_agreement"] == 1.0 and abs(same["mean_kl"]) < 1e-5
    assert other["label_agreement"] < 0.9 and other["mean_kl"] > 0.01
    assert other["label_agreement_ci95"][0] < other["label_agreement"] < other["label_agreement_ci95"][1]


def test_polarity_check_on_emotion_labels(model3, tmp_path, monkeypatch):
    """scripts/research/polarity_check.py: anger/sadness read as negative, joy/optimism as positive; a model
    that knows the fixture scores high, a damaged copy lower, a model paired with itself differs by
    exactly 0; a folder whose mapping is not emotion's is an error naming it."""
    import sys

    from tests.test_soup import perturbed_copy

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts" / "research"))
    import polarity_check

    m, _ = model3
    far = perturbed_copy(m, tmp_path / "far", 1.0, seed=4)
    emo = tmp_path / "emotion"
    emo.mkdir()
    (emo / "mapping.txt").write_text("0\tanger\n1\tjoy\n2\toptimism\n3\tsadness\n")
    rows = [r for r in tweets3(150, seed=41) if r[0] != "neutral"]
    codes = {"negative": ("0", "3"), "positive": ("1", "2")}
    labels = "\n".join(codes[lab][i % 2] for i, (lab, _) in enumerate(rows))
    for split in ("train", "val"):  # a TweetEval task folder, like emotion's
        (emo / f"{split}_text.txt").write_text("\n".join(t for _, t in rows) + "\n", encoding="utf-8")
        (emo / f"{split}_labels.txt").write_text(labels)
    out = tmp_path / "pol.json"

    def run(*models, data=emo) -> dict:
        argv = ["polarity_check.py", *map(str, models), "--data", str(data), "--n-boot", "100"]
        monkeypatch.setattr(sys, "argv", [*argv, "--out", str(out)])
        polarity_check.main()
        return json.loads(out.read_text())

    doc = run(m, m, far)
    assert doc["n"] == 100 and doc["positive"] == 50
    same, other = doc["models"][str(m)], doc["models"][str(far)]
    assert same["macro_recall"] >= 0.9 and other["macro_recall"] < same["macro_recall"]
    assert same["macro_recall_minus_first"] == 0 and same["minus_first_ci95"] == [0, 0]  # m after m
    assert other["macro_recall_minus_first"] < 0 and other["minus_first_ci95"][0] < 0
    lo, hi = same["macro_recall_ci95"]
    assert lo <= same["macro_recall"] <= hi
    (emo / "mapping.txt").write_text("0\tnot_irony\n1\tirony\n")  # labels 2, 3 unmapped: the reader refuses
    with pytest.raises(H.DataError, match="label '2' .* is not in the mapping"):
        run(m)
    (emo / "mapping.txt").write_text("0\tnot_irony\n1\tirony\n2\ta\n3\tb\n")
    with pytest.raises(SystemExit, match="not TweetEval emotion's four labels"):
        run(m)


def test_offsets_fitted_on_one_split_scored_on_another(model3, sources, tmp_path, monkeypatch):
    """scripts/research/offsets_transfer.py: offsets fitted on a split never lower macro recall on that same
    split (zero is on the grid); scored on a SemEval file, its rows are that file's."""
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts" / "research"))
    import offsets_transfer

    m, _ = model3
    sem, te, _ = sources
    data = tmp_path / "data"
    data.mkdir()
    (data / "tweeteval").symlink_to(te)
    (data / "semeval-task4a").symlink_to(sem)

    def run(fit: str, score: str) -> dict:
        out = tmp_path / f"{fit}-{score}.json"
        argv = ["offsets_transfer.py", str(m), "--fit", fit, "--score", score, "--n-boot", "50"]
        monkeypatch.setattr(sys, "argv", [*argv, "--data", str(data), "--out", str(out)])
        offsets_transfer.main()
        return json.loads(out.read_text())

    same = run("tweeteval-val", "tweeteval-val")
    assert same["scored_on"]["n"] == same["fit_on"]["n"] == 150
    assert same["macro_recall_with"] >= same["macro_recall_without"]
    other = run("tweeteval-val", "twitter-2013train-A.tsv")
    assert other["scored_on"]["n"] == 300 and other["offsets"] == same["offsets"]
    lo, hi = other["difference_ci95_bootstrap"]
    assert lo <= other["macro_recall_with"] - other["macro_recall_without"] <= hi
    with pytest.raises(SystemExit, match="--score twitter-2013tran-A.tsv: not tweeteval-val nor a file"):
        run("tweeteval-val", "twitter-2013tran-A.tsv")  # the file's name is the error, with the names there


def test_a_3_class_student_cut_from_the_teacher_learns_from_it(
    model3, sources, trained_model, tmp_path, capsys
):
    """``--student layers:…`` (or ``prune:SHAPE``) with 3 labels: the student is cut from the teacher,
    keeps its tokenizer and head, and is distilled; a binary teacher cannot give a 3-class cut."""
    from tinysent.apps.cli import main
    from tinysent.core.meta import ModelMeta

    teacher3, _ = model3
    sem, te, s140 = sources
    args = ["distill", "--num-labels", "3", "--handlabelled-data", str(sem), "--tweeteval-data", str(te)]
    args += ["--train-data", str(s140), "--max-train", "300", "--val-fraction", "0.1", "--batch-size", "32"]
    args += ["--eval-every", "20", "--stage1-epochs", "0", "--stage2-epochs", "2", "--stage2-lr", "3e-3"]
    args += ["--emoticon-targets", "teacher", "--student", "layers:1", "--quiet"]
    out = tmp_path / "cut"
    assert main([*args, "--teacher", str(teacher3), "--out", str(out)]) == 0
    meta = ModelMeta.load(out)
    assert meta.labels == ["negative", "neutral", "positive"] and meta.base_model == "layers:1"
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 1
    assert (out / "tokenizer.json").read_bytes() == (teacher3 / "tokenizer.json").read_bytes()
    assert meta.metrics["validation"]["val3_macro_recall"] >= 0.8
    capsys.readouterr()
    assert main([*args, "--teacher", str(trained_model), "--out", str(tmp_path / "bin")]) == 2
    assert "needs a 3-class teacher" in capsys.readouterr().err
