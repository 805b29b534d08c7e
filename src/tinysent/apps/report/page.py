"""The one report page, for every task: what each task's page (:mod:`.sentiment140`, :mod:`.tweeteval`,
:mod:`.labelled`) hands over is a :class:`Page` of scored systems; this module turns it into
report.json, report.md and a self-contained report.html with the same parts in the same order.

1. the systems table: the task's metric with its bootstrap 95 % interval, accuracy with its Wilson
   interval, macro F1, F1 per class, calibration error where the system has probabilities, then the
   task's own columns; published figures below the measured rows;
2. figures: a confusion matrix per system, F1 per class, a reliability diagram where probabilities
   exist, the learning curve when ``tinysent curve`` ran, then the task's own figures;
3. paired McNemar tests between every two systems (n rows alike: a difference of a few points is
   noise unless the paired test says otherwise);
4. the task's own tables (several seeds, ...);
5. the first model's most confident mistakes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinysent.apps.report.figures import common_figures
from tinysent.core.metrics import class_metrics, mcnemar, top_label_calibration, wilson_interval

N_MISTAKES = 15


@dataclass
class Scored:
    """One system's answers on the page's test rows."""

    name: str
    pred: np.ndarray  # index into the page's labels, one per test row
    probs: np.ndarray | None = None  # rows x labels, for systems with probabilities
    kind: str = "model"  # model | baseline
    extra: dict = field(default_factory=dict)  # the task's own columns (key -> value)


@dataclass
class Section:
    """A task's own table (several seeds, ...): Markdown and HTML alike."""

    id: str
    title: str
    header: list[str]
    rows: list[list[str]]
    empty: str | None = None  # said when there are no rows (else the section is left out)


@dataclass
class Page:
    test: str  # where the test rows came from
    split: str
    labels: tuple[str, ...]
    metric: str  # the task's metric (a core.metrics.task_score name)
    y: np.ndarray  # true class of each test row
    texts: list[str]
    systems: list[Scored]
    title: str = ""
    intro: str = ""  # the task's own sentences, after the common ones
    columns: list[tuple[str, str, str]] = field(default_factory=list)  # (key, header, format)
    # name -> the task's metric x 100, or (right, n) for an accuracy counted on a set like this one
    published: dict[str, float | tuple[int, int]] | None = None
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (caption, base64 PNG)
    curve: dict | None = None  # curve.json of `tinysent curve`
    normalise: Callable[[str], str] | None = None  # how the first model saw a text
    made: list[str] = field(default_factory=list)  # how each trained model was made (made_notes)


def system_name(folder, seed: str | None = None) -> str:
    """A model's name on the page: ``tinysent: FOLDER`` (``FOLDER/seed-N`` for one seed of several),
    ``tinysent: shipped tinybert-4l`` for the package's model, ``tinysent: NAME`` for a model package's;
    a folder named ``model`` (``tinysent run``'s ``OUT/model``) by its base and run: ``tinysent:
    minilm-l6 fine-tuned in main``."""
    from tinysent.core.meta import ModelMeta
    from tinysent.runtime.registry import SHIPPED_DIR, package_name

    folder = Path(folder)
    shipped = folder.resolve() == SHIPPED_DIR.resolve()
    name = "shipped tinybert-4l" if shipped else (package_name(folder) or folder.name)
    if not shipped and name == "model" and (folder / "tinysent.json").is_file():
        base = Path(ModelMeta.load(folder).base_model or "a base").name
        name = f"{base} fine-tuned in {folder.resolve().parent.name}"
    return f"tinysent: {name}" + (f"/{seed}" if seed else "")


def made_notes(model_dirs) -> list[str]:
    """A sentence per model whose ``tinysent.json`` records how its weights were made
    (``ModelMeta.training``): what it read, for how long, in which precision, on which machine."""
    from tinysent.core.machine import describe, precision_name
    from tinysent.core.meta import ModelMeta

    notes = []
    for d in model_dirs:
        folder = Path(d)
        if not (folder / "tinysent.json").is_file():
            continue
        meta = ModelMeta.load(folder)
        t = meta.training
        if not t.get("tweets_seen"):
            continue
        verb = "distilled into" if meta.method == "distill" else "fine-tuned from"
        base = Path(meta.base_model or "a base").name
        where = describe(t)
        notes.append(
            f"{system_name(folder)}: {verb} {base} on {t['tweets_seen']:,} training rows "
            f"({t.get('steps', 0):,} optimizer steps) in {t.get('train_s', 0) / 60:.1f} min of training, "
            f"{precision_name(t.get('precision'))}, on {where} ({t.get('date')})."
        )
    return notes


