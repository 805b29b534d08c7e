"""The task a run learns is decided once (data/task_kind.py: resolve_task), from the data options or an
explicit --task, said on stderr when the run starts, and stored in the config saved with the model:
what calibrate, soup and select read back instead of looking at the data again."""

import json

import pytest

from tests.conftest import make_tweets, tiny_train_args, write_six_col
from tests.test_labelled import make_rows, write_csv


def config(**kw):
    from tinysent.data.config import TrainConfig

    return TrainConfig(**kw)


def test_the_task_is_read_from_the_data_options(tmp_path):
    labelled = write_csv(tmp_path / "mine.csv", make_rows(30))
    s140 = write_six_col(tmp_path / "s140.csv", make_tweets(30))
    assert config(train_data=str(labelled)).task_kind == "labelled"
    assert config(train_data=str(s140)).task_kind == "sentiment140"
    mix = dict(num_labels=3, handlabelled_data=str(tmp_path), tweeteval_data=str(tmp_path))
    assert config(train_data=str(s140), **mix).task_kind == "sentiment-mix"
    # an explicit --task is taken when the data agrees, and an error naming why when it does not
    assert config(train_data=str(labelled), task="labelled").task_kind == "labelled"
    from tinysent.core.errors import DataError

    with pytest.raises(DataError, match="is not a labelled file"):
        assert config(train_data=str(s140), task="labelled").task_kind
    with pytest.raises(DataError, match="disagree"):
        assert config(train_data=str(s140), task="sentiment-mix").task_kind


def test_the_line_a_3_class_run_prints_names_what_selects_it(tmp_path):
    """The mix selects on TweetEval validation (and Sentiment140's when it has its rows), or on the
    SemEval files held out of training: the printed task line says which, and no rows it lacks."""
    from tinysent.data.task_kind import describe_task

    (tmp_path / "twitter-2016test-A.tsv").write_text("1\tpositive\tgood\n")
    s140 = write_six_col(tmp_path / "s140.csv", make_tweets(30))
    mix = dict(num_labels=3, handlabelled_data=str(tmp_path), tweeteval_data=str(tmp_path))
    full = describe_task(config(train_data=str(s140), **mix))
    assert "beside Sentiment140's pos/neg rows" in full
    assert full.endswith("selected on TweetEval validation macro recall and Sentiment140 validation accuracy")
    alone = describe_task(config(**mix, handlabelled_holdout=["twitter-2016test-A.tsv"]))
    assert "Sentiment140" not in alone
    assert alone.endswith("selected on held-out twitter-2016test-A.tsv macro recall")


def test_a_run_says_its_task_and_its_model_keeps_it(tiny_base, tmp_path, capsys):
    from tinysent.apps.cli import main
    from tinysent.train.validation import run_config

    data = write_csv(tmp_path / "mine.csv", make_rows(300, seed=4))
    out = tmp_path / "m"
    args = tiny_train_args(tiny_base, data, out, epochs=1, min_steps=0)
    assert main(["train", *args]) == 0
    err = capsys.readouterr().err
    assert "task: labelled: your own labelled tweets in" in err and "selected on macro_f1" in err
    saved = json.loads((out / "tinysent.json").read_text())["config"]
    assert saved["task"] == "labelled"
    assert json.loads((out / "run_config.json").read_text())["task"] == "labelled"
    # read back from the model, the task is not decided again: the data file may be gone
    data.unlink()
    assert run_config(out).task_kind == "labelled"
    capsys.readouterr()
    assert main(["train", *tiny_train_args(tiny_base, data, tmp_path / "x"), "--task", "sentiment-mix"]) == 2


def test_test_rows_are_read_as_the_models_task_says(tmp_path):
    """evaluate, report and run ask one resolver how test rows are read: a model of your own labels
    is never scored as Sentiment140; a sentiment model goes by the file; --task is checked."""
    from tests.test_handlabelled import write_tweeteval
    from tinysent.core.errors import DataError
    from tinysent.data.task_kind import resolve_test_task

    labelled = write_csv(tmp_path / "mine.csv", make_rows(30))
    s140 = write_six_col(tmp_path / "s140.csv", make_tweets(30))
    te = tmp_path / "te"
    write_tweeteval(te, "test", [("negative", "bad day"), ("neutral", "a day"), ("positive", "good day")])
    assert resolve_test_task(labelled, ["labelled"]) == "labelled"
    assert resolve_test_task(te, ["labelled"]) == "labelled"  # its mapping names the labels
    with pytest.raises(DataError, match="not a labelled file"):
        resolve_test_task(s140, ["labelled"])
    with pytest.raises(DataError, match="--task labelled"):
        resolve_test_task(te, ["labelled"], "tweeteval")
    for task in ("sentiment-mix", "sentiment140", "sentiment"):
        assert resolve_test_task(s140, [task]) == "sentiment140"
        assert resolve_test_task(None, [task]) == "sentiment140"  # the cached archive
        assert resolve_test_task(te, [task]) == "tweeteval"
        assert resolve_test_task(labelled, [task]) == "labelled"
        assert resolve_test_task(te, [task], "labelled") == "labelled"  # read two ways: --task says which
    with pytest.raises(DataError, match="not a TweetEval folder"):
        resolve_test_task(s140, ["sentiment-mix"], "tweeteval")
    with pytest.raises(DataError, match="not Sentiment140"):
        resolve_test_task(labelled, ["sentiment-mix"], "sentiment140")


def test_evaluate_of_a_labelled_model_on_a_sentiment140_file_is_one_line(tmp_path, capsys):
    from tinysent.apps.cli import main
    from tinysent.core.meta import ModelMeta

    model = tmp_path / "m"
    model.mkdir()
    ModelMeta(labels=["anger", "calm", "joy"], config={"task": "labelled"}).save(model)
    s140 = write_six_col(tmp_path / "s140.csv", make_tweets(30))
    assert (
        main(["evaluate", "--model", str(model), "--test-data", str(s140), "--out", str(tmp_path / "e")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a labelled file" in err[0] and not (tmp_path / "e").exists()
