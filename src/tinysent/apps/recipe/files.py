"""Recipe files: the recipes shipped in ``src/tinysent/recipes/``, a recipe file read and checked,
``--set`` variables, and the work folder that holds one recipe."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from tinysent.core.errors import InputError

WORKFLOW = "all"  # the one workflow of a recipe: its steps in order


PROJECT = "project.yml"


def recipes_dir() -> Path:
    return Path(str(resources.files("tinysent") / "recipes"))


def recipe_names() -> list[str]:
    return sorted(p.stem for p in recipes_dir().glob("*.yml"))


def recipe_file(name: str) -> Path:
    """A shipped recipe by name, or a recipe file by path."""
    p = Path(name)
    if p.suffix in (".yml", ".yaml") and p.is_file():
        return p
    f = recipes_dir() / f"{name}.yml"
    if not f.is_file():
        raise InputError(f"no recipe {name!r}: the recipes are {', '.join(recipe_names())} (or a .yml path)")
    return f


def read_recipe(name: str) -> dict:
    """The recipe file as written (variables not substituted), checked for what the runner needs."""
    import srsly

    f = recipe_file(name)
    try:
        raw = srsly.read_yaml(f)
    except ValueError as e:
        raise InputError(f"{f}: not valid YAML ({' '.join(str(e).split())})") from None
    steps = (raw or {}).get("workflows", {}).get(WORKFLOW)
    names = [c.get("name") for c in raw.get("commands", [])]
    if not steps or any(s not in names for s in steps):
        raise InputError(f"{f}: a recipe needs a workflow {WORKFLOW!r} listing its commands in order")
    return raw


def overrides_of(raw: dict, settings: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs as weasel overrides (``vars.KEY``). The variables the recipe lists
    under ``paths`` name files: given relative, they are relative to where the command was started
    (steps run inside the work folder), so they are made absolute."""
    known = raw.get("vars", {})
    values = {}
    for s in settings:
        key, eq, value = s.partition("=")
        if not eq or key not in known:
            raise InputError(f"--set {s}: expected KEY=VALUE with KEY one of {', '.join(known) or 'none'}")
        if "$" in value:
            raise InputError(
                f"--set {key}=...: a value cannot hold '$' (a recipe reads ${{...}} in its values as a "
                "substitution): rename the file or folder, or give it through a link whose path has none"
            )
        values[key] = value
    out = {}
    for key, default in known.items():
        value = values.get(key, default)
        if key in raw.get("paths", []):
            value = str(Path(str(value)).expanduser().resolve())
        elif key in values and isinstance(default, (int, float)) and not isinstance(default, bool):
            try:
                value = type(default)(value)
            except ValueError:
                raise InputError(f"--set {key}={value}: expected a {type(default).__name__}") from None
        out[f"vars.{key}"] = value
    return out


def make_work(work: Path) -> None:
    """The work folder, made if need be, or one line saying why it cannot be."""
    if work.exists() and not work.is_dir():
        raise InputError(f"--work {work} is a file: name a folder")
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            f"--work {work}: cannot make the folder ({e.strerror or e}): name one you can write"
        ) from None


def prepare_work(name: str, work: Path, settings: list[str], write: bool = True) -> tuple[dict, dict]:
    """The work folder holds this recipe (``project.yml``, rewritten from the recipe each time: a newer
    recipe's changed steps rerun) and nothing of another one; returns (config, overrides). With
    ``write=False`` (``status``) the same checks and config, and nothing made or written."""
    import tempfile

    from weasel.util import load_project_config

    raw = read_recipe(name)
    marker = work / ".recipe"
    title = Path(name).stem
    held = marker.read_text().strip() if marker.exists() else title
    if held != title:
        raise InputError(f"--work {work} holds the recipe {held!r}, not {title!r}: name another folder")
    if not marker.exists() and work.is_dir() and any(p.name != PROJECT for p in work.iterdir()):
        raise InputError(f"--work {work} is not empty and holds no recipe: name a new or empty folder")
    overrides = overrides_of(raw, settings)
    if not write:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copyfile(recipe_file(name), Path(tmp) / PROJECT)
            return load_project_config(Path(tmp), overrides=overrides), overrides
    make_work(work)
    shutil.copyfile(recipe_file(name), work / PROJECT)
    marker.write_text(title + "\n")
    return load_project_config(work, overrides=overrides), overrides