def system_row(page: Page, s: Scored) -> dict:
    m = class_metrics(page.y, s.pred, page.labels, metric=page.metric)
    row = {
        "system": s.name,
        "kind": s.kind,
        "n": m["n"],
        "metric": page.metric,
        "score": m["score"],
        "score_ci95": m["score_ci95"],
        "accuracy": m["accuracy"],
        "accuracy_ci95": m["accuracy_ci95"],
        "macro_recall": m["macro_recall"],
        "macro_recall_ci95": m["macro_recall_ci95"],
        "macro_f1": m["macro_f1"],
        **{k: {lab: v[k] for lab, v in m["per_class"].items()} for k in ("precision", "recall", "f1")},
        "confusion_matrix": m["confusion_matrix"]["rows_true_cols_pred"],
        "ece": None,
        "reliability": None,
    }
    if page.metric == "accuracy":  # one interval for one number: Wilson's, as everywhere for accuracy
        row["score_ci95"] = row["accuracy_ci95"]
    if s.probs is not None:
        row["ece"], row["reliability"] = top_label_calibration(page.y, s.probs)
    return {**row, **s.extra}


def mistakes(page: Page) -> list[dict]:
    """The first model's wrong answers it was surest of (where it has probabilities)."""
    first = next((s for s in page.systems if s.kind == "model" and s.probs is not None), None)
    if first is None:
        return []
    wrong = np.flatnonzero(first.pred != page.y)
    sure = first.probs[wrong, first.pred[wrong]]
    out = []
    for i in wrong[np.argsort(-sure, kind="stable")][:N_MISTAKES]:
        out.append(
            {
                "true": page.labels[page.y[i]],
                "predicted": page.labels[first.pred[i]],
                "probability": float(first.probs[i, first.pred[i]]),
                "text": page.texts[i],
                **({"normalised": page.normalise(page.texts[i])} if page.normalise else {}),
            }
        )
    return out


