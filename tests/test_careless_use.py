"""Careless and hostile use of models, files and the CLI: a model folder with unlisted, missing,
pickled or damaged files, bad metadata, damaged data, occupied output folders, interrupted runs and
checkpoints, odd text input. Each ends in a clear error naming the problem, never a traceback, a
wrong answer or a lost file."""

import gzip
import json
import shutil
import subprocess
import sys

import pytest

import tinysent
from tinysent.apps.cli import main
from tinysent.train.export import export

from .conftest import make_tweets, tiny_train_args, write_six_col


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _err(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def fp32_export(trained_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "onnx"
    export(trained_model, out, int8=False)
    return out


def test_files_not_listed_in_the_metadata_are_never_loaded(trained_model, fp32_export, tmp_path):
    m = _copy(fp32_export, tmp_path / "m")
    meta = json.loads((m / "tinysent.json").read_text())
    # the graph and the PyTorch weights it reads (export/storage.py), each pinned
    # the graph, the PyTorch weights it reads (export/storage.py) and the tokenizer, each pinned
    assert set(meta["files"]) == {"model.onnx", "model.safetensors", "tokenizer.json"}
    assert len(meta["files"]["model.onnx"]) == 64
    (m / "model.int8.onnx").write_bytes(b"stale export from an older run")  # would win before
    p = tinysent.load(m)
    assert p.backend.file.name == "model.onnx"
    with pytest.raises(FileNotFoundError, match="has no ONNX int8 model"):
        tinysent.load(m, precision="int8")
    data = bytearray((m / "model.onnx").read_bytes())
    data[-10] ^= 0xFF  # a damaged copy
    (m / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="does not match the sha256"):
        tinysent.load(m)


def test_out_folders_are_not_overwritten_silently(tiny_base, train_file, trained_model, tmp_path, capsys):
    out = _copy(trained_model, tmp_path / "m")
    (out / "junk.txt").write_text("from an older run")
    before = (out / "model.safetensors").read_bytes()
    args = tiny_train_args(tiny_base, train_file, out, epochs=1)
    assert main(["train", *args]) == 2
    assert "--overwrite" in _err(capsys) and (out / "junk.txt").exists()
    # a failing --overwrite run puts the old model back untouched
    bad = tiny_train_args(tiny_base, tmp_path / "missing.csv", out, epochs=1)
    assert main(["train", *bad, "--overwrite"]) == 2
    _err(capsys)
    assert (out / "model.safetensors").read_bytes() == before and (out / "junk.txt").exists()
    assert main(["train", *args, "--overwrite"]) == 0
    assert not (out / "junk.txt").exists() and (out / "model.safetensors").exists()
    capsys.readouterr()
    exp = tmp_path / "e"
    exp.mkdir()
    (exp / "model.int8.onnx").write_text("old")
    assert main(["export", "--model", str(out), "--out", str(exp)]) == 2
    assert "not empty" in _err(capsys)
    assert main(["export", "--model", str(out), "--out", str(exp), "--overwrite"]) == 0
    assert not (exp / "model.int8.onnx").exists()


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: {**d, "temperature": 0}, "temperature must be a positive number"),
        (lambda d: {**d, "temperature": -1}, "temperature must be a positive number"),
        (lambda d: {**d, "threshold": 1.5}, "threshold must be between 0 and 1"),
        (lambda d: {**d, "labels": ["positive", "negative"]}, "labels must be [negative, positive]"),
        (lambda d: {**d, "labels": ["negative"]}, "labels must be a list of 2 to 1000"),
        (lambda d: {**d, "max_length": 1_000_000_000}, "max_position_embeddings"),
        (lambda d: [d], "JSON list, not an object"),
        (None, "no tinysent.json"),
    ],
)
def test_metadata_is_validated(trained_model, tmp_path, capsys, edit, needle):
    m = _copy(trained_model, tmp_path / "m")
    f = m / "tinysent.json"
    if edit is None:
        f.unlink()
    else:
        f.write_text(json.dumps(edit(json.loads(f.read_text()))))
    assert main(["predict", "--model", str(m), "hello"]) == 2
    assert needle in _err(capsys)


