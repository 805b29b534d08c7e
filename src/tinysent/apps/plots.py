"""The plots tinysent writes: confusion matrix, ROC, training curves (evaluate and report share them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed), unless the caller has
    already chosen one (a notebook's inline backend must keep showing the reader's own figures)."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: list[list[int]], labels: list[str], path: Path, title: str) -> None:
    plt = pyplot()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        share = v / max(cm[i].sum(), 1)
        ax.text(
            j,
            i,
            f"{v}\n({share:.0%} of row)",
            ha="center",
            va="center",
            color="white" if v > cm.max() / 2 else "black",
        )
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_roc(y_true, p_pos, path: Path, title: str) -> None:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = pyplot()
    fpr, tpr, _ = roc_curve(y_true, p_pos)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.plot(fpr, tpr, label=f"AUC {roc_auc_score(y_true, p_pos):.3f}")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training(log_path: Path, path: Path) -> bool:
    """Training and validation loss / accuracy curves from a model's train_log.jsonl."""
    if not log_path.exists():
        return False
    recs = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    tr = [r for r in recs if r.get("type") == "train"]
    ev = [r for r in recs if r.get("type") == "eval"]
    if not ev:
        return False
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    if tr:
        a1.plot(
            [r["step"] for r in tr],
            [r["loss"] for r in tr],
            label="train loss (mean since last evaluation)",
            alpha=0.7,
        )
    a1.plot([r["step"] for r in ev], [r["val_loss"] for r in ev], "o-", label="validation loss")
    a1.set_xlabel("optimizer step")
    a1.set_ylabel("cross-entropy")
    a1.legend()
    metric = "val_accuracy" if "val_accuracy" in ev[0] else "val_score"  # a 3-class run selects on val_score
    a2.plot([r["step"] for r in ev], [r[metric] for r in ev], "o-", color="C2", label="validation")
    a2.set_xlabel("optimizer step")
    a2.set_ylabel("accuracy" if metric == "val_accuracy" else "selection score")
    a2.legend()
    fig.suptitle(f"training: {log_path.parent.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
