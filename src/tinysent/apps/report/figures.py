"""The report's figures, as base64 PNGs for a self-contained page: the ones every task's page has
(a confusion matrix per system, F1 per class, a reliability diagram, the learning curve)."""

from __future__ import annotations

import base64
import io

import numpy as np

from tinysent.apps.plots import pyplot


def png(fig) -> str:
    """The figure as a base64 PNG (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def short(name: str, n: int = 34) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def confusion_grid(rows: list[dict], labels) -> str:
    """One confusion matrix per system, shaded by the share of each true class's rows."""
    plt = pyplot()
    n, k = len(rows), len(labels)
    cols = min(n, 4)
    size = 1.0 + 0.55 * k
    fig, axes = plt.subplots(
        (n + cols - 1) // cols, cols, figsize=(size * cols, size * ((n + cols - 1) // cols)), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, r in zip(axes.flat, rows):
        cm = np.asarray(r["confusion_matrix"])
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
        ticks = [lab[:8] for lab in labels]
        ax.set_xticks(range(k), ticks, fontsize=7, rotation=45 if k > 3 else 0)
        ax.set_yticks(range(k), ticks, fontsize=7)
        ax.set_title(f"{short(r['system'], 30)}\naccuracy {r['accuracy']:.1%}", fontsize=8)
    fig.supxlabel("predicted", fontsize=8)
    fig.supylabel("true", fontsize=8)
    fig.tight_layout()
    return png(fig)


def f1_bars(rows: list[dict], labels) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(labels) + 0.4 * len(rows)), 3.6))
    width = 0.8 / len(rows)
    x = np.arange(len(labels))
    for i, r in enumerate(rows):
        ax.bar(
            x + i * width - 0.4 + width / 2, [r["f1"][lab] for lab in labels], width, label=short(r["system"])
        )
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    return png(fig)


def reliability(rows: list[dict], k: int) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([1 / k, 1], [1 / k, 1], "--", color="grey", label="perfect calibration")
    for r in rows:
        t = r["reliability"]
        ax.plot(
            [b["confidence"] for b in t],
            [b["accuracy"] for b in t],
            "o-",
            label=f"{short(r['system'], 30)} (ECE {r['ece']:.3f})",
        )
    ax.set_xlabel("probability of the most probable label")
    ax.set_ylabel("how often it is right")
    ax.legend(fontsize=7)
    return png(fig)


def learning_curve(curve: dict) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for key, label in (("model", f"fine-tuned from {curve['base']}"), ("tfidf_lr", "TF-IDF LR")):
        pts = [p for p in curve["points"] if key in p]
        x = [max(p["size"], 1) for p in pts]
        ax.plot(x, [p[key]["score"] for p in pts], marker="o", label=label)
        ax.fill_between(
            x, [p[key]["score_ci95"][0] for p in pts], [p[key]["score_ci95"][1] for p in pts], alpha=0.2
        )
    ax.set_xscale("log")
    ax.set_xlabel("training tweets (0 plotted at 1: the base model as it is)")
    ax.set_ylabel(f"{curve['metric']} (n = {curve['n_test']})")
    ax.legend(fontsize=8)
    return png(fig)


def common_figures(page, rows: list[dict]) -> dict[str, tuple[str, str]]:
    """id -> (caption, base64 PNG) of the figures every page has (some only when their data exists)."""
    figs = {
        "confusion": (
            "confusion matrix per system (shade: share of the true class's rows)",
            confusion_grid(rows, page.labels),
        ),
        "f1": ("F1 per class", f1_bars(rows, page.labels)),
    }
    calibrated = [r for r in rows if r["reliability"]]
    if calibrated:
        figs["reliability"] = ("reliability diagram", reliability(calibrated, len(page.labels)))
    if page.curve:
        figs["curve"] = (f"learning curve ({page.curve['metric']})", learning_curve(page.curve))
    return figs
