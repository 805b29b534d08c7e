"""The pages in a real browser (headless Chromium, driven by Playwright through Debian's binary): the
report (every figure decodes, no console error, the parts of the one page design, the table on the
first screen), the labelling page (labels by keyboard, undo, reload, kill -9, restart: every label
there), the service's demo page (highlights for a typed tweet). CI installs Chromium
(scripts/setup.sh); elsewhere these tests are skipped without it."""

import csv
import functools
import http.server
import os
import shutil
import signal
import threading

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
    from tests.test_label import TOKEN, start_page, write_tweets

    tweets, gold = write_tweets(tmp_path / "tweets.txt", 60, seed=9)
    out = tmp_path / "labels.csv"
    url, proc = start_page(tweets, out, "negative,positive", "--every", "0")
    errors = []
    try:
        with sync_playwright() as pw:
            b = browser(pw)
            page = b.new_page(viewport={"width": 1100, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/#token={TOKEN}")
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
            page.goto(f"{url}/#token={TOKEN}")
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


ATTACK = """<!doctype html><title>a page on another origin</title><script>
async function go(target){
  const tries=[];
  for (const [path, init] of [['/api/undo',{method:'POST',mode:'no-cors',body:'{}'}],
      ['/api/export',{method:'POST',mode:'no-cors',body:'{}'}], ['/api/state',{}]]){
    try{ const r=await fetch(target+path, init); tries.push(r.type==='opaque'?'opaque':r.status); }
    catch(e){ tries.push('error'); }
  }
  return tries;
}
</script>"""


def test_another_origin_and_a_rebound_name_cannot_act_for_the_user(tmp_path):
    """A page on another origin in the same browser sends the calls that undid labels and started the
    export (no-cors POSTs); a page served under a DNS-rebound name calls the labelling session as its
    own origin. Neither changes labels.csv or moves a model; the page itself still labels."""
    from tests.test_label import TOKEN, read_labels, start_page, write_tweets

    tweets, gold = write_tweets(tmp_path / "tweets.txt", 40, seed=5)
    out = tmp_path / "labels.csv"
    url, proc = start_page(tweets, out, "negative,positive", "--every", "0")
    port = url.rsplit(":", 1)[1]
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "attack.html").write_text(ATTACK)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    other = f"http://localhost:{site.server_address[1]}"
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--host-resolver-rules=MAP *.attacker.example 127.0.0.1",
                    # as in browsers without Private/Local Network Access (Firefox, Safari, older
                    # Chromium): this test checks the server, not the browser
                    "--disable-features=BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks,"
                    "PrivateNetworkAccessSendPreflights",
                ],
            )
            page = b.new_page()
            page.goto(f"{url}/#token={TOKEN}")
            page.wait_for_selector("#buttons .btn")
            for i in range(4):
                text = page.evaluate("() => state.tweet.text")
                page.keyboard.press("1" if gold[text] == "negative" else "2")
                page.wait_for_function(f"() => state && state.labelled === {i + 1}")
            before = out.read_bytes()
            # the other origin: another local server's page (a dev server, a notebook, a local file)
            evil = b.new_page()
            evil.goto(other + "/attack.html")
            cross = evil.evaluate("t => go(t)", url)
            serve_attack = lambda r: r.fulfill(body=ATTACK, content_type="text/html")  # noqa: E731
            # DNS rebinding: the attacker's name now resolves to loopback, its page calls "itself"
            rebound = f"http://rebind.attacker.example:{port}"
            evil.route(rebound + "/", serve_attack)
            evil.goto(rebound + "/")
            same = evil.evaluate("t => go(t)", rebound)
            after_attacks = out.read_bytes()
            page.keyboard.press("u")  # the user's own page still acts
            page.wait_for_function("() => state.labelled === 3")
            b.close()
    finally:
        site.shutdown()
        proc.terminate()
        proc.wait(10)
    assert cross[:2] == ["opaque", "opaque"] and cross[2] == "error", cross  # no CORS: nothing readable
    assert same == [403, 403, 403], same
    assert after_attacks == before and before.count(b"\n") == 5 and not (tmp_path / "labels-model").exists()
    assert len(read_labels(out)) == 3  # the user's own undo went through


def test_only_the_labels_a_key_reaches_show_a_key(tmp_path):
    from tests.test_label import TOKEN, start_page, write_tweets

    tweets, _ = write_tweets(tmp_path / "tweets.txt", 10, seed=7)
    labels = ",".join(f"label{i}" for i in range(11))
    url, proc = start_page(tweets, tmp_path / "labels.csv", labels, "--every", "0")
    try:
        with sync_playwright() as pw:
            b = browser(pw)
            page = b.new_page()
            page.goto(f"{url}/#token={TOKEN}")
            page.wait_for_selector("#buttons .btn")
            keys = page.eval_on_selector_all("#buttons .btn", "bs => bs.map(b => b.querySelector('.key'))")
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    assert len(keys) == 11 and sum(k is not None for k in keys) == 9 and keys[9] is None
