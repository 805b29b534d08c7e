"""Your own labelled tweets: the reader's formats and its errors, then training,
evaluation, distillation, prediction and the service on a label set of the user's, through the CLI."""

import csv
import json
import math
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinysent.core.errors import DataError, InputError
from tinysent.data.labelled import is_labelled, read_labelled

from .conftest import FILLER, NEG_WORDS, POS_WORDS, make_tiny_base, make_tweets, write_six_col

LABELS = {"joy": POS_WORDS, "anger": NEG_WORDS, "calm": ["smile"]}


def make_rows(n: int, seed: int = 0, labels=("anger", "calm", "joy")) -> list[tuple[str, str]]:
    """(text, label): each label's tweets carry one of its words among filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lab = labels[i % len(labels)]
        words = rng.sample(FILLER, rng.randint(3, 7))
        words.insert(rng.randrange(len(words) + 1), rng.choice(LABELS[lab]))
        rows.append((" ".join(words), lab))
    return rows


def write_csv(path, rows, header=("text", "label"), delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_jsonl(path, rows, keys=("text", "label")):
    path.write_text("".join(json.dumps(dict(zip(keys, r))) + "\n" for r in rows))
    return path


def write_tweeteval(folder, splits: dict, names):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mapping.txt").write_text("".join(f"{i}\t{n}\n" for i, n in enumerate(names)))
    for split, rows in splits.items():
        (folder / f"{split}_text.txt").write_text("".join(t + "\n" for t, _ in rows))
        (folder / f"{split}_labels.txt").write_text("".join(f"{names.index(y)}\n" for _, y in rows))
    return folder


# --- the reader ------------------------------------------------------------------------------


def test_the_same_rows_read_alike_from_csv_tsv_jsonl_parquet_and_a_tweeteval_folder(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = make_rows(30)
    names = ["anger", "calm", "joy"]
    paths = [
        write_csv(tmp_path / "d.csv", rows),
        write_csv(tmp_path / "d.tsv", rows, delimiter="\t"),
        write_jsonl(tmp_path / "d.jsonl", rows),
        write_tweeteval(tmp_path / "te", {"train": rows}, names),
    ]
    pq.write_table(
        pa.table({"text": [t for t, _ in rows], "label": [y for _, y in rows]}), tmp_path / "d.parquet"
    )
    paths.append(tmp_path / "d.parquet")
    for p in paths:
        d = read_labelled(p)
        assert d.names == tuple(names), p
        assert d.texts == [t for t, _ in rows] and [names[i] for i in d.labels] == [y for _, y in rows], p
        assert is_labelled(p)


def test_integer_labels_take_a_mappings_names_and_order(tmp_path):
    rows = [(t, {"anger": 2, "calm": 0, "joy": 1}[y]) for t, y in make_rows(12)]
    write_csv(tmp_path / "d.csv", rows, header=("tweet", "class"))
    (tmp_path / "map.json").write_text(json.dumps({"0": "calm", "1": "joy", "2": "anger"}))
    d = read_labelled(tmp_path / "d.csv", mapping=tmp_path / "map.json")
    assert d.names == ("calm", "joy", "anger")  # columns found by name, order as mapped
    no_map = read_labelled(tmp_path / "d.csv")
    assert no_map.names == ("0", "1", "2")  # numeric order, not "0", "1", "10"


def test_bad_rows_are_reported_with_their_line_and_duplicates_counted(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(
        'text,label\n"i love it",joy\n"ragged",joy,extra\n"",anger\n"multi\nline hate",anger\n'
        '"no label",\n"i love it",joy\n"i love it",anger\n"calm smile",calm\n'
    )
    d = read_labelled(p)
    assert [(x.line, x.kind) for x in d.problems] == [(3, "columns"), (4, "empty"), (7, "label")]
    assert d.lines.tolist() == [2, 5, 8, 9, 10] and d.texts[1] == "multi\nline hate"
    s = d.summary()
    assert (s["duplicates"], s["conflicting_texts"]) == (1, 1)
    assert d.deduplicated().texts == ["multi\nline hate", "calm smile"]  # the conflicting text goes


@pytest.mark.parametrize(
    "content, needle",
    [
        ("tweet,sentiment_score\nhi,1\n", "no label column (looked for label"),
        ("text,label\nhi,joy\nho,joy\n", "one class only ('joy'"),
        ("", "no usable rows (the file is empty)"),
        ("text,label\n", "no usable rows"),
    ],
)
def test_a_file_a_model_cannot_learn_from_is_one_clear_error(tmp_path, content, needle):
    p = tmp_path / "d.csv"
    p.write_text(content)
    with pytest.raises(DataError) as e:
        read_labelled(p).check_trainable()
    assert needle in str(e.value)


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_bytes("text\tlabel\nhi\tjoy\n".encode("utf-16"))
    with pytest.raises(DataError, match="not UTF-8 text: save the file as UTF-8"):
        read_labelled(p)
    csv16 = tmp_path / "d.csv"
    csv16.write_bytes("text,label\nhi,joy\n".encode("utf-16"))
    assert not is_labelled(csv16)  # left to Sentiment140's reader, which names UTF-16


def test_a_test_label_unseen_in_training_is_named(tmp_path):
    write_csv(tmp_path / "t.csv", [("hi", "joy"), ("ho", "surprise")])
    with pytest.raises(DataError, match="'surprise'.*it knows anger, calm, joy"):
        read_labelled(tmp_path / "t.csv", names=("anger", "calm", "joy"))


def test_sentiment140_files_are_not_mistaken_for_labelled_data(tmp_path):
    assert not is_labelled(write_six_col(tmp_path / "s140.csv", make_tweets(5)))
    with pytest.raises(InputError, match="unknown file type"):
        read_labelled(write_csv(tmp_path / "d.xlsx", make_rows(3)))


# --- the CLI on a user's label set -----------------------------------------------------------


def cli(command: str, *texts, ok=True):
    """``tinysent COMMAND`` (split on spaces: the tests' paths have none), then ``texts`` whole."""
    args = [*command.split(), *texts]
    r = subprocess.run(
        [sys.executable, "-m", "tinysent.apps.cli", *args], capture_output=True, text=True, timeout=600
    )
    if ok:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """A 3-label task in three formats, a tiny base, and a model trained on the CSV with string labels."""
    root = tmp_path_factory.mktemp("task")
    base = make_tiny_base(root / "base", dropout=0.0)
    train = write_csv(root / "train.csv", make_rows(900, seed=1))
    test = write_jsonl(root / "test.jsonl", make_rows(90, seed=2))
    model = root / "model"
    cli(
        f"train --base {base} --train-data {train} --out {model} --epochs 4 --batch-size 16 --lr 1e-3 "
        "--eval-every 50 --max-val none --patience none --min-steps 0"
    )
    return {"root": root, "base": base, "train": train, "test": test, "model": model}


def test_a_model_trained_on_string_labels_answers_with_them(task):
    meta = json.loads((task["model"] / "tinysent.json").read_text())
    assert meta["labels"] == ["anger", "calm", "joy"] and meta["config"]["metric"] == "macro_f1"
    assert meta["metrics"]["validation"]["val_score"] > 0.9  # separable fixture: macro-F1 on validation
    config = json.loads((task["model"] / "config.json").read_text())
    assert config["id2label"] == {"0": "anger", "1": "calm", "2": "joy"}
    out = cli(f"predict --model {task['model']}", "i hate this day", "the smile at home")
    recs = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["label"] for r in recs] == ["anger", "calm"] and set(recs[0]) >= {"anger", "calm", "joy"}
    out = cli(f"predict --model {task['model']} --format csv", "i hate this day")
    assert out.stdout.splitlines()[0] == "text,label,anger,calm,joy,empty"  # every label's probability
    table = task["root"] / "scored.csv"
    cli(f"predict --model {task['model']} --input {task['test']} --output {table} --quiet")
    rows = list(csv.DictReader(table.open()))
    assert list(rows[0]) == ["id", "line", "label", "anger", "calm", "joy", "error"] and len(rows) == 90
    assert all(abs(sum(float(r[k]) for k in ("anger", "calm", "joy")) - 1) < 1e-4 for r in rows)
    from transformers import pipeline

    assert pipeline("text-classification", model=str(task["model"]))("i love it")[0]["label"] == "joy"


