"""Scoring on Ray Data (a local Ray, 2 CPUs, loopback): the same records as single-process
``predict --output``, every row once, error records, a crashed actor retried, complete shards
skipped on a rerun."""

import csv
import json
import random

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("ray.data")

from tinysent.apps.cli import main  # noqa: E402
from tinysent.apps.raydata import expand_inputs, shard_name  # noqa: E402
from tinysent.apps.score import ScoreError  # noqa: E402

WORDS = ["love", "great", "hate", "awful", "the", "day", "movie", "so", "not", "ok", "lol", "@user"]


def _text(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 30)))


@pytest.fixture(scope="module")
def int8_model(trained_model, tmp_path_factory):
    from tinysent.train.export import export

    out = tmp_path_factory.mktemp("onnx") / "m"
    export(trained_model, out, int8=True)
    return out


def _inputs(folder):
    """20,000 rows in four files of three formats, with one bad row in each."""
    rng = random.Random(0)
    folder.mkdir()
    for name, n in (("a.csv", 6000), ("b.csv", 6000)):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["tweet_id", "text"])
            for i in range(n):
                if i == 77:
                    f.write("torn-row-with-one-field\n")
                else:
                    w.writerow([f"{name}-{i}", _text(rng)])
    with open(folder / "c.jsonl", "w", encoding="utf-8") as f:
        for i in range(5000):
            f.write("{not json\n" if i == 5 else json.dumps({"tweet_id": i, "text": _text(rng)}) + "\n")
    texts = [_text(rng) for _ in range(3000)]
    texts[10] = None
    pq.write_table(
        pa.table({"tweet_id": pa.array(range(10**9, 10**9 + 3000), pa.int64()), "text": texts}),
        folder / "d.parquet",
        row_group_size=700,
    )
    return sorted(folder.iterdir())


def test_ray_scores_like_single_process_once_each_with_a_crashed_actor(
    int8_model, tmp_path, monkeypatch, capsys
):
    files = _inputs(tmp_path / "in")
    single = {}
    for f in files:
        out = tmp_path / f"single-{f.stem}.parquet"
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(int8_model),
                    "--input",
                    str(f),
                    "--output",
                    str(out),
                    "--id-column",
                    "tweet_id",
                    "--quiet",
                ]
            )
            == 0
        )
        single[str(f)] = pq.read_table(out)

    marker = tmp_path / "crashed-once"
    monkeypatch.setenv("TINYSENT_RAY_CRASH_ONCE", str(marker))
    shards = tmp_path / "shards"
    args = [
        "predict",
        "--engine",
        "ray",
        "--workers",
        "2",
        "--model",
        str(int8_model),
        "--input",
        str(tmp_path / "in"),
        "--output",
        str(shards),
        "--id-column",
        "tweet_id",
        "--quiet",
    ]
    assert main(args) == 0
    assert marker.exists()  # an actor died after scoring a file, before publishing it: Ray retried it

    def shard(f):  # its name ends with a key of the model, options and input (raydata.shard_key)
        base = shard_name(str(f), "parquet")[: -len(".parquet")] + "-"
        (found,) = [p.name for p in shards.iterdir() if p.name.startswith(base)]
        return found

    names = sorted(p.name for p in shards.iterdir())
    assert names == sorted(shard(f) for f in files)  # one shard per input, no partial files left
    total = 0
    for f in files:
        got = pq.read_table(shards / shard(f))
        want = single[str(f)]
        assert got.schema == want.schema
        assert got.equals(want), f  # same rows, order, ids, labels and probabilities, bit for bit
        ids = got.column("id").to_pylist()
        assert len(ids) == len(set(ids))  # every row once
        errors = [e for e in got.column("error").to_pylist() if e]
        assert len(errors) == 1, (f, errors)  # the bad row is an error record, the rest are scored
        total += got.num_rows
    assert total == 20000
    d = pq.read_table(shards / shard(files[3]))
    assert pa.types.is_int64(d.schema.field("id").type) and d.column("id")[0].as_py() == 10**9

    # A rerun skips complete shards; a removed one is scored again, alone.
    before = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    removed = shard(files[1])
    (shards / removed).unlink()
    assert main(args) == 0
    after = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    assert set(after) == set(before)
    changed = [n for n in after if after[n] != before[n]]
    assert changed == [removed]
    assert pq.read_table(shards / changed[0]).equals(single[str(files[1])])

    # Another option, or an edited input, never reuses (or sits beside) the old shards: refused.
    assert main([*args, "--binary"]) == 2
    assert "scored with another model, other options" in capsys.readouterr().err
    files[2].write_text(files[2].read_text() + json.dumps({"tweet_id": 9999, "text": "one more"}) + "\n")
    assert main(args) == 2
    assert shard(files[2]) in capsys.readouterr().err


def test_inputs_expand_from_folders_and_globs_and_refuse_nothing(tmp_path):
    (tmp_path / "x").mkdir()
    for n in ("b.csv", "a.jsonl", "notes.md"):
        (tmp_path / "x" / n).write_text("text\nhi\n")
    assert [p.rsplit("/", 1)[1] for p in expand_inputs([str(tmp_path / "x")])] == ["a.jsonl", "b.csv"]
    assert [p.rsplit("/", 1)[1] for p in expand_inputs([str(tmp_path / "x" / "*.csv")])] == ["b.csv"]
    with pytest.raises(ScoreError, match="no such file"):
        expand_inputs([str(tmp_path / "missing")])
    with pytest.raises(ScoreError, match="no input files"):
        expand_inputs([str(tmp_path / "x" / "*.tsv")])
    with pytest.raises(ScoreError, match="not a scorable file"):
        expand_inputs([str(tmp_path / "x" / "notes.md")])
    assert shard_name("/a/part.csv", "parquet") != shard_name("/b/part.csv", "parquet")


def test_ray_engine_refuses_options_it_does_not_take(tmp_path, capsys):
    assert main(["predict", "--engine", "ray", "--output", str(tmp_path / "o")]) == 2
    assert "needs --input" in capsys.readouterr().err
    assert main(["predict", "--engine", "ray", "--input", "x", "--output", "o", "--strict"]) == 2
    assert "drop --strict" in capsys.readouterr().err


def test_fsspec_urls_stay_urls_for_the_actors():
    import fsspec

    fs = fsspec.filesystem("memory")
    for n in ("p/a.csv", "p/b.jsonl", "p/skip.md"):
        with fs.open(f"/{n}", "w") as f:
            f.write("text\nhi\n")
    assert expand_inputs(["memory://p"]) == ["memory:///p/a.csv", "memory:///p/b.jsonl"]
    assert expand_inputs(["memory://p/*.csv"]) == ["memory:///p/a.csv"]


def test_one_bad_input_file_is_reported_and_the_others_scored(int8_model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = random.Random(1)
    with open(folder / "good.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        w.writerows([[_text(rng)] for _ in range(300)])
    (folder / "corrupt.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 100 + b"PAR1")
    (folder / "utf16.csv").write_bytes("text\nhello there\n".encode("utf-16"))
    shards = tmp_path / "shards"
    rc = main(["predict", "--engine", "ray", "--workers", "2", "--model", str(int8_model),
               "--input", str(folder), "--output", str(shards), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("error: ")]
    assert sorted(x.split(": ")[1] for x in lines) == [
        str(folder / "corrupt.parquet"),
        str(folder / "utf16.csv"),
    ]
    assert all("tinysent-shard-" not in x for x in lines)  # the user's path, not the actor's copy
    (good,) = [p for p in shards.iterdir()]
    assert good.name.startswith("good-") and pq.read_table(good).num_rows == 300