def write_page(page: Page, out, **fields) -> dict:
    """report.json (the summary returned, with ``fields`` added), report.md and report.html in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [system_row(page, s) for s in page.systems]
    correct = [s.pred == page.y for s in page.systems]
    pairs = [
        {"a": a.name, "b": b.name, **mcnemar(correct[i], correct[j])}
        for i, a in enumerate(page.systems)
        for j, b in enumerate(page.systems)
        if i < j
    ]
    summary = {
        "test": page.test,
        "split": page.split,
        "n": int(len(page.y)),
        "labels": list(page.labels),
        "metric": page.metric,
        "systems": rows,
        "mcnemar": pairs,
        "published": page.published,
        "mistakes": mistakes(page),
        "curve": page.curve,
        **fields,
    }
    figures = {**common_figures(page, rows), **page.figures}
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(markdown(page, summary, figures))
    (out / "report.html").write_text(html_page(page, summary, figures))
    return summary


# --- rendering -------------------------------------------------------------------------------------


def _ci(x: float, ci, pct: bool = False) -> str:
    f = "{:.1%}" if pct else "{:.3f}"
    return f"{f.format(x)} ({f.format(ci[0])}–{f.format(ci[1])})"


def _intro(page: Page, s: dict) -> str:
    n = s["n"]
    if page.metric == "accuracy":
        intervals = "Accuracy carries its Wilson 95 % interval"
    else:
        intervals = (
            f"{page.metric} carries a percentile bootstrap 95 % interval (1,000 resamples of the rows, "
            "seed 0), accuracy its Wilson interval"
        )
    return (
        f"Test rows: {page.test} ({page.split}), n = {n:,}, labels {' / '.join(page.labels)}. {intervals}; "
        f"one tweet is {100 / max(n, 1):.2f} points of accuracy, so compare systems with the paired tests, "
        "not by eye. ECE: expected calibration error of the most probable label (10 bins), for systems "
        f"with probabilities. {page.intro} {' '.join(page.made)}"
    ).strip()


def _table(page: Page, s: dict) -> tuple[list[str], list[list[str]]]:
    both = page.metric != "accuracy"
    header = [
        "system",
        f"{page.metric} (95 % CI)",
        *(["accuracy (95 % CI)"] if both else []),
        "macro F1",
        "F1 " + " / ".join(page.labels),
        "ECE",
        *(h for _, h, _ in page.columns),
    ]
    rows = []
    for r in s["systems"]:
        extra = ["–" if r.get(k) is None else fmt.format(r[k]) for k, _, fmt in page.columns]
        rows.append(
            [
                r["system"],
                _ci(r["score"], r["score_ci95"], pct=not both),
                *([_ci(r["accuracy"], r["accuracy_ci95"], pct=True)] if both else []),
                f"{r['macro_f1']:.3f}",
                " / ".join(f"{r['f1'][k]:.2f}" for k in page.labels),
                "–" if r["ece"] is None else f"{r['ece']:.3f}",
                *extra,
            ]
        )
    for name, v in (page.published or {}).items():
        rows.append([f"published: {name}", _published(v, pct=not both), *["–"] * (len(header) - 2)])
    return header, rows


def _published(v: float | tuple[int, int], pct: bool) -> str:
    """A published figure: x 100 as printed, or (right, n) with its Wilson interval and n."""
    if isinstance(v, (tuple, list)):
        right, n = v
        return f"{_ci(right / n, wilson_interval(right, n), pct=True)}, n = {n}"
    return f"{v / 100:.1%}" if pct else f"{v / 100:.3f}"


def _sections(page: Page, s: dict) -> list[Section]:
    pairs = Section(
        "mcnemar",
        "Paired McNemar tests (exact, two-sided)",
        ["a", "b", "a right, b wrong", "b right, a wrong", "p"],
        [[p["a"], p["b"], str(p["a_only"]), str(p["b_only"]), f"{p['p_value']:.3g}"] for p in s["mcnemar"]],
    )
    saw = page.normalise is not None
    wrong = Section(
        "mistakes",
        "Most confident mistakes of the first model",
        ["true", "predicted", "probability", "tweet", *(["as the model saw it"] if saw else [])],
        [
            [
                m["true"],
                m["predicted"],
                f"{m['probability']:.3f}",
                m["text"],
                *([m["normalised"]] if saw else []),
            ]
            for m in s["mistakes"]
        ],
        "none: the first model got every row right"
        if any(x.kind == "model" and x.probs is not None for x in page.systems)
        else "none shown: no model with probabilities",
    )
    return [pairs, *page.sections, wrong]


def _md_table(header, rows) -> list[str]:
    def cell(x) -> str:
        return str(x).replace("|", "/").replace("\n", " ")

    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cell(c) for c in r) + " |" for r in rows),
    ]


def markdown(page: Page, s: dict, figures: dict) -> str:
    header, rows = _table(page, s)
    md = [f"# {page.title or 'tinysent report'}", "", _intro(page, s), "", "## Systems", ""]
    md += _md_table(header, rows)
    for sec in _sections(page, s):
        if sec.rows:
            md += ["", f"## {sec.title}", "", *_md_table(sec.header, sec.rows)]
        elif sec.empty:
            md += ["", f"## {sec.title}", "", sec.empty.capitalize() + "."]
    md += ["", f"Figures ({', '.join(cap for cap, _ in figures.values())}): report.html."]
    return "\n".join(md) + "\n"


def _html_table(header, rows) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_page(page: Page, s: dict, figures: dict) -> str:
    esc = html.escape
    header, rows = _table(page, s)
    parts = [f'<h2 id="summary">Systems</h2>{_html_table(header, rows)}']
    for sec in _sections(page, s):
        if sec.rows or sec.empty:
            body = _html_table(sec.header, sec.rows) if sec.rows else f"<p>{esc(sec.empty.capitalize())}.</p>"
            parts.append(f'<h2 id="{sec.id}">{esc(sec.title)}</h2>{body}')
    figs = "".join(
        f'<figure id="fig-{k}"><img alt="{esc(cap)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{esc(cap)}</figcaption></figure>"
        for k, (cap, png) in figures.items()
    )
    parts.insert(1, f'<h2 id="plots">Figures</h2>{figs}')
    title = esc(page.title or "tinysent report")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}td,th{{border:1px solid #ccc;padding:4px 8px}}
th{{background:#f3f3f3}}figure{{display:inline-block;margin:0.5em;vertical-align:top}}img{{max-width:100%}}
figcaption{{font-size:13px;color:#555}}</style></head><body>
<h1>{title}</h1>
<p>{esc(_intro(page, s))}</p>
{"".join(parts)}
</body></html>
"""