def test_evaluate_and_report_on_a_jsonl_test_file(task, tmp_path):
    out = cli(f"evaluate --model {task['model']} --test-data {task['test']} --out {tmp_path / 'ev'}")
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["n"] == 90 and m["metric"] == "macro_f1" and m["score"] > 0.9
    assert m["score_ci95"][0] <= m["score"] <= m["score_ci95"][1]
    assert (
        set(m["per_class"]) == {"anger", "calm", "joy"}
        and (tmp_path / "ev" / "confusion_matrix.png").exists()
    )
    assert '"score"' in out.stdout
    cli(
        f"report --model {task['model']} --test-data {task['test']} --train-data {task['train']} "
        f"--out {tmp_path / 'rep'}"
    )
    r = json.loads((tmp_path / "rep" / "report.json").read_text())
    systems = {s["system"]: s for s in r["systems"]}
    name = f"tinysent: base fine-tuned in {task['root'].name}"  # OUT/model: named by its base and run
    assert set(systems) == {
        name,
        "TF-IDF uni+bigram logistic regression (class-balanced)",
        "majority class",
    }
    assert systems["majority class"]["score"] < 0.4 < systems[name]["score"]
    pair = next(p for p in r["mcnemar"] if (p["a"], p["b"]) == (name, "majority class"))
    assert "p_value" in pair


