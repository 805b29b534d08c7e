import json

import numpy as np
import pytest

import tinysent
from tinysent.export import export


@pytest.fixture(scope="module")
def exported(trained_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "m"
    report = export(trained_model, out, int8=True)
    return out, report


def test_export_is_self_describing_and_passes_parity(exported):
    out, report = exported
    assert (out / "model.onnx").exists() and (out / "model.int8.onnx").exists()
    assert (out / "tokenizer.json").exists() and not list(out.glob("*.safetensors"))
    meta = json.loads((out / "tinysent.json").read_text())
    assert meta["config"]["onnx"]["files"]["int8"] == "model.int8.onnx"
    for kind in ("fp32", "int8"):
        assert report["parity"][kind]["label_agreement"] >= 0.995
    assert report["parity"]["fp32"]["max_abs_prob_diff"] < 1e-4
    assert report["files"]["last_layer"] == "cls-only"


def test_cls_only_graph_gives_the_models_logits_on_padded_batches(trained_model):
    """The exported graph skips the last layer's non-[CLS] rows; padded batches must not notice."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tinysent.export import _cls_only_graph

    model = AutoModelForSequenceClassification.from_pretrained(
        trained_model, attn_implementation="eager"
    ).eval()
    tok = AutoTokenizer.from_pretrained(trained_model)
    batch = tok(
        ["i love it", "the day at work was so sad and awful today", "ugh"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        want = model(**batch).logits
        got = _cls_only_graph(model)(batch["input_ids"], batch["attention_mask"])
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
    from tinysent.predict import Predictor

    fp32 = Predictor.from_dir(out, backend="onnx")
    assert fp32.backend.file.name == "model.int8.onnx"
    np.testing.assert_allclose([r["positive"] for r in a], [r["positive"] for r in b], atol=0.05)


def test_backend_onnx_on_a_torch_folder_is_a_clear_error(trained_model):
    with pytest.raises(FileNotFoundError, match="tinysent export"):
        tinysent.load(trained_model, backend="onnx")
