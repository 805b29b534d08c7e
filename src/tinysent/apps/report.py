"""One comparison page for models and baselines on the same test tweets: accuracy with Wilson
intervals, paired McNemar tests, calibration, thresholds, neutral band, and the worst mistakes.

With 359 binary test tweets one tweet is 0.28 points: differences under ~4 points are noise unless a
paired test says otherwise, so the page shows both.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinysent.apps.evaluate import DEFAULT_BAND, binary_metrics
from tinysent.apps.plots import pyplot
from tinysent.build import sentiment140 as D
from tinysent.build.calibrate import expected_calibration_error

# ---------------------------------------------------------------------------------------------
# Statistics


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """Paired test of two systems on the same items: exact two-sided binomial test (scipy) on the
    discordant pairs."""
    from scipy.stats import binomtest

    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    n01 = int((a & ~b).sum())  # a right, b wrong
    n10 = int((~a & b).sum())
    p = binomtest(n01, n01 + n10, 0.5).pvalue if n01 + n10 else 1.0
    return {"a_only": n01, "b_only": n10, "p_value": float(p)}


def three_way_accuracy(polarity: np.ndarray, p_pos: np.ndarray, band: tuple[float, float]) -> float:
    lo, hi = band
    pred = np.where(p_pos >= hi, 4, np.where(p_pos <= lo, 0, 2))
    return float((pred == np.asarray(polarity)).mean())


# ---------------------------------------------------------------------------------------------
# Baselines, trained or run on the same data


class Majority:
    name = "majority class"

    def fit(self, texts, y):
        self.p = float(np.mean(y) >= 0.5)
        return self

    def predict_proba(self, texts):
        return np.full(len(texts), self.p)


class Vader:
    name = "VADER"

    def fit(self, texts, y):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.sia = SentimentIntensityAnalyzer()
        return self

    def predict_proba(self, texts):
        # compound in [-1, 1] → [0, 1]; 0 (no sentiment words) sits on the threshold, counted positive.
        return np.array([(self.sia.polarity_scores(t)["compound"] + 1) / 2 for t in texts])


class TfidfLogReg:
    name = "TF-IDF uni+bigram logistic regression"

    def fit(self, texts, y):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from tinysent.core.normalize import Normalizer

        self.norm = Normalizer()
        self.vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=2_000_000)
        x = self.vec.fit_transform(self.norm.many(texts))
        self.clf = LogisticRegression(C=1.0, max_iter=200, solver="liblinear").fit(x, y)
        return self

    def predict_proba(self, texts):
        return self.clf.predict_proba(self.vec.transform(self.norm.many(texts)))[:, 1]


# ---------------------------------------------------------------------------------------------
# The page


@dataclass
class System:
    name: str
    p_pos: np.ndarray  # on every test row (neutral included)
    kind: str  # "model" | "baseline"
    threshold: float = 0.5  # positive when p_pos >= threshold: a model's own (tinysent.json), else 0.5


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _plots(
    systems: list[System], y: np.ndarray, pol: np.ndarray, binary: np.ndarray, lengths
) -> dict[str, str]:
    from sklearn.metrics import roc_curve

    plt = pyplot()
    out = {}
    n = len(systems)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.0), squeeze=False)
    for ax, s in zip(axes[0], systems):
        m = binary_metrics(y, s.p_pos[binary], s.threshold)
        cm = np.array(m["confusion_matrix"]["rows_true_cols_pred"])
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xticks([0, 1], ["neg", "pos"])
        ax.set_yticks([0, 1], ["neg", "pos"])
        ax.set_title(f"{s.name[:28]}\nacc {m['accuracy']:.1%}", fontsize=8)
    out["confusion"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    for s in systems:
        if len(set(s.p_pos[binary].round(6))) > 1:
            fpr, tpr, _ = roc_curve(y, s.p_pos[binary])
            ax.plot(fpr, tpr, label=s.name[:40])
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7)
    out["roc"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([0.5, 1], [0.5, 1], "--", color="grey", label="perfect calibration")
    for s in systems:
        ece, table = expected_calibration_error(y, s.p_pos[binary])
        if table:
            ax.plot(
                [t["confidence"] for t in table],
                [t["accuracy"] for t in table],
                "o-",
                label=f"{s.name[:30]} (ECE {ece:.3f})",
            )
    ax.set_xlabel("confidence of the predicted class")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    out["reliability"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    th = np.linspace(0.05, 0.95, 91)
    for s in systems:
        ax.plot(th, [((s.p_pos[binary] >= t) == y).mean() for t in th], label=s.name[:40])
    ax.set_xlabel("decision threshold on P(positive)")
    ax.set_ylabel("binary accuracy")
    ax.legend(fontsize=7)
    out["threshold"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    widths = np.linspace(0, 0.9, 46)
    for s in systems:
        ax.plot(
            widths,
            [three_way_accuracy(pol, s.p_pos, (0.5 - w / 2, 0.5 + w / 2)) for w in widths],
            label=s.name[:40],
        )
    ax.axvline(DEFAULT_BAND[1] - DEFAULT_BAND[0], ls=":", color="grey", label="default band")
    ax.set_xlabel("neutral band width around 0.5")
    ax.set_ylabel(f"3-way accuracy (n={len(pol)})")
    ax.legend(fontsize=7)
    out["neutral"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.hist(lengths, bins=range(0, max(lengths) + 2), color="C0")
    ax.set_xlabel("tokens per test tweet (with [CLS] and [SEP])")
    ax.set_ylabel("tweets")
    out["lengths"] = _png(fig)
    return out


def build_report(
    model_dirs: list[str],
    test_path,
    out,
    train_path=None,
    baseline_max_train: int | None = None,
    progress: bool = True,
) -> dict:
    """Write ``out/report.html`` (self-contained) and ``out/report.md`` plus ``out/report.json``."""
    from tinysent.core.normalize import Normalizer
    from tinysent.runtime.predictor import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    file, member = D.resolve(test_path, "test")
    test = D.read(file, member=member)
    pol = test.polarity
    binary = pol != D.Polarity.NEUTRAL
    y = (pol[binary] == D.Polarity.POSITIVE).astype(int)
    systems: list[System] = []
    predictors = []
    seed_groups = []
    for d in model_dirs:
        seeds = sorted(Path(d).glob("seed-*/config.json"))
        if seeds:  # a `tinysent train --seeds N` folder: every seed is scored, the page shows mean ± std
            group = []
            for c in seeds:
                p = load(c.parent)
                predictors.append(p)
                group.append(
                    System(
                        f"{Path(d).name}/{c.parent.name}",
                        p.positive_proba(test.texts)[0],
                        "model",
                        p.threshold,
                    )
                )
            systems += group
            seed_groups.append((Path(d).name, group))
            continue
        p = load(d)
        predictors.append(p)
        name = Path(d).name if Path(d).name != "tinysent-tinybert-4l" else "shipped tinybert-4l"
        systems.append(System(name, p.positive_proba(test.texts)[0], "model", p.threshold))
    train = None
    if train_path is not None:
        train = D.load(train_path, "train").binary()
        if baseline_max_train:
            train = train.subset(D.stratified_sample(train.polarity, baseline_max_train, 0))
    for cls in (Majority, Vader, TfidfLogReg):
        if cls is not Vader and train is None:
            continue
        try:
            b = cls().fit(
                train.texts if train is not None else [], train.classes if train is not None else []
            )
        except ImportError:
            logging.getLogger(__name__).warning(
                "%s left out of the report: pip install 'tinysent[baselines]'", cls.name
            )
            continue
        name = cls.name + (f" (trained on {len(train):,} tweets)" if cls is TfidfLogReg else "")
        systems.append(System(name, b.predict_proba(test.texts), "baseline"))

    rows = []
    for s in systems:
        m = binary_metrics(y, s.p_pos[binary], s.threshold)
        ece, _ = expected_calibration_error(y, s.p_pos[binary])
        rows.append(
            {
                "system": s.name,
                "kind": s.kind,
                "n": m["n"],
                "accuracy": m["accuracy"],
                "ci95": m["accuracy_ci95"],
                "macro_f1": m["macro_f1"],
                "roc_auc": m["roc_auc"],
                "ece": ece,
                "recall": {k: v["recall"] for k, v in m["per_class"].items()},
                "precision": {k: v["precision"] for k, v in m["per_class"].items()},
                "three_way_accuracy": three_way_accuracy(pol, s.p_pos, DEFAULT_BAND),
            }
        )
    correct = {s.name: ((s.p_pos[binary] >= s.threshold).astype(int) == y) for s in systems}
    pairs = []
    for i, a in enumerate(systems):
        for b in systems[i + 1 :]:
            pairs.append({"a": a.name, "b": b.name, **mcnemar(correct[a.name], correct[b.name])})
    mistakes = []
    if predictors:
        s, norm = systems[0], Normalizer(predictors[0].meta.normalizer_config)
        pb = s.p_pos[binary]
        wrong = np.flatnonzero((pb >= s.threshold).astype(int) != y)
        conf = np.abs(pb[wrong] - s.threshold)
        texts = [t for t, k in zip(test.texts, binary) if k]
        for j in wrong[np.argsort(-conf)][:15]:
            mistakes.append(
                {
                    "true": D.BINARY_LABELS[y[j]],
                    "p_positive": float(pb[j]),
                    "text": texts[j],
                    "normalised": norm(texts[j]),
                }
            )
        lengths = [len(x) for x in predictors[0].token_ids(test.texts)[0]]
    else:
        lengths = [len(t.split()) for t in test.texts]
    plots = _plots(systems, y, pol, binary, lengths)
    multi = []
    for name, group in seed_groups:
        accs = [((g.p_pos[binary] >= g.threshold).astype(int) == y).mean() for g in group]
        multi.append(
            {
                "model": name,
                "seeds": len(group),
                "accuracy_mean": float(np.mean(accs)),
                "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            }
        )
    summary = {
        "multi_seed": multi,
        "test": str(file),
        "n_binary": int(binary.sum()),
        "n_all": len(pol),
        "default_band": DEFAULT_BAND,
        "systems": rows,
        "mcnemar": pairs,
        "confident_mistakes": mistakes,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(_markdown(summary))
    (out / "report.html").write_text(_html(summary, plots))
    return summary


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def _table_md(rows) -> list[str]:
    lines = [
        "| system | accuracy (95 % CI) | macro F1 | ROC-AUC | ECE | recall neg / pos | 3-way acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        auc = f"{r['roc_auc']:.3f}" if r["roc_auc"] is not None else "–"
        lines.append(
            f"| {r['system']} | {r['accuracy']:.1%} ({r['ci95'][0]:.1%}–{r['ci95'][1]:.1%}) | "
            f"{r['macro_f1']:.3f} | {auc} | {r['ece']:.3f} | {r['recall']['negative']:.2f} / "
            f"{r['recall']['positive']:.2f} | {r['three_way_accuracy']:.1%} |"
        )
    return lines


def _markdown(s: dict) -> str:
    lines = [f"# tinysent report: {s['n_binary']} binary test tweets ({s['n_all']} with neutral)", ""]
    lines += _table_md(s["systems"])
    if s["multi_seed"]:
        lines += ["", "## Several seeds", "", "| model | seeds | accuracy mean ± std |", "|---|---|---|"]
        lines += [
            f"| {m['model']} | {m['seeds']} | {m['accuracy_mean']:.1%} ± {m['accuracy_std']:.1%} |"
            for m in s["multi_seed"]
        ]
    lines += [
        "",
        "## Paired McNemar tests (exact, two-sided)",
        "",
        "| a | b | a right only | b right only | p |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {p['a']} | {p['b']} | {p['a_only']} | {p['b_only']} | {p['p_value']:.3g} |" for p in s["mcnemar"]
    ]
    lines += [
        "",
        "## Most confident mistakes (first model)",
        "",
        "| true | P(pos) | normalised text |",
        "|---|---|---|",
    ]
    lines += [
        f"| {m['true']} | {m['p_positive']:.3f} | {m['normalised'].replace('|', '/')} |"
        for m in s["confident_mistakes"]
    ]
    return "\n".join(lines) + "\n"


def _html(s: dict, plots: dict[str, str]) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(r['system'])}</td><td>{r['n']}</td><td>{r['accuracy']:.1%}</td>"
        f"<td>{r['ci95'][0]:.1%} – {r['ci95'][1]:.1%}</td><td>{r['macro_f1']:.3f}</td>"
        f"<td>{_fmt(r['roc_auc'])}</td><td>{r['ece']:.3f}</td>"
        f"<td>{r['precision']['negative']:.2f} / {r['recall']['negative']:.2f}</td>"
        f"<td>{r['precision']['positive']:.2f} / {r['recall']['positive']:.2f}</td>"
        f"<td>{r['three_way_accuracy']:.1%}</td></tr>"
        for r in s["systems"]
    )
    pairs = "".join(
        f"<tr><td>{esc(p['a'])}</td><td>{esc(p['b'])}</td><td>{p['a_only']}</td><td>{p['b_only']}</td>"
        f"<td>{p['p_value']:.3g}</td></tr>"
        for p in s["mcnemar"]
    )
    multi = "".join(
        f"<tr><td>{esc(m['model'])}</td><td>{m['seeds']}</td><td>{m['accuracy_mean']:.1%} ± {m['accuracy_std']:.1%}</td></tr>"
        for m in s["multi_seed"]
    )
    if multi:
        multi = f'<h2 id="seeds">Several seeds</h2><table><tr><th>model</th><th>seeds</th><th>accuracy mean ± std</th></tr>{multi}</table>'

    mistakes = "".join(
        f"<tr><td>{m['true']}</td><td>{m['p_positive']:.3f}</td><td>{esc(m['text'])}</td>"
        f"<td>{esc(m['normalised'])}</td></tr>"
        for m in s["confident_mistakes"]
    )

    def img(k, alt):
        return f'<figure><img alt="{alt}" src="data:image/png;base64,{plots[k]}"><figcaption>{alt}</figcaption></figure>'

    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinysent report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}td,th{{border:1px solid #ccc;padding:4px 8px}}
th{{background:#f3f3f3}}figure{{display:inline-block;margin:0.5em}}img{{max-width:100%}}</style></head><body>
<h1>tinysent report</h1>
<p>Test file <code>{esc(s["test"])}</code>: {s["n_binary"]} positive/negative tweets ({s["n_all"]} with the neutral
ones). Accuracy carries its Wilson 95 % interval; one tweet is {100 / s["n_binary"]:.2f} points, so compare systems
with the paired McNemar tests below, not by eye. ECE: expected calibration error (10 bins). 3-way accuracy: all
{s["n_all"]} tweets, neutral when {s["default_band"][0]} &lt; P(positive) &lt; {s["default_band"][1]} (a band fixed
in advance, not tuned on this test set).</p>
<h2 id="summary">Systems</h2>
<table><tr><th>system</th><th>n</th><th>accuracy</th><th>95 % CI</th><th>macro F1</th><th>ROC-AUC</th><th>ECE</th>
<th>negative P / R</th><th>positive P / R</th><th>3-way acc</th></tr>{rows}</table>
{multi}
<h2 id="mcnemar">Paired McNemar tests</h2>
<table><tr><th>a</th><th>b</th><th>a right, b wrong</th><th>b right, a wrong</th><th>p (exact)</th></tr>{pairs}</table>
<h2 id="plots">Plots</h2>
{img("confusion", "confusion matrices")}{img("roc", "ROC curves")}{img("reliability", "reliability diagram")}
{img("threshold", "accuracy versus decision threshold")}{img("neutral", "3-way accuracy across neutral band widths")}
{img("lengths", "token-length histogram of the test tweets")}
<h2 id="mistakes">Most confident mistakes of the first model</h2>
<table><tr><th>true</th><th>P(positive)</th><th>tweet</th><th>as the model saw it</th></tr>{mistakes}</table>
</body></html>
"""