def test_missing_tokenizer_pickles_and_damaged_weights_are_refused(trained_model, tmp_path):
    m = _copy(trained_model, tmp_path / "tok")
    for f in ("tokenizer.json", "vocab.txt"):
        (m / f).unlink(missing_ok=True)
    with pytest.raises(RuntimeError, match="no tokenizer files"):
        tinysent.load(m)
    m = _copy(trained_model, tmp_path / "pickle")
    (m / "model.safetensors").rename(m / "pytorch_model.bin")
    with pytest.raises(RuntimeError, match="pickle, which tinysent never loads"):
        tinysent.load(m)
    m = _copy(trained_model, tmp_path / "trunc")
    data = (m / "model.safetensors").read_bytes()
    (m / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="does not match the sha256"):
        tinysent.load(m)
    meta = json.loads((m / "tinysent.json").read_text())
    meta.pop("files")  # a folder from before the file list: the loader's own error, still clear
    (m / "tinysent.json").write_text(json.dumps(meta))
    with pytest.raises(RuntimeError, match="cannot load .*damaged or truncated"):
        tinysent.load(m)


def test_damaged_data_and_wrong_kinds_of_path(tiny_base, trained_model, train_file, tmp_path, capsys):
    gz = tmp_path / "train.csv.gz"
    gz.write_bytes(gzip.compress(train_file.read_bytes())[:-200])  # truncated download
    assert main(["data", "check", str(gz)]) == 1  # data check reports per file, as JSON
    assert "truncated or damaged" in capsys.readouterr().out
    assert main(["train", *tiny_train_args(tiny_base, gz, tmp_path / "t")]) == 2
    assert "truncated or damaged" in _err(capsys)
    assert (
        main(["predict", "--model", str(trained_model), "--input", str(tmp_path), "--output", "o.jsonl"]) == 2
    )
    assert "is a folder" in _err(capsys)
    inp = tmp_path / "in.txt"
    inp.write_text("hello\n")
    assert (
        main(["predict", "--model", str(trained_model), "--input", str(inp), "--output", str(tmp_path)]) == 2
    )
    assert "is a folder" in _err(capsys)
    assert main(["predict", "--model", str(inp), "hi"]) == 2
    assert "is a file" in _err(capsys)
    absent = tmp_path / "absent.csv"
    for out in ([], ["--output", str(tmp_path / "o.jsonl")]):
        assert main(["predict", "--model", str(trained_model), "--input", str(absent), *out]) == 2
        err = _err(capsys).strip()
        assert (
            err == f"error: {absent}: no such file; name a .txt, .csv, .tsv, .jsonl or .parquet file of texts"
        )
    assert not (tmp_path / "o.jsonl").exists()
    assert main(["data", "check", str(absent), str(inp)]) == 1  # the other path is still checked
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {"file": str(absent), "error": f"{absent}: no such file or folder"}
    assert len(out) > 1


def test_a_long_text_argument_is_a_text(trained_model, capsys):
    text = "i love this great day " * 12  # 264 characters: longer than a file name may be
    assert main(["predict", "--model", str(trained_model), text]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["text"] == text and rec["label"] == "positive"


def test_any_iterable_of_texts(trained_model):
    p = tinysent.load(trained_model)
    assert [r["label"] for r in p.predict(iter(["i love this great day", "i hate this awful day"]))] == [
        "positive",
        "negative",
    ]
    assert len(p.predict(t for t in ["a", "b", "c"])) == 3
    with pytest.raises(TypeError, match="decode it first"):
        p.predict(b"bytes")
    with pytest.raises(ValueError, match="text 1 is not valid Unicode: character 2"):
        p.predict(["fine", "ab\udcff"])


def test_stdin_is_split_like_files_and_bad_bytes_are_named(trained_model, tmp_path):
    def run(stdin: bytes, *args):
        return subprocess.run(
            [sys.executable, "-m", "tinysent.apps.cli", "predict", "--model", str(trained_model), *args],
            input=stdin,
            capture_output=True,
            timeout=120,
        )

    r = run(b"good tweet\nbad \xff byte\n")
    assert (
        r.returncode == 2
        and b"stdin, line 2: not valid UTF-8 (byte 5" in r.stderr
        and b"Traceback" not in r.stderr
    )
    odd = "one\fstill one\u2028and still one\nsecond\n".encode()
    (tmp_path / "in.txt").write_bytes(odd)
    a = [json.loads(x)["text"] for x in run(odd).stdout.splitlines()]
    b = [json.loads(x)["text"] for x in run(b"", "--input", str(tmp_path / "in.txt")).stdout.splitlines()]
    assert a == b == ["one\fstill one\u2028and still one", "second"]


def test_empty_utf16_and_test_files_and_a_changed_resume(tiny_base, train_file, tmp_path, capsys, caplog):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["train", *tiny_train_args(tiny_base, empty, tmp_path / "a")]) == 2
    assert "no tweets in it" in _err(capsys)
    u16 = tmp_path / "u16.csv"
    u16.write_bytes(train_file.read_text().encode("utf-16"))
    assert main(["train", *tiny_train_args(tiny_base, u16, tmp_path / "b")]) == 2
    assert "UTF-16" in _err(capsys)
    test = write_six_col(tmp_path / "testdata.manual.2009.06.14.csv", make_tweets(200, seed=5))
    with caplog.at_level("WARNING"):
        assert main(["train", *tiny_train_args(tiny_base, test, tmp_path / "c", epochs=1)]) == 0
    assert "TEST file" in caplog.text
    capsys.readouterr()
    out = tmp_path / "r"
    assert main(["train", *tiny_train_args(tiny_base, train_file, out, epochs=1, max_train=300)]) == 0
    capsys.readouterr()
    assert (
        main(["train", *tiny_train_args(tiny_base, train_file, out, epochs=1, max_train=600), "--resume"])
        == 2
    )
    assert "--resume with a changed configuration (max_train: 300 -> 600)" in _err(capsys)


