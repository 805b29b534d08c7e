"""Which models are installed, and by what names. The model shipped in the package answers to
``shipped`` and ``fast``; a model package (a pip package, as spaCy's ``en_core_web_sm`` is) registers
its model folder under the entry point group ``tinysent.models`` and answers to the entry point's
name; ``accurate`` is the most accurate installed model of the accurate tier (by the TweetEval test
macro recall on its card). A folder that exists is always a folder, whatever its name.

A model's card is ``tinysent.json``'s ``card``: its tier (``fast`` or ``accurate``) and the test
scores measured through its default path once it was packed, with the command that measured them.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."tinysent.models"]
    tinysent-6l = "tinysent_6l:MODEL_DIR"     # a str or Path: the folder inside the package
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import ModelError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "shipped" / "tinysent-tinybert-4l"
GROUP = "tinysent.models"
ACCURATE_PACKAGE = "tinysent-6l"  # what ``accurate`` asks to install when no accurate model is
SHIPPED_NAMES = ("shipped", "fast")


def accurate_install_hint() -> str:
    """How to install the accurate tier: it is built from the repository (``models/tinysent-6l``), not
    published on PyPI, so the hint names that folder (relative to here when this is a clone)."""
    import os

    clone = Path(__file__).resolve().parents[3] / "models" / ACCURATE_PACKAGE
    if (clone / "pyproject.toml").is_file():
        return f"pip install {os.path.relpath(clone)}"
    return f"pip install models/{ACCURATE_PACKAGE} (from a clone of the tinysent repository)"


SCORE = "tweeteval_test_macro_recall"  # what "most accurate" compares


@dataclass
class InstalledModel:
    name: str
    path: Path
    package: str | None  # the distribution that installed it (None: shipped in tinysent itself)
    card: dict

    @property
    def tier(self) -> str:
        return self.card.get("tier", "fast" if self.package is None else "unknown")

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    @property
    def speed(self) -> float | None:
        """Tweets/s on the default path relative to the shipped model's, as measured in one run on one
        machine and written on the card (``card.speed``); the shipped model is 1 by definition."""
        if self.package is None:
            return 1.0
        return (self.card.get("speed") or {}).get("relative_to_shipped")

    @property
    def shape(self) -> str:
        return model_shape(self.path)

    @property
    def parameters(self) -> int | None:
        return parameters(self.path)


def parameters(model: Path) -> int | None:
    """The number of parameters in a model folder's safetensors file, read from its header (no torch)."""
    import math

    from tinysent.core.files import safetensors_header

    f = model / "model.safetensors"
    if not f.exists():
        return None
    return sum(math.prod(t["shape"]) for t in safetensors_header(f)[0].values())


def model_shape(model: Path) -> str:
    """``layers x width`` from config.json: what the speed of a BERT-like model depends on."""
    import json

    config = json.loads((model / "config.json").read_text())
    return f"{config.get('num_hidden_layers', '?')} x {config.get('hidden_size', '?')}"


def check_pins(module, path: Path) -> None:
    """A package module's ``SHA256`` pins (its model's tinysent.json, which pins every other file)."""
    from tinysent.core.files import file_sha256

    for name, digest in (getattr(module, "SHA256", None) or {}).items():
        if file_sha256(path / name) != digest:
            raise ModelError(f"{path / name} does not match the sha256 its package pins: reinstall it")


def installed_models(broken: dict | None = None) -> list[InstalledModel]:
    """The shipped model, then every registered package's (in entry point order). A package whose
    entry point fails to load or names no model folder is left out with a warning naming it (and in
    ``broken``, name -> (distribution, why), when given)."""
    import importlib
    from importlib.metadata import entry_points

    from tinysent.core.meta import ModelMeta

    out = []
    if (SHIPPED_DIR / "config.json").exists():
        out.append(InstalledModel("shipped", SHIPPED_DIR, None, ModelMeta.load(SHIPPED_DIR).card))
    for ep in entry_points(group=GROUP):
        try:
            target = ep.load()
            path = Path(target() if callable(target) else target)
            check_pins(importlib.import_module(ep.module), path)
            card = ModelMeta.load(path, required=True).card
        except Exception as e:  # a broken package must not stop the others from loading
            logging.getLogger(__name__).warning("model package %s left out: %s", ep.name, str(e)[:200])
            if broken is not None:
                broken[ep.name] = (ep.dist.name if ep.dist else ep.name, str(e)[:200])
            continue
        out.append(InstalledModel(ep.name, path, ep.dist.name if ep.dist else None, card))
    return out


def package_name(folder: Path) -> str | None:
    """The name of the model package whose model ``folder`` is (None: not an installed package's)."""
    from importlib.metadata import entry_points

    if not any(True for _ in entry_points(group=GROUP)):  # no package: nothing to look up
        return None
    folder = Path(folder).resolve()
    return next((m.name for m in installed_models() if m.package and m.path.resolve() == folder), None)


def resolve_model(model: str | os.PathLike) -> Path:
    """The folder a ``--model`` value names: an existing folder; ``shipped`` / ``fast``; ``accurate``;
    a model package's name. Anything else is returned as a path (loading it says what is wrong)."""
    path = Path(model)
    name = str(model)
    bare = not isinstance(model, Path) and "/" not in name and os.sep not in name and name not in (".", "..")
    if path.exists() and not (bare and (name in SHIPPED_NAMES or name == "accurate")):
        return path
    if bare and path.exists():  # ./accurate beside you and the model named accurate: never guessed
        raise ModelError(
            f"--model {name} names the installed model {name!r} and also the folder ./{name} here: "
            f"write ./{name} for the folder, or run from elsewhere for the installed model"
        )
    if name in SHIPPED_NAMES:
        return shipped_folder()
    broken: dict = {}
    models = installed_models(broken)
    if name in broken:
        dist, why = broken[name]
        raise ModelError(
            f"the installed model package {dist} is damaged ({why}): reinstall it "
            f"(pip install --force-reinstall {dist})"
        )
    if name == "accurate":
        accurate = [m for m in models if m.tier == "accurate"]
        if not accurate:
            raise ModelError(
                f"no accurate model is installed: {accurate_install_hint()} (or name a model folder)"
            )
        return max(accurate, key=lambda m: m.card.get("scores", {}).get(SCORE, 0.0)).path
    for m in models:
        if m.name == name:
            return m.path
    return path


def shipped_folder() -> Path:
    """The model folder shipped in the package."""
    if not (SHIPPED_DIR / "config.json").exists():
        raise ModelError(
            f"no shipped model at {SHIPPED_DIR}: this install lacks it; pass a model folder (--model DIR)"
        )
    return SHIPPED_DIR
