"""Weight averaging (train/soup.py): the mean is the mean, a soup is a pinned model folder that loads
and predicts, models that cannot be averaged are refused, and the greedy soup keeps an ingredient only
when the score does not fall."""

import json
import shutil
from pathlib import Path

import pytest


def perturbed_copy(src: Path, dest: Path, scale: float, seed: int) -> Path:
    """A copy of a model folder with noise added to every weight, re-pinned (another "fine-tune")."""
    import torch
    from safetensors.torch import load_file, save_file

    from tinysent.core.folder import pinned_names
    from tinysent.core.meta import ModelMeta

    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("checkpoint", "*.onnx"))
    g = torch.Generator().manual_seed(seed)
    state = load_file(src / "model.safetensors")
    state = {k: v + scale * torch.randn(v.shape, generator=g) for k, v in state.items()}
    save_file(state, dest / "model.safetensors", metadata={"format": "pt"})
    meta = ModelMeta.load(src)
    meta.pin(dest, pinned_names(dest, ["model.safetensors"]))
    meta.save(dest)
    return dest


@pytest.fixture(scope="module")
def two(trained_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("soup")
    return trained_model, perturbed_copy(trained_model, root / "b", 0.01, seed=1)


def test_the_average_is_the_mean_and_the_soup_loads_and_predicts(two, tmp_path):
    import torch
    from safetensors.torch import load_file

    from tinysent.core.meta import ModelMeta
    from tinysent.runtime.predictor import load
    from tinysent.train.soup import average, write_soup

    a, b = two
    sa, sb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    mean = average([a, b])
    for k in sa:
        torch.testing.assert_close(mean[k], (sa[k] + sb[k]) / 2)
    weighted = average([a, b], [3, 1])["classifier.bias"]
    torch.testing.assert_close(weighted, 0.75 * sa["classifier.bias"] + 0.25 * sb["classifier.bias"])
    out = write_soup([a, b], mean, tmp_path / "soup", {"val_score": 0.5})
    meta = ModelMeta.load(out)
    assert meta.method == "soup" and meta.metrics["validation"]["val_score"] == 0.5
    assert meta.train_rows is None and ModelMeta.load(a).train_rows is not None  # not a's alone
    shas = [ModelMeta.load(d).files["model.safetensors"] for d in (a, b)]
    assert [i["sha256"] for i in meta.config["soup"]] == shas
    from tinysent.train.models import load_classifier

    assert load_classifier(out, 2)[0].config.id2label == {0: "negative", 1: "positive"}  # trains on
    pred = load(out, backend="torch")  # the weights are pinned: a mismatch would be refused
    p_soup = pred.proba(["happy great day", "sad awful day"])[0]
    p_a = load(a, backend="torch").proba(["happy great day", "sad awful day"])[0]
    assert abs(p_soup - p_a).max() < 0.1  # a small perturbation averaged: close to the original
    (out / "model.safetensors").write_bytes(b"x" + (out / "model.safetensors").read_bytes()[1:])
    with pytest.raises(Exception, match="sha256|match"):
        load(out, backend="torch").proba(["x"])


def test_models_that_cannot_be_averaged_are_refused_with_the_reason(two, tmp_path):
    from tinysent.core.errors import InputError
    from tinysent.train.soup import check_compatible

    a, b = two
    check_compatible([a, b])
    with pytest.raises(InputError, match="two or more"):
        check_compatible([a])
    labels = shutil.copytree(b, tmp_path / "labels")
    meta = json.loads((labels / "tinysent.json").read_text())
    meta["labels"] = meta["labels"][::-1]
    (labels / "tinysent.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="differ in labels"):
        check_compatible([a, labels])
    vocab = shutil.copytree(b, tmp_path / "vocab")
    tok = json.loads((vocab / "tokenizer.json").read_text())
    tok["model"]["vocab"]["zzz"] = len(tok["model"]["vocab"])
    (vocab / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(InputError, match="different tokenizers"):
        check_compatible([a, vocab])
    with pytest.raises(InputError, match="no model.safetensors"):
        check_compatible([a, tmp_path])
    # another architecture (a wider layer, and a max length of its own): named as such, not as max_length
    from safetensors.torch import load_file, save_file

    wide = shutil.copytree(b, tmp_path / "wide")
    tensors = load_file(wide / "model.safetensors")
    name = next(k for k, v in tensors.items() if v.dim() == 2)
    tensors[name] = tensors[name].repeat(2, 1)
    save_file(tensors, str(wide / "model.safetensors"))
    meta = json.loads((wide / "tinysent.json").read_text())
    (wide / "tinysent.json").write_text(json.dumps({**meta, "max_length": meta["max_length"] * 2}))
    with pytest.raises(InputError, match=f"different architectures \\(tensor {name}"):
        check_compatible([a, wide])


def test_greedy_soup_keeps_only_what_does_not_lower_the_score(two, tmp_path):
    """Score = closeness of the classifier bias to a target that lies between a and b: a alone is
    best, a+b averages closer (kept), a far-off third pulls the mean away (left out)."""
    import torch
    from safetensors.torch import load_file

    from tinysent.train.soup import greedy_soup

    a, b = two
    far = perturbed_copy(a, tmp_path / "far", 1.0, seed=2)
    sa, sb = (load_file(d / "model.safetensors")["classifier.bias"] for d in (a, b))
    target = 0.6 * sa + 0.4 * sb

    def score(state):
        return -float(torch.linalg.norm(state["classifier.bias"] - target))

    chosen, best = greedy_soup([far, b, a], score, log=lambda m: None)
    assert chosen == [a, b]
    assert best == pytest.approx(-float(torch.linalg.norm((sa + sb) / 2 - target)))
