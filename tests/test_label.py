"""tinysent label: labels are never lost (journal, atomic labels.csv, kill -9), the next tweets are
chosen by the model in the loop, rounds fine-tune in the background, --export trains the final model.
The page itself, driven by keyboard in Chromium: tests/test_in_browser.py."""

import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from tinysent.apps.label.journal import Journal, journal_path
from tinysent.apps.label.select import Selector
from tinysent.core.errors import InputError

from .conftest import make_tweets, started


def write_tweets(path, n: int, seed: int = 0):
    rows = make_tweets(n, seed)
    path.write_text("".join(f"{t} {i}\n" for i, (_, t) in enumerate(rows)), encoding="utf-8")
    return path, {f"{t} {i}": ("positive" if p == 4 else "negative") for i, (p, t) in enumerate(rows)}


def read_labels(path) -> dict:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["text"]: r["label"] for r in csv.DictReader(f)}


def test_the_journal_keeps_the_last_label_records_undo_and_replays(tmp_path):
    out, tweets = tmp_path / "labels.csv", tmp_path / "t.txt"
    tweets.write_text("x\n")
    j = Journal.open(out, ["a", "b"], tweets, "sha")
    j.label("one", "a")
    j.label("two", "b")
    j.label("one", "b")  # labelled twice: the last label counts
    j.skip("three")
    assert read_labels(out) == {"two": "b", "one": "b"}
    assert j.undo() == "three" and not j.skipped  # a skip is undone too (an unskip event)
    j.skip("four")
    assert j.undo() == "four" and j.undo() == "one"  # undo is an event: the label stays in the journal
    assert read_labels(out) == {"two": "b", "one": "a"} and j.counts() == {"a": 1, "b": 1}
    events = [json.loads(x)["type"] for x in journal_path(out).read_text().splitlines()]
    assert events == ["header", "label", "label", "label", "skip", "unskip", "skip", "unskip", "undo"]
    j.skip("three")
    again = Journal.open(out, ["a", "b"], tweets, "sha")
    assert again.labels == j.labels and again.skipped == {"three"} and not again.changed_tweets
    assert again.undo() == "three" and again.undo() == "two"  # replayed: the same steps to undo
    # a kill in the middle of writing a line: that event was never reported saved; it is dropped
    with open(journal_path(out), "ab") as f:
        f.write(b'{"type": "label", "text": "fo')
    out.unlink()  # and labels.csv lost too: the journal rebuilds it
    third = Journal.open(out, ["a", "b"], tweets, "other-sha")
    assert read_labels(out) == {"one": "a"} and third.changed_tweets
    assert journal_path(out).read_bytes().endswith(b"\n")
    with pytest.raises(InputError, match="--labels a,b"):
        Journal.open(out, ["a", "c"], tweets, "sha")
    stray = tmp_path / "mine.csv"
    stray.write_text("text,label\nhello,a\n")
    with pytest.raises(InputError, match="not written by tinysent label"):
        Journal.open(stray, ["a", "b"], tweets, "sha")
    with pytest.raises(InputError, match="not one of the labels"):
        j.label("x", "c")


def test_the_selector_takes_the_least_sure_tweets_and_spreads_them(tmp_path):
    texts = [f"tweet number {i} about {w}" for i, w in enumerate(["cats", "dogs", "rain", "sun"] * 10)]
    texts += ["cats and cats and cats 100", "cats and cats and cats 101"]
    sel = Selector(texts, seed=0)
    labelled = np.zeros(len(texts), bool)
    labelled[:3] = True
    probs = np.tile([0.95, 0.05], (len(texts), 1))
    probs[[7, 40, 41]] = [0.5, 0.5]  # the model is unsure of these
    chosen = sel.choose(3, labelled, probs, recent=[0, 1, 2])
    assert chosen[0] in (7, 40, 41) and len(set(chosen)) == 3 and not labelled[chosen].any()
    # of two near-identical unsure tweets the second comes after a less alike one
    assert chosen[:2] != [40, 41] and chosen[:2] != [41, 40]
    spread = sel.choose(6, labelled, None, recent=[0, 1, 2])
    assert len(set(spread)) == 6 and not labelled[spread].any()
    assert sel.choose(3, np.ones(len(texts), bool), probs) == []


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = "test-token-0123456789abcdef"  # the pages' calls carry it (TINYSENT_TOKEN of the started page)
AUTH = {"authorization": f"Bearer {TOKEN}"}


