import csv
import json

import pytest

from tinysent.apps.cli import main
from tinysent.apps.inputs import read_records
from tinysent.apps.score import score_file
from tinysent.core.errors import ScoreError


def _csv(path, n=30, bad_at=12):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tweet_id", "text"])
        for i in range(n):
            if i == bad_at:
                f.write("only-one-field\n")
            else:
                w.writerow([f"id{i}", "i love this great day" if i % 2 else "i hate this awful day"])
    return path


def test_cli_scores_in_order_with_ids_and_an_error_record(trained_model, tmp_path, capsys):
    inp, out = _csv(tmp_path / "in.csv"), tmp_path / "out.jsonl"
    rc = main(
        [
            "predict",
            "--model",
            str(trained_model),
            "--input",
            str(inp),
            "--output",
            str(out),
            "--id-column",
            "tweet_id",
            "--quiet",
        ]
    )
    assert rc == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 30 and [r["line"] for r in recs] == list(range(2, 32))
    assert recs[12]["error"].startswith("expected 2 fields") and "label" not in recs[12]
    good = [r for r in recs if "error" not in r]
    assert [r["id"] for r in good][:3] == ["id0", "id1", "id2"]
    assert [r["label"] for r in good[:2]] == ["negative", "positive"]
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["errors"] == 1


def test_strict_stops_and_resume_finishes_without_rescoring(trained_model, tmp_path):
    import tinysent

    p = tinysent.load(trained_model)
    inp, out = _csv(tmp_path / "in.csv"), tmp_path / "out.csv"
    with pytest.raises(ScoreError, match="line 14"):
        score_file(p, inp, out, id_column="tweet_id", chunk=5, strict=True, progress=False)
    assert not out.exists()  # the output appears only when a run succeeds
    partial = tmp_path / "out.csv.partial"
    rows = list(csv.DictReader(partial.read_text().splitlines()))
    assert len(rows) == 12  # everything before the bad line was written
    with open(partial, "a") as f:
        f.write("id99,torn")  # an interrupted write: a partial last line
    counts = score_file(p, inp, out, id_column="tweet_id", chunk=5, resume=True, progress=False)
    assert counts == {"skipped_already_done": 12, "scored": 17, "errors": 1}
    assert not partial.exists()
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["id"] for r in rows if r["id"]] == [f"id{i}" for i in range(30) if i != 12]
    assert len(rows) == 30


def test_readers_for_txt_and_jsonl(tmp_path):
    t = tmp_path / "a.txt"
    t.write_bytes(b"hello\n\xff\xfe bad\nbye\n")
    recs = list(read_records(t))
    assert [r.text for r in recs] == ["hello", None, "bye"] and "UTF-8" in recs[1].error
    j = tmp_path / "a.jsonl"
    j.write_text('{"text": "ok", "k": 7}\nnot json\n{"other": 1}\n{"text": 5}\n')
    recs = list(read_records(j, id_column="k"))
    assert recs[0].id == 7 and recs[0].text == "ok"
    assert [r.error is not None for r in recs] == [False, True, True, True]
    with pytest.raises(ScoreError, match="no column 'body'"):
        list(read_records(_csv(tmp_path / "x.csv"), column="body"))


def test_parquet_in_and_out_keeps_ids_and_flags_bad_rows(trained_model, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import tinysent

    inp, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    texts = ["i love this great day", None, "i hate this awful day"]
    pq.write_table(pa.table({"k": pa.array([7, 8, 9], pa.int64()), "text": texts}), inp)
    assert [(r.line, r.id, r.error) for r in read_records(inp, id_column="k")] == [
        (1, 7, None),
        (2, 8, "'text' is null"),
        (3, 9, None),
    ]
    p = tinysent.load(trained_model)
    counts = score_file(p, inp, out, id_column="k", progress=False)
    assert counts == {"skipped_already_done": 0, "scored": 2, "errors": 1}
    t = pq.read_table(out)
    assert pa.types.is_int64(t.schema.field("id").type) and t.column("id").to_pylist() == [7, 8, 9]
    assert t.column("label").to_pylist() == ["positive", None, "negative"]
    assert t.column("error").to_pylist() == [None, "'text' is null", None]
    assert not (tmp_path / "out.parquet.partial").exists()
    with pytest.raises(ScoreError, match="no column 'body'"):
        list(read_records(inp, column="body"))
    with pytest.raises(ScoreError, match="--resume continues"):
        score_file(p, inp, out, resume=True, progress=False)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ScoreError, match="not a readable Parquet file"):
        list(read_records(tmp_path / "broken.parquet"))


def test_a_failed_run_leaves_the_previous_output_and_unknown_formats_are_refused(trained_model, tmp_path):
    import tinysent

    p = tinysent.load(trained_model)
    inp = _csv(tmp_path / "in.csv")
    for name in ("out.jsonl", "out.parquet"):
        out = tmp_path / name
        if name.endswith(".parquet"):
            pytest.importorskip("pyarrow")
        score_file(p, inp, out, id_column="tweet_id", progress=False)
        before = out.read_bytes()
        with pytest.raises(ScoreError, match="no column 'body'"):
            score_file(p, inp, out, column="body", progress=False)  # checked before the output is touched
        assert out.read_bytes() == before
    with pytest.raises(ScoreError, match="name the file .csv, .jsonl or .parquet"):
        score_file(p, inp, tmp_path / "out.tsv", progress=False)
    assert not (tmp_path / "out.tsv").exists()