# ---------------------------------------------------------------------------------------------
# TweetEval: the 3-class benchmark page

#: Published TweetEval sentiment test figures (macro recall, %): the TweetEval paper (Barbieri et al.,
#: Findings of EMNLP 2020) and its leaderboard, as listed in the data folder's README.
PUBLISHED_TWEETEVAL = {
    "BLSTM": 58.3,
    "SVM": 62.9,
    "FastText": 62.9,
    "RoBERTa trained on tweets from scratch": 69.1,
    "RoBERTa-base": 71.3,
    "RoBERTa-base further pretrained on tweets": 72.6,
    "BERTweet": 73.4,
}


class Vader3:
    """VADER's own 3-way rule: compound >= 0.05 positive, <= -0.05 negative, else neutral."""

    name = "VADER (compound ±0.05)"

    def predict(self, texts) -> np.ndarray:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        c = np.array([sia.polarity_scores(t)["compound"] for t in texts])
        return np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))


class TfidfLogReg3:
    """TF-IDF uni+bigram multinomial logistic regression on the hand-labelled 3-class tweets."""

    name = "TF-IDF uni+bigram logistic regression (SemEval training material)"

    def fit(self, texts, y):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from tinysent.core.normalize import Normalizer

        self.norm = Normalizer()
        self.vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.clf = LogisticRegression(C=1.0, max_iter=1000).fit(
            self.vec.fit_transform(self.norm.many(texts)), y
        )
        return self

    def predict(self, texts) -> np.ndarray:
        return self.clf.predict(self.vec.transform(self.norm.many(texts)))