def test_every_task_gets_the_same_page(task, tmp_path):
    """One page design: the labelled task's page has the parts of Sentiment140's (the systems table,
    figures, paired tests, mistakes), a confusion matrix per system, F1 per class, a reliability
    diagram for the systems with probabilities, and the learning curve when --curve names one."""
    import re

    curve = {
        "metric": "macro_f1",
        "n_test": 90,
        "base": "tiny",
        "test": str(task["test"]),
        "points": [
            {"size": n, "model": {"score": s, "score_ci95": [s - 0.1, s + 0.05]}}
            for n, s in ((100, 0.5), (400, 0.8))
        ],
    }
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "curve.json").write_text(json.dumps(curve))
    cli(
        f"report --model {task['model']} --test-data {task['test']} --train-data {task['train']} "
        f"--curve {tmp_path / 'c'} --out {tmp_path / 'rep'}"
    )
    page = (tmp_path / "rep" / "report.html").read_text()
    for part in ("summary", "plots", "mcnemar", "mistakes"):
        assert f'id="{part}"' in page
    assert re.findall(r'<figure id="fig-([a-z0-9]+)">', page) == ["confusion", "f1", "reliability", "curve"]
    r = json.loads((tmp_path / "rep" / "report.json").read_text())
    by = {s["system"]: s for s in r["systems"]}
    name = f"tinysent: base fine-tuned in {task['root'].name}"
    assert by[name]["ece"] is not None and by["majority class"]["ece"] is None
    assert set(by[name]["f1"]) == {"anger", "calm", "joy"}
    assert r["curve"]["points"][1]["size"] == 400
    assert (
        "| system | macro_f1 (95 % CI) | accuracy (95 % CI) |" in (tmp_path / "rep" / "report.md").read_text()
    )


