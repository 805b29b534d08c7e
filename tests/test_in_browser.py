"""The pages in a real browser (headless Chromium, driven by Playwright through Debian's binary): the
report (every figure decodes, no console error, the parts of the one page design, the table on the
first screen), the labelling page (labels by keyboard, undo, reload, kill -9, restart: every label
there), the service's demo page (highlights for a typed tweet). CI installs Chromium
(scripts/setup.sh); elsewhere these tests are skipped without it."""

import csv
import os
import shutil
import signal

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


def browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def test_label_twenty_tweets_by_keyboard_undo_reload_kill_and_resume(tmp_path):
    from tests.test_label import start_page, write_tweets

    tweets, gold = write_tweets(tmp_path / "tweets.txt", 60, seed=9)
    out = tmp_path / "labels.csv"
    url, proc = start_page(tweets, out, "negative,positive", "--every", "0")
    errors = []
    try:
        with sync_playwright() as pw:
            b = browser(pw)
            page = b.new_page(viewport={"width": 1100, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/")
            page.wait_for_selector("#buttons .btn")
            for i in range(20):
                text = page.evaluate("() => state.tweet.text")
                page.keyboard.press("1" if gold[text] == "negative" else "2")  # keys 1-9: the labels
                page.wait_for_function(f"() => state && state.labelled === {i + 1}")
            assert "(20 labels)" in page.inner_text("#saved")
            page.wait_for_selector("#tweet span.w")  # why this label: the shipped model's word weights
            page.keyboard.press("u")  # undo the 20th
            page.wait_for_function("() => state.labelled === 19")
            undone = page.evaluate("() => state.tweet.text")
            page.reload()
            page.wait_for_function("() => state && state.labelled === 19")
            assert page.evaluate("() => state.tweet.text") == undone  # the undone tweet is shown again
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            url, proc = start_page(tweets, out, "negative,positive", "--every", "0")
            page.goto(url + "/")
            page.wait_for_function("() => state && state.labelled === 19")
            shown = page.evaluate("() => state.tweet.text")
            b.close()
    finally:
        proc.kill()
        proc.wait(10)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 19 and all(gold[r["text"]] == r["label"] for r in rows)
    assert shown not in {r["text"] for r in rows} and not errors, errors


def test_the_demo_page_highlights_a_typed_tweet(trained_model):
    from tests.test_serve import _start

    url, proc = _start(trained_model)
    try:
        with sync_playwright() as pw:
            b = browser(pw)
            page = b.new_page()
            page.goto(url + "/")
            page.fill("#texts", "i love this great day")
            page.click("#go")
            page.wait_for_selector(".tweet .w")
            words = page.eval_on_selector_all(
                ".tweet .w", "els => els.map(e => [e.textContent, e.dataset.weight])"
            )
            label = page.inner_text(".tweet .label")
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    assert [w for w, _ in words] == ["i", "love", "this", "great", "day"] and label == "positive"
    assert all(abs(float(x)) <= 1 for _, x in words)