def _recalls(recall: dict, labels) -> str:
    return " / ".join(f"{recall[k]:.2f}" for k in labels)


def tweeteval_report(model_dirs: list[str], folder, out, train_path=None, split: str = "test") -> dict:
    """One page for TweetEval: every model, VADER, TF-IDF LR trained on the SemEval material (minus
    TweetEval-validation overlaps) and the published figures, by macro recall (bootstrap 95 %
    interval), accuracy, per-class recall, and accuracy on the positive/negative rows."""
    from tinysent.apps.evaluate import three_class_metrics, three_class_predictions
    from tinysent.build.semeval import LABELS3, classes3, drop_overlap, read_semeval, read_tweeteval
    from tinysent.core.normalize import Normalizer
    from tinysent.runtime.predictor import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    test = read_tweeteval(folder, split)
    y = classes3(test.polarity)
    preds: dict[str, np.ndarray] = {}
    for m in model_dirs:
        pred, _, _ = three_class_predictions(load(m), test.texts)
        preds[f"tinysent: {Path(m).name}"] = pred
    preds[Vader3.name] = Vader3().predict(test.texts)
    baseline_n = None
    if train_path is not None:
        hand = read_semeval(train_path)
        hand, _ = drop_overlap(hand, read_tweeteval(folder, "val").texts, Normalizer())
        hand = D.deduplicate(hand, drop_duplicates=True, drop_conflicts=True)
        baseline_n = len(hand)
        preds[TfidfLogReg3.name] = TfidfLogReg3().fit(hand.texts, classes3(hand.polarity)).predict(test.texts)
    rows = []
    pn = y != 1
    for name, pred in preds.items():
        m = three_class_metrics(y, pred)
        rows.append(
            {
                "system": name,
                "macro_recall": m["macro_recall"],
                "macro_recall_ci95": m["macro_recall_ci95"],
                "accuracy": m["accuracy"],
                "recall": {k: v["recall"] for k, v in m["per_class"].items()},
                "posneg_rows_accuracy": float((pred[pn] == y[pn]).mean()),
                "confusion_matrix": m["confusion_matrix"]["rows_true_cols_pred"],
            }
        )
    summary = {
        "test": test.source,
        "split": split,
        "n": int(len(y)),
        "labels": list(LABELS3),
        "systems": rows,
        "published_macro_recall": PUBLISHED_TWEETEVAL,
        "baseline_train_rows": baseline_n,
        "note": "binary models answer with the neutral band (0.35, 0.65) on P(positive); pos/neg-rows "
        "accuracy counts a neutral answer on a positive or negative tweet as wrong",
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = [
        f"# TweetEval sentiment ({split}, n = {len(y)}): macro recall, the official metric",
        "",
        "| system | macro recall (95 % CI) | accuracy | recall neg / neu / pos | accuracy on pos/neg rows |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["macro_recall_ci95"]
        rec = _recalls(r["recall"], LABELS3)
        md.append(
            f"| {r['system']} | **{r['macro_recall']:.3f}** ({lo:.3f}–{hi:.3f}) | {r['accuracy']:.1%} | {rec} | "
            f"{r['posneg_rows_accuracy']:.1%} |"
        )
    for name, v in PUBLISHED_TWEETEVAL.items():
        md.append(f"| published: {name} | {v / 100:.3f} | – | – | – |")
    md += ["", summary["note"] + "."]
    (out / "report.md").write_text("\n".join(md) + "\n")
    body = "".join(
        f"<tr><td>{html.escape(r['system'])}</td><td><b>{r['macro_recall']:.3f}</b> "
        f"({r['macro_recall_ci95'][0]:.3f}–{r['macro_recall_ci95'][1]:.3f})</td><td>{r['accuracy']:.1%}</td>"
        f"<td>{_recalls(r['recall'], LABELS3)}</td><td>{r['posneg_rows_accuracy']:.1%}</td></tr>"
        for r in rows
    ) + "".join(
        f"<tr><td>published: {html.escape(n)}</td><td>{v / 100:.3f}</td><td>–</td><td>–</td><td>–</td></tr>"
        for n, v in PUBLISHED_TWEETEVAL.items()
    )
    (out / "report.html").write_text(
        "<!doctype html><meta charset=utf-8><title>tinysent: TweetEval</title>"
        f"<h1 id=summary>TweetEval sentiment ({split}, n = {len(y)})</h1>"
        "<table border=1 cellpadding=4><tr><th>system</th><th>macro recall (95 % CI)</th><th>accuracy</th>"
        f"<th>recall neg / neu / pos</th><th>accuracy on pos/neg rows</th></tr>{body}</table>"
        f"<p>{html.escape(summary['note'])}.</p>"
    )
    return summary