def test_parquet_with_integer_labels_and_a_mapping_trains_checks_and_evaluates(task, tmp_path):
    """The same commands on Parquet files whose labels are integers named by a JSON mapping."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    names = ["anger", "calm", "joy"]
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({str(i): n for i, n in enumerate(names)}))

    def parquet(path, rows):
        table = {"tweet": [t for t, _ in rows], "y": pa.array([names.index(y) for _, y in rows], pa.int64())}
        pq.write_table(pa.table(table), path)
        return path

    train = parquet(tmp_path / "train.parquet", make_rows(300, seed=11))
    test = parquet(tmp_path / "test.parquet", make_rows(90, seed=2))  # the JSONL test file's rows
    cols = f"--text-column tweet --label-column y --label-mapping {mapping}"
    check = json.loads(cli(f"data check {cols} {train}").stdout)
    check = check[0] if isinstance(check, list) else check
    assert check["rows"] == 300 and set(check["labels"]) == set(names)
    out = tmp_path / "m"
    cli(
        f"train --base {task['base']} --train-data {train} {cols} --out {out} --epochs 1 --batch-size 16 "
        "--lr 1e-3 --eval-every 50 --min-steps 0 --quiet"
    )
    assert json.loads((out / "tinysent.json").read_text())["labels"] == names
    cli(f"evaluate --model {task['model']} --test-data {test} {cols} --out {tmp_path / 'ev'}")
    cli(f"evaluate --model {task['model']} --test-data {task['test']} --out {tmp_path / 'ev2'}")
    pq_m, js_m = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("ev", "ev2"))
    assert pq_m["n"] == 90 and pq_m["score"] == js_m["score"]  # same rows, same score, either format


def test_small_labelled_data_trains_a_floor_of_steps(task, tmp_path):
    """A few hundred rows at one epoch are a handful of steps: a labelled run trains at least
    --min-steps (default 600 for labelled data, 0 for Sentiment140), repeating the data."""
    from tinysent.data.config import TrainConfig

    assert TrainConfig(train_data=str(task["train"])).steps_floor == 600
    s140 = write_six_col(tmp_path / "s140.csv", make_tweets(20))
    assert TrainConfig(train_data=str(s140)).steps_floor == 0
    assert TrainConfig(train_data=str(task["train"]), min_steps=0).steps_floor == 0
    out = tmp_path / "m"
    cli(
        f"train --base {task['base']} --train-data {task['train']} --out {out} --epochs 1 --batch-size 16 "
        "--lr 1e-3 --eval-every 1000 --max-train 200 --min-steps 40 --quiet"
    )
    steps = [json.loads(x).get("step") for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert max(s for s in steps if s) == 40  # 200 rows at batch 16: 13 steps an epoch, 4 epochs begun
    r = cli(f"train --base {task['base']} --train-data {task['train']} --out {out} --min-steps -1", ok=False)
    assert r.returncode == 2 and "--min-steps must be >= 0" in r.stderr


def test_a_two_label_task_gets_a_threshold_and_f1_of_a_named_class(task, tmp_path):
    rows = make_rows(400, seed=3, labels=("calm", "joy"))
    train = write_tweeteval(tmp_path / "te", {"train": rows[:300], "val": rows[300:]}, ["calm", "joy"])
    out = tmp_path / "m2"
    cli(
        f"train --base {task['base']} --train-data {train} --out {out} --epochs 3 --batch-size 16 --lr 3e-3 "
        "--eval-every 20 --metric f1:joy --class-weights --min-steps 0"
    )
    meta = json.loads((out / "tinysent.json").read_text())
    v = meta["metrics"]["validation"]
    assert meta["labels"] == ["calm", "joy"] and v["val_n"] == 100 and v["val_metric"] == "f1:joy"
    assert 0 < meta["threshold"] < 1 and meta["threshold"] == v["threshold"]
    assert v["val_score_at_threshold"] >= v["val_score"]
    r = cli(f"predict --model {out} --binary", "i love it", ok=False)
    assert r.returncode != 0 and "labels are calm, joy" in r.stderr and "Traceback" not in r.stderr
    student = tmp_path / "s2"  # its student chooses its own threshold the same way
    cli(
        f"distill --teacher {out} --student {task['base']} --train-data {train} --out {student} "
        "--stage2-epochs 2 --stage2-lr 3e-3 --hard-label-weight 0.5 --eval-every 20 --batch-size 16 "
        "--metric f1:joy --min-steps 0 --quiet"
    )
    s_meta = json.loads((student / "tinysent.json").read_text())
    assert s_meta["threshold"] == s_meta["metrics"]["validation"]["threshold"] and 0 < s_meta["threshold"] < 1
    cli(f"pack --model {out} --out {tmp_path / 'p2'} --validate")  # its threshold decides the agreement
    v = json.loads((tmp_path / "p2" / "validation.json").read_text())
    assert v["val_n"] == 100 and v["validation_is"].endswith("te (val)") and v["label_agreement"] >= 0.95


def test_distil_a_users_task_into_a_student(task, tmp_path):
    unl = tmp_path / "unlabelled.txt"
    unl.write_text("".join(t + "\n" for t, _ in make_rows(60, seed=9)))
    student = tmp_path / "student"
    cli(
        f"distill --teacher {task['model']} --student {task['base']} --train-data {task['train']} "
        f"--unlabelled {unl} --out {student} --stage2-epochs 4 --stage2-lr 3e-3 --hard-label-weight 0.5 "
        "--eval-every 20 --batch-size 16 --min-steps 0 --quiet"
    )
    meta = json.loads((student / "tinysent.json").read_text())
    assert meta["labels"] == ["anger", "calm", "joy"] and meta["method"] == "distill"
    assert meta["train_rows"] == 810 + 60 and meta["metrics"]["validation"]["val_score"] > 0.9
    (cached,) = student.glob("teacher_logits-*.npy")  # the teacher's pass, kept for a rerun
    assert np.load(cached).shape == (870, 3)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: write_csv(d / "x.csv", make_rows(20), header=("body", "label")), "no text column"),
        (lambda d: write_csv(d / "x.csv", [(t, "joy") for t, _ in make_rows(20)]), "one class only"),
        (lambda d: write_csv(d / "x.csv", [], header=("text", "label")), "no usable rows"),
        (lambda d: write_csv(d / "x.csv", [("love", "joy"), ("hate", "anger")]), "no validation rows left"),
    ],
)
def test_bad_training_data_is_one_line_and_writes_nothing(task, tmp_path, make, needle):
    data = make(tmp_path)
    out = tmp_path / "never"
    r = cli(f"train --base {task['base']} --train-data {data} --out {out}", ok=False)
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_an_unseen_test_label_is_refused_by_evaluate(task, tmp_path):
    bad = write_jsonl(tmp_path / "t.jsonl", [*make_rows(5), ("what a surprise", "surprise")])
    r = cli(f"evaluate --model {task['model']} --test-data {bad} --out {tmp_path / 'ev'}", ok=False)
    assert r.returncode != 0 and "'surprise'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "ev").exists()


def test_evaluate_on_a_file_whose_every_row_is_rejected_names_the_first_one(task, tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("text,label\n,joy\n   ,anger\n", encoding="utf-8")  # every text empty
    r = cli(f"evaluate --model {task['model']} --test-data {bad} --out {tmp_path / 'ev'}", ok=False)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert "no usable rows to evaluate on" in err and "2 rows rejected, first at line 2" in err
    assert not (tmp_path / "ev").exists()


def test_evaluate_names_the_rows_it_left_out_by_line(task, tmp_path):
    import json

    rows = make_rows(6)
    lines = [
        "text,label",
        *(f"{t},{lab}" for t, lab in rows[:3]),
        '"never closed,joy',
        *(f"{t},{lab}" for t, lab in rows[3:]),
    ]
    bad = tmp_path / "t.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = cli(f"evaluate --model {task['model']} --test-data {bad} --out {tmp_path / 'ev'}")
    assert "1 row rejected, first at line 5: columns" in r.stderr and "tinysent data check" in r.stderr, (
        r.stderr
    )
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["n"] == 6 and m["rejected_rows"] == 1 and m["rejected_first"][0].startswith("line 5: columns")


def test_the_service_answers_with_the_users_labels(task):
    import asyncio

    import httpx

    from tinysent.apps.serve import create_app

    asgi, app = create_app(str(task["model"]))

    async def go():
        async with app.router.lifespan_context(app):
            await app.state.loading
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                ok = await c.post("/v1/predict", json={"texts": ["i hate this", "i love this"]})
                bad = await c.post("/v1/predict", json={"texts": ["x"], "binary": True})
                ready = await c.get("/readyz")
                return ok, bad, ready

    ok, bad, ready = asyncio.run(go())
    assert ok.status_code == 200, ok.text
    preds = ok.json()["predictions"]
    assert [p["label"] for p in preds] == ["anger", "joy"] and set(preds[0]) == {
        "label",
        "anger",
        "calm",
        "joy",
    }
    assert bad.status_code == 422 and "labels are anger, calm, joy" in bad.json()["error"]
    assert ready.json()["labels"] == ["anger", "calm", "joy"]
    assert np.isclose(sum(preds[0][k] for k in ("anger", "calm", "joy")), 1, atol=1e-4)


def test_ray_scores_an_int8_export_with_the_users_labels(task, tmp_path):
    """Export with int8 (and its fp32 recheck), then score files on Ray Data: the shards carry the
    user's label names and columns, row for row what single-process ``predict --output`` writes."""
    pq = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("ray.data")
    onnx = tmp_path / "onnx"
    cli(f"export --model {task['model']} --out {onnx} --int8")
    assert json.loads((onnx / "tinysent.json").read_text())["labels"] == ["anger", "calm", "joy"]
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_csv(inputs / "a.csv", make_rows(300, seed=7))
    write_jsonl(inputs / "b.jsonl", make_rows(200, seed=8))
    single = tmp_path / "single.parquet"
    cli(f"predict --model {onnx} --input {inputs / 'a.csv'} --output {single} --quiet")
    shards = tmp_path / "shards"
    cli(f"predict --engine ray --workers 1 --model {onnx} --input {inputs} --output {shards} --quiet")
    tables = {p.name.split("-")[0]: pq.read_table(p) for p in shards.iterdir()}
    assert sorted(tables) == ["a", "b"] and tables["a"].equals(pq.read_table(single))
    assert tables["b"].column_names == ["id", "line", "label", "anger", "calm", "joy", "error"]
    rows = make_rows(200, seed=8)
    got = tables["b"].column("label").to_pylist()
    assert np.mean([g == y for g, (_, y) in zip(got, rows)]) > 0.9  # the user's names, right ones
    bad = cli(
        f"predict --engine ray --model {onnx} --input {inputs} --output {tmp_path / 'x'} --binary", ok=False
    )
    assert bad.returncode == 2 and "drop --binary" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_packing_a_users_model_checks_its_default_path_on_its_own_validation_rows(task, tmp_path):
    """pack --validate compares int8 (with its recheck) with fp32 on the task's validation rows, by the
    model's own rule: a 3-label model of the user's is not TweetEval's 3 classes (it was read as one)."""
    packed = tmp_path / "packed"
    r = cli(f"pack --model {task['model']} --out {packed} --validate")
    report = json.loads(r.stdout)
    v = json.loads((packed / "validation.json").read_text())
    assert report["validation"] == v and report["label_agreement"] == 1.0  # fp16 keeps every label
    meta = json.loads((task["model"] / "tinysent.json").read_text())["metrics"]["validation"]
    assert v["validation_is"] == "0.1 of the training file" and v["val_n"] == meta["val_n"] == 90
    assert v["val_accuracy_torch_fp32"] == meta["val_accuracy"]  # the rows the run validated on
    assert v["label_agreement"] >= 0.95 and "tweeteval_val_n" not in v
    # its training file moved: refused before packing, so the packed model stays as it was
    moved = tmp_path / "moved"
    shutil.copytree(task["model"], moved)
    meta = json.loads((moved / "tinysent.json").read_text())
    meta["config"]["train_data"] = str(tmp_path / "gone.csv")
    (moved / "tinysent.json").write_text(json.dumps(meta))
    before = {f.name: f.read_bytes() for f in packed.iterdir()}
    r = cli(f"pack --model {moved} --out {packed} --validate", ok=False)
    assert r.returncode == 2 and "gone.csv, which is not there" in r.stderr and "Traceback" not in r.stderr
    assert {f.name: f.read_bytes() for f in packed.iterdir()} == before


