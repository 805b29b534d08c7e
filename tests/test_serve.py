"""A real `tinysent serve` process on a free loopback port, talked to over HTTP."""

import concurrent.futures
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from .conftest import started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(model, *args) -> tuple[str, subprocess.Popen]:
    """`tinysent serve --model MODEL ARGS` on a free loopback port; returns once /readyz answers 200."""
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    url = f"http://127.0.0.1:{port}"
    cmd = ["-m", "tinysent.apps.cli", "serve", "--model", model, "--port", port, *args]
    return url, started(cmd, url + "/readyz", env)


@pytest.fixture(scope="module")
def server(trained_model):
    url, proc = _start(
        trained_model,
        "--max-texts",
        "50",
        "--max-chars",
        "300",
        "--max-body-bytes",
        "20000",
        "--batch-window-ms",
        "20",
    )
    yield url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_the_server_says_where_it_answers_once_ready(server):
    import threading

    url, proc = server
    lines = []

    def read():  # the access log's lines too: up to the announcement
        for line in proc.stdout:
            lines.append(line)
            if "ready at" in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    said = next((x for x in lines if "ready at" in x), lines)
    assert f"ready at {url}/ (the page to try it)" in said and f"POST {url}/v1/predict" in said


def test_happy_path_keeps_order_and_says_which_model(server):
    url, _ = server
    r = httpx.post(
        url + "/v1/predict", json={"texts": ["i love this great day", "i hate this awful day", ""]}
    )
    assert r.status_code == 200
    body = r.json()
    assert [p["label"] for p in body["predictions"][:2]] == ["positive", "negative"]
    assert body["predictions"][2]["empty"] is True and body["normalizer_version"] >= 1
    assert r.headers["x-tinysent-normalizer-version"] == str(body["normalizer_version"])
    assert r.headers["x-request-id"]
    assert httpx.get(url + "/healthz").json() == {"status": "alive"}
    band = httpx.post(url + "/v1/predict", json={"texts": ["the phone"], "neutral_band": [0, 1]}).json()
    assert band["predictions"][0]["label"] == "neutral"
    assert httpx.post(url + "/v1/predict", json={"texts": []}).json()["predictions"] == []


@pytest.mark.parametrize(
    "kwargs, status, needle",
    [
        ({"content": b'{"texts": ["\xff\xfe"]}'}, 400, "UTF-8"),
        ({"content": b"{not json"}, 400, "not JSON"),
        ({"json": {"texts": "just a string"}}, 422, "invalid request"),
        ({"json": {"wrong": ["x"]}}, 422, "invalid request"),
        ({"json": {"texts": [1, 2]}}, 422, "invalid request"),
        ({"json": {"texts": ["x"] * 51}}, 422, "too many texts"),
        ({"json": {"texts": ["x" * 301]}}, 422, "characters"),
        ({"json": {"texts": ["x"], "neutral_band": [0.9, 0.1]}}, 422, "neutral_band"),
        ({"content": b'{"texts": ["' + b"a" * 30000 + b'"]}'}, 413, "too large"),
    ],
)
def test_errors_are_clear_json_never_500(server, kwargs, status, needle):
    url, _ = server
    r = httpx.post(url + "/v1/predict", headers={"content-type": "application/json"}, **kwargs)
    assert r.status_code == status
    assert needle in r.text and r.headers["content-type"].startswith("application/json")


def test_openapi_schema_is_served(server):
    url, _ = server
    schema = httpx.get(url + "/openapi.json").json()
    assert "/v1/predict" in schema["paths"] and "PredictRequest" in str(schema)


def test_concurrent_requests_are_batched_and_answered_in_order(server):
    url, _ = server
    texts = [("i love this great day" if i % 2 else "i hate this awful day") + f" {i}" for i in range(64)]
    with httpx.Client() as c, concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(lambda t: c.post(url + "/v1/predict", json={"texts": [t]}).json(), texts))
    labels = [r["predictions"][0]["label"] for r in results]
    assert labels == ["positive" if i % 2 else "negative" for i in range(64)]


def test_graceful_shutdown_finishes_in_flight_requests(trained_model):
    url, proc = _start(trained_model, "--batch-window-ms", "300")
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(httpx.post, url + "/v1/predict", json={"texts": ["love it"]}, timeout=30)
        time.sleep(0.1)  # the request is waiting in the 300 ms batching window
        proc.send_signal(signal.SIGTERM)
        r = fut.result()
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "positive"
    assert proc.wait(30) in (0, 143)  # uvicorn re-raises SIGTERM after a clean drain: exit 143


