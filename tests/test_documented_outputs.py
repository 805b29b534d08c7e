"""What the README and the docs show the shipped model answering is what it answers: each
`model.predict(...)` line of a Python example followed by its `# {...}` output, and each `tinysent
predict` command followed by a JSON block, run on the default path. Labels must match exactly;
probabilities and word weights within 0.02 (the int8 graph's kernels differ a little between CPU kinds,
VNNI and AVX2), so a shipped model that changed is caught while the docs still show the old one."""

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

import tinysent

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOLERANCE = 0.02


def python_examples(text: str):
    lines = text.splitlines()
    for line, nxt in zip(lines, lines[1:]):
        if line.strip().startswith("model.predict(") and nxt.strip().startswith("# {"):
            yield line.strip(), ast.literal_eval(nxt.strip()[2:])


def cli_examples(text: str):
    """A bash block with a `tinysent predict` line, then a JSON block: that command's output."""
    for bash, out in re.findall(r"```bash\n(.*?)```\s*```json\n(.*?)```", text, flags=re.S):
        command = next((x for x in bash.splitlines() if x.startswith("tinysent predict")), None)
        if command is not None:
            yield command, json.loads(out)


def same(got, shown, where: str) -> None:
    if isinstance(shown, dict):
        assert isinstance(got, dict) and set(got) == set(shown), f"{where}: keys {set(got)} vs {set(shown)}"
        for k in shown:
            same(got[k], shown[k], f"{where}.{k}")
    elif isinstance(shown, list):
        assert isinstance(got, list) and len(got) == len(shown), f"{where}: {got!r} vs {shown!r}"
        for i, (g, s) in enumerate(zip(got, shown)):
            same(g, s, f"{where}[{i}]")
    elif isinstance(shown, float) and not isinstance(shown, bool):
        assert abs(got - shown) <= TOLERANCE, f"{where}: the model says {got}, the docs {shown}"
    else:
        assert got == shown, f"{where}: the model says {got!r}, the docs {shown!r}"


def examples():
    found = []
    for page in PAGES:
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        found += [("python", name, call, shown) for call, shown in python_examples(text)]
        found += [("cli", name, command, shown) for command, shown in cli_examples(text)]
    return found


def test_the_pages_show_outputs_to_check():
    kinds = [e[0] for e in examples()]
    assert kinds.count("python") >= 3 and kinds.count("cli") >= 1  # the README's and the label page's


@pytest.mark.parametrize("kind,page,call,shown", examples(), ids=lambda x: str(x)[:40])
def test_a_documented_output_is_what_the_shipped_model_says(kind, page, call, shown, capsys):
    from tinysent.apps.cli import main

    if kind == "python":
        got = eval(call, {"model": tinysent.load()})  # a line of the page, as a reader would run it
    else:
        assert main(shlex.split(call)[1:]) == 0
        got = json.loads(capsys.readouterr().out)
    same(got, shown, f"{page}: {call}")
