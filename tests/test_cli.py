import csv
import io
import json
import subprocess
import sys

import pytest

from tinysent.apps.cli import main

from .conftest import tiny_train_args

COMMANDS = ["data", "train", "distill", "evaluate", "predict", "run"]


def test_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "tinysent.apps.cli", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in COMMANDS:
        assert f"    {cmd}" in out.stdout


def test_data_check(test_file, capsys):
    assert main(["data", "check", str(test_file), "--compact"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["rows"] == 130 and s["labels"] == {"negative": 60, "neutral": 10, "positive": 60}


def test_data_check_strict_fails_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text('"0","x"\n"7","y"\n')
    assert main(["data", "check", str(bad), "--strict"]) == 1
    assert "line 2: unknown polarity" in capsys.readouterr().out


def test_train_evaluate_predict_cli(tiny_base, train_file, test_file, tmp_path, capsys):
    out = tmp_path / "m"
    rc = main(["train", *tiny_train_args(tiny_base, train_file, out)])
    assert rc == 0 and (out / "tinysent.json").exists()
    capsys.readouterr()
    assert (
        main(["evaluate", "--model", str(out), "--test-data", str(test_file), "--out", str(tmp_path / "ev")])
        == 0
    )
    m = json.loads(capsys.readouterr().out)
    # the fixture is separable by one word: a trained model gets nearly all of it, an untrained one half
    assert m["n"] == 120 and m["accuracy"] > 0.9, m
    inp = tmp_path / "in.csv"
    inp.write_text("id,tweet,label\n1,i love this great day,a\n2,i hate this awful day,b\n3,,c\n")
    assert main(["predict", "--model", str(out), "--input", str(inp), "--column", "tweet"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # the input's columns beside the answer; its own "label" column kept as input_label
    assert [r["tweet"] for r in recs] == ["i love this great day", "i hate this awful day", ""]
    assert [(r["id"], r["input_label"]) for r in recs] == [("1", "a"), ("2", "b"), ("3", "c")]
    assert [r.get("empty", False) for r in recs] == [False, False, True]
    assert (
        main(["predict", "--model", str(out), "--input", str(inp), "--column", "tweet", "--format", "csv"])
        == 0
    )
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(table[0]) == ["id", "tweet", "input_label", "label", "positive", "empty"]
    assert [(t["id"], t["label"], t["empty"]) for t in table] == [
        (r["id"], r["label"], "") for r in recs[:2]
    ] + [("3", recs[2]["label"], "true")]
    args = ["predict", "--model", str(out), "--input", str(inp), "--column", "tweet", "--max-tokens", "4"]
    assert main(args) == 0  # one tweet per model call: the same records
    assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == recs
    assert main(["predict", "--model", str(out), "--format", "csv", "love it"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "text,label,positive,empty"


def test_the_help_describes_every_data_kind_and_the_main_job(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "on Sentiment140, the 3-class mix or your own labelled tweets" in out  # train
    assert "check any data file (Sentiment140, SemEval, TweetEval, your own labelled tweets)" in out  # data
    assert "the tweets 9 minutes of training read" in out  # run: a time budget, not a fixed sample


def test_bad_input_gives_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["train", "--base", "nonexistent-model", "--train-data", str(tmp_path), "--quiet"]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "abc"])


def test_run_trains_evaluates_and_reports(tiny_base, train_file, test_file, tmp_path, capsys):
    rc = main(
        [
            "run",
            "--test-data",
            str(test_file),
            *tiny_train_args(tiny_base, train_file, tmp_path / "job", max_train=600, eval_every=10),
        ]
    )
    assert rc == 0
    job = tmp_path / "job"
    assert (job / "model" / "model.safetensors").exists() and (job / "eval" / "metrics.json").exists()
    assert (job / "report" / "report.html").exists()
    assert json.loads((job / "eval" / "metrics.json").read_text())["n"] == 120
    # the shipped model is a row beside the new one and the baselines (it answers negative/positive)
    page = json.loads((job / "report" / "report.json").read_text())
    systems = [s["system"] for s in page["systems"]]
    # the trained model is named by its base and run; the shipped model is a row beside it
    assert f"tinysent: tiny-bert fine-tuned in {job.name}" in systems and any("shipped" in s for s in systems)
    # the notebook tinysent started from is the reference row, with its interval; the page and the
    # command say what the run did (tweets, minutes, precision, machine)
    assert list(page["published"].values()) == [[298, 358]]
    md = (job / "report" / "report.md").read_text()
    assert "published: the notebook tinysent started from" in md and "83.2% (79.0%–86.8%), n = 358" in md
    trained = json.loads((job / "model" / "tinysent.json").read_text())["training"]
    assert trained["tweets_seen"] > 0 and trained["precision"] in ("no", "bf16") and trained["cores"] >= 1
    assert f"fine-tuned from tiny-bert on {trained['tweets_seen']:,} training rows" in md
    err = capsys.readouterr().err
    assert " min on " in err and f"{trained['cores']}-core" in err and "Traceback" not in err


def test_gpu_recipe_runs_end_to_end_on_a_tiny_fixture(tiny_base, train_file, test_file, tmp_path):
    """scripts/gpu_recipe.sh on the CPU with a tiny model: train within a budget, evaluate, pack, split."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "LIMIT_S": "60", "PART_MB": "1"}
    args = ["--base", str(tiny_base), "--max-train", "400", "--eval-every", "10", "--val-fraction", "0.1"]
    r = subprocess.run(
        ["bash", str(root / "scripts" / "gpu_recipe.sh"), str(train_file), str(test_file), str(out), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "eval" / "metrics.json").read_text())["n"] == 120
    assert "train rc=0" in (out / "log.txt").read_text()
    parts = sorted(out.glob("model.tar.part*"))
    assert parts
    import tarfile

    (tmp_path / "model.tar").write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(tmp_path / "model.tar") as tar:
        assert "packed/model.safetensors" in tar.getnames()


def test_renamed_options_and_metadata_keys_keep_their_earlier_spellings(tmp_path):
    """One name per idea (docs/glossary.md), without breaking what users wrote: --class-bias is
    --class-offsets, distill's --temperature is --distill-temperature, a tinysent.json with
    class_bias loads as class_offsets."""
    import json

    from tinysent.apps.cli import build_parser
    from tinysent.core.meta import ModelMeta

    parser = build_parser()
    assert parser.parse_args(["calibrate", "--model", "m", "--class-bias"]).class_offsets is True
    assert parser.parse_args(["calibrate", "--model", "m", "--class-offsets"]).class_offsets is True
    args = parser.parse_args(["distill", "--teacher", "t", "--out", "o", "--temperature", "2"])
    assert args.distill_temperature == 2.0
    (tmp_path / "tinysent.json").write_text(
        json.dumps({"labels": ["negative", "neutral", "positive"], "class_bias": [0.1, 0.0, -0.1]})
    )
    assert ModelMeta.load(tmp_path).class_offsets == [0.1, 0.0, -0.1]


def test_a_run_begun_before_an_option_was_renamed_resumes(tmp_path):
    import json

    import pytest

    from tinysent.core.errors import InputError
    from tinysent.train.checkpoint import RUN_CONFIG, pin_config

    (tmp_path / RUN_CONFIG).write_text(json.dumps({"temperature": 2.0, "seed": 0}))  # as saved then
    pin_config(tmp_path, {"distill_temperature": 2.0, "seed": 0}, resume=True)
    with pytest.raises(InputError, match="distill_temperature: 2.0 -> 1.0"):
        pin_config(tmp_path, {"distill_temperature": 1.0, "seed": 0}, resume=True)
