"""The report page in a real browser (headless Chromium, driven by Playwright through Debian's
binary): every figure decodes, no console error, the parts of the one page design are there and the
systems table is on the first screen. CI installs Chromium (scripts/setup.sh); elsewhere the test
is skipped without it."""

import os
import shutil

import pytest

from tinysent.apps.report import build_report

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("no Chromium here (apt install chromium); CI has it", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def test_the_report_page_renders_in_chromium(trained_model, train_file, test_file, tmp_path):
    assert CHROMIUM is not None, "CI must have Chromium: scripts/setup.sh installs it"
    build_report([str(trained_model)], test_file, tmp_path / "r", train_path=train_file)
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1160, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tmp_path / "r" / "report.html").as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth > 100)")
        sections = page.evaluate("() => [...document.querySelectorAll('h2[id]')].map(h => h.id)")
        table_top = page.evaluate("() => document.querySelector('table').getBoundingClientRect().top")
        shot = page.screenshot(full_page=True)
        browser.close()
    assert len(images) == 7 and all(images), images
    assert sections == ["summary", "plots", "mcnemar", "mistakes"] and not errors, (sections, errors)
    assert table_top < 900 and shot.startswith(b"\x89PNG") and len(shot) > 50_000