def test_optional_dependencies_name_their_extra(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *a, **k):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    from tinysent.apps.inputs import read_records
    from tinysent.core.errors import ScoreError

    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(ScoreError, match=r"pip install 'tinysent\[parquet\]'"):
        list(read_records(tmp_path / "x.parquet"))


def test_a_failed_output_run_leaves_the_previous_output(trained_model, tmp_path, capsys):
    inp, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    inp.write_text("id,text\n1,i love it\n2,i hate it\n")
    base = ["predict", "--model", str(trained_model), "--output", str(out), "--quiet"]
    assert main([*base, "--input", str(inp)]) == 0
    good = out.read_bytes()
    capsys.readouterr()
    assert main([*base, "--input", str(tmp_path / "typo.csv")]) == 2
    assert "typo.csv" in _err(capsys)
    assert main([*base, "--input", str(inp), "--column", "tweet"]) == 2
    assert "no column 'tweet'" in _err(capsys)
    assert out.read_bytes() == good and not (tmp_path / "out.jsonl.partial").exists()


def test_quoted_newlines_ids_resume_and_output_kinds_through_the_cli(trained_model, tmp_path, capsys):
    inp = tmp_path / "in.csv"
    inp.write_text('id,text\n"a\nb","multi\nline, i love it"\n2,i hate it\n')
    out = tmp_path / "out.csv"
    base = ["predict", "--model", str(trained_model), "--input", str(inp), "--id-column", "id", "--quiet"]
    assert main([*base, "--output", str(out)]) == 0
    rows = list(__import__("csv").DictReader(out.read_text().splitlines(keepends=True)))
    assert [(r["id"], r["line"], r["error"]) for r in rows] == [("a\nb", "2", ""), ("2", "5", "")]
    assert main([*base, "--output", str(out), "--resume"]) == 0  # everything is done: nothing rescored
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["skipped_already_done"] == 2
    assert main([*base, "--output", str(tmp_path / "out.tsv")]) == 2
    assert "name the file .csv, .jsonl or .parquet" in _err(capsys)


def test_report_uses_each_models_own_threshold(trained_model, test_file, tmp_path):
    from tinysent.apps.report import build_report
    from tinysent.data import sentiment140 as D

    m = _copy(trained_model, tmp_path / "m")
    meta = json.loads((m / "tinysent.json").read_text())
    meta["threshold"] = 0.999  # almost nothing is positive for this model now
    (m / "tinysent.json").write_text(json.dumps(meta))
    p = tinysent.load(m)
    t = D.read(test_file).polar()
    labels = [D.BINARY_LABELS[c] for c in t.classes]
    want = sum(r["label"] == lab for r, lab in zip(p.predict(t.texts), labels)) / len(t)
    got = build_report([str(m)], test_file, tmp_path / "r")["systems"][0]["accuracy"]
    assert got == pytest.approx(want) and got < 0.9


