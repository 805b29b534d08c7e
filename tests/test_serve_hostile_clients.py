"""Hostile and careless clients against a real `tinysent serve` process (malformed and oversized
requests, slow clients, a missing or wrong token, a missing extra): bad input fails alone with a 4xx,
slow clients are cut off, strangers are kept out."""

import asyncio
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tinysent.apps.serve import MicroBatcher, bearer_token
from tinysent.core.errors import InputError

from .test_serve import _start

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def server(trained_model):
    url, proc = _start(
        trained_model, "--batch-window-ms", "20", "--header-timeout", "1", "--body-timeout", "1"
    )
    yield url
    proc.terminate()
    proc.wait(10)


def test_a_lone_surrogate_fails_alone_and_never_harms_its_batch(server):
    good = {"texts": ["i love this", "i hate this"]}
    bad = b'{"texts": ["fine", "\\udcff"]}'  # valid JSON, not encodable text
    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            futs = [ex.submit(httpx.post, server + "/v1/predict", json=good, timeout=30) for _ in range(60)]
            futs += [
                ex.submit(
                    httpx.post,
                    server + "/v1/predict",
                    content=bad,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
                for _ in range(6)
            ]
            rs = [f.result() for f in futs]
        assert [r.status_code for r in rs[:60]] == [200] * 60
        assert all(r.status_code == 422 and "text 1" in r.json()["error"] for r in rs[60:])


def test_deep_json_is_a_400_and_unknown_fields_a_422(server):
    r = httpx.post(
        server + "/v1/predict",
        content=b"[" * 50000 + b"]" * 50000,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]
    r = httpx.post(server + "/v1/predict", json={"texts": ["ok"], "neutral_bnd": [0.4, 0.6]}, timeout=30)
    assert r.status_code == 422 and "neutral_bnd" in str(r.json()["details"])
    # strict types (found by Schemathesis): 0.0 is not a boolean, "0.4" not a number, 5 not a text
    for body in (
        {"texts": ["ok"], "binary": 0.0},
        {"texts": ["ok"], "neutral_band": ["0.4", 0.6]},
        {"texts": [5]},
    ):
        assert httpx.post(server + "/v1/predict", json=body, timeout=30).status_code == 422, body
    assert (
        httpx.post(server + "/v1/predict", json={"texts": ["ok"], "neutral_band": [0, 1]}).status_code == 200
    )


def _connect(url):
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_slow_headers_are_cut_off_and_a_slow_body_gets_408(server):
    s = _connect(server)
    s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers
    t = time.monotonic()
    assert s.recv(100) == b""  # closed by the server
    assert time.monotonic() - t < 5
    s.close()
    s = _connect(server)
    s.sendall(
        b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    reply = s.recv(1000)
    assert reply.startswith(b"HTTP/1.1 408"), reply
    s.close()


def test_microbatcher_scores_each_request_alone_when_a_shared_call_fails():
    class Picky:
        def predict(self, texts, batch_size, band, binary):
            if "boom" in texts:
                raise ValueError("cannot score boom")
            return [{"label": t} for t in texts]

    async def go():
        b = MicroBatcher(Picky(), window_s=0.05, max_batch=64)
        b.start()
        jobs = [b.submit(["a", "b"], None), b.submit(["boom"], None), b.submit(["c"], None)]
        out = await asyncio.gather(*jobs, return_exceptions=True)
        await b.stop()
        return out

    a, boom, c = asyncio.run(go())
    assert a == [{"label": "a"}, {"label": "b"}] and c == [{"label": "c"}]
    assert isinstance(boom, ValueError)


def test_a_bearer_token_keeps_strangers_out_but_not_the_probes(trained_model, tmp_path):
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    url, proc = _start(trained_model, "--token-file", str(f))
    try:
        body = {"texts": ["love it"]}
        assert httpx.post(url + "/v1/predict", json=body).status_code == 401
        r = httpx.post(url + "/v1/predict", json=body, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = httpx.post(url + "/v1/predict", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "positive"
        assert httpx.get(url + "/openapi.json").status_code == 401
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/readyz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def _token(host="127.0.0.1", token_file=None, insecure=False):
    return bearer_token(token_file, host, insecure)


def test_a_public_host_needs_a_token_or_insecure(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYSENT_TOKEN", raising=False)
    with pytest.raises(InputError, match="--insecure"):
        _token(host="0.0.0.0")
    assert _token(host="0.0.0.0", insecure=True) is None
    assert _token(host="::1") is None and _token(host="localhost") is None
    monkeypatch.setenv("TINYSENT_TOKEN", TOKEN)
    assert _token(host="0.0.0.0") == TOKEN
    monkeypatch.setenv("TINYSENT_TOKEN", "short")
    with pytest.raises(InputError, match="at least 16"):
        _token()
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        _token(token_file=str(tmp_path / "empty"))
    # through the real CLI: refused before any model is loaded
    env = {k: v for k, v in os.environ.items() if k != "TINYSENT_TOKEN"}
    r = subprocess.run(
        [sys.executable, "-m", "tinysent.apps.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode != 0 and "--insecure" in r.stderr and "Traceback" not in r.stderr


def test_serve_without_its_extra_names_the_extra():
    code = (
        "import sys; sys.modules['fastapi'] = None; from tinysent.apps.cli import main; "
        "sys.exit(main(['serve']))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "pip install 'tinysent[serve]'" in r.stderr and "Traceback" not in r.stderr


def test_several_workers_keep_the_limits(trained_model):
    url, proc = _start(trained_model, "--workers", "2", "--threads", "1", "--header-timeout", "1")
    try:
        r = httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=30)
        assert r.status_code == 200
        s = _connect(url)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t = time.monotonic()
        assert s.recv(100) == b"" and time.monotonic() - t < 5
        s.close()
    finally:
        proc.terminate()
        proc.wait(30)


def test_requests_are_logged_without_verbose(trained_model):
    """The CLI's logging set-up (WARNING without -v) must not silence the access log."""
    url, proc = _start(trained_model)
    try:
        for _ in range(3):
            assert (
                httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=30).status_code == 200
            )
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{") and '"path"' in x]
    assert sum(r["path"] == "/v1/predict" and r["status"] == 200 for r in lines) == 3


def test_no_response_reveals_the_models_path(trained_model):
    url, proc = _start(trained_model)
    try:
        ready = httpx.get(url + "/readyz", timeout=10)
        pred = httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=30)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    for r in (ready, pred):
        assert str(trained_model) not in r.text and str(trained_model.parent) not in r.text
        assert all(str(trained_model.parent) not in v for v in r.headers.values())
    name = pred.json()["model"]
    assert name.startswith(trained_model.name + "@") and len(name.split("@")[1]) == 12
    assert ready.json()["model"] == name == pred.headers["x-tinysent-model"]


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(x.split()[1]) / 1024 for x in status.splitlines() if x.startswith("VmRSS:"))


def test_oversized_request_headers_get_431_and_cost_no_memory(trained_model):
    url, proc = _start(trained_model)
    port = int(url.rsplit(":", 1)[1])
    try:
        before = _rss_mb(proc.pid)
        for size in (40_000, 20_000_000):  # one header past the limit, then a 20 MB one
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
                try:
                    for _ in range(size // 65536 + 1):
                        s.sendall(b"a" * 65536)
                except OSError:
                    pass  # closed by the server once past the limit
                head = s.recv(200)
            assert head.startswith(b"HTTP/1.1 431"), head
        held = []  # five connections that stop halfway through a large header
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 30_000)
            held.append(s)
        time.sleep(0.5)
        assert _rss_mb(proc.pid) - before < 50
        for s in held:
            s.close()
        assert httpx.get(url + "/healthz", timeout=10).status_code == 200
        assert httpx.get(url + "/healthz", headers={"X-Ok": "a" * 8000}, timeout=10).status_code == 200
        # the rest of a large body answered early (413) is not taken for the next request's headers
        big = b'{"texts": ["' + b"y" * (2 << 20) + b'"]}'

        def client(_):
            out = []
            with httpx.Client(timeout=30) as c:
                for _ in range(4):
                    try:
                        r = c.post(
                            url + "/v1/predict", content=big, headers={"content-type": "application/json"}
                        )
                        out.append(r.status_code)
                        out.append(c.post(url + "/v1/predict", json={"texts": ["i love it"]}).status_code)
                    except httpx.HTTPError as e:
                        out.append(type(e).__name__)
            return out

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            got = [x for xs in ex.map(client, range(8)) for x in xs]
        assert got == [413, 200] * 32
    finally:
        proc.terminate()
        proc.wait(30)


def test_readyz_says_stopping_while_the_service_drains_after_sigterm(trained_model):
    import signal

    url, proc = _start(trained_model, "--drain", "3")
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        r = httpx.get(url + "/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["status"] == "stopping"
        r = httpx.post(url + "/v1/predict", json={"texts": ["love it"]}, timeout=10)
        assert r.status_code == 200  # still answered while draining
        assert proc.wait(30) in (0, 143)  # SIGTERM re-raised after the drain: "terminated", exit 143
    finally:
        if proc.poll() is None:
            proc.kill()