def test_a_learning_curve_scores_each_size_beside_tfidf(task, tmp_path):
    out = tmp_path / "curve"
    cli(
        f"curve --base {task['base']} --train-data {task['train']} --test-data {task['test']} --out {out} "
        "--sizes 60,all --epochs 4 --batch-size 16 --lr 1e-3 --eval-every 50 --min-steps 0 --quiet"
    )
    res = json.loads((out / "curve.json").read_text())
    assert [p["size"] for p in res["points"]] == [
        60,
        810,
    ]  # no size 0: the tiny base has no head for these labels
    assert all(set(p) >= {"model", "tfidf_lr"} for p in res["points"]) and res["n_test"] == 90
    assert res["points"][-1]["model"]["score"] > 0.9 and (out / "curve.png").exists()
    assert (out / "n-60" / "tinysent.json").exists() and "TF-IDF LR" in (out / "curve.md").read_text()


def test_a_task_sharing_labels_with_the_base_starts_from_its_head_rows(task):
    """A negative/positive task from the 3-class shipped model starts as its negative-vs-positive
    answer: the base head's rows are copied by name (any order); labels it lacks start fresh."""
    import torch

    from tinysent.train.models import load_classifier

    own, *_ = load_classifier(task["model"], labels=("anger", "calm", "joy"))
    pair, *_ = load_classifier(task["model"], labels=("joy", "anger"))
    wider, *_ = load_classifier(task["model"], labels=("anger", "calm", "joy", "other"))
    other, *_ = load_classifier(task["model"], labels=("up", "down"))
    w = own.classifier.weight
    assert torch.equal(pair.classifier.weight, w[[2, 0]])
    assert torch.equal(pair.classifier.bias, own.classifier.bias[[2, 0]])
    assert torch.equal(wider.classifier.weight[:3], w) and not torch.equal(wider.classifier.weight[3], w[0])
    assert not any(torch.equal(other.classifier.weight[0], row) for row in w)