def test_the_main_job_keeps_a_previous_run_unless_told_to_replace_it(tiny_base, train_file, tmp_path, capsys):
    out = tmp_path / "main"
    (out / "model").mkdir(parents=True)
    (out / "model" / "model.safetensors").write_bytes(b"an earlier run's model")
    args = ["run", "--base", str(tiny_base), "--train-data", str(train_file), "--out", str(out), "--quiet"]
    assert main(args) == 2
    assert "--overwrite" in _err(capsys)
    assert (out / "model" / "model.safetensors").read_bytes() == b"an earlier run's model"


def test_a_long_label_list_makes_a_short_error(trained_model, tmp_path, capsys):
    m = _copy(trained_model, tmp_path / "m")
    f = m / "tinysent.json"
    f.write_text(json.dumps({**json.loads(f.read_text()), "labels": [str(i) for i in range(1_000_000)]}))
    assert main(["predict", "--model", str(m), "hello"]) == 2
    err = _err(capsys)
    assert "labels must be a list of 2 to 1000" in err and len(err) < 1000


def test_a_shuffled_vocabulary_is_refused_by_its_pin(trained_model, tmp_path, capsys):
    """tokenizer.json is pinned like the weights: a valid file with the ids of two words swapped would
    quietly change every answer."""
    m = _copy(trained_model, tmp_path / "m")
    assert "tokenizer.json" in json.loads((m / "tinysent.json").read_text())["files"]
    spec = json.loads((m / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    a, b = sorted(w for w in vocab if w.isalpha())[:2]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (m / "tokenizer.json").write_text(json.dumps(spec))
    assert main(["predict", "--model", str(m), "hello"]) == 2
    assert "tokenizer.json does not match the sha256" in _err(capsys)


def test_interrupts_and_closed_pipes_end_quietly(trained_model):
    """Ctrl-C: one line, rc 130; a reader that stops early (`| head -1`): no message, rc 0."""
    import signal
    import time
    from pathlib import Path

    code = "import sys; from tinysent.apps.cli import main; sys.exit(main(sys.argv[1:]))"
    p = subprocess.Popen(
        [sys.executable, "-c", code, "predict", "--model", str(trained_model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job (`cmd &`) starts with SIGINT ignored, and Python keeps it so: give
        # the child the default disposition a terminal's Ctrl-C meets, wherever the tests run.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wchan = Path(f"/proc/{p.pid}/wchan")
    for _ in range(600):  # until it blocks reading stdin (after loading the model)
        if wchan.exists() and "pipe" in wchan.read_text():
            break
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    texts = ["i love this great day"] * 2000
    p = subprocess.Popen(
        [*[sys.executable, "-c", code], "predict", "--model", str(trained_model), *texts],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    p.stdout.readline()
    p.stdout.close()  # like `head -1`
    err = p.stderr.read().decode()
    assert (
        p.wait(timeout=60) == 0 and "Broken pipe" not in err and "Traceback" not in err and "error" not in err
    )


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(
    tiny_base, train_file, tmp_path, capsys
):
    """An unreachable base fails the run at once: the folder it would have made is not left behind,
    so the corrected rerun needs neither --overwrite nor --resume."""
    out = tmp_path / "m"
    assert main(["train", *tiny_train_args(tmp_path / "no-such-base", train_file, out)]) == 2
    assert not out.exists()
    out.mkdir()  # an empty folder the user made stays, empty
    assert main(["train", *tiny_train_args(tmp_path / "no-such-base", train_file, out)]) == 2
    assert out.is_dir() and not any(out.iterdir())
    capsys.readouterr()
    assert main(["train", *tiny_train_args(tiny_base, train_file, out, epochs=1)]) == 0


def test_a_huge_single_text_is_cut_before_tokenising(trained_model, monkeypatch):
    """A 5 M-character line is read up to max_chars: the tokenizer never sees more, the record says
    truncated, and the label is the one its beginning gets."""
    p = tinysent.load(trained_model)
    seen = []
    real = p.normalizer.many
    monkeypatch.setattr(p.normalizer, "many", lambda texts: seen.extend(map(len, texts)) or real(texts))
    huge = "i love this great day " * 250_000
    r = p.predict(huge)
    assert max(seen) <= p.max_chars < 10_000_000 and r["truncated"] is True
    assert r["label"] == p.predict(huge[:2000])["label"]


def test_training_data_with_one_label_is_refused(tiny_base, tmp_path, capsys):
    data = tmp_path / "neg.csv"
    write_six_col(data, [(0, f"so sad and awful day number {i}") for i in range(200)])
    assert main(["train", *tiny_train_args(tiny_base, data, tmp_path / "m")]) == 2
    err = _err(capsys)
    assert "only negative rows" in err and "--max-train" in err


def test_an_input_that_is_its_outputs_partial_file_is_refused(trained_model, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    partial.write_text("i love it\n" * 300)
    before = partial.read_text()
    args = ["predict", "--model", str(trained_model), "--input", str(partial), "--output", str(out)]
    assert main(args) == 2
    assert "own partial file" in _err(capsys) and partial.read_text() == before


def test_resume_from_a_damaged_checkpoint_is_one_clear_line(tiny_base, train_file, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", *tiny_train_args(tiny_base, train_file, out, epochs=1)]) == 0
    ck = out / "checkpoint" / "model.safetensors"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])  # truncated
    assert main(["train", *tiny_train_args(tiny_base, train_file, out, epochs=1), "--resume"]) == 2
    err = _err(capsys)
    assert "cannot resume from" in err and "--overwrite" in err


def test_a_checkpoint_save_killed_between_renames_is_recovered(tiny_base, train_file, tmp_path, capsys):
    """kill -9 during a checkpoint save leaves checkpoint.old (+ a partial checkpoint.tmp) or a stale
    checkpoint.old beside checkpoint: --resume recovers the newest complete one and goes on."""
    import shutil

    from tinysent.train import checkpoint

    out = tmp_path / "m"
    args = tiny_train_args(tiny_base, train_file, out, epochs=1)
    assert main(["train", *args]) == 0
    step = checkpoint.trainer_state(out)["step"]
    ck, old, tmp = out / "checkpoint", out / "checkpoint.old", out / "checkpoint.tmp"
    # killed after the first rename: no checkpoint, a complete .old and a partial .tmp
    ck.rename(old)
    tmp.mkdir()
    (tmp / "model.safetensors").write_bytes(b"half a file")
    assert checkpoint.trainer_state(out)["step"] == step  # the .old one, recovered
    assert ck.is_dir() and not old.exists() and not tmp.exists()
    # killed before the stale .old was removed: the next save must not die on it
    shutil.copytree(ck, old)
    assert main(["train", *args, "--resume"]) == 0
    assert not old.exists() and checkpoint.trainer_state(out)["step"] == step


def test_a_damaged_teacher_cache_is_computed_again_not_a_traceback(tmp_path, caplog):
    """A teacher's cached outputs (whole file or a saved chunk of a resumable pass) that cannot be read
    or hold the wrong number of rows are computed again, with a warning naming the file: a run of
    hours must not end in a numpy traceback because of one damaged cache file."""
    import numpy as np

    from tinysent.core.files import cached_rows

    calls = []

    def rows(start, stop):
        calls.append((start, stop))
        return np.arange(start, stop, dtype=np.float32)[:, None].repeat(3, 1)

    whole = tmp_path / "teacher_probs-x.npy"
    whole.write_bytes(b"not an array")
    part = tmp_path / "teacher_probs-y.rows2-4.npy"
    np.save(part, np.zeros((1, 3), dtype=np.float32))  # a chunk of 2 rows holding 1
    with caplog.at_level("WARNING"):
        a = cached_rows(whole, 5, rows, chunk=2)
        b = cached_rows(tmp_path / "teacher_probs-y.npy", 5, rows, chunk=2)
    assert calls == [(0, 2), (2, 4), (4, 5), (0, 2), (2, 4), (4, 5)]  # both recomputed in full
    expected = np.arange(5, dtype=np.float32)[:, None].repeat(3, 1)
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(b, expected)
    assert str(whole) in caplog.text and str(part) in caplog.text
    np.testing.assert_array_equal(np.load(whole), a)  # the damaged file replaced by a whole one
    assert not part.exists()


def test_a_model_missing_a_pinned_onnx_file_is_refused_not_run_another_way(tmp_path, capsys):
    """Its int8 graph deleted, the shipped model's folder would have run fp32 (or torch) silently,
    though its card was measured on int8: refused with the fix; an explicit choice still runs."""
    from tinysent.runtime.predictor import SHIPPED_DIR

    m = _copy(SHIPPED_DIR, tmp_path / "m")
    (m / "model.int8.onnx").unlink()
    assert main(["predict", "--model", str(m), "lovely day"]) == 2
    err = _err(capsys)
    assert "model.int8.onnx is listed" in err and "--precision fp32" in err
    assert main(["predict", "--model", str(m), "--precision", "fp32", "lovely day"]) == 0
