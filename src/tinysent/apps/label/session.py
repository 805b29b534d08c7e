"""A labelling session: the pool of tweets, the journal of labels, the current model's guesses, the
background rounds. The page's requests call :meth:`Session.state`, :meth:`label`, :meth:`skip`,
:meth:`undo`; each answers from memory and the journal (no model call on the way), so a label is
saved and the next tweet shown in milliseconds even while a round trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from tinysent.apps.children import stop_all
from tinysent.apps.label.journal import Journal
from tinysent.apps.label.rounds import load_tweets
from tinysent.apps.label.select import Selector
from tinysent.core.errors import InputError
from tinysent.core.labels import LabelModel

QUEUE = 8  # tweets chosen at once (the queue is refilled when it runs out or a new model arrives)
SCORE_AT_ONCE = 5_000  # a pool up to this size is scored before the page opens (~2 s); larger ones
SCORE_CHUNK = 4_096  # in the background, this many tweets at a time


class Session:
    def __init__(
        self,
        tweets,
        names: list[str],
        out,
        column: str = "text",
        base: str = "shipped",
        every: int = 50,
        min_per_label: int = 3,
        seed: int = 0,
        train_options: list[str] = (),
    ):
        from tinysent.core.files import file_sha256

        self.tweets_path, self.column, self.base = Path(tweets), column, base
        self.texts = load_tweets(tweets, column)
        if not self.texts:
            raise InputError(f"{tweets} has no tweets to label")
        self.index = {t: i for i, t in enumerate(self.texts)}
        self.names = list(names)
        self.out = Path(out)
        self.journal = Journal.open(self.out, self.names, self.tweets_path, file_sha256(self.tweets_path))
        self.every, self.min_per_label, self.seed = every, min_per_label, seed
        self.train_options = list(train_options)  # more `tinysent train` options (rounds, export)
        self.selector = Selector(self.texts, seed)
        self.rounds_dir = self.out.with_name(self.out.stem + ".rounds")
        self.lock = threading.RLock()
        self.queue: list[int] = []
        self.current: int | None = None
        self.rounds: list[dict] = self._finished_rounds()
        self.trainer: subprocess.Popen | None = None
        self.exporter: subprocess.Popen | None = None
        self.training: int | None = None  # labels the running round learns from
        self.round_folder: Path | None = None
        self.export: dict = {}
        self.predictor, self.probs, self.guesses, self.model = None, None, None, None
        self.scoring: dict | None = None  # the shipped model scoring a large pool: tweets done, total
        self.closing = threading.Event()
        ready = [r for r in self.rounds if "error" not in r]
        if ready:
            self._switch(self.rounds_dir / ready[-1]["round"])
        else:
            self._base_guesses()
        self._maybe_train()  # reopened with a round due (one that a kill interrupted): it starts now

    # --- the model in the loop -------------------------------------------------------------------

    def _base_guesses(self) -> None:
        """The shipped model's guesses when it answers these labels (sentiment-like), else none."""
        from tinysent.core.meta import ModelMeta
        from tinysent.runtime.predictor import SHIPPED_DIR, load

        if not set(self.names) <= set(ModelMeta.load(SHIPPED_DIR).labels):
            return
        if len(self.texts) > SCORE_AT_ONCE:  # the first tweets come at once; guesses when it is done
            self.scoring = {"done": 0, "total": len(self.texts)}
            threading.Thread(target=self._score_pool, daemon=True).start()
            return
        predictor = load()
        p, _ = predictor.proba(self.texts)
        self._take_base(predictor, p)

    def _take_base(self, predictor, p) -> None:
        self.predictor = predictor
        self.probs = predictor.labels.proba_among(p, self.names)
        self.guesses = predictor.labels.classes_among(p, self.names)  # its own rule
        self.model, self.queue = "shipped tinybert-4l", []

    def _score_pool(self) -> None:
        """The shipped model's probabilities for a large pool, chunk by chunk, off the request path
        (the page shows the count); taken unless a round's model came first."""
        from tinysent.runtime.predictor import load

        predictor, parts = load(), []
        for i in range(0, len(self.texts), SCORE_CHUNK):
            if self.closing.is_set():
                return
            parts.append(predictor.proba(self.texts[i : i + SCORE_CHUNK])[0])
            with self.lock:
                self.scoring["done"] = min(i + SCORE_CHUNK, len(self.texts))
        with self.lock:
            self.scoring = None
            if self.model is None:
                self._take_base(predictor, np.concatenate(parts))

    def _finished_rounds(self) -> list[dict]:
        """Rounds of earlier sittings that finished (round.json written), in order."""
        done = []
        for f in sorted(self.rounds_dir.glob("round-*/round.json"), key=lambda p: int(p.parent.name[6:])):
            done.append({"round": f.parent.name, **json.loads(f.read_text())})
        return done

    def _switch(self, folder: Path) -> None:
        self.probs = np.load(folder / "probs.npy")
        if len(self.probs) != len(self.texts):  # rounds of another tweets file: their guesses do not fit
            self.probs = self.guesses = None
            return
        if (folder / "guesses.npy").exists():
            self.guesses = np.load(folder / "guesses.npy")
        else:  # a round from before its guesses were saved: the default rule of its labels
            self.guesses = LabelModel(tuple(self.names)).classes(self.probs)
        self.model, self.predictor, self.queue = folder.name, None, []
        threading.Thread(target=self._load_predictor, args=(folder / "model",), daemon=True).start()

    def _load_predictor(self, model: Path) -> None:  # for explanations: loaded off the request path
        from tinysent.runtime.predictor import load

        predictor = load(model)
        with self.lock:
            if self.model == model.parent.name:
                self.predictor = predictor

    def _poll(self) -> None:
        if self.trainer is None or self.trainer.poll() is None:
            return
        folder = self.round_folder
        self.trainer, self.training = None, None
        if (folder / "round.json").exists():
            self.rounds.append({"round": folder.name, **json.loads((folder / "round.json").read_text())})
            self._switch(folder)
        else:
            log = (folder / "log.txt").read_text(errors="replace").strip().splitlines()
            self.rounds.append({"round": folder.name, "error": (log or ["failed"])[-1][:300]})

    def next_round(self) -> dict | None:
        """What the next fine-tune waits for: ``labels`` more labels (to the next multiple of
        --every) and ``per_label`` more of each label still under --min-per-label; None without
        rounds (--every 0)."""
        if not self.every:
            return None
        n = len(self.journal.labels)
        last = max([r.get("labels_used", 0) for r in self.rounds] + [0])
        # at every multiple of --every (50, 100, 150, ...): a first round held back until each label
        # had its --min-per-label tweets (at 53, say) does not shift the later ones (100, not 103)
        target = (last // self.every + 1) * self.every
        counts = self.journal.counts()
        short = {k: self.min_per_label - v for k, v in counts.items() if v < self.min_per_label}
        return {"labels": max(0, target - n), "per_label": short}

    def _maybe_train(self) -> None:
        wait = self.next_round()
        if self.trainer is not None or wait is None or wait["labels"] or wait["per_label"]:
            return
        folder = self.rounds_dir / f"round-{len(self.rounds) + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "labels.csv").write_bytes(self.out.read_bytes())  # the labels it learns from
        cmd = [
            sys.executable,
            "-m",
            "tinysent.apps.label.rounds",
            str(folder),
            "--tweets",
            str(self.tweets_path),
        ]
        cmd += ["--column", self.column, "--labels", ",".join(self.names), "--base", self.base]
        cmd += ["--seed", str(self.seed), "--", *self.train_options]
        nice = (lambda: os.nice(10)) if hasattr(os, "nice") else None  # the page's process first
        with open(folder / "log.txt", "wb") as log:  # the child keeps its own copy of the file
            self.trainer = subprocess.Popen(  # its own process group: close() stops it and its children
                cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=nice, start_new_session=True
            )
        self.training, self.round_folder = len(self.journal.labels), folder

    # --- what the page asks ------------------------------------------------------------------------

    def _done(self) -> set[str]:
        return set(self.journal.labels) | self.journal.skipped

    def _next(self) -> int | None:
        done = self._done()
        while self.queue and self.texts[self.queue[0]] in done:
            self.queue.pop(0)
        if not self.queue:
            mask = np.array([t in done for t in self.texts])
            recent = [self.index[t] for t in self.journal.labels if t in self.index]
            self.queue = self.selector.choose(QUEUE, mask, self.probs, recent)
        return self.queue.pop(0) if self.queue else None

    def state(self) -> dict:
        with self.lock:
            self._poll()
            if self.current is None or self.texts[self.current] in self._done():
                self.current = self._next()
            tweet = None
            if self.current is not None:
                tweet = {"id": self.current, "text": self.texts[self.current]}
                if self.probs is not None:
                    p = self.probs[self.current]
                    tweet["guess"] = self.names[int(self.guesses[self.current])]
                    tweet["probabilities"] = {n: round(float(v), 4) for n, v in zip(self.names, p)}
            return {
                "labels": self.names,
                "counts": self.journal.counts(),
                "labelled": len(self.journal.labels),
                "skipped": len(self.journal.skipped),
                "pool": len(self.texts),
                "tweet": tweet,
                "model": self.model,
                "training": self.training,
                "scoring": dict(self.scoring) if self.scoring else None,
                "every": self.every,
                "min_per_label": self.min_per_label,
                "next_round": self.next_round(),
                "rounds": self.rounds,
                "can_undo": bool(self.journal.steps),
                "export": self.export,
                "out": self.out.name,
            }

    def _check(self, tweet_id: int) -> str:
        if tweet_id != self.current or self.current is None:
            raise StaleTweet()
        return self.texts[tweet_id]

    def label(self, tweet_id: int, label: str) -> dict:
        with self.lock:
            self.journal.label(self._check(tweet_id), label)  # saved (fsync'ed) when this returns
            self.current = None
            self._maybe_train()
            return self.state()

    def skip(self, tweet_id: int) -> dict:
        with self.lock:
            self.journal.skip(self._check(tweet_id))
            self.current = None
            return self.state()

    def undo(self) -> dict:
        with self.lock:
            text = self.journal.undo()
            if text is not None and text in self.index:
                if self.current is not None:
                    self.queue.insert(0, self.current)
                self.current = self.index[text]
            return self.state()

    def explain(self, tweet_id: int) -> dict | None:
        """Each word's weight toward the page's guess for a tweet, by the model that guessed (None
        while it loads)."""
        with self.lock:
            predictor, guesses = self.predictor, self.guesses
        if predictor is None or guesses is None or not 0 <= tweet_id < len(self.texts):
            return None
        guess = self.names[int(guesses[tweet_id])]  # among your labels, as the page shows it
        return predictor.explain(self.texts[tweet_id], toward=guess)

    def start_export(self, folder: Path) -> None:
        with self.lock:
            if self.export.get("status") == "training":
                return
            cmd = [
                sys.executable,
                "-m",
                "tinysent",
                "train",
                "--base",
                self.base,
                "--train-data",
                str(self.out),
            ]
            cmd += ["--out", str(folder), "--overwrite", "--quiet", *self.train_options]
            folder.parent.mkdir(parents=True, exist_ok=True)
            log = folder.with_name(folder.name + ".log")
            with open(log, "wb") as f:
                proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
            self.exporter = proc
            self.export = {"status": "training", "folder": str(folder), "labels": len(self.journal.labels)}

            def wait():
                rc = proc.wait()
                with self.lock:
                    self.export["status"] = "done" if rc == 0 else f"failed (exit {rc}): see {log.name}"
                    self.export["commands"] = export_commands(folder) if rc == 0 else []

            threading.Thread(target=wait, daemon=True).start()

    def close(self) -> None:
        """Stop the round's trainer and the final model's training, and wait for them (a page
        stopped by SIGTERM leaves no process behind, and a restart never meets a trainer of the old
        page on the same round folder); a stopped training puts back any folder it was replacing."""
        self.closing.set()
        stop_all([p for p in (self.trainer, self.exporter) if p is not None])


class StaleTweet(InputError):
    """A label for a tweet that is no longer the one shown (a double click, a second tab)."""


def export_commands(folder: Path) -> list[str]:
    return [
        f"tinysent evaluate --model {folder} --test-data YOUR_TEST_FILE --out {folder}-eval",
        f'tinysent predict --model {folder} "a tweet to label"',
        f"tinysent serve --model {folder}",
    ]
