import csv
import json

import pytest

from tinysent.cli import main
from tinysent.score import ScoreError, read_records, score_file


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
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 12  # everything before the bad line was written
    with open(out, "a") as f:
        f.write("id99,torn")  # an interrupted write: a partial last line
    counts = score_file(p, inp, out, id_column="tweet_id", chunk=5, resume=True, progress=False)
    assert counts == {"skipped_already_done": 12, "scored": 17, "errors": 1}
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
