"""The shape of the code: no module reaches into another's private names, and the CLI explains itself."""

import argparse
import ast
from pathlib import Path

import pytest

from tinysent.apps.cli import build_parser

SRC = Path(__file__).resolve().parents[1] / "src" / "tinysent"


def _private_uses(path: Path) -> list[str]:
    """`from tinysent.x import _y`, `from .x import _y` and `D._y` on an imported tinysent module."""
    tree = ast.parse(path.read_text(), str(path))
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            ours = node.level > 0 or (node.module or "").startswith("tinysent")
            for alias in node.names:
                if ours and alias.name.startswith("_") and alias.name != "__version__":
                    found.append(f"{path.name}:{node.lineno} imports {alias.name}")
                if ours:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name.startswith("tinysent"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .distill import _NoAcc\nfrom . import data as D\nx = D._rng(0)\n")
    assert len(_private_uses(bad)) == 2  # the check itself sees both kinds
    found = [f for p in sorted(SRC.rglob("*.py")) for f in _private_uses(p)]
    assert found == []


def _commands(parser, prefix=()):
    """(command words, parser) for every leaf command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _commands(sub, (*prefix, name))


COMMANDS = {cmd for cmd, _ in _commands(build_parser())}


def test_every_command_is_there():
    expected = {"train", "distill", "evaluate", "export", "predict", "report", "calibrate", "serve", "run"}
    assert {c[0] for c in COMMANDS} >= expected | {"data", "pack", "init-student"}
    assert {c for c in COMMANDS if c[0] == "data"} == {
        ("data", "check"),
        ("data", "download"),
        ("data", "sample"),
    }


@pytest.mark.parametrize("cmd", sorted(COMMANDS), ids=" ".join)
def test_every_option_has_help_and_shows_its_default(cmd, capsys):
    parser = dict(_commands(build_parser()))[cmd]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help) > 8, f"{' '.join(cmd)} {name}: no help"
    with pytest.raises(SystemExit):
        build_parser().parse_args([*cmd, "--help"])
    options = capsys.readouterr().out.split("options:", 1)[1]
    blocks = {}  # first flag of an option entry → its whole help text
    for line in options.splitlines():
        if line.startswith("  -"):
            key = line.split()[0].rstrip(",")
            blocks[key] = line
        elif blocks:
            blocks[key] += " " + line.strip()
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            entry = " ".join(blocks[action.option_strings[0]].split())
            assert "(default:" in entry or "(required)" in entry, f"{' '.join(cmd)}: {entry}"


def test_fixed_values_are_choices_and_required_options_are_required(capsys):
    p = build_parser()
    with pytest.raises(SystemExit):
        p.parse_args(["train", "--mixed-precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        p.parse_args(["distill", "--train-data", "x"])
    assert "--teacher" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        p.parse_args(["train", "--no-resume"])  # a flag that is off by default has no --no- form
    args = p.parse_args(["train", "--no-dedupe", "--max-val", "none", "--patience", "none"])
    assert (args.dedupe, args.max_val, args.patience) == (False, None, None)
    args = p.parse_args(["distill", "--teacher", "t", "--layer-map", "2,3,5,6", "--stage-budgets", "1,2,3"])
    assert args.layer_map == [2, 3, 5, 6] and args.stage_budgets == [1.0, 2.0, 3.0]


def test_the_model_and_the_data_are_named_the_same_way_in_every_command():
    for cmd, parser in _commands(build_parser()):
        flags = {f for a in parser._actions for f in a.option_strings}
        assert "--data" not in flags and "--test" not in flags and "--train" not in flags, cmd
        if cmd[0] in ("evaluate", "export", "predict", "serve", "report", "calibrate", "pack"):
            assert "--model" in flags, cmd