def start_page(tweets, out, labels: str, *more) -> tuple[str, subprocess.Popen]:
    """`tinysent label` on a free port, its token ``TOKEN``; returns once the page answers."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    cmd = ["-m", "tinysent", "label", tweets, "--labels", labels, "--out", out, "--port", port, *more]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TINYSENT_TOKEN": TOKEN}
    return url, started(cmd, url + "/", env)


def test_kill_9_at_any_moment_loses_no_saved_label(tmp_path):
    """Labels go in as fast as a client can send them; the process is SIGKILLed at random moments,
    four times; after each restart every label the page had answered as saved is in labels.csv."""
    tweets, gold = write_tweets(tmp_path / "tweets.txt", 3000, seed=3)
    out = tmp_path / "labels.csv"
    acknowledged: dict[str, str] = {}
    rng = random.Random(0)
    for cycle in range(4):
        url, proc = start_page(tweets, out, "positive,negative", "--every", "0")
        if cycle == 0:  # one page per labels file
            second = subprocess.run(
                [sys.executable, "-m", "tinysent", "label", str(tweets), "--labels", "positive,negative",
                 "--out", str(out), "--port", str(_port())],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert second.returncode == 2 and "another run is writing" in second.stderr
        stop = threading.Event()

        def label_away(url=url, stop=stop):
            with httpx.Client(base_url=url, timeout=5, headers=AUTH) as c:
                state = c.get("/api/state").json()
                while not stop.is_set() and state["tweet"]:
                    text = state["tweet"]["text"]
                    try:
                        r = c.post("/api/label", json={"id": state["tweet"]["id"], "label": gold[text]})
                    except httpx.HTTPError:
                        return  # killed mid-request: not acknowledged
                    if r.status_code == 200:
                        acknowledged[text] = gold[text]
                    state = r.json().get("state", r.json())

        worker = threading.Thread(target=label_away)
        worker.start()
        time.sleep(rng.uniform(0.1, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        stop.set()
        worker.join(10)
        proc.wait(10)
        saved = read_labels(out) if out.exists() else {}
        journal = Journal.open(out, ["positive", "negative"], tweets, "x")  # what a restart replays
        for text, label in acknowledged.items():
            assert journal.labels.get(text) == label, (cycle, text)
        assert set(saved) <= set(journal.labels)  # labels.csv: the old or the new version, never torn
    assert len(acknowledged) >= 10
    url, proc = start_page(tweets, out, "positive,negative", "--every", "0")
    try:
        state = httpx.get(url + "/api/state", headers=AUTH).json()
        assert state["labelled"] == len(read_labels(out)) >= len(acknowledged)
        assert state["tweet"]["text"] not in read_labels(out)  # labelled tweets are not shown again
    finally:
        proc.kill()
        proc.wait(10)


def test_a_round_fine_tunes_in_the_background_and_export_trains_the_final_model(tiny_base, tmp_path, capsys):
    from tinysent.apps.cli import main
    from tinysent.apps.label.session import Session

    tweets, gold = write_tweets(tmp_path / "tweets.txt", 160, seed=5)
    out = tmp_path / "labels.csv"
    fast = ["--min-steps", "0", "--epochs", "3", "--batch-size", "8", "--lr", "1e-3"]
    s = Session(tweets, ["negative", "positive"], out, base=str(tiny_base), every=40, train_options=fast)
    assert s.model == "shipped tinybert-4l" and s.state()["tweet"]["guess"] in ("negative", "positive")
    for _ in range(45):
        t = s.state()["tweet"]
        s.label(t["id"], gold[t["text"]])
    assert s.training == 40 and s.rounds == []  # a round started at 40 labels, in its own process
    deadline = time.time() + 240
    while s.trainer is not None and time.time() < deadline:
        time.sleep(1)
        s.state()
    from tinysent.apps.label.rounds import FEW_HELD_OUT

    r = s.rounds[0]  # a few held-out labels: a score, no interval (a bootstrap of 4 rows collapses)
    assert "error" not in r, r
    assert r["labels_used"] == 40 and 0 < r["val_n"] < FEW_HELD_OUT and r["score_ci95"] is None
    assert s.model == "round-1" and s.probs.shape == (len(s.texts), 2)
    assert s.state()["tweet"]["probabilities"].keys() == {"negative", "positive"}
    # reopened: the finished round's guesses come back without training again
    s.close()
    again = Session(tweets, ["negative", "positive"], out, base=str(tiny_base), every=40)
    assert again.model == "round-1" and again.state()["labelled"] == 45
    model = tmp_path / "final"
    args = [
        "label",
        str(tweets),
        "--labels",
        "negative,positive",
        "--out",
        str(out),
        "--base",
        str(tiny_base),
    ]
    assert main([*args, "--export", str(model), "--train-options", " ".join(fast)]) == 0
    assert (model / "model.safetensors").exists() and "tinysent serve --model" in capsys.readouterr().out


def test_the_page_beyond_loopback_needs_a_token_and_bad_options_are_one_line(tmp_path, capsys):
    from tinysent.apps.cli import main

    tweets, _ = write_tweets(tmp_path / "tweets.txt", 10)
    base = ["label", str(tweets), "--out", str(tmp_path / "labels.csv")]
    assert main([*base, "--labels", "a,b", "--host", "0.0.0.0"]) == 2
    assert "set a token" in capsys.readouterr().err
    assert main([*base, "--labels", "a"]) == 2
    assert "two or more distinct labels" in capsys.readouterr().err
    assert main([*base, "--labels", "a,b", "--export", str(tmp_path / "m")]) == 2
    assert "no labels at" in capsys.readouterr().err
    assert not (tmp_path / "labels.csv").exists()


def test_rounds_come_at_every_multiple_even_when_the_first_waited_for_a_rare_label(tmp_path, monkeypatch):
    import tinysent.apps.label.session as session_module
    from tinysent.apps.label.session import Session

    started = []

    class FakeRound:  # the round's process, not run: only when it would start matters here
        def __init__(self, cmd, **kw):
            started.append(cmd)

        def poll(self):
            return None

    monkeypatch.setattr(session_module.subprocess, "Popen", FakeRound)
    tweets, _ = write_tweets(tmp_path / "tweets.txt", 60, seed=2)
    s = Session(tweets, ["common", "rare"], tmp_path / "labels.csv", every=10, min_per_label=3)
    # the page's count of what the next round waits for, at 0, 4 and 12 labels
    waits = {
        0: {"labels": 10, "per_label": {"common": 3, "rare": 3}},
        4: {"labels": 6, "per_label": {"rare": 3}},
    }
    waits[12] = {"labels": 0, "per_label": {"rare": 2}}
    for i in range(14):  # "rare" reaches 3 tweets at the 14th label
        if i in waits:
            assert s.state()["next_round"] == waits[i], i
        s.label(s.state()["tweet"]["id"], "rare" if i >= 11 else "common")
    assert s.training == 14 and len(started) == 1
    s.trainer, s.training = None, None  # that round ends
    s.rounds.append({"round": "round-1", "labels_used": 14})
    assert s.state()["next_round"] == {"labels": 6, "per_label": {}}
    for _ in range(6):
        s.label(s.state()["tweet"]["id"], "common")
    assert s.training == 20 and len(started) == 2  # at 20, the next multiple of 10, not at 24


def test_the_pages_calls_answer_a_stale_tweet_with_what_is_current(tmp_path):
    from fastapi.testclient import TestClient

    from tinysent.apps.label.app import create_app
    from tinysent.apps.label.session import Session

    tweets, gold = write_tweets(tmp_path / "tweets.txt", 30, seed=4)
    s = Session(tweets, ["a", "b"], tmp_path / "labels.csv", every=0)
    _, app = create_app(s, tmp_path / "model")
    c = TestClient(app)
    state = c.get("/api/state").json()
    first = state["tweet"]["id"]
    assert c.post("/api/label", json={"id": first, "label": "a"}).status_code == 200
    again = c.post("/api/label", json={"id": first, "label": "b"})  # a double click: not a second label
    assert again.status_code == 409 and again.json()["state"]["tweet"]["id"] != first
    assert (
        c.post("/api/label", json={"id": again.json()["state"]["tweet"]["id"], "label": "c"}).status_code
        == 422
    )
    assert c.post("/api/label", json={"id": "1", "label": "a"}).status_code == 422  # strict types
    assert read_labels(tmp_path / "labels.csv") == {s.texts[first]: "a"}
    assert c.get("/").text.startswith("<!doctype html>") and "/api/label" in c.get("/").text
    undone = c.post("/api/undo").json()
    assert undone["tweet"]["id"] == first and undone["labelled"] == 0 and not undone["can_undo"]
    for bad in (-1, len(s.texts)):  # not "the model is loading": there is no such tweet
        r = c.get(f"/api/explain?id={bad}")
        assert r.status_code == 404 and "no tweet" in r.json()["error"]


def test_no_other_origin_host_or_tokenless_caller_acts_for_the_user(tmp_path):
    """Another web page (its Origin), a DNS-rebound name (its Host) and a call without the session's
    token are refused before anything is read or written; the page's own calls still work; the
    address is printed only once the page answers, and a taken port is one line before anything."""
    tweets, gold = write_tweets(tmp_path / "tweets.txt", 30, seed=4)
    out = tmp_path / "labels.csv"
    url, proc = start_page(tweets, out, "negative,positive", "--every", "0")
    port = url.rsplit(":", 1)[1]
    try:
        with httpx.Client(base_url=url, timeout=10, headers=AUTH) as c:
            for _ in range(3):
                t = c.get("/api/state").json()["tweet"]
                assert c.post("/api/label", json={"id": t["id"], "label": gold[t["text"]]}).status_code == 200
            before = out.read_bytes()
            evil = {"origin": "http://evil.example", "content-type": "text/plain"}
            assert c.post("/api/undo", content="{}", headers=evil).status_code == 403
            r = c.post("/api/export", content="{}", headers={"sec-fetch-site": "same-site"})
            assert r.status_code == 403 and "another web page" in r.json()["error"]
            rebound = {"host": f"rebind.attacker.example:{port}"}
            for path in ("/api/state", "/api/explain?id=0", "/"):
                r = c.get(path, headers=rebound)
                assert r.status_code == 403 and "--allowed-host" in r.json()["error"], path
            assert httpx.post(url + "/api/undo", json={}).status_code == 401  # no token
            assert httpx.get(url + "/api/state").status_code == 401
            assert out.read_bytes() == before and not (tmp_path / "labels-model").exists()
            own = {"origin": f"http://localhost:{port}", "sec-fetch-site": "same-origin"}
            own["host"] = f"localhost:{port}"  # the page's own calls, reached by the name localhost
            assert c.post("/api/undo", json={}, headers=own).status_code == 200
            assert len(read_labels(out)) == 2
        taken = subprocess.run(
            [sys.executable, "-m", "tinysent", "label", str(tweets), "--labels", "negative,positive",
             "--out", str(tmp_path / "other.csv"), "--port", port],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert taken.returncode == 2 and "http://" not in taken.stdout, taken.stdout
        assert "--port" in taken.stderr and "Traceback" not in taken.stderr
        assert not (tmp_path / "other.csv").exists()
    finally:
        proc.terminate()
        proc.wait(10)
    printed = proc.stdout.read()
    assert f"{url}/#token={TOKEN}" in printed, printed


def test_hand_edits_of_labels_csv_are_taken_in_and_bad_ones_refused(tmp_path):
    """labels.csv edited while the page was closed: a changed label, a removed row and an added row
    are kept (taken into the journal, undoable); a label outside the set is refused by its line and
    nothing is rewritten."""
    out, tweets = tmp_path / "labels.csv", tmp_path / "t.txt"
    tweets.write_text("x\n")
    j = Journal.open(out, ["neg", "pos"], tweets, "sha")
    for text, label in [("one", "neg"), ("two", "pos"), ("three", "pos")]:
        j.label(text, label)
    out.write_text('text,label\none,pos\nthree,pos\n"added, by hand",neg\n', encoding="utf-8")
    edited = out.read_bytes()
    again = Journal.open(out, ["neg", "pos"], tweets, "sha")
    assert read_labels(out) == {"one": "pos", "three": "pos", "added, by hand": "neg"}
    assert again.hand_edits == 3 and Journal.open(out, ["neg", "pos"], tweets, "sha").labels == again.labels
    events = [json.loads(x) for x in journal_path(out).read_text().splitlines()]
    assert [e["type"] for e in events if e.get("by") == "hand"] == ["unlabel", "label", "label"]
    assert again.undo() == "added, by hand" and "added, by hand" not in read_labels(out)
    assert again.undo() == "one" and read_labels(out)["one"] == "neg"
    out.write_bytes(edited.replace(b"three,pos", b"three,Pos"))
    journal_before, csv_before = journal_path(out).read_bytes(), out.read_bytes()
    with pytest.raises(InputError, match=r"line 3 has label 'Pos', not one of neg, pos"):
        Journal.open(out, ["neg", "pos"], tweets, "sha")
    assert journal_path(out).read_bytes() == journal_before and out.read_bytes() == csv_before


@pytest.mark.parametrize(
    "line, needle",
    [
        (b'{"type": "label", "text": "x", "lab', "line 3: not a JSON line"),
        (b'{"type": "label", "text": "x", "label": "maybe"}', "line 3: label 'maybe' is not one of"),
        (b'{"type": "relabel", "text": "x"}', "line 3: unknown event 'relabel'"),
        (b'{"type": "skip"}', "line 3: the event has no text"),
    ],
)
def test_a_damaged_journal_line_is_named_and_nothing_is_rewritten(tmp_path, line, needle):
    out, tweets = tmp_path / "labels.csv", tmp_path / "t.txt"
    tweets.write_text("x\n")
    Journal.open(out, ["neg", "pos"], tweets, "sha").label("one", "neg")
    with open(journal_path(out), "ab") as f:
        f.write(line + b"\n" + b'{"type": "label", "text": "two", "label": "pos"}\n')
    journal_before, csv_before = journal_path(out).read_bytes(), out.read_bytes()
    with pytest.raises(InputError, match=needle) as e:
        Journal.open(out, ["neg", "pos"], tweets, "sha")
    assert "fix or delete that line" in str(e.value) and str(journal_path(out)) in str(e.value)
    assert journal_path(out).read_bytes() == journal_before and out.read_bytes() == csv_before


def test_label_refuses_what_train_would_and_reads_any_pool_by_line(tmp_path, capsys):
    from tinysent.apps.cli import main

    tweets, _ = write_tweets(tmp_path / "tweets.txt", 10)
    base = [str(tweets), "--out", str(tmp_path / "labels.csv"), "--port", "0"]
    for labels in ("Pos,pos", "a b,a  b"):
        assert main(["label", *base, "--labels", labels]) == 2
        err = capsys.readouterr().err
        assert "differ only in case or spaces" in err and "--label-mapping" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "broken \\udcff"}\n', encoding="utf-8")
    assert main(["label", str(bad), "--labels", "a,b", "--out", str(tmp_path / "l.csv"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, line 2: an unpaired surrogate" in err and "--output" not in err
    assert not (tmp_path / "l.csv").exists()
    from tinysent.apps.label.rounds import load_tweets

    trailing = tmp_path / "pool.csv"
    trailing.write_text("text\nfirst\n\nsecond\n\n", encoding="utf-8")  # blank lines: no tweets
    assert load_tweets(trailing) == ["first", "second"]
    labels = tmp_path / "mine.csv"
    labels.write_text("text,label\nhello,a\nbye,c\n")
    export = ["--out", str(labels), "--export", str(tmp_path / "m")]
    assert main(["label", str(tweets), "--labels", "a,b", *export]) == 2
    assert "line 3 has label 'c'" in capsys.readouterr().err and not (tmp_path / "m").exists()


def _children(pid: int) -> set[int]:
    from pathlib import Path

    kids = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def test_sigterm_stops_the_page_and_its_round_trainer(tiny_base, tmp_path):
    """A round trains in a child process; SIGTERM to the page stops that child too (and the page
    waits for it): nothing is left running, and the round folder is not shared with a restart."""
    tweets, gold = write_tweets(tmp_path / "tweets.txt", 60, seed=6)
    out = tmp_path / "labels.csv"
    slow = "--min-steps 0 --epochs 500 --batch-size 8 --eval-every 1000"
    url, proc = start_page(tweets, out, "negative,positive", "--every", "6", "--base", tiny_base,
                           "--train-options", slow)  # fmt: skip
    try:
        with httpx.Client(base_url=url, timeout=10, headers=AUTH) as c:
            state = c.get("/api/state").json()
            while not state["training"]:
                t = state["tweet"]
                state = c.post("/api/label", json={"id": t["id"], "label": gold[t["text"]]}).json()
        deadline = time.time() + 60
        while not _children(proc.pid) and time.time() < deadline:
            time.sleep(0.1)
        trainers = _children(proc.pid)
        assert trainers
        time.sleep(3)  # the trainer is importing or training
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        proc.kill()
    assert rc == 143, proc.stdout.read()
    for pid in trainers:
        assert not os.path.exists(f"/proc/{pid}"), f"trainer {pid} outlived the page"


def test_a_large_pool_opens_at_once_and_is_scored_in_the_background(tmp_path, monkeypatch):
    """Past SCORE_AT_ONCE tweets the page answers before the shipped model has scored the pool (its
    progress is in the state); the guesses arrive when it is done. The TF-IDF space of a pool past
    FIT_SAMPLE is learnt from a sample, each tweet's vector made when a choice needs it."""
    import tinysent.apps.label.select as select_module
    import tinysent.apps.label.session as session_module
    from tinysent.apps.label.session import Session

    monkeypatch.setattr(session_module, "SCORE_AT_ONCE", 50)
    monkeypatch.setattr(session_module, "SCORE_CHUNK", 64)
    monkeypatch.setattr(select_module, "FIT_SAMPLE", 100)
    monkeypatch.setattr(select_module, "SPREAD_POOL", 50)
    tweets, gold = write_tweets(tmp_path / "tweets.txt", 400, seed=8)
    s = Session(tweets, ["negative", "positive"], tmp_path / "labels.csv", every=0)
    first = s.state()
    assert first["tweet"] is not None and first["scoring"]["total"] == 400
    assert len(s.selector._rows) <= 50  # only the vectors its choices needed
    s.label(first["tweet"]["id"], gold[first["tweet"]["text"]])  # labelling goes on meanwhile
    deadline = time.time() + 120
    while s.state()["scoring"] is not None and time.time() < deadline:
        time.sleep(0.2)
    state = s.state()
    assert state["scoring"] is None and s.model == "shipped tinybert-4l" and state["labelled"] == 1
    assert state["tweet"]["probabilities"].keys() == {"negative", "positive"} and s.probs.shape == (400, 2)
    s.close()
