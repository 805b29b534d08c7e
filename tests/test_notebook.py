"""The learner's notebook runs end to end (its `tiny` setting, a minute or two) with no cell error.
It reads the real Sentiment140 files, so it runs where ../shared is (CI has it)."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "sentiment140_tinybert.ipynb"
SHARED = ROOT.parent / "shared" / "data" / "sentiment140"


@pytest.mark.integration
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data/sentiment140")
def test_the_committed_notebook_runs_top_to_bottom_on_the_tiny_setting():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_notebook import execute, leaks, set_setting

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert "setting `cpu`" in nb.cells[0].source  # the committed outputs are the documented CPU run
    set_setting(nb, "tiny")
    execute(nb, timeout=600)  # raises CellExecutionError on any cell error
    codes = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in codes)
    assert not [o for c in codes for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not leaks(nb)


def test_the_committed_notebook_has_outputs_and_figures_and_no_local_paths():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_notebook import leaks

    nb = nbformat.read(NOTEBOOK, as_version=4)
    codes = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in codes)  # every cell ran in the committed copy
    figures = sum("image/png" in o.get("data", {}) for c in codes for o in c.get("outputs", []))
    assert figures >= 10
    assert not leaks(nb)


def test_the_committed_notebook_is_its_source_script_run_as_written():
    """The .ipynb is the product of scripts/make_notebook.py: every cell's text is the script's (the
    first cell's run line aside), so an edit to the script shows up as a stale notebook here, and
    what ruff lints in the notebook is what the script says."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_notebook import CELLS, build

    nb = nbformat.read(NOTEBOOK, as_version=4)
    made = build("cpu")
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in made.cells] == [k for k, _ in CELLS]
    head, tail = CELLS[0][1].split("{run_line}")
    assert nb.cells[0].source.startswith(head) and nb.cells[0].source.endswith(tail)
    stale = [i for i, (a, b) in enumerate(zip(nb.cells[1:], made.cells[1:]), 1) if a.source != b.source]
    assert not stale, f"cells {stale} differ from scripts/make_notebook.py: run it to remake the notebook"