def test_continuous_batching_scores_what_queued_while_the_model_was_busy():
    """No timer: the first request is scored at once; the five that arrive while it runs are scored
    together in the next model call, each getting its own records in order."""
    import asyncio
    import threading

    from tinysent.apps.serve import MicroBatcher

    calls: list[list[str]] = []
    started = threading.Event()

    class SlowPredictor:
        def predict(self, texts, batch_size, band, binary=False):
            calls.append(list(texts))
            started.set()
            time.sleep(0.2)
            return [{"label": t} for t in texts]

    async def scenario():
        b = MicroBatcher(SlowPredictor(), window_s=0.0, max_batch=256)
        b.start()
        first = asyncio.create_task(b.submit(["a"], None))
        while not started.is_set():
            await asyncio.sleep(0.005)
        rest = [asyncio.create_task(b.submit([f"b{i}", f"c{i}"], None)) for i in range(5)]
        out = await asyncio.gather(first, *rest)
        await b.stop()
        return out

    out = asyncio.run(scenario())
    assert [len(c) for c in calls] == [1, 10]
    assert out[0] == [{"label": "a"}]
    assert out[3] == [{"label": "b2"}, {"label": "c2"}]


def test_explain_gives_each_words_weight_and_the_demo_page_is_served(server):
    url, _ = server
    texts = ["i love this  great day", "i hate this awful day"]
    r = httpx.post(url + "/v1/explain", json={"texts": texts})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    for text, p in zip(texts, preds):
        words = [e["word"] for e in p["explanation"]]
        assert words == text.split() and all(
            text[e["start"] : e["end"]] == e["word"] for e in p["explanation"]
        )
    assert [p["label"] for p in preds] == ["positive", "negative"]
    # the same answer as /v1/predict gives
    same = httpx.post(url + "/v1/predict", json={"texts": texts}).json()["predictions"]
    assert [p["label"] for p in same] == [p["label"] for p in preds]
    # each text costs a model row per word: fewer texts per request (50 // 16 here)
    over = httpx.post(url + "/v1/explain", json={"texts": ["x"] * 4})
    assert over.status_code == 422 and "too many texts" in over.json()["error"]
    page = httpx.get(url + "/")
    assert (
        page.status_code == 200
        and "/v1/explain" in page.text
        and page.headers["content-type"].startswith("text/html")
    )


def test_other_web_pages_and_rebound_names_are_refused(server):
    """/v1/*: a request another web page sends (Origin, Sec-Fetch-Site) or one under a name that is
    not the server's (DNS rebinding) gets 403 before the model; clients outside a browser, the
    service's own page and its own origin are served; under a foreign name even the probes get 403."""
    url, _ = server
    port = url.rsplit(":", 1)[1]
    body = {"texts": ["i love it"]}
    assert httpx.post(url + "/v1/predict", json=body).status_code == 200  # curl, scripts
    own = {"origin": url, "sec-fetch-site": "same-origin"}
    assert httpx.post(url + "/v1/predict", json=body, headers=own).status_code == 200
    local = {"host": f"localhost:{port}", "origin": f"http://localhost:{port}"}
    assert httpx.post(url + "/v1/explain", json=body, headers=local).status_code == 200
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": f"http://127.0.0.1:{int(port) + 1}"},  # another local server is another origin
        {"sec-fetch-site": "cross-site"},
        {"host": f"rebind.attacker.example:{port}"},
    ):
        r = httpx.post(url + "/v1/predict", json=body, headers=headers)
        assert r.status_code == 403 and r.json()["error"], headers
    r = httpx.get(url + "/healthz", headers={"host": "rebind.attacker.example"})
    assert r.status_code == 403 and "--allowed-host rebind.attacker.example" in r.json()["error"]
    assert httpx.get(url + "/", headers={"sec-fetch-site": "cross-site"}).status_code == 200  # a link


def test_allowed_host_names_a_server_reached_by_name(trained_model):
    url, proc = _start(trained_model, "--allowed-host", "tweets.internal, other.internal")
    try:
        ok = httpx.get(url + "/readyz", headers={"host": "Tweets.Internal:8000"})
        refused = httpx.get(url + "/readyz", headers={"host": "tweets.internal.evil.example"})
    finally:
        proc.terminate()
        proc.wait(10)
    assert ok.status_code == 200 and refused.status_code == 403
