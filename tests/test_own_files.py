"""Users' own files are never silently lost, mislabelled or mixed: every record is read or reported
with its line, label names are never guessed, a resume checks its inputs, one writer per output, and
model folders and bases hold only what tinysent can load safely. Through the real CLI."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinysent.apps.cli import main
from tinysent.apps.inputs import read_records
from tinysent.core.errors import DataError
from tinysent.data.labelled import read_labelled

from .conftest import make_tiny_base
from .test_labelled import make_rows, write_csv, write_tweeteval


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _train(base, data, out, *extra):
    return [
        "train", "--base", str(base), "--train-data", str(data), "--out", str(out), "--epochs", "1",
        "--batch-size", "16", "--lr", "1e-3", "--eval-every", "20", "--max-val", "none", "--patience", "none",
        "--min-steps", "0", "--quiet", *map(str, extra),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return make_tiny_base(tmp_path_factory.mktemp("own") / "base", dropout=0.0)


# --- every record read or reported ------------------------------------------------------------


def _stray_quote_tsv(path, n=1000, bad=11):
    rows = make_rows(n, seed=3)
    lines = ["text\tlabel"] + [
        ('"Best day ever' if i + 1 == bad else t) + "\t" + y for i, (t, y) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_stray_quote_costs_its_own_row_not_the_rows_after_it(tmp_path, capsys):
    tsv = _stray_quote_tsv(tmp_path / "f.tsv")
    assert main(["data", "check", str(tsv), "--compact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 999 and out["problems"] == {"columns": 1}
    assert out["first_problems"][0].startswith("line 12: columns:") and "quote" in out["first_problems"][0]
    d = read_labelled(tsv)
    assert len(d) == 999 and [p.line for p in d.problems] == [12]
    # scoring the same kind of file: 5,000 rows, one error record, nothing vanishes
    big = _stray_quote_tsv(tmp_path / "big.tsv", n=5000)
    out = tmp_path / "o.jsonl"
    assert main(["predict", "--input", str(big), "--output", str(out), "--quiet"]) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 5000 and [r["line"] for r in recs if "error" in r] == [12]
    assert [r["line"] for r in recs] == list(range(2, 5002))


text_st = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda t: t.strip() and "\r" not in t and t.strip() == t
)


@st.composite
def delimited_files(draw):
    """(file text, delimiter, records written, good rows): rows written properly (quotes, delimiters
    and newlines in the text, quoted as CSV quotes them) and rows with a quote opened and never
    closed, which a reader must report without losing the rows after them."""
    delim = draw(st.sampled_from([",", "\t"]))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(["text", "label"])
    good = []
    records = draw(st.integers(1, 25))
    for _ in range(records):
        if draw(st.integers(0, 4)) == 0:
            body = draw(text_st).replace('"', "").replace("\n", " ").replace(delim, " ").strip() or "x"
            buf.write('"' + body + delim + "a\n")
        else:
            t, y = draw(text_st), draw(st.sampled_from(["a", "b"]))
            w.writerow([t, y])
            good.append((t, y))
    return buf.getvalue(), delim, records, good


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delimited_files())
def test_every_record_is_read_or_reported_with_its_line(tmp_path, case):
    text, delim, records, good = case
    path = tmp_path / ("f.tsv" if delim == "\t" else "f.csv")
    path.write_text(text, encoding="utf-8")
    # training data: rows + rejected rows = records; the good rows exactly
    d = read_labelled(path, names=("a", "b"))
    assert len(d) + len(d.problems) == records
    assert [(t, d.names[y]) for t, y in zip(d.texts, d.labels)] == [(t, y) for t, y in good]
    # files to score: one record (text or error) per record written
    recs = list(read_records(path))
    assert len(recs) == records
    assert [r.text for r in recs if r.error is None] == [t for t, _ in good]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.tuples(text_st, st.sampled_from(["a", "b"])), st.just(None)), min_size=1))
def test_every_jsonl_line_is_read_or_reported(tmp_path, rows):
    path = tmp_path / "f.jsonl"
    path.write_text(
        "".join((json.dumps({"text": r[0], "label": r[1]}) if r else '{"text": "torn') + "\n" for r in rows)
    )
    d = read_labelled(path, names=("a", "b"))
    assert len(d) + len(d.problems) == len(rows)
    assert len(list(read_records(path))) == len(rows)


def test_an_overlong_field_is_a_reported_row_not_a_traceback(base, tmp_path, capsys):
    rows = make_rows(60, seed=4)
    long_text = "word " * 30000  # 150,000 characters: over csv's default field limit
    f = tmp_path / "long.csv"
    with open(f, "w", newline="", encoding="utf-8") as h:
        w = csv.writer(h)
        w.writerow(["text", "label"])
        w.writerow([long_text, "joy"])
        h.write('"an unclosed quote and then ' + "x" * 1_200_000 + ",anger\n")  # over the 1 MiB cap
        w.writerows(rows)
    assert main(["data", "check", str(f), "--compact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 61 and sum(out["problems"].values()) == 1
    assert "characters" in out["first_problems"][0] and out["first_problems"][0].startswith("line 3:")
    assert main(_train(base, f, tmp_path / "m")) == 0
    capsys.readouterr()
    ev = tmp_path / "ev"
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--test-data", str(f), "--out", str(ev)]) == 0
    m = json.loads((ev / "metrics.json").read_text())
    assert m["n"] == 61 and m["rejected_rows"] == 1


# --- labels never guessed -------------------------------------------------------------------


def test_a_label_missing_from_the_mapping_is_an_error(base, tmp_path, capsys):
    rows = [(t, str(i % 3)) for i, (t, _) in enumerate(make_rows(90, seed=5))]
    f = write_csv(tmp_path / "d.csv", rows)
    mapping = tmp_path / "map.txt"
    mapping.write_text("0\tnegative\n1\tpositive\n")
    out = tmp_path / "m"
    assert main([*_train(base, f, out), "--label-mapping", str(mapping)]) == 2
    err = _err(capsys)
    assert "label '2' (30 rows, first at line 4) is not in the mapping" in err and not out.exists()
    assert main(["data", "check", str(f), "--label-mapping", str(mapping)]) == 1
    assert "not in the mapping" in capsys.readouterr().out


def test_a_byte_order_mark_is_not_part_of_a_label(tmp_path):
    names = ["anger", "joy", "optimism", "sadness"]
    rows = [(f"tweet {i} smile", names[i % 4]) for i in range(40)]
    folder = write_tweeteval(tmp_path / "emo", {"train": rows}, names)
    (folder / "mapping.txt").write_bytes(b"\xef\xbb\xbf" + (folder / "mapping.txt").read_bytes())
    labels = folder / "train_labels.txt"
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())
    d = read_labelled(folder)
    assert d.names == tuple(names) and d.counts() == {n: 10 for n in names} and not d.problems
    csv_bom = tmp_path / "bom.csv"
    csv_bom.write_bytes(b"\xef\xbb\xbftext,label\nhello,a\nbye,b\n")
    assert read_labelled(csv_bom).counts() == {"a": 1, "b": 1}


def test_a_tweeteval_folder_without_its_mapping_is_not_read_as_sentiment(base, tmp_path, capsys):
    rows = [(t, "irony" if i % 2 else "non_irony") for i, (t, _) in enumerate(make_rows(80, seed=6))]
    folder = write_tweeteval(tmp_path / "irony", {"train": rows, "test": rows[:20]}, ["non_irony", "irony"])
    (folder / "mapping.txt").unlink()
    assert main(["data", "check", str(folder)]) == 1
    assert "without mapping.txt" in capsys.readouterr().out
    for argv in (
        ["evaluate", "--test-data", str(folder), "--out", str(tmp_path / "ev")],
        _train(base, folder, tmp_path / "m"),
    ):
        assert main(argv) == 2
        assert "mapping.txt" in _err(capsys)
    assert not (tmp_path / "ev").exists() and not (tmp_path / "m").exists()
    mapping = tmp_path / "map.txt"
    mapping.write_text("0\tnon_irony\n1\tirony\n")
    assert read_labelled(folder, mapping=mapping).counts() == {"non_irony": 40, "irony": 40}


@pytest.mark.parametrize(
    "labels, needle",
    [
        (["Positive", "positive", "negative"], "differ only in case"),
        (["text", "label"], "is also a field of every prediction record"),
        (["error", "ok"], "is also a field of every prediction record"),
    ],
)
def test_label_sets_that_would_mislead_are_refused_before_training(base, tmp_path, capsys, labels, needle):
    rows = [(t, labels[i % len(labels)]) for i, (t, _) in enumerate(make_rows(60, seed=7))]
    f = write_csv(tmp_path / "d.csv", rows)
    assert main(_train(base, f, tmp_path / "m")) == 2
    assert needle in _err(capsys) and not (tmp_path / "m").exists()


def test_a_mapping_may_not_name_a_label_like_a_record_field(tmp_path):
    f = write_csv(tmp_path / "d.csv", [(t, str(i % 2)) for i, (t, _) in enumerate(make_rows(20))])
    mapping = tmp_path / "map.txt"
    mapping.write_text("0\tok\n1\ttruncated\n")
    with pytest.raises(DataError, match="'truncated' is also a field"):
        read_labelled(f, mapping=mapping)


def test_a_model_folder_whose_labels_are_record_fields_is_refused_on_load(base, tmp_path, capsys):
    f = write_csv(tmp_path / "d.csv", make_rows(60, seed=8))
    m = tmp_path / "m"
    assert main(_train(base, f, m)) == 0
    meta = json.loads((m / "tinysent.json").read_text())
    meta["labels"] = ["anger", "label", "joy"]
    (m / "tinysent.json").write_text(json.dumps(meta))
    assert main(["predict", "--model", str(m), "hello"]) == 2
    assert "'label' is a prediction record's field" in _err(capsys)


def test_odd_label_values_and_duplicate_columns_are_reported(tmp_path):
    f = tmp_path / "d.jsonl"
    vals = ["a", "b", ["x"], {"k": 1}, float("nan"), None, "nan", 1.0]
    f.write_text("".join(json.dumps({"text": f"t{i}", "label": v}) + "\n" for i, v in enumerate(vals)))
    d = read_labelled(f)
    assert d.names == ("1", "a", "b") and [p.line for p in d.problems] == [3, 4, 5, 6, 7]
    dup = tmp_path / "dup.csv"
    dup.write_text("text,label,text\nhello,a,bye\n")
    with pytest.raises(DataError, match="2 text columns"):
        read_labelled(dup)
    with pytest.raises(DataError, match="2 columns named 'text'"):
        read_labelled(dup, text_column="text")


# Output round trip: probabilities beside the record's fields, for any allowed label names.
names_st = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
        lambda s: (
            s.strip() == s and s and s not in ("label", "text", "id", "line", "error", "empty", "truncated")
        )
    ),
    min_size=2,
    max_size=5,
    unique=True,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names_st, st.data())
def test_scored_outputs_round_trip_for_any_label_names(tmp_path, names, data):
    pq = pytest.importorskip("pyarrow.parquet")
    from tinysent.apps.score import _Writer
    from tinysent.core.labels import LabelModel

    lm = LabelModel(tuple(names))
    p = np.asarray(data.draw(st.lists(st.lists(st.floats(0.01, 1), min_size=len(names), max_size=len(names)),
                                      min_size=1, max_size=5)))  # fmt: skip
    p = p / p.sum(1, keepdims=True)
    recs = [{"id": i, "line": i + 2, **r} for i, r in enumerate(lm.records(p))]
    recs.append({"id": 99, "line": 99, "error": "bad row"})
    cols = lm.columns()
    for suffix in (".csv", ".jsonl", ".parquet"):
        path = tmp_path / f"o{suffix}"
        w = _Writer(path, append=False, columns=cols)
        for r in recs:
            w.write(r)
        w.close()
        if suffix == ".csv":
            back = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
            assert list(back[0]) == ["id", "line", "label", *names, "error"]
            got = [(r["label"], [round(float(r[n]), 4) for n in names]) for r in back[:-1]]
        elif suffix == ".jsonl":
            back = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
            got = [(r["label"], [round(r[n], 4) for n in names]) for r in back[:-1]]
        else:
            back = pq.read_table(path).to_pylist()
            assert list(back[0]) == ["id", "line", "label", *names, "error"]
            got = [(r["label"], [round(r[n], 4) for n in names]) for r in back[:-1]]
        want = [(r["label"], [round(r[n], 4) for n in names]) for r in recs[:-1]]
        assert got == want and back[-1]["error"] == "bad row"


# --- runs: inputs pinned, one writer, nothing deleted --------------------------------------------


def test_resume_on_a_rewritten_data_file_is_refused(base, tmp_path, capsys):
    f = write_csv(tmp_path / "d.csv", make_rows(90, seed=9))
    out = tmp_path / "m"
    assert main(_train(base, f, out)) == 0
    capsys.readouterr()
    flipped = [(t, {"anger": "joy", "joy": "anger"}.get(y, y)) for t, y in make_rows(90, seed=9)]
    write_csv(f, flipped)
    assert main([*_train(base, f, out), "--resume"]) == 2
    assert "--resume on other data: --train-data" in _err(capsys)


def test_resume_of_distill_on_a_changed_unlabelled_file_is_refused(base, tmp_path, capsys):
    f = write_csv(tmp_path / "d.csv", make_rows(90, seed=10))
    teacher = tmp_path / "t"
    assert main(_train(base, f, teacher)) == 0
    extra = tmp_path / "u.txt"
    extra.write_text("".join(t + "\n" for t, _ in make_rows(20, seed=11)))
    args = ["distill", "--teacher", str(teacher), "--student", str(base), "--train-data", str(f),
            "--unlabelled", str(extra), "--out", str(tmp_path / "s"), "--stage2-epochs", "1",
            "--batch-size", "16", "--min-steps", "0", "--quiet"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    extra.write_text("".join(t + "\n" for t, _ in make_rows(20, seed=12)))
    assert main([*args, "--resume"]) == 2
    assert "--resume on other data: --unlabelled" in _err(capsys)


def test_two_runs_into_one_out_folder_one_is_refused(base, tmp_path, capsys):
    from tinysent.data.outputs import folder_lock

    f = write_csv(tmp_path / "d.csv", make_rows(60, seed=13))
    out = tmp_path / "m"
    with folder_lock(out):  # another run holds the folder
        assert main(_train(base, f, out)) == 2
        assert "another run is writing" in _err(capsys)
        assert not out.exists()
    assert main(_train(base, f, out)) == 0 and not (tmp_path / ".m.lock").exists()


def test_run_on_a_labelled_file_checks_its_test_data_before_training(base, tmp_path, capsys, monkeypatch):
    train = write_csv(tmp_path / "irony.csv", make_rows(90, seed=14))
    common = ["run", "--base", str(base), "--train-data", str(train), "--epochs", "1", "--batch-size", "16",
              "--min-steps", "0", "--max-train", "none", "--quiet"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "r0")]) == 2
    assert "--test-data" in _err(capsys) and not (tmp_path / "r0").exists()
    test = write_csv(tmp_path / "test.csv", make_rows(30, seed=15))
    assert main([*common, "--test-data", str(test), "--out", str(tmp_path / "r1")]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "r1" / "eval" / "metrics.json").read_text())["n"] == 30
    assert (tmp_path / "r1" / "report" / "report.html").exists()
    # the shipped model cannot answer anger / calm / joy: no row for it
    page = json.loads((tmp_path / "r1" / "report" / "report.json").read_text())
    assert not any("shipped" in str(s) or "tinybert" in str(s) for s in page["systems"]), page["systems"]

    # a failure after training keeps the trained model
    import tinysent.apps.report as report_module

    def broken(*a, **k):
        raise DataError("the report failed")

    monkeypatch.setattr(report_module, "report", broken)
    assert main([*common, "--test-data", str(test), "--out", str(tmp_path / "r2")]) == 2
    err = _err(capsys)
    assert "the report failed" in err and "the trained model is kept" in err
    assert (tmp_path / "r2" / "model" / "model.safetensors").exists()


def test_concurrent_token_store_builds_all_succeed(base, tmp_path):
    """Three processes build one token store at once: each writes its own folder, the first rename
    wins, the others open the winner's store; no temporary folder is left."""
    code = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / "src")!r})
