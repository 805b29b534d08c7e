"""A packed model as a pip package (spaCy's convention: ``en_core_web_sm`` is a package): a
``pyproject.toml``, a module whose ``MODEL_DIR`` is the model folder inside it, registered under the
entry point group ``tinysent.models`` (:mod:`tinysent.runtime.registry` finds it by name, and as
``accurate`` when its card says so), and a README made from the model's card (with the model card's
prose, ``--notes``, after the numbers).

Every file is pinned: the model's ``tinysent.json`` pins its weights and tokenizer (checked here
before anything is written, and again by every load), and the module pins ``tinysent.json`` itself
(``SHA256``), which ``tinysent models`` checks. ``pip wheel DIR`` builds it; the wheel holds the model
only, so ``pip install tinysent`` stays as small as it was.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tinysent.core.errors import InputError
from tinysent.core.files import file_sha256
from tinysent.core.folder import ModelFolder
from tinysent.core.meta import META_FILE, ModelMeta
from tinysent.runtime.registry import model_shape, parameters

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_NAME = 100  # a file name (the package's folder, its wheel) must stay well under 255 bytes
# tinysent itself, and the names --model resolves to a model it chooses (runtime.registry)
RESERVED_NAMES = ("tinysent", "shipped", "fast", "accurate")
VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc|\.post|\.dev)\d+)*$")  # PEP 440's public versions, simply
SCORES = {  # card score -> how the README names it
    "tweeteval_test_macro_recall": "TweetEval sentiment test, macro recall",
    "sentiment140_test_accuracy": "Sentiment140 test (359 positive/negative tweets), accuracy",
}

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = {description}
readme = "README.md"
requires-python = ">=3.10"
license = "Apache-2.0"
dependencies = ["tinysent>={tinysent}"]

[project.entry-points."tinysent.models"]
{name} = "{module}:MODEL_DIR"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{module} = ["model/*"]
"""

MODULE = '''\
"""The tinysent model {name}: ``tinysent predict --model {name}``
(or ``tinysent.load("{name}")``)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
# the model's tinysent.json, which pins the sha256 of every other file of the model
SHA256 = {{"tinysent.json": "{meta_sha256}"}}


def load(**kwargs):
    """The model, ready to predict (``tinysent.load`` with this package's folder)."""
    import tinysent

    return tinysent.load(MODEL_DIR, **kwargs)
'''


def module_name(name: str) -> str:
    return name.replace("-", "_")


def readme(name: str, folder: ModelFolder, version: str, notes: str = "") -> str:
    """The package's README: the model card as numbers with their n, interval and how measured, then
    ``notes`` (Markdown: how the model was made, on what data, its limits) as written."""
    card = folder.meta.card or {}
    n_params = parameters(folder.path)
    size = f"{n_params / 1e6:.1f}M parameters, " if n_params else ""
    lines = [
        f"# {name} {version}",
        "",
        f"A tinysent model ({card.get('tier', 'untiered')} tier): {', '.join(folder.meta.labels)}; "
        f"{model_shape(folder.path)} ({size}max length {folder.meta.max_length}).",
        "",
        "```bash",
        f"pip install {name}",
        f'tinysent predict --model {name} "I do not love this"'
        + ("    # or --model accurate" if card.get("tier") == "accurate" else ""),
        "```",
        "",
    ]
    scores = card.get("scores", {})
    if scores:
        lines += ["| test set | score | 95 % interval | n | measured |", "|---|---|---|---|---|"]
        for key, value in scores.items():
            lo, hi = card.get("ci95", {}).get(key, (None, None))
            ci = f"{lo:.3f}–{hi:.3f}" if lo is not None else "–"
            lines.append(
                f"| {SCORES.get(key, key)} | {value:.4f} | {ci} | {card.get('n', {}).get(key, '–')} | "
                f"{card.get('measured', {}).get(key, '–')} |"
            )
        lines.append("")
    else:
        lines += ["No test scores are recorded on this model's card (`tinysent evaluate --card`).", ""]
    speed = card.get("speed") or {}
    if speed.get("relative_to_shipped"):
        lines += [
            f"Speed: {speed['relative_to_shipped']:.2f}x the tweets/s of the model shipped in tinysent, "
            f"both on their default path ({speed.get('measured', 'how measured not recorded')}).",
            "",
        ]
    lines += [
        "Every file of the model is pinned by sha256 in `tinysent.json`, which the package's module pins "
        "in turn; a file that does not match is refused at load. Made by `tinysent package`.",
        "",
    ]
    if notes.strip():
        lines += [notes.strip(), ""]
    return "\n".join(lines)


