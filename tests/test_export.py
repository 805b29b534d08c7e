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