from transformers import AutoTokenizer
from tinysent.data.tokens import TokenStore
tok = AutoTokenizer.from_pretrained({str(base)!r})
def texts():
    time.sleep(1.0)  # all three are building at once
    return ["i love this day"] * 5000 + ["so sad"] * 5000
s = TokenStore.get_or_build(sys.argv[1], "k", texts, tok)
print(len(s), int(s.lengths(__import__("numpy").arange(3)).sum()))
"""
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0] and len(set(outs)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


# --- model folders and bases ----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize(
    "name, kind", [("tinysent.json", "zero"), ("model.onnx", "fifo"), ("tokenizer.json", "zero")]
)
def test_special_files_in_a_model_folder_are_refused_not_read(tmp_path, name, kind):
    from tinysent.runtime.predictor import shipped_folder

    m = tmp_path / "m"
    shutil.copytree(shipped_folder(), m)
    (m / name).unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(m / name)
    else:
        (m / name).symlink_to("/dev/zero")
    r = subprocess.run(
        [sys.executable, "-m", "tinysent.apps.cli", "predict", "--model", str(m), "--precision",
         "fp32", "hi"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "not a regular file" in r.stderr and "Traceback" not in r.stderr


def test_pickle_only_bases_and_teachers_are_refused(base, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pkl = tmp_path / "pkl"
    pkl.mkdir()
    for f in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if (base / f).exists():
            shutil.copy(base / f, pkl / f)
    torch.save({"w": torch.zeros(2)}, pkl / "pytorch_model.bin")
    data = write_csv(tmp_path / "d.csv", make_rows(60, seed=16))
    assert main(_train(pkl, data, tmp_path / "m")) == 2
    assert "only pytorch_model.bin: a pickle, which tinysent never loads" in _err(capsys)
    assert main(["distill", "--teacher", str(pkl), "--student", str(base), "--train-data", str(data),
                 "--out", str(tmp_path / "s"), "--quiet"]) == 2  # fmt: skip
    assert "--teacher" in _err(capsys) and not (tmp_path / "s").exists()


def test_a_max_length_beyond_the_base_is_refused_before_training(base, tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", make_rows(60, seed=17))
    assert main([*_train(base, data, tmp_path / "m"), "--max-length", "100000"]) == 2
    assert "more than the 128 positions" in _err(capsys) and not (tmp_path / "m").exists()


def test_a_three_label_base_on_binary_data_keeps_its_rows_by_name(train_file, tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "m"  # train --base shipped on Sentiment140 (binary): it crashed on the head's size
    argv = ["train", "--base", "shipped", "--train-data", str(train_file), "--out", str(out),
            "--epochs", "1", "--max-train", "64", "--batch-size", "32", "--min-steps", "0",
            "--eval-every", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert json.loads((out / "tinysent.json").read_text())["labels"] == ["negative", "positive"]
    from safetensors.numpy import load_file

    from tinysent.runtime.predictor import shipped_folder
    from tinysent.train.models import load_classifier

    model, _, _, _ = load_classifier("shipped", num_labels=2)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    ref = load_file(str(shipped_folder() / "model.safetensors"))
    w = ref["classifier.weight"].astype(np.float32)
    got = model.classifier.weight.detach().numpy()
    assert np.allclose(got, w[[0, 2]], atol=1e-3)  # negative and positive rows, not fresh ones


def test_distill_maps_a_teachers_labels_by_name(base, tmp_path, capsys):
    rows = [(t, "irony" if y == "joy" else "non_irony") for t, y in make_rows(120, seed=18) if y != "calm"]
    teacher_data = write_csv(tmp_path / "t.csv", rows)
    mapping = tmp_path / "map.txt"
    mapping.write_text("non_irony\tnon_irony\nirony\tirony\n")  # the teacher's order: non_irony, irony
    teacher = tmp_path / "t"
    assert main([*_train(base, teacher_data, teacher), "--label-mapping", str(mapping)]) == 0
    assert json.loads((teacher / "tinysent.json").read_text())["labels"] == ["non_irony", "irony"]
    student = tmp_path / "s"
    assert main(["distill", "--teacher", str(teacher), "--student", str(base), "--train-data",
                 str(teacher_data), "--out", str(student), "--stage2-epochs", "1", "--batch-size", "16",
                 "--min-steps", "0", "--quiet"]) == 0  # fmt: skip
    assert json.loads((student / "tinysent.json").read_text())["labels"] == ["non_irony", "irony"]


# --- sampling, data check, misc -------------------------------------------------------------


def test_stratified_samples_have_exactly_n_rows_and_keep_every_class(tmp_path, capsys):
    from tinysent.data.sentiment140 import stratified_sample

    y = np.repeat(np.arange(200), 6)
    for n in (1, 100, 199, 200, 201, 777):
        idx = stratified_sample(y, n, seed=1)
        assert len(idx) == n == len(set(idx.tolist()))
        assert len(set(y[idx].tolist())) == min(n, 200)
    s140 = tmp_path / "s.csv"
    from .conftest import make_tweets, write_six_col

    write_six_col(s140, make_tweets(101))
    for n in (1, 2, 10):
        out = tmp_path / f"sample-{n}.csv"
        assert main(["data", "sample", "--train-data", str(s140), "--n", str(n), "--out", str(out)]) == 0
        assert json.loads(capsys.readouterr().out)["rows"] == n


def test_many_classes_with_max_train_train_without_a_traceback(base, tmp_path, capsys):
    rows = [(f"word{c} filler {k} smile", f"c{c:03d}") for c in range(200) for k in range(6)]
    f = write_csv(tmp_path / "d.csv", rows)
    assert main([*_train(base, f, tmp_path / "m"), "--max-train", "300"]) == 0
    meta = json.loads((tmp_path / "m" / "tinysent.json").read_text())
    assert meta["train_rows"] == 300 and len(meta["labels"]) == 200


def test_data_check_streams_and_counts_like_the_reader(tmp_path):
    rows = (
        make_rows(300, seed=19)
        + make_rows(50, seed=19)[:20]
        + [("conflict text", "joy"), ("conflict text", "anger")]
    )
    f = write_csv(tmp_path / "d.csv", rows)
    with open(f, "a") as h:
        h.write("only one field\n")
    from tinysent.data.labelled import check_labelled

    d = read_labelled(f)
    assert check_labelled(f) == d.summary()


def test_augment_has_a_cap(tmp_path):
    from tinysent.core.errors import InputError
    from tinysent.train.distill.config import DistillConfig

    u = tmp_path / "u.txt"
    u.write_text("x\n")
    with pytest.raises(InputError, match="at most 100 copies"):
        DistillConfig(teacher="t", train_data="d.csv", unlabelled=str(u), augment=1_000_000)


def test_the_tfidf_baseline_is_class_balanced_under_a_macro_metric():
    from tinysent.apps.report.baselines import TfidfLogReg3

    rng = np.random.default_rng(0)
    texts = [f"common filler {i}" for i in range(300)] + [f"rare word{i % 3} thing" for i in range(15)]
    y = np.r_[np.zeros(300, int), np.ones(15, int)]
    rng.shuffle(order := np.arange(len(y)))
    plain = TfidfLogReg3.for_metric("accuracy").fit([texts[i] for i in order], y[order])
    fair = TfidfLogReg3.for_metric("macro_f1").fit([texts[i] for i in order], y[order])
    assert fair.balanced and not plain.balanced and "class-balanced" in fair.name
    probe = ["rare word1 thing"]
    assert (
        fair.clf.predict_proba(fair.vec.transform(fair.norm.many(probe)))[0, 1]
        > (plain.clf.predict_proba(plain.vec.transform(plain.norm.many(probe)))[0, 1])
    )


def test_a_folder_lock_is_held_across_threads_of_one_run(tmp_path):
    from tinysent.core.errors import MetaError
    from tinysent.data.outputs import folder_lock

    got = []

    def second():
        try:
            with folder_lock(tmp_path / "x"):
                got.append("entered")
        except MetaError:
            got.append("refused")

    with folder_lock(tmp_path / "x"):
        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert got == ["refused"]


def test_blank_lines_and_empty_fields_keep_their_meaning(tmp_path):
    scored = tmp_path / "in.csv"
    scored.write_text('text\nhello\n\n""\nbye\n')
    recs = list(read_records(scored))
    assert [(r.line, r.text, r.error) for r in recs] == [
        (2, "hello", None),
        (3, None, "expected 1 fields, found 0"),  # a line of a file to score: one record each
        (4, "", None),  # a quoted empty text is a text (scored as empty)
        (5, "bye", None),
    ]
    labelled = tmp_path / "d.csv"
    labelled.write_text("text,label\nhello,a\n\nbye,b\n")
    d = read_labelled(labelled)
    assert d.texts == ["hello", "bye"] and not d.problems  # a blank line holds no labelled row


def test_a_class_of_one_row_is_trained_on_not_held_out():
    from tinysent.data.sentiment140 import stratified_split

    y = np.array([0] * 50 + [1] * 50 + [2])
    tr, va = stratified_split(y, 0.1, seed=3)
    assert 100 in tr.tolist() and 100 not in va.tolist()
    assert set(y[va].tolist()) == {0, 1} and len(tr) + len(va) == len(y)
