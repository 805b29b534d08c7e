import math

import pytest
import torch

from tinysent.data.config import TrainConfig
from tinysent.train.distill import (
    DistillConfig,
    attention_loss,
    capture_scores,
    distill,
    hidden_loss,
    make_student,
    soft_cross_entropy,
    uniform_layer_map,
)
from tinysent.train.models import build_student


def test_layer_map():
    assert uniform_layer_map(4, 12) == [3, 6, 9, 12]  # the paper's g(m) = 3m
    assert uniform_layer_map(4, 6) == [2, 3, 5, 6]
    assert uniform_layer_map(2, 2) == [1, 2]
    with pytest.raises(ValueError):
        uniform_layer_map(6, 4)


def test_attention_loss_ignores_padding():
    s = torch.zeros(1, 2, 3, 3)
    t = torch.zeros(1, 2, 3, 3)
    t[0, :, :2, :2] = 1.0  # real tokens: positions 0, 1
    t[0, :, 2, :] = 100.0  # a padded query row: must not count
    t[0, :, :, 2] = 100.0
    mask = torch.tensor([[1, 1, 0]])
    # 2 heads x 4 valid pairs, each squared error 1 → mean 1
    assert attention_loss(s, t, mask).item() == pytest.approx(1.0)


def test_hidden_loss_and_mask():
    s = torch.zeros(2, 3, 4)
    t = torch.ones(2, 3, 4) * 2
    t[1, 2] = 50  # padding
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    assert hidden_loss(s, t, mask).item() == pytest.approx(4.0)


def test_soft_cross_entropy_known_value():
    t = torch.tensor([[0.0, math.log(3.0)]])  # teacher probs 0.25 / 0.75
    s = torch.tensor([[0.0, 0.0]])  # student 0.5 / 0.5
    assert soft_cross_entropy(s, t).item() == pytest.approx(math.log(2))
    # at temperature 2 the teacher becomes 1/(1+√3), √3/(1+√3); student stays uniform
    assert soft_cross_entropy(s, t, 2.0).item() == pytest.approx(math.log(2))
    s2 = torch.tensor([[0.0, math.log(3.0)]])
    ent = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert soft_cross_entropy(s2, t).item() == pytest.approx(ent, rel=1e-5)


def test_captured_scores_match_eager_attention():
    torch.manual_seed(0)
    model = build_student(
        {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 64},
        vocab_size=50,
    )
    model.eval()
    model.config._attn_implementation = "eager"
    ids = torch.randint(5, 50, (2, 6))
    with capture_scores(model) as scores:
        out = model(input_ids=ids, output_attentions=True)
        sc = scores()
    torch.testing.assert_close(torch.softmax(sc[1], -1), out.attentions[1], atol=1e-5, rtol=1e-4)


def test_config_defaults_and_validation():
    cfg = DistillConfig(teacher="t")
    assert (cfg.stage1_epochs, cfg.stage2_epochs, cfg.distill_temperature, cfg.student_model) == (
        1.0,
        1.0,
        1.0,
        "tinybert-4l",
    )  # Sentiment140: TinyBERT 4L-312D; a labelled task: the shipped model (tests/test_labelled.py)
    assert cfg.student is None
    assert DistillConfig(teacher="t", student="tinybert-6l").student_model == "tinybert-6l"
    assert cfg.attention_weight == cfg.hidden_weight == cfg.embedding_weight == 1.0
    with pytest.raises(ValueError, match="unknown DistillConfig settings"):
        DistillConfig.from_dict({"teacher": "t", "temprature": 2})  # the official code's kind of typo
    with pytest.raises(ValueError, match="general-teacher"):
        DistillConfig(teacher="t", stage0_epochs=1)
    with pytest.raises(ValueError, match="temperature"):
        DistillConfig(teacher="t", distill_temperature=0)
    with pytest.raises(ValueError, match="--unlabelled"):
        DistillConfig(teacher="t", augment=2)
    with pytest.raises(ValueError, match="augment must be >= 0"):
        DistillConfig(teacher="t", augment=-1, unlabelled="u.txt")


