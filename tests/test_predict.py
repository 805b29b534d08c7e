import pytest

import tinysent
from tinysent.core.labels import threshold_labels


def test_predict_string_and_list(trained_model):
    p = tinysent.load(trained_model)
    one = p.predict("i love this great day")
    assert one["label"] == "positive" and one["positive"] > 0.5
    assert abs(one["positive"] + one["negative"] - 1) < 1e-5
    many = p.predict(["i love this great day", "i hate this awful day"] * 50, batch_size=7)
    assert [r["label"] for r in many[:2]] == ["positive", "negative"] and len(many) == 100
    assert many[0] == one  # batching and order do not change results
    assert p.predict([]) == []


def test_awkward_inputs_have_defined_behaviour(trained_model):
    p = tinysent.load(trained_model)
    r = p.predict(["", "   "])
    assert all(x["empty"] for x in r) and all(0 <= x["positive"] <= 1 for x in r)
    long = p.predict("love " * 500)
    assert long["truncated"] is True and long["label"] == "positive"
    with pytest.raises(TypeError, match="text 1 is a int"):
        p.predict(["fine", 3])


def test_neutral_band(trained_model):
    p = tinysent.load(trained_model)
    r = p.predict(["i love this great day", "the phone"], neutral_band=(0.0, 1.0))
    assert [x["label"] for x in r] == ["neutral", "neutral"]
    assert threshold_labels(__import__("numpy").array([0.1, 0.5, 0.9]), 0.5, (0.3, 0.7)) == [
        "negative",
        "neutral",
        "positive",
    ]
    with pytest.raises(ValueError, match="neutral band"):
        p.predict("x", neutral_band=(0.8, 0.2))


def test_load_without_a_model_folder_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        tinysent.load(tmp_path)


def test_model_calls_are_capped_in_texts_and_padded_tokens(trained_model):
    """Each call: length-sorted, at most batch_size texts and max_tokens padded tokens (one long text
    alone may exceed it); results come back in input order, the same as without a cap."""
    import numpy as np

    p = tinysent.load(trained_model)
    assert p.max_tokens is None  # off by default
    texts = [("great day " * (i % 13)) + ("awful " * (i % 5)) for i in range(60)] + ["love " * 200]
    ids, _ = p.token_ids(texts)
    want = p.logits(ids, 1000)

    calls, real = [], p.backend.logits

    def spy(x, m):
        calls.append(x.shape)
        return real(x, m)

    p.backend.logits = spy
    p.max_tokens = 24
    got = p.logits(ids, batch_size=4)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert sum(r for r, _ in calls) == len(texts)
    assert all(r <= 4 and (r * w <= 24 or r == 1) for r, w in calls)
    assert any(r == 4 for r, _ in calls) and any(r < 4 for r, _ in calls[:-1])  # both caps bind
    assert calls[-1] == (1, len(ids[-1]))  # the longest text alone, over the cap
    widths = [w for _, w in calls]
    assert widths == sorted(widths)
    with pytest.raises(ValueError, match="max_tokens"):
        tinysent.load(trained_model, max_tokens=0)


