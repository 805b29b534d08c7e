"""Rendering a report: the self-contained HTML page and its Markdown twin."""

from __future__ import annotations

import html
import json
from pathlib import Path

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL


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


def markdown_page(s: dict) -> str:
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


def html_page(s: dict, plots: dict[str, str]) -> str:
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


def _recalls(recall: dict, labels) -> str:
    return " / ".join(f"{recall[k]:.2f}" for k in labels)


def write_tweeteval_pages(summary: dict, rows: list[dict], out: Path, split: str, n: int) -> None:
    """report.json, report.md and report.html of the TweetEval page."""
    from tinysent.data.semeval import LABELS3

    y_n = n
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = [
        f"# TweetEval sentiment ({split}, n = {y_n}): macro recall, the official metric",
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
        f"<h1 id=summary>TweetEval sentiment ({split}, n = {y_n})</h1>"
        "<table border=1 cellpadding=4><tr><th>system</th><th>macro recall (95 % CI)</th><th>accuracy</th>"
        f"<th>recall neg / neu / pos</th><th>accuracy on pos/neg rows</th></tr>{body}</table>"
        f"<p>{html.escape(summary['note'])}.</p>"
    )