def test_augmented_copies_are_new_varied_and_reproducible():
    """Each copy is a perturbation of its tweet (dropped, swapped or cut words, every word from the
    tweets), none repeats an original or another copy, and a seed gives the same copies."""
    from tinysent.train.distill.augment import augment

    texts = [f"tweet {i} about the game tonight and how great it was for us" for i in range(50)]
    texts += ["ok", "ok", ""]  # a one-word tweet has few versions; an empty one none
    copies = augment(texts, 3, seed=1)
    assert augment(texts, 3, seed=1) == copies and augment(texts, 3, seed=2) != copies
    assert augment(texts, 0) == [] and augment([], 3) == []
    assert len(set(copies)) == len(copies) and not set(copies) & set(texts)
    assert 145 <= len(copies) <= 150 + 6
    vocab = {w for t in texts for w in t.split()}
    assert all(c and set(c.split()) <= vocab for c in copies)
    lengths = [len(c.split()) for c in copies[:150]]
    assert min(lengths) >= 3 and max(lengths) <= 13 and sum(lengths) / len(lengths) < 12


def test_layer_subset_student_copies_teacher_layers(trained_model):
    from transformers import AutoModelForSequenceClassification

    teacher = AutoModelForSequenceClassification.from_pretrained(trained_model)
    s = make_student("layers:2", teacher)
    assert s.config.num_hidden_layers == 1
    torch.testing.assert_close(
        s.bert.encoder.layer[0].output.dense.weight, teacher.bert.encoder.layer[1].output.dense.weight
    )


def test_distillation_beats_the_same_student_from_scratch(trained_model, train_file, tmp_path):
    """60 labelled tweets for both; the distilled student also learns from 600 unlabelled ones that the
    teacher labels (the transfer set), layer by layer."""
    from tinysent.train.finetune import train

    from .conftest import make_tiny_base, make_tweets

    shape = {"num_hidden_layers": 1, "hidden_size": 16, "num_attention_heads": 4, "intermediate_size": 32}
    unlabelled = tmp_path / "unlabelled.txt"
    unlabelled.write_text("\n".join(t for _, t in make_tweets(600, seed=5)))
    common = dict(train_data=str(train_file), max_train=60, val_fraction=0.1, max_val=None, seed=0)
    summary = distill(
        DistillConfig(
            teacher=str(trained_model),
            student=shape,
            out=str(tmp_path / "st"),
            unlabelled=str(unlabelled),
            stage1_epochs=2,
            stage2_epochs=3,
            batch_size=32,
            stage1_lr=3e-3,
            stage2_lr=3e-3,
            eval_every=10,
            **common,
        ),
        progress=False,
    )
    scratch_dir = make_tiny_base(tmp_path / "scratch", layers=1, hidden=16, heads=4)
    base = train(
        TrainConfig(
            base=str(scratch_dir),
            out=str(tmp_path / "sc"),
            epochs=20,
            batch_size=16,
            lr=3e-3,
            eval_every=4,
            patience=None,
            **common,
        ),
        progress=False,
    )
    assert summary["best"]["val_accuracy"] >= 0.9
    assert summary["best"]["val_accuracy"] > base["best"]["val_accuracy"] + 0.05


def _tiny_teacher_and_calib(trained_model, n=256):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tinysent.core.tokenize import encode

    from .conftest import make_tweets

    teacher = AutoModelForSequenceClassification.from_pretrained(trained_model).eval()
    tok = AutoTokenizer.from_pretrained(trained_model)
    ids = encode([t for _, t in make_tweets(n, seed=7)], tok, 32)
    return teacher, ids


def _logits(model, ids):
    from tinysent.train.loop import model_logits

    return torch.from_numpy(model_logits(model, ids, 256))


