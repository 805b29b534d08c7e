"""The choices between trained models, as commands (``tinysent soup``, ``tinysent select``): every
candidate scored on one validation split (:mod:`.validation`, the split their runs selected
checkpoints on), never a test set; the result a model folder plus a JSON of every score tried, so a
recipe's choice can be read back and rerun."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tinysent.core.errors import InputError


def copy_model(src: Path, dest: Path) -> Path:
    """``src``'s model, as :class:`~tinysent.core.folder.ModelFolder` lists it (config, tokenizer,
    tinysent.json, the pinned weights), into ``dest``: not its checkpoint, logs or teacher outputs."""
    from tinysent.core.folder import ModelFolder

    return ModelFolder(src).copy_to(dest)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_one_split(folders: list[Path]) -> None:
    """Every folder's validation split is the first's, or an error naming the first difference."""
    from tinysent.train.validation import validation_key

    ref = validation_key(folders[0])
    for d in folders[1:]:
        key = validation_key(d)
        diff = [k for k in ref if ref[k] != key[k]]
        if diff:
            k = diff[0]
            raise InputError(
                f"{d} and {folders[0]} were validated on different rows ({k}: {key[k]!r} vs {ref[k]!r}): "
                "only models of one task and one validation split can be compared"
            )


def _scorer(folders: list[Path]):
    """(model, score(state dict) -> evaluation dict) on the first folder's validation split."""
    from tinysent.core.meta import ModelMeta
    from tinysent.train.models import load_classifier
    from tinysent.train.validation import validation_evaluator

    for d in folders:
        if not (d / "model.safetensors").is_file():
            raise InputError(f"{d}: no model.safetensors (give model folders written by tinysent)")
    check_one_split(folders)
    evaluate = validation_evaluator(folders[0])
    model, _, _, _ = load_classifier(folders[0], labels=ModelMeta.load(folders[0]).labels)

    def score(state: dict) -> dict:
        model.load_state_dict(state)
        return evaluate(model.eval())

    return score


def soup(folders: list[Path], out: Path, log=None) -> dict:
    """The greedy soup (:func:`tinysent.train.soup.greedy_soup`) of ``folders`` written to ``out`` (a
    model folder, method "soup"), and ``out/choice.json``: every score tried and what was kept."""
    from tinysent.train.soup import average, check_compatible, greedy_soup, write_soup

    log = log or _stderr
    t0 = time.time()
    check_compatible(folders)
    score = _scorer(folders)
    tried: list[dict] = []

    def val_score(state: dict) -> float:
        tried.append(score(state))
        return tried[-1]["val_score"]

    chosen, best = greedy_soup(folders, val_score, log=log)
    final = next(ev for ev in reversed(tried) if ev["val_score"] == best)
    write_soup(chosen, average(chosen), out, {**final, "metric": "val_score", "stage": "soup"})
    report = {
        "rule": "greedy soup: ingredients best first on validation, each kept if the average scores no lower",
        "folders": [str(d) for d in folders],
        "tried": tried,
        "chosen": [str(d) for d in chosen],
        "val_score": best,
        "seconds": round(time.time() - t0, 1),
    }
    (out / "choice.json").write_text(json.dumps(report, indent=1) + "\n")
    return {k: report[k] for k in ("chosen", "val_score", "seconds")}


def select(folders: list[Path], out: Path, log=None) -> dict:
    """The folder whose model scores highest on the shared validation split (ties: the first named),
    copied to ``out`` (:func:`copy_model`), with ``out/choice.json``: every candidate's score."""
    from safetensors.torch import load_file

    log = log or _stderr
    t0 = time.time()
    score = _scorer(folders)
    scores = {}
    for d in folders:
        ev = score(load_file(d / "model.safetensors"))
        scores[str(d)] = ev
        log(f"{d}: {ev['val_score']:.4f}")
    best = max(folders, key=lambda d: (scores[str(d)]["val_score"], -folders.index(d)))
    copy_model(best, out)
    report = {
        "rule": "the highest validation score (the run's own selection metric); ties: the first named",
        "candidates": scores,
        "chosen": str(best),
        "val_score": scores[str(best)]["val_score"],
        "seconds": round(time.time() - t0, 1),
    }
    (out / "choice.json").write_text(json.dumps(report, indent=1) + "\n")
    return {k: report[k] for k in ("chosen", "val_score", "seconds")}
