"""The model shipped in the package: loads offline with no arguments and behaves like its card."""

import json
import os
import subprocess
import sys

import pytest

import tinysent
from tinysent.core.errors import InputError
from tinysent.runtime.predictor import SHIPPED_DIR

from .conftest import SHARED


def test_loads_with_no_arguments_and_classifies():
    model = tinysent.load()  # the fast path: the shipped model's int8 export, built into the cache
    assert model.describe()["backend"] == "onnx" and model.backend.file.name == "model.int8.onnx"
    torch_model = tinysent.load(backend="torch")
    assert torch_model.describe()["path"] == str(SHIPPED_DIR)
    assert sum(p.numel() for p in torch_model.model.parameters()) <= 15_000_000
    out = model.predict(["I am doing well", "Disaster!", "I am not feeling confident"])
    assert [r["label"] for r in out] == ["positive", "negative", "negative"]  # the notebook said positive ×3
    assert set(out[0]) >= {"negative", "neutral", "positive"}  # since v3: three classes
    info = model.describe()  # what the service's /readyz shows: how labels are decided
    meta = json.loads((SHIPPED_DIR / "tinysent.json").read_text())
    offsets = meta.get("class_offsets", meta.get("class_bias"))  # v9 wrote it under its earlier name
    assert info["class_offsets"] == offsets and info["temperature"] == meta["temperature"]
    assert model.predict("the meeting is at 3pm in room 204")["label"] == "neutral"


def test_cli_with_only_the_text(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "", "HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "tinysent.apps.cli", "predict", "What a wonderful day"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(r.stdout)["label"] == "positive"


def test_files_are_safetensors_and_onnx_pinned_and_small():
    """What the package ships: the fp16 PyTorch weights, the int8 graphs for both CPU kinds and the fp32
    recheck graph reading them (no pickle), every file pinned, each <= 50 MB, 45 MB in all (the wheel
    limit is 80 MB)."""
    from tinysent.core.files import file_sha256

    sizes = {f.name: f.stat().st_size for f in SHIPPED_DIR.iterdir()}
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in sizes)
    pinned = json.loads((SHIPPED_DIR / "tinysent.json").read_text())["files"]
    assert set(pinned) == {
        "model.safetensors",
        "model.onnx",
        "model.int8.onnx",
        "model.int8-avx2.onnx",
        "model.weights",
        "tokenizer.json",
    }
    assert all(file_sha256(SHIPPED_DIR / n) == h for n, h in pinned.items())
    assert max(sizes.values()) <= 50 * 2**20 and sum(sizes.values()) <= 45 * 2**20


@pytest.mark.integration
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/sentiment140 is absent")
def test_accuracy_matches_the_model_card():
    from tinysent.apps.evaluate import binary_metrics
    from tinysent.data import sentiment140 as D

    test = D.read(SHARED / "testdata.manual.2009.06.14.csv").polar()
    p, _ = tinysent.load(backend="torch").positive_share(test.texts)
    m = binary_metrics(test.classes, p)
    assert m["n"] == 359 and m["accuracy"] == pytest.approx(326 / 359, abs=0.0015)  # 326/359 on the card (v9)


def test_concurrent_first_predictions_build_nothing(tmp_path):
    """The shipped graphs come with the package: three `tinysent predict` started together with an
    empty cache all answer, and nothing is written to the cache (no first-use build to race or to
    leave half-built when killed)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "TINYSENT_CACHE": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tinysent.apps.cli", "predict", f"tweet {i} so happy"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    assert all(json.loads(o)["label"] == "positive" for o, _ in outs)
    assert not cache.exists() or not any(cache.rglob("*"))


def test_fp32_answers_do_not_depend_on_the_texts_they_share_a_call_with():
    """What `tinysent serve --precision fp32` rests on (docs/stages/serve.md): int8 scales activations
    per call, fp32 does not, so a text gets the same answer alone and among others."""
    p = tinysent.load(precision="fp32")
    assert p.backend.file.name == "model.onnx" and p.recheck is None
    texts = [f"{w} {i} " * (1 + i % 7) for i, w in enumerate(["good", "meh", "awful", "the bus", "love"] * 8)]
    alone = [p.predict(t) for t in texts]
    together = p.predict(texts, batch_size=64)
    assert [r["label"] for r in together] == [r["label"] for r in alone]
    assert (
        max(abs(a[k] - b[k]) for a, b in zip(alone, together) for k in ("negative", "neutral", "positive"))
        < 1e-5
    )


def test_explain_puts_the_negation_first():
    """Why this label: on "I do not love this" the shipped model answers negative, and leaving out
    "not" moves that answer most (occlusion on the default path: int8 ONNX, no torch)."""
    model = tinysent.load()
    r = model.explain("I do not love this")
    assert model.backend.name == "onnx" and r["label"] == "negative"
    top = max(r["explanation"], key=lambda e: e["weight"])
    assert top["word"] == "not" and top["weight"] > 0.3
    assert [e["word"] for e in r["explanation"]] == ["I", "do", "not", "love", "this"]
    assert model.explain([]) == [] and len(model.explain(["a b", "c"])) == 2
    # toward another label: what keeps "I do not love this" from positive is "not"
    pos = model.explain("I do not love this", toward="positive")["explanation"]
    assert min(pos, key=lambda e: e["weight"])["word"] == "not" and min(e["weight"] for e in pos) < -0.3
    with pytest.raises(InputError, match="no label 'joy'"):
        model.explain("x", toward="joy")


def test_explain_of_a_long_text_weighs_only_the_words_the_model_reads():
    """A 10,000-character text: the words past max_length get weight 0 without being scored, and the
    model is given at most max_length - 1 rows of bounded length (it was one full-length copy of the
    text per word: O(words x characters), minutes and gigabytes)."""
    model = tinysent.load()
    text = "I do not love this " + " ".join(f"word{i}" for i in range(1500))
    assert len(text) > 10_000
    rows = []
    proba = model.proba

    def spy(texts, *a, **kw):
        rows.extend(texts)
        return proba(texts, *a, **kw)

    model.proba = spy
    r = model.explain(text)
    seen = [e for e in r["explanation"] if e["weight"] != 0]
    assert len(r["explanation"]) == 1505 and len(rows) <= model.meta.max_length
    assert sum(map(len, rows[1:])) < 50 * 1000 and all(e["weight"] == 0 for e in r["explanation"][200:])
    assert max(seen, key=lambda e: e["weight"])["word"] == "not" and len(seen) >= 5
