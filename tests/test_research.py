"""Research tools in scripts/research/ that the results rely on."""

import sys
from pathlib import Path

import numpy as np

import tinysent
from tinysent.train.export import export

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "research"))


def test_simulate_int8_computes_what_the_int8_export_computes(trained_model, tmp_path):
    """simulate_int8 is how int8 error is studied without an export per question (which MatMuls
    lose a model's predictions), so it must match ONNX Runtime's int8 file far more closely than
    fp32 does; and it must leave the model as it found it. (Full last
    layer: the [CLS]-only graph takes its last layer's int8 scales from fewer rows.)"""
    import torch
    from int8_simulation import cpu_has_vnni, simulate_int8

    out = tmp_path / "full"
    export(trained_model, out, int8=True, cls_only=False)
    texts = ["i love this great day", "i hate this awful day", "meh", "so sad and awful", "great great"] * 4
    onnx = tinysent.load(out)
    ref = tinysent.load(trained_model, backend="torch")
    ids, _ = ref.token_ids(texts)
    z8 = onnx.logits(ids, 64)
    before = {k: v.clone() for k, v in ref.model.state_dict().items()}
    z32 = ref.logits(ids, 64)
    with simulate_int8(ref.model, vnni=cpu_has_vnni()):
        zs = ref.logits(ids, 64)
    err_fp32, err_sim = np.abs(z32 - z8).max(), np.abs(zs - z8).max()
    assert err_fp32 > 1e-4  # int8 really differs from fp32 here
    assert err_sim < 0.02 * err_fp32
    np.testing.assert_array_equal(ref.logits(ids, 64), z32)  # patched forwards are gone
    after = ref.model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)
