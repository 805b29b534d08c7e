import json

import numpy as np
import pytest

import tinysent
from tinysent.train.export import export


@pytest.fixture(scope="module")
def exported(trained_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "m"
    report = export(trained_model, out, int8=True)
    return out, report


def test_export_is_self_describing_and_passes_parity(exported):
    out, report = exported
    assert (out / "model.onnx").exists() and (out / "model.int8.onnx").exists()
    assert (out / "tokenizer.json").exists()
    meta = json.loads((out / "tinysent.json").read_text())
    # the graphs read the weights they share with PyTorch from model.safetensors, each stored once
    assert meta["config"]["onnx"]["data"][0] == "model.safetensors" and "model.safetensors" in meta["files"]
    assert (out / "model.onnx").stat().st_size < (out / "model.safetensors").stat().st_size
    assert meta["config"]["onnx"]["files"]["int8"] == "model.int8.onnx"
    for kind in ("fp32", "int8"):
        assert report["parity"][kind]["label_agreement"] >= 0.995
    assert report["parity"]["fp32"]["max_abs_prob_diff"] < 1e-4
    assert report["files"]["last_layer"] == "cls-only"


def test_cls_only_graph_gives_the_models_logits_on_padded_batches(trained_model):
    """The exported graph skips the last layer's non-[CLS] rows; padded batches must not notice."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tinysent.train.export import cls_only_graph

    model = AutoModelForSequenceClassification.from_pretrained(
        trained_model, attn_implementation="eager"
    ).eval()
    tok = AutoTokenizer.from_pretrained(trained_model)
    batch = tok(
        ["i love it", "the day at work was so sad and awful today", "ugh"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        want = model(**batch).logits
        got = cls_only_graph(model)(batch["input_ids"], batch["attention_mask"])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_onnx_backend_is_picked_and_matches_torch(exported, trained_model):
    out, _ = exported
    onnx = tinysent.load(out)
    torch_p = tinysent.load(trained_model)
    assert onnx.backend.name == "onnx" and torch_p.backend.name == "torch"
    texts = ["i love this great day", "i hate this awful day", "", "love " * 300]
    a = onnx.predict(texts, batch_size=3)
    b = torch_p.predict(texts)
    assert [r["label"] for r in a] == [r["label"] for r in b]
    assert a[3].get("truncated") and a[2].get("empty")
    from tinysent.runtime.predictor import Predictor

    fp32 = Predictor.from_dir(out, backend="onnx")
    assert fp32.backend.file.name == "model.int8.onnx"
    np.testing.assert_allclose([r["positive"] for r in a], [r["positive"] for r in b], atol=0.05)


def test_backend_onnx_on_a_torch_folder_is_a_clear_error(trained_model):
    with pytest.raises(FileNotFoundError, match="tinysent export"):
        tinysent.load(trained_model, backend="onnx")


def test_int8_export_keeps_the_embedding_tables_in_fp32(exported):
    """Only MatMuls are quantized (what simulate_int8 models); Gathers read fp32 tables."""
    import onnx

    out, _ = exported
    g = onnx.load(str(out / "model.int8.onnx")).graph
    ops = {n.op_type for n in g.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    assert "DequantizeLinear" not in ops
    fp32_inits = {i.name for i in g.initializer if i.data_type == onnx.TensorProto.FLOAT}
    gathers = [n for n in g.node if n.op_type == "Gather" and n.input[0] in fp32_inits]
    assert len(gathers) >= 2  # word and position embeddings


def test_attention_reads_q_k_v_in_place(exported, trained_model, tmp_path):
    """One head-merging Transpose per layer is left (plus the sequence-major switch and the pooler's);
    none moves the last axis (slow). The plain graph of --full-last-layer gets its K read transposed;
    --standard-ops keeps plain ONNX with the same logits."""
    import onnx
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(trained_model).num_hidden_layers
    out, report = exported
    for f in ("model.onnx", "model.int8.onnx"):
        g = onnx.load(str(out / f), load_external_data=False).graph
        stored = {i.name for i in g.initializer}  # a stored weight's Transpose is folded at load
        perms = [
            list(a.ints)
            for n in g.node
            if n.op_type == "Transpose" and n.input[0] not in stored
            for a in n.attribute
        ]
        assert len(perms) <= layers + 2 and [0, 2, 3, 1] not in perms
        assert any(n.op_type == "FusedMatMul" and n.domain == "com.microsoft" for n in g.node)
    assert "FusedMatMul" in report["files"]["attention"]

    full = tmp_path / "full"
    export(trained_model, full, cls_only=False)
    g = onnx.load(str(full / "model.onnx")).graph
    assert [0, 2, 3, 1] not in [list(a.ints) for n in g.node if n.op_type == "Transpose" for a in n.attribute]

    std = tmp_path / "std"
    export(trained_model, std, standard_ops=True)
    g = onnx.load(str(std / "model.onnx")).graph
    assert all(n.domain in ("", "ai.onnx") for n in g.node)
    files = json.loads((std / "tinysent.json").read_text())["config"]["onnx"]["files"]
    assert "attention" not in files
    a, b = tinysent.load(std), tinysent.load(out)
    b.backend = type(b.backend)(out / "model.onnx")  # the fp32 file of the default export
    ids, _ = a.token_ids(["i love this great day", "so sad and awful", "meh", "great " * 30])
    np.testing.assert_allclose(a.logits(ids, 4), b.logits(ids, 4), atol=1e-5)


def test_precision_picks_the_onnx_file_and_names_the_fix(exported, trained_model):
    from tinysent.runtime.predictor import Predictor

    out, _ = exported
    assert Predictor.from_dir(out, precision="fp32").backend.file.name == "model.onnx"
    assert Predictor.from_dir(out, precision="int8").backend.file.name == "model.int8.onnx"
    with pytest.raises(FileNotFoundError, match="--int8"):
        Predictor.from_dir(trained_model, precision="int8")
    with pytest.raises(ValueError, match="picks an ONNX file"):
        Predictor.from_dir(out, backend="torch", precision="fp32")


def test_export_validate_compares_on_the_models_validation_split(trained_model, tmp_path, capsys):
    """`tinysent export --validate`: the int8 file against PyTorch on the validation split rebuilt from
    the model's saved config (120 tweets of the fixture), written beside the export."""
    from tinysent.apps.cli import main

    out = tmp_path / "onnx"
    assert main(["export", "--model", str(trained_model), "--out", str(out), "--int8", "--validate"]) == 0
    v = json.loads((out / "validation.json").read_text())
    assert v["val_n"] == 120 and v["onnx"].endswith("model.int8.onnx")
    assert v["label_agreement"] >= 0.95 and v["val_accuracy_torch_fp32"] >= 0.9
    assert json.loads(capsys.readouterr().out)["validation"] == v


def test_the_weights_the_graphs_read_are_pinned_and_a_damaged_one_is_refused(exported, tmp_path):
    """The graphs read model.safetensors and model.weights (storage.py): damage to either is caught
    by its sha256 before ONNX Runtime sees it, with the fix named, and never run."""
    import shutil

    from tinysent.core.errors import ModelError

    out, _ = exported
    for name in ("model.weights", "model.safetensors"):
        m = tmp_path / name
        shutil.copytree(out, m)
        data = bytearray((m / name).read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte
        (m / name).write_bytes(bytes(data))
        with pytest.raises(ModelError, match=f"{name} does not match the sha256.*copy it again"):
            tinysent.load(m)
        (m / name).unlink()
        with pytest.raises(ModelError, match="it is missing"):
            tinysent.load(m)


def test_a_cpu_without_vnni_runs_the_reduce_range_int8_file(trained_model, tmp_path, monkeypatch):
    import tinysent.core.folder as F

    out = tmp_path / "both"
    report = export(trained_model, out, int8=True, kernels=("vnni", "avx2"))
    assert report["files"]["int8_avx2"] == "model.int8-avx2.onnx"
    assert tinysent.load(out).backend.file.name == "model.int8.onnx"
    monkeypatch.setattr(F, "cpu_has_vnni", lambda: False)
    p = tinysent.load(out)
    assert p.backend.file.name == "model.int8-avx2.onnx" and p.recheck.file.name == "model.onnx"
    assert p.predict("i love this great day")["label"] == "positive"


def test_the_default_load_runs_the_shipped_model_as_int8_onnx():
    from tinysent.core.meta import RECHECK_MARGIN
    from tinysent.runtime.predictor import SHIPPED_DIR

    fast = tinysent.load()
    assert fast.backend.name == "onnx" and fast.backend.file.name in (
        "model.int8.onnx",
        "model.int8-avx2.onnx",
    )
    assert fast.path == SHIPPED_DIR  # shipped in the package: nothing is built on first use
    assert fast.recheck.file.name == "model.onnx" and fast.recheck_margin == RECHECK_MARGIN > 0
    assert fast.max_tokens == 4096
    slow = tinysent.load(backend="torch")
    assert slow.backend.name == "torch" and slow.path == SHIPPED_DIR
    texts = ["I love it", "worst day ever", "the bus is at 9"]
    assert [r["label"] for r in fast.predict(texts)] == [r["label"] for r in slow.predict(texts)]


def test_int8_rechecks_near_ties_in_fp32(exported, trained_model):
    """The int8 file is used with its fp32 recheck: a text whose int8 logits lie within the margin of
    another label gets the fp32 file's logits, every other text keeps int8's; margin 0 is int8 alone,
    an infinite margin is fp32 everywhere."""
    from tinysent.core.labels import decision_margin
    from tinysent.core.meta import RECHECK_MARGIN

    out, report = exported
    meta = json.loads((out / "tinysent.json").read_text())["config"]["onnx"]
    assert meta["recheck"] == {"margin": RECHECK_MARGIN, "file": "model.onnx"}
    assert report["parity"]["int8"]["recheck_margin"] == RECHECK_MARGIN
    assert 0 <= report["parity"]["int8_alone"]["label_agreement"] <= 1
    texts = [("great day " * (i % 7)) + ("awful sad " * (i % 4)) + "meh " * (i % 3) for i in range(80)]
    q = tinysent.load(out)
    assert q.recheck is not None and q.recheck_margin == RECHECK_MARGIN
    alone = tinysent.load(out, recheck_margin=0)
    assert alone.recheck is None and alone.max_tokens == q.max_tokens == 4096
    fp32 = tinysent.load(out, precision="fp32")
    assert fp32.recheck is None and fp32.max_tokens is None
    ids, _ = q.token_ids(texts)
    l8, l32 = alone.logits(ids), fp32.logits(ids)
    bounds = q.bounds()
    got = q.logits(ids, decision=bounds)
    near = decision_margin(l8, bounds, q.labels.neg, q.labels.pos) < RECHECK_MARGIN
    np.testing.assert_allclose(got[near], l32[near], atol=1e-5)
    np.testing.assert_array_equal(got[~near], l8[~near])
    assert q.rechecked == near.sum()
    np.testing.assert_array_equal(q.logits(ids), l8)  # no decision given: int8 alone
    everything = tinysent.load(out, recheck_margin=float("inf"))
    p_all, _ = everything.positive_share(texts)
    np.testing.assert_allclose(p_all, fp32.positive_share(texts)[0], atol=1e-5)
    assert everything.rechecked == len(texts)
    assert [r["label"] for r in everything.predict(texts)] == [r["label"] for r in fp32.predict(texts)]


def test_recheck_files_are_checked_and_misuse_is_named(exported, trained_model, tmp_path):
    import shutil

    from tinysent.train.models import ModelError

    out, _ = exported
    with pytest.raises(ValueError, match="int8 ONNX"):
        tinysent.load(trained_model, recheck_margin=0.1)
    with pytest.raises(ValueError, match=">= 0"):
        tinysent.load(out, recheck_margin=-1)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "model.onnx").write_bytes(b"damaged")
    with pytest.raises(ModelError, match="sha256"):
        tinysent.load(bad)
    assert tinysent.load(bad, recheck_margin=0).recheck is None  # int8 alone does not need it
    (bad / "model.onnx").unlink()
    with pytest.raises(FileNotFoundError, match="tinysent export"):
        tinysent.load(bad)


def test_export_without_recheck(trained_model, tmp_path, capsys):
    from tinysent.apps.cli import main

    out = tmp_path / "plain"
    assert (
        main(["export", "--model", str(trained_model), "--out", str(out), "--int8", "--recheck-margin", "0"])
        == 0
    )
    assert "recheck" not in json.loads((out / "tinysent.json").read_text())["config"]["onnx"]
    assert tinysent.load(out).recheck is None


def test_the_recheck_margin_rule_decides_as_the_model_does():
    """A near-tie in the raw logits that the model's class offsets decide clearly is no disagreement;
    without offsets it is, and the chosen margin is the smallest that rescores it."""
    from tinysent.core.labels import SENTIMENT3, LabelModel
    from tinysent.train.export.parity import choose_recheck_margin, recheck_table

    l32 = np.array([[1.0, 1.02, 0.0], [0.0, 0.0, 3.0]], dtype=np.float32)  # fp32: neutral (raw argmax)
    l8 = np.array([[1.035, 1.0, 0.0], [0.0, 0.0, 3.01]], dtype=np.float32)  # int8: negative (raw argmax)
    with_offsets = LabelModel(SENTIMENT3, offsets=(0.7, 0.0, 0.0))
    table = recheck_table(with_offsets, l32, l8, with_offsets.decision())
    assert table[0] == {"margin": 0.0, "rechecked": 0.0, "agreement": 1.0}
    assert choose_recheck_margin([table]) == 0.0
    plain = LabelModel(SENTIMENT3)
    table = recheck_table(plain, l32, l8, plain.decision())
    assert [r["agreement"] for r in table[:5]] == [0.5, 0.5, 0.5, 0.5, 1.0]  # gap 0.035: rescored from 0.04
    assert choose_recheck_margin([table]) == 0.04
    binary = recheck_table(plain, l32, l8, plain.decision(binary=True))
    assert choose_recheck_margin([table, binary]) == 0.04 and choose_recheck_margin([table[:4]]) is None