def test_decision_margin_bounds_every_label_change():
    """No text changes label under a logit perturbation smaller than half its margin: for the 3-class
    argmax, the binary share and a 2-class model's threshold and neutral band at its temperature."""
    import numpy as np

    from tinysent.core.labels import decision_margin, threshold_labels
    from tinysent.core.meta import ModelMeta
    from tinysent.core.numerics import positive_share, softmax
    from tinysent.runtime.predictor import Predictor

    rng = np.random.default_rng(0)
    eps = 0.05
    base = rng.normal(0, 1, (20000, 3)).astype(np.float32)
    moved = base + rng.uniform(-eps, eps, base.shape).astype(np.float32)

    def check(decision, label, lab_base, neg, pos):
        changed = label(moved) != lab_base
        margin = decision_margin(base, decision, neg, pos)
        assert changed.any() and (margin[changed] < 2 * eps + 1e-6).all()
        assert (margin[~changed] >= 0).all()

    check("argmax", lambda lg: lg.argmax(1), base.argmax(1), 0, 2)
    three = Predictor(None, None, ModelMeta(labels=["negative", "neutral", "positive"], temperature=0.9))
    b3 = three.bounds()
    assert b3 == (0.0,)
    share = lambda lg: positive_share(softmax(lg, 0.9), 0, 2) >= 0.5  # noqa: E731
    check(b3, share, share(base), 0, 2)

    two = Predictor(None, None, ModelMeta(labels=["negative", "positive"], temperature=1.7, threshold=0.6))
    band = (0.3, 0.7)
    b2 = two.bounds(0.6, band)
    assert len(b2) == 3

    def lab2(lg):
        return np.array(threshold_labels(softmax(lg[:, :2], 1.7)[:, 1], 0.6, band))

    check(b2, lambda lg: lab2(lg[:, [0, 2]]), lab2(base[:, [0, 2]]), 0, 2)


def test_a_model_answers_a_subset_of_its_labels_by_the_likeliest_of_them():
    """How a base model is scored on a task with fewer labels (the learning curve's size 0)."""
    import numpy as np
    import pytest

    from tinysent.core.errors import InputError
    from tinysent.core.labels import LabelModel

    lm = LabelModel(("negative", "neutral", "positive"))
    probs = np.array([[0.2, 0.7, 0.1], [0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    assert lm.classes_among(probs, lm.names).tolist() == [1, 1, 0]  # its own decision
    assert lm.classes_among(probs, ("negative", "positive")).tolist() == [0, 1, 0]  # neutral not allowed
    assert lm.classes_among(probs, ("positive", "negative")).tolist() == [1, 0, 1]  # any order
    with pytest.raises(InputError, match="no label 'joy'"):
        lm.classes_among(probs, ("negative", "joy"))


def test_class_offsets_move_the_argmax_everywhere_the_label_is_decided():
    """log P + bias decides labels, classes, subsets and the recheck margin alike; probabilities stay;
    a malformed bias in tinysent.json is refused by name."""
    import numpy as np
    import pytest

    from tinysent.core.errors import MetaError
    from tinysent.core.labels import LabelModel
    from tinysent.core.meta import ModelMeta

    names = ("negative", "neutral", "positive")
    meta = ModelMeta(labels=list(names), temperature=0.8, class_offsets=[0.5, 0.0, -0.2])
    lm = LabelModel.from_meta(meta)
    plain = LabelModel(names, temperature=0.8)
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (5000, 3))
    p = lm.proba(z)
    np.testing.assert_array_equal(p, plain.proba(z))  # the bias changes decisions, not probabilities
    want = np.argmax(np.log(p) + [0.5, 0.0, -0.2], 1)
    assert (lm.classes(p) == want).all() and (want != plain.classes(p)).any()
    assert [names.index(x) for x in lm.labels(p)] == want.tolist()
    reordered = ("positive", "negative", "neutral")  # the same decision, indexed in another order
    assert [reordered[i] for i in lm.classes_among(p, reordered)] == [names[k] for k in want]
    r = lm.records(p[:1])[0]
    assert r["label"] == names[want[0]] and r["negative"] == round(p[0, 0], 6)
    # the recheck margin measures distance to a label change under the biased rule
    eps = 0.05
    moved = z + rng.uniform(-eps, eps, z.shape)
    changed = lm.classes(lm.proba(moved)) != want
    assert changed.any() and (lm.margin(z, "argmax")[changed] < 2 * eps + 1e-6).all()
    for bad in ([1.0, 2.0], [0, "x", 1], [0, 0, 99]):
        with pytest.raises(MetaError, match="class_offsets"):
            ModelMeta(labels=list(names), class_offsets=bad).validate()
    with pytest.raises(MetaError, match="class_offsets"):
        ModelMeta(labels=["negative", "positive"], class_offsets=[0.0, 1.0]).validate()