def test_the_curve_starts_from_a_base_that_answers_a_subset_of_its_labels(task, tmp_path):
    """Size 0 is the base as it is, answering the likelier of the task's two labels."""
    train = write_csv(tmp_path / "pair.csv", make_rows(200, seed=5, labels=("anger", "joy")))
    test = write_csv(tmp_path / "pair_test.csv", make_rows(60, seed=6, labels=("anger", "joy")))
    out = tmp_path / "curve"
    cli(
        f"curve --base {task['model']} --train-data {train} --test-data {test} --out {out} "
        "--sizes 40 --epochs 1 --batch-size 16 --lr 1e-4 --eval-every 50 --min-steps 0 --quiet"
    )
    res = json.loads((out / "curve.json").read_text())
    assert [p["size"] for p in res["points"]] == [0, 40]
    assert res["points"][0]["model"]["score"] > 0.9  # the 3-label model already tells anger from joy
    assert res["points"][1]["model"]["score"] > 0.9  # and starting from its rows keeps that


def test_a_mistyped_data_path_is_the_error_not_the_base_models_loading(tmp_path):
    """No --base: Sentiment140's default base is a hub model, unreachable here. The missing file is
    what the user must hear about, before any model is fetched."""
    for cmd in ("train", "distill --teacher " + str(tmp_path)):
        r = cli(f"{cmd} --train-data {tmp_path / 'nope.csv'} --out {tmp_path / 'out'}", ok=False)
        assert r.returncode == 2 and "nope.csv: no such file or folder" in r.stderr and "hub" not in r.stderr
        assert not (tmp_path / "out").exists()