def test_csv_records_may_hold_newlines_and_resume_counts_records(trained_model, tmp_path):
    """A quoted newline is part of its field; ids with newlines survive --resume."""
    import tinysent

    inp = tmp_path / "in.csv"
    inp.write_bytes(
        b'id,text\n1,"multi\nline tweet i love"\n2,plain hate\n3,"a ""quoted"" one"\n4,\xff bad\n'
    )
    recs = list(read_records(inp, id_column="id"))
    assert [(r.line, r.id, r.text) for r in recs[:3]] == [
        (2, "1", "multi\nline tweet i love"),
        (4, "2", "plain hate"),
        (5, "3", 'a "quoted" one'),
    ]
    assert recs[3].line == 6 and "not valid UTF-8" in recs[3].error
    p = tinysent.load(trained_model)
    j = tmp_path / "in.jsonl"
    j.write_text("".join(json.dumps({"id": f"a\nb{i}", "text": "i love it"}) + "\n" for i in range(7)))
    out = tmp_path / "out.csv"
    score_file(p, j, out, id_column="id", chunk=3, progress=False)
    whole = out.read_bytes()
    kept = whole[: whole.index(b'"a\nb3"')]  # an interrupted run: three records and a torn fourth
    (tmp_path / "out.csv.partial").write_bytes(kept + b'"a\nb3",4,posi')
    out.unlink()
    counts = score_file(p, j, out, id_column="id", chunk=3, resume=True, progress=False)
    assert counts["skipped_already_done"] == 3 and counts["scored"] == 4
    assert out.read_bytes() == whole
    assert [r["id"] for r in csv.DictReader(out.read_text().splitlines(keepends=True))] == [
        f"a\nb{i}" for i in range(7)
    ]


def test_a_truncated_quoted_field_is_an_error_record_not_text(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text('id,text\n1,"x"y\n2,"ok"\n3,"unterminated\n')
    recs = list(read_records(inp, id_column="id"))
    assert [(r.line, r.text) for r in recs if r.error is None] == [(3, "ok")]
    assert [r.line for r in recs if r.error] == [2, 4]
    assert all("unparsable CSV record" in r.error for r in recs if r.error)


def test_a_second_run_into_the_same_output_is_refused_while_the_first_writes(trained_model, tmp_path):
    """Two runs into one output: the one that holds the partial file owns it; the other is refused
    at once and touches nothing (the success exit always owns its rows)."""
    import fcntl

    import tinysent
    from tinysent.apps.score import partial_path

    src = tmp_path / "in.txt"
    src.write_text("i love it\n" * 50)
    out = tmp_path / "out.jsonl"
    p = tinysent.load(trained_model)
    with open(partial_path(out), "ab") as held:  # a first run in progress holds the lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(b'{"line": 1}\n')
        held.flush()
        with pytest.raises(ScoreError, match="another run is writing"):
            score_file(p, src, out, progress=False)
        assert partial_path(out).read_bytes() == b'{"line": 1}\n' and not out.exists()
    assert score_file(p, src, out, progress=False)["scored"] == 50  # once it is done, a run goes ahead


def test_resume_with_other_options_or_input_is_refused(trained_model, tmp_path):
    """An interrupted run records its model, options and input beside its partial file; a resume
    that differs is refused (rows of two runs would share one file), the same one goes on."""
    import json

    import tinysent

    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": "i love it" if i % 2 else "i hate it"}) for i in range(200)]
    lines[120] = "{broken"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    p = tinysent.load(trained_model)
    with pytest.raises(ScoreError, match="line 121"):  # --strict stops there: an interrupted run
        score_file(p, src, out, progress=False, chunk=16, strict=True, neutral_band=(0.4, 0.6))
    record = out.with_name("out.csv.partial.json")
    assert record.exists() and json.loads(record.read_text())["neutral_band"] == [0.4, 0.6]
    with pytest.raises(ScoreError, match="neutral_band"):
        score_file(p, src, out, progress=False, resume=True, neutral_band=(0.3, 0.7))
    with pytest.raises(ScoreError, match="binary"):
        score_file(p, src, out, progress=False, resume=True, neutral_band=(0.4, 0.6), binary=True)
    c = score_file(p, src, out, progress=False, resume=True, neutral_band=(0.4, 0.6))
    assert c["skipped_already_done"] == 120 and (c["scored"], c["errors"]) == (79, 1)
    assert not record.exists()  # a finished run leaves no record
    # an input edited after an interruption
    with pytest.raises(ScoreError):
        score_file(p, src, tmp_path / "o2.csv", progress=False, chunk=16, strict=True)
    src.write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(ScoreError, match="input"):
        score_file(p, src, tmp_path / "o2.csv", progress=False, resume=True)
