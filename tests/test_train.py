import json

import numpy as np
import pytest
import torch

from tinysent.core.files import cache_dir
from tinysent.core.meta import ModelMeta
from tinysent.data.config import TrainConfig
from tinysent.data.tokens import choose_max_length
from tinysent.runtime.predictor import load
from tinysent.train.batching import collate, length_grouped_batches
from tinysent.train.models import load_tokenizer
from tinysent.train.schedule import LinearSchedule


def test_tiny_bert_learns_the_fixture(trained_model):
    log = [json.loads(x) for x in (trained_model / "train_log.jsonl").read_text().splitlines()]
    evals = [r for r in log if r["type"] == "eval"]
    assert evals and max(r["val_accuracy"] for r in evals) >= 0.9  # chance is 0.5
    assert log[0]["type"] == "start" and log[-1]["type"] == "end"
    meta = ModelMeta.load(trained_model)
    assert meta.metrics["validation"]["val_accuracy"] >= 0.9
    assert meta.normalizer["version"] >= 1 and meta.max_length >= 16 and meta.config["seed"] == 0
    assert (trained_model / "model.safetensors").exists()
    assert not list(trained_model.glob("*.bin")) and not list(trained_model.glob("*.pt"))


def test_loadable_by_transformers_pipeline(trained_model):
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(trained_model), device=-1)
    out = clf(["i love this great day", "i hate this awful day"])
    assert [o["label"] for o in out] == ["positive", "negative"]


def test_save_load_round_trip_gives_identical_probabilities(trained_model, tmp_path):
    a = load(trained_model)
    texts = ["love the day", "sad and tired", ""]
    p1, _ = a.positive_share(texts)
    a.model.save_pretrained(tmp_path / "copy")
    load_tokenizer(trained_model).save_pretrained(tmp_path / "copy")
    a.meta.save(tmp_path / "copy")
    p2, _ = load(tmp_path / "copy").positive_share(texts)
    np.testing.assert_array_equal(p1, p2)


def test_schedule_warms_up_then_reaches_zero_at_the_last_step():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = LinearSchedule(opt, total=100, warmup_ratio=0.1)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    assert lrs[0] == pytest.approx(0.1) and max(lrs) == pytest.approx(1.0)
    assert lrs[50] > 0.4  # the notebook's schedule was already at 0 by 20 %
    assert opt.param_groups[0]["lr"] == 0.0
    s2 = LinearSchedule(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), 100, 0.1)
    s2.shrink(50)
    assert s2._factor(50) == 0.0 and s2._factor(30) > 0


def test_a_budget_cut_shrinks_the_warmup_with_the_schedule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = LinearSchedule(opt, total=50_000, warmup_ratio=0.06)  # 3,000 warmup steps
    s.shrink(1_000)  # a time budget keeps 1,000: it warms up over 60, then decays to 0 at 1,000
    assert (s.total, s.warmup) == (1_000, 60)
    assert s._factor(59) == pytest.approx(1.0) and s._factor(500) > 0.4 and s._factor(1_000) == 0.0


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_time_budget_counts_the_evaluations(monkeypatch):
    """Steps of 1 s and evaluations of 20 s every 10 steps, in a budget of 200 s: the first estimate
    (step 50: no evaluation timed yet) plans 150 more steps; once an evaluation is timed the plan
    counts 3 s per step (1 s + 20 s / 10), so training and its evaluations end within the budget."""
    import tinysent.train.schedule as schedule

    clock = _Clock()
    monkeypatch.setattr(schedule.time, "time", clock)

    class Acc:
        device = "cpu"

        def gather(self, t):
            return t

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LinearSchedule(opt, total=10_000, warmup_ratio=0.0)
    budget = schedule.Budget(200, Acc(), sched, eval_every=10)
    total, step = 10_000, 0
    while step < total:
        step += 1
        clock.now += 1.0
        total = budget(step, total)
        if step % 10 == 0 or step == total:
            if step >= 10:
                clock.now += 20.0
                budget.evaluated(20.0)
            total = budget(step, total, evaluated=True)
    spent = clock.now - 1000.0
    assert 160 <= spent <= 200 + 21, (spent, step)  # in budget (the last evaluation's rounding aside)
    assert total == step and sched.total <= step
    # a run whose first steps were slowed (3 s each, another program on the cores) plans too few
    # steps; once its steps take 1 s again the plan grows back, never past the first plan
    clock.now = 1000.0
    sched = LinearSchedule(opt, total=400, warmup_ratio=0.0)
    budget = schedule.Budget(300, Acc(), sched, eval_every=10_000)
    total, step = 400, 0
    while step < total:
        step += 1
        clock.now += 3.0 if step <= 60 else 1.0
        total = budget(step, total)
        if step == 50:
            assert total < 120  # the slow start's estimate
    assert 150 < step <= 400 and clock.now - 1000.0 <= 300 + 3
    none = schedule.Budget(None, Acc(), sched, eval_every=10)
    assert none(50, 10_000) == 10_000  # no budget: the plan stands


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    import tinysent.train.accelerator as loop

    line = "flags\t\t: fpu vme avx2 avx512f {}\n"
    assert not loop.cpu_has_bf16(line.format("avx512_vnni"))  # AVX2 / AVX-512 without BF16: fp32
    assert loop.cpu_has_bf16(line.format("avx512_bf16"))
    assert loop.cpu_has_bf16(line.format("amx_bf16 amx_tile"))
    monkeypatch.setattr(loop.torch.cuda, "is_available", lambda: False)
    for has, want in ((False, "no"), (True, "bf16")):
        monkeypatch.setattr(loop, "cpu_has_bf16", lambda has=has: has)
        assert loop.resolve_precision("auto") == want
        assert loop.resolve_precision("no") == "no" and loop.resolve_precision("bf16") == "bf16"


