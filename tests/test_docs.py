"""The documentation site builds in strict mode (a broken link, a missing snippet or an unresolved
API reference fails the build) and its generated pages say what the code says."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocs_jupyter")

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict_with_generated_cli_and_api_reference(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text()
    from tinysent.apps.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:
        assert f"tinysent {name}" in cli, name
    for flag in ("--engine", "--token-file", "--overwrite", "--num-labels"):
        assert flag in cli, flag
    assert "Predictor" in (site / "api" / "index.html").read_text()
    assert "score_dataset" in (site / "stages" / "ray" / "index.html").read_text()
    tutorial = (site / "tutorial" / "index.html").read_text()
    assert "What the original got wrong" in tutorial and "data:image/png;base64" in tutorial