TIERS = ("fast", "accurate")


def write_package(
    model: Path,
    name: str,
    out: Path,
    version: str = "1.0.0",
    overwrite: bool = False,
    tier: str | None = None,
    notes: Path | None = None,
) -> Path:
    """Write the package for the packed model in ``model`` into ``out`` (built beside it and moved in,
    so a failure leaves an earlier package as it was). It depends on this tinysent's minor version or
    later (the model format it was packed with). ``tier`` is written on the packaged copy's card (the
    model folder itself is left as it is); without it, the card must name one. ``notes``: a Markdown file
    added to the README after the card's numbers. Returns ``out``."""

    if tier is not None and tier not in TIERS:
        raise InputError(f"--tier {tier!r}: one of {', '.join(TIERS)}")
    if not NAME.match(name) or len(name) > MAX_NAME:
        raise InputError(
            f"--name {name[:60]!r}{'...' if len(name) > 60 else ''}: a package name is lowercase letters, "
            f"digits and single dashes, at most {MAX_NAME} characters"
        )
    if name in RESERVED_NAMES:
        raise InputError(
            f"--name {name!r} is taken: "
            + (
                "pip would install the package in place of tinysent itself"
                if name == "tinysent"
                else f"--model {name} names a model tinysent chooses ({', '.join(RESERVED_NAMES[1:])}), "
                "so this one could never be chosen by its name"
            )
            + "; give the model a name of its own (e.g. tinysent-mine)"
        )
    if not VERSION.match(version):
        raise InputError(f"--version {version!r}: a version is like 1.0.0, 1.1rc1 or 2.0.post1")
    try:
        notes_text = notes.read_text(encoding="utf-8") if notes is not None else ""
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"--notes {notes}: not a readable UTF-8 text file ({type(e).__name__})") from None
    folder = ModelFolder(model)
    if not folder.meta.files:
        raise InputError(f"{model}: its files are not pinned in {META_FILE}; pack it first (tinysent pack)")
    for f in folder.meta.files:  # every pinned file present and as pinned, before anything is written
        folder.check(model / f)
    if tier is None and (folder.meta.card or {}).get("tier") not in TIERS:
        raise InputError(f"{model}: its card names no tier: pass --tier {' or --tier '.join(TIERS)}")
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists: pass --overwrite to replace it, or name another --out")
    module = module_name(name)
    tmp = out.with_name(out.name + ".writing")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        _write(tmp, folder, name, version, tier, notes_text, module)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written left beside out
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _write(tmp: Path, folder: ModelFolder, name, version, tier, notes_text, module) -> None:
    from tinysent.core.version import __version__

    pkg = tmp / "src" / module
    folder.copy_to(pkg / "model")  # its description files (README.md, the model card text, among them)
    if tier is not None:
        meta = ModelMeta.load(pkg / "model")
        meta.card = {**(meta.card or {}), "tier": tier}
        meta.save(pkg / "model")
        folder = ModelFolder(pkg / "model")
    card = folder.meta.card or {}
    labels = ", ".join(folder.meta.labels)
    description = f"tinysent model {name}: {labels} ({card.get('tier', 'untiered')} tier)"
    minor = ".".join(__version__.split(".")[:2])
    (tmp / "pyproject.toml").write_text(
        PYPROJECT.format(
            name=name, version=version, description=json.dumps(description), module=module, tinysent=minor
        )
    )
    (pkg / "__init__.py").write_text(
        MODULE.format(name=name, meta_sha256=file_sha256(pkg / "model" / META_FILE))
    )
    (tmp / "README.md").write_text(readme(name, folder, version, notes_text))