def _kl(p_logits, q_logits):
    p = p_logits.softmax(-1)
    return (p * (p.log() - q_logits.log_softmax(-1))).sum(-1).mean().item()


def test_prune_to_the_teachers_own_shape_is_exact(trained_model):
    from tinysent.train.distill import prune_teacher

    teacher, ids = _tiny_teacher_and_calib(trained_model)
    c = teacher.config
    shape = dict(num_hidden_layers=2, hidden_size=c.hidden_size, num_attention_heads=4, intermediate_size=64)
    student, layers = prune_teacher(teacher, shape, ids, layers=[1, 2])
    assert layers == [1, 2]
    torch.testing.assert_close(_logits(student, ids), _logits(teacher, ids), atol=1e-5, rtol=1e-5)


def test_prune_drops_dead_ffn_neurons_first(trained_model):
    """Neurons that never fire (zero weights and bias, GELU(0) = 0) rank last: cutting the FFN to the
    live half changes no logit."""
    from tinysent.train.distill import prune_teacher

    teacher, ids = _tiny_teacher_and_calib(trained_model)
    dead = torch.arange(1, 64, 2)
    with torch.no_grad():
        for layer in teacher.bert.encoder.layer:
            layer.intermediate.dense.weight[dead] = 0
            layer.intermediate.dense.bias[dead] = 0
    shape = dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, intermediate_size=32)
    student, _ = prune_teacher(teacher, shape, ids, layers=[1, 2])
    live = torch.arange(0, 64, 2)
    torch.testing.assert_close(
        student.bert.encoder.layer[0].intermediate.dense.weight,
        teacher.bert.encoder.layer[0].intermediate.dense.weight[live],
    )
    torch.testing.assert_close(_logits(student, ids), _logits(teacher, ids), atol=1e-5, rtol=1e-5)


def test_pruned_student_starts_close_to_the_teacher(trained_model):
    from tinysent.train.distill import prune_teacher

    teacher, ids = _tiny_teacher_and_calib(trained_model)
    shape = dict(num_hidden_layers=1, hidden_size=16, num_attention_heads=4, intermediate_size=32)
    auto, chosen = prune_teacher(teacher, shape, ids)
    t = _logits(teacher, ids)
    kls = {g: _kl(t, _logits(prune_teacher(teacher, shape, ids, layers=[g])[0], ids)) for g in (1, 2)}
    assert chosen == [min(kls, key=kls.get)]  # the automatic layer choice is the closest subset
    scratch = build_student({**shape, "max_position_embeddings": 128}, teacher.config.vocab_size).eval()
    assert sum(p.numel() for p in auto.parameters()) == sum(p.numel() for p in scratch.parameters())
    assert _kl(t, _logits(auto, ids)) < _kl(t, _logits(scratch, ids))
    assert auto.bert.encoder.layer[0].attention.self.attention_head_size == 4


def test_prune_rejects_shapes_it_cannot_cut(trained_model):
    from tinysent.train.distill import prune_teacher, pruned_student

    teacher, ids = _tiny_teacher_and_calib(trained_model, 16)
    base = dict(num_hidden_layers=1, hidden_size=16, num_attention_heads=4, intermediate_size=32)
    for bad, msg in [
        ({"num_attention_heads": 2}, "heads 2"),
        ({"hidden_size": 64}, "hidden size 64"),
        ({"intermediate_size": 128}, "FFN 128"),
        ({"num_hidden_layers": 3}, "3 layers"),
    ]:
        with pytest.raises(ValueError, match=msg):
            prune_teacher(teacher, {**base, **bad}, ids)
    with pytest.raises(ValueError, match="layers \\[3\\]"):
        prune_teacher(teacher, base, ids, layers=[3])
    with pytest.raises(ValueError, match="unknown shape"):
        pruned_student("prune:huge", teacher, ids)