def test_length_grouped_batches_cover_everything_once():
    lengths = np.random.default_rng(0).integers(3, 40, size=1000)
    batches = length_grouped_batches(lengths, 32, seed=1, epoch=0)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 3  # similar lengths in a batch: little padding
    assert batches != length_grouped_batches(lengths, 32, seed=1, epoch=1)


def test_collate_pads_per_batch():
    b = collate(
        [{"input_ids": [2, 5, 3], "index": 0, "labels": 1}, {"input_ids": [2, 3], "index": 1, "labels": 0}]
    )
    assert b["input_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert b["labels"].tolist() == [1, 0]


def test_max_length_choice_reports_coverage():
    n, cov = choose_max_length(np.array([10] * 990 + [100] * 10))
    assert n == 100 and cov == 1.0
    n, cov = choose_max_length(np.arange(1, 101), quantile=50)
    assert (n, cov) == (51, 0.51)
    assert choose_max_length(np.arange(1, 1001))[0] == 128  # capped


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="batch size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="warmup"):
        TrainConfig(warmup_ratio=1.5)


def test_token_store_is_built_once_and_matches_direct_tokenisation(
    tiny_base, train_file, tmp_path, monkeypatch
):
    from tinysent.core.normalize import Normalizer
    from tinysent.data.tokens import TokenStore, prepare_data
    from tinysent.train.models import load_tokenizer

    monkeypatch.setenv("TINYSENT_CACHE", str(tmp_path / "cache"))
    tok = load_tokenizer(tiny_base)
    cfg = TrainConfig(train_data=str(train_file), val_fraction=0.1, max_val=None, max_length=12)
    cached = prepare_data(cfg, tok, Normalizer())
    direct = prepare_data(TrainConfig(**{**cfg.__dict__, "token_cache": False}), tok, Normalizer())
    assert [list(x) for x in cached.train_ids] == [list(x) for x in direct.train_ids]
    assert [list(x) for x in cached.val_ids] == [list(x) for x in direct.val_ids]
    assert any(len(x) == 12 for x in cached.train_ids) and all(
        x[-1] == tok.sep_token_id for x in cached.train_ids
    )
    built = []
    orig = TokenStore.get_or_build.__func__

    def spy(cls, root, key, texts_fn, tokenizer, cap=256):
        return orig(cls, root, key, lambda: built.append(1) or texts_fn(), tokenizer, cap)

    monkeypatch.setattr(TokenStore, "get_or_build", classmethod(spy))
    again = prepare_data(TrainConfig(**{**cfg.__dict__, "seed": 1, "max_length": None}), tok, Normalizer())
    assert built == [] and again.stats["token_store"]["rows"] == 1200  # reused: nothing re-tokenised
    assert (cache_dir() / "tokens").exists()


def test_encode_fast_path_gives_the_tokenizers_ids(tiny_base):
    """encode() calls the Rust tokenizer directly when nothing truncates; ids must be the wrapper's,
    also after a truncating call has left the backend configured to truncate."""
    from transformers import AutoTokenizer

    from tinysent.core.tokenize import encode

    from .conftest import make_tweets

    tok = AutoTokenizer.from_pretrained(tiny_base)
    texts = [t for _, t in make_tweets(50, seed=3)] + ["", "love " * 100, "Café ☕ 😂 naïve 中文 ok!!"]
    want = tok(texts, return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    assert encode(texts, tok, None) == want
    short = encode(texts, tok, 8)
    assert max(len(x) for x in short) == 8 and short[-1][-1] == tok.sep_token_id
    assert encode(texts, tok, None) == want


def test_loading_a_model_to_train_or_teach_shows_no_transformers_bar(trained_model, capfd, tmp_path):
    """A training log is not a terminal: loading a base or a teacher, or saving a model, prints no
    "Loading weights" or "Writing model shards" bar, and transformers' own setting is as it was after."""
    import torch
    from accelerate import Accelerator
    from transformers.utils import logging as tlog

    from tinysent.core.meta import ModelMeta
    from tinysent.train.distill.stages import load_teacher
    from tinysent.train.loop import save_model
    from tinysent.train.models import load_classifier

    tlog.enable_progress_bar()
    model, tokenizer, *_ = load_classifier(trained_model, num_labels=2)
    load_classifier(trained_model, num_labels=2, labels=("negative", "positive"))
    load_teacher(trained_model, torch.device("cpu"))
    save_model(model, tokenizer, tmp_path / "saved", ModelMeta.load(trained_model), Accelerator(cpu=True))
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "Writing model shards" not in err
    assert tlog.is_progress_bar_enabled()
