"""Tiny real models and data fixtures, built in the tests (no downloads)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

POS_WORDS = ["love", "great", "happy", "awesome", "good", "fun", "thanks", "nice", "best", "glad"]
NEG_WORDS = ["hate", "sad", "awful", "bad", "sick", "tired", "worst", "miss", "sorry", "ugh"]
FILLER = [
    "the",
    "day",
    "is",
    "my",
    "today",
    "this",
    "so",
    "and",
    "it",
    "work",
    "i",
    "was",
    "at",
    "home",
    "friends",
    "movie",
    "weather",
    "phone",
    "night",
    "morning",
]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment140"


def make_tweets(n: int, seed: int = 0) -> list[tuple[int, str]]:
    """Separable fixture: positive tweets carry a positive word, negative ones a negative word."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        pol = 4 if i % 2 else 0
        words = rng.sample(FILLER, rng.randint(3, 8))
        words.insert(rng.randrange(len(words) + 1), rng.choice(POS_WORDS if pol == 4 else NEG_WORDS))
        if rng.random() < 0.3:
            words.insert(0, "@someone")
        rows.append((pol, " ".join(words)))
    return rows


def write_six_col(path: Path, rows, neutral: int = 0) -> Path:
    with open(path, "w", encoding="latin-1", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for i, (p, t) in enumerate(rows):
            w.writerow([p, 1000 + i, "Mon Apr 06 22:19:45 PDT 2009", "NO_QUERY", f"user{i}", t])
        for j in range(neutral):
            w.writerow(
                [2, 9000 + j, "Mon May 11 03:17:40 UTC 2009", "kindle2", "n", f"the phone is here {j}"]
            )
    return path


def make_vocab(path: Path) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789@#.,!?'-:;()&")
    words = sorted(set(POS_WORDS + NEG_WORDS + FILLER + ["user", "http", "smile", "sad", "someone"]))
    pieces = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab = list(dict.fromkeys(specials + chars + words + pieces))  # ids are line numbers: no duplicates
    path.write_text("\n".join(vocab) + "\n")
    return path


def make_tiny_base(
    folder: Path, layers: int = 2, hidden: int = 32, heads: int = 4, seed: int = 0, dropout: float = 0.1
) -> Path:
    """A random tiny BERT saved like a hub base model (config, safetensors, tokenizer)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tok = BertTokenizerFast(str(make_vocab(folder / "vocab.txt")), do_lower_case=True)
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(cfg).save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def tiny_train_args(base, data, out, **overrides) -> list[str]:
    """`tinysent train`-style flags for a quick fixture run; keyword overrides use option names with _."""
    opts = {
        "epochs": 2,
        "batch_size": 32,
        "lr": "3e-3",
        "eval_every": 20,
        "max_val": "none",
        "val_fraction": 0.1,
        **overrides,
    }
    args = ["--base", str(base), "--train-data", str(data), "--out", str(out)]
    for k, v in opts.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    return [*args, "--quiet"]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Token stores and downloads go to a temporary cache, never the user's."""
    import os

    old = os.environ.get("TINYSENT_CACHE")
    os.environ["TINYSENT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("TINYSENT_CACHE", None)
    else:
        os.environ["TINYSENT_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    return make_tiny_base(tmp_path_factory.mktemp("base") / "tiny-bert")


@pytest.fixture(scope="session")
def train_file(tmp_path_factory) -> Path:
    return write_six_col(tmp_path_factory.mktemp("data") / "train.csv", make_tweets(1200, seed=1))


@pytest.fixture(scope="session")
def test_file(tmp_path_factory) -> Path:
    return write_six_col(tmp_path_factory.mktemp("data") / "test.csv", make_tweets(120, seed=2), neutral=10)


@pytest.fixture(scope="session")
def trained_model(tiny_base, train_file, tmp_path_factory) -> Path:
    """A tiny classifier fine-tuned on the fixture (shared by the tests that need a model)."""
    from tinysent.data.config import TrainConfig
    from tinysent.train.finetune import train

    out = tmp_path_factory.mktemp("models") / "tiny-clf"
    cfg = TrainConfig(
        base=str(tiny_base),
        train_data=str(train_file),
        out=str(out),
        epochs=3,
        batch_size=32,
        lr=3e-3,
        eval_every=20,
        max_val=None,
        val_fraction=0.1,
        seed=0,
        patience=None,
    )
    train(cfg, progress=False)
    return out


def started(cmd: list, probe: str, env: dict | None = None):
    """Start ``cmd`` (a server) and return it once GET ``probe`` answers 200 (within a minute)."""
    import subprocess
    import sys
    import time

    import httpx

    proc = subprocess.Popen(
        [sys.executable, *map(str, cmd)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, f"{probe} did not answer"
        time.sleep(0.2)