def _tiny_cfg(teacher, data, out, **kw) -> DistillConfig:
    """A distillation on the fixture that takes seconds; keyword arguments override."""
    base = dict(
        teacher=str(teacher),
        out=str(out),
        train_data=str(data),
        val_fraction=0.1,
        max_val=None,
        batch_size=32,
        stage1_lr=3e-3,
        stage2_lr=3e-3,
    )
    return DistillConfig(**{**base, **kw})


def test_distill_from_a_pruned_teacher(trained_model, train_file, tmp_path, monkeypatch):
    """`--student prune:SHAPE` end to end: the pruned layers become the layer map, and the student
    after stage 2 is saved and at least as good as the teacher on the fixture's validation split."""
    from tinysent.train import models

    monkeypatch.setitem(
        models.STUDENT_SHAPES,
        "tiny",
        dict(num_hidden_layers=1, hidden_size=16, num_attention_heads=4, intermediate_size=32),
    )
    summary = distill(
        _tiny_cfg(
            trained_model,
            train_file,
            tmp_path / "st",
            student="prune:tiny",
            max_train=400,
            stage1_epochs=0,
            stage2_epochs=2,
            eval_every=5,
            prune_calibration=128,
        ),
        progress=False,
    )
    assert len(summary["layer_map"]) == 1
    assert summary["sizes"]["student_params"] < summary["sizes"]["teacher_params"]
    assert summary["best"]["val_accuracy"] >= 0.9
    assert (tmp_path / "st" / "model.safetensors").exists()


@pytest.mark.parametrize(
    "stop_at_eval,grad_accum",
    [(2, 1), (5, 1), (4, 2)],  # 2: inside stage 1; 5 and 4: inside stage 2; accumulation too
)
def test_interrupted_distillation_resumes_to_the_same_result(
    trained_model, train_file, tmp_path, monkeypatch, stop_at_eval, grad_accum
):
    import json

    import tinysent.train.loop as loop

    shape = {"num_hidden_layers": 1, "hidden_size": 16, "num_attention_heads": 4, "intermediate_size": 32}

    def cfg(out, **kw):
        return _tiny_cfg(
            trained_model,
            train_file,
            out,
            student=shape,
            max_train=300,
            stage2_epochs=2,
            eval_every=4,
            grad_accum=grad_accum,
            **kw,
        )

    whole = distill(cfg(tmp_path / "whole"), progress=False)
    batches = -(-300 // 32)  # 10 batches of 32 a epoch; an optimizer step every grad_accum of them
    assert whole["stages"]["stage1"]["steps"] == -(-batches // grad_accum)
    assert whole["stages"]["stage2"]["steps"] == 2 * -(-batches // grad_accum)

    real = loop.evaluate_loader
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == stop_at_eval:
            raise KeyboardInterrupt("simulated kill")
        return real(*a, **k)

    monkeypatch.setattr(loop, "evaluate_loader", flaky)
    with pytest.raises(KeyboardInterrupt):
        distill(cfg(tmp_path / "cut"), progress=False)
    monkeypatch.setattr(loop, "evaluate_loader", real)
    resumed = distill(cfg(tmp_path / "cut", resume=True), progress=False)

    assert resumed["best"]["step"] == whole["best"]["step"]
    assert resumed["best"]["val_accuracy"] == pytest.approx(whole["best"]["val_accuracy"])
    assert resumed["best"]["val_loss"] == pytest.approx(whole["best"]["val_loss"], rel=1e-5)

    def last_eval(out):
        recs = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
        return [r for r in recs if r["type"] == "eval"][-1]

    def evals(out):
        recs = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
        return [(r["stage"], r["step"]) for r in recs if r["type"] == "eval"]

    assert evals(tmp_path / "cut") == evals(tmp_path / "whole")  # no step was trained twice
    a, b = last_eval(tmp_path / "whole"), last_eval(tmp_path / "cut")
    assert (a["stage"], a["step"]) == (b["stage"], b["step"])
    assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
    assert any(
        r.startswith('{"type": "resume"')
        for r in (tmp_path / "cut" / "train_log.jsonl").read_text().splitlines()
    )