def test_one_class_left_after_rejected_rows_names_the_rejection(tmp_path):
    """A ragged row that held the only other class: the error says why one class is left."""
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"good day",joy\n"bad, day",anger,extra\n"fine",joy\n')
    with pytest.raises(DataError, match=r"one class only .*1 row rejected, first at line 3: columns"):
        read_labelled(path).check_trainable()


def test_calibrating_a_two_label_task_keeps_its_answers(task, tmp_path):
    """`tinysent calibrate` on a labelled model fits its temperature on the model's own validation rows
    (not Sentiment140's, not TweetEval's); a two-label model's threshold moves with it, so no answer
    changes."""
    from tinysent.runtime.predictor import load

    rows = make_rows(400, seed=5, labels=("calm", "joy"))
    train = write_tweeteval(tmp_path / "te", {"train": rows[:300], "val": rows[300:]}, ["calm", "joy"])
    out = tmp_path / "m2"
    cli(
        f"train --base {task['base']} --train-data {train} --out {out} --epochs 2 --batch-size 16 --lr 3e-3 "
        "--eval-every 20 --metric f1:joy --min-steps 0 --quiet"
    )
    m = json.loads((out / "tinysent.json").read_text())
    m["threshold"] = 0.7  # a threshold away from 0.5, where the temperature moves the decision
    (out / "tinysent.json").write_text(json.dumps(m))
    cal = tmp_path / "cal"
    cli(f"calibrate --model {out} --out {cal}")
    meta = json.loads((cal / "tinysent.json").read_text())
    report = meta["metrics"]["calibration"]
    assert report["val_n"] == 100 and "validation rows of" in report["on"] and meta["temperature"] != 1.0
    texts = [t for t, _ in make_rows(300, seed=6, labels=("calm", "joy"))]
    before, after = load(out, backend="torch"), load(cal, backend="torch")
    assert [r["label"] for r in before.predict(texts)] == [r["label"] for r in after.predict(texts)]
    t = meta["temperature"]
    assert t * math.log(meta["threshold"] / (1 - meta["threshold"])) == pytest.approx(math.log(0.7 / 0.3))


def test_the_own_task_recipe_makes_a_packed_model_from_a_labelled_file(task, tmp_path):
    """`tinysent recipe run own-task`: teacher, the 4-layer model fine-tuned and distilled, the better
    one on validation, calibrated, packed (int8) and scored once on the test file."""
    from tinysent.runtime.predictor import load

    work = tmp_path / "work"
    sets = f"--set train={task['train']} --set test={task['test']} --set teacher_base={task['base']}"
    r = cli(f"recipe run own-task --work {work} {sets} --set student={task['base']}")
    summary = json.loads(r.stdout)
    assert [s["step"] for s in summary["steps"]][-4:] == ["select", "calibrate", "pack", "evaluate"]
    choice = json.loads((work / "chosen" / "choice.json").read_text())
    assert set(choice["candidates"]) == {"student", "fine-tuned"}
    m = load(work / "model")
    assert m.meta.labels == ["anger", "calm", "joy"] and (work / "model" / "model.int8.onnx").exists()
    v = json.loads((work / "model" / "validation.json").read_text())  # int8 vs fp32 on its validation rows
    assert v["val_n"] == 90 and v["label_agreement"] >= 0.95
    ev = json.loads((work / "eval" / "metrics.json").read_text())
    assert ev["n"] == 90 and ev["metric"] == "macro_f1"


def test_a_models_validation_rows_alone_are_the_rows_its_run_validated_on(task, monkeypatch):
    """task_validation (what calibrate, pack --validate and select read) rebuilds a trained model's
    validation rows exactly as prepare_task does for its run, without tokenising the training rows."""
    from tinysent.core.meta import ModelMeta
    from tinysent.core.normalize import Normalizer
    from tinysent.data import task as T
    from tinysent.train.models import load_tokenizer
    from tinysent.train.validation import run_config

    cfg, meta = run_config(task["model"]), ModelMeta.load(task["model"])
    tokenizer, normalizer = load_tokenizer(task["model"]), Normalizer(meta.normalizer_config)
    full = T.prepare_task(cfg, tokenizer, normalizer)
    encoded, encode = [], T.encode

    def counted(texts, *a, **k):
        encoded.append(len(texts))
        return encode(texts, *a, **k)

    monkeypatch.setattr(T, "encode", counted)
    alone = T.task_validation(cfg, tokenizer, normalizer, meta.max_length)
    assert alone.val_ids == full.val_ids and alone.val_labels.tolist() == full.val_labels.tolist()
    assert alone.names == full.names and alone.stats["validation"] == full.stats["validation"]
    assert encoded == [len(full.val_labels)] == [90] and alone.train_ids == []
