"""A real `tinysent serve` process while its model loads, when its model cannot load, and under more
connections than it allows: the probes keep answering, every refusal is the
documented JSON, and a model that cannot load is a one-line error."""

import json
import os
import shutil
import subprocess
import sys
import time

import httpx

from tinysent.core.files import file_sha256

from .test_serve import _free_port, _start
from .test_serve_hostile_clients import _connect


def _spawn(model, *args):
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "tinysent.apps.cli",
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return f"http://127.0.0.1:{port}", proc


def test_the_port_answers_while_the_model_loads(trained_model):
    # A PyTorch-only folder: loading imports torch, seconds on 2 cores; the port is open before that.
    url, proc = _spawn(trained_model)
    seen, early_predict = [], None
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                r = httpx.get(url + "/readyz", timeout=2)
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.01)
                continue
            seen.append((r.status_code, r.json()["status"]))
            if r.status_code == 200:
                break
            if early_predict is None:
                early_predict = httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=10)
                assert httpx.get(url + "/healthz", timeout=2).status_code == 200
        assert seen[0] == (503, "loading") and seen[-1] == (200, "ready"), seen
        assert early_predict.status_code == 503 and "not loaded yet" in early_predict.json()["error"]
        assert early_predict.headers["retry-after"] == "1"
        assert early_predict.headers["x-tinysent-model"].startswith(trained_model.name + "@")
        r = httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=30)
        assert r.status_code == 200 and len(r.json()["predictions"]) == 1
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_model_that_cannot_load_stops_the_service_with_one_line(trained_model, tmp_path):
    """Files present and matching their pins, so the checks before listening pass; the weights
    themselves are not a model, so the load behind the open port fails."""
    bad = tmp_path / "bad-model"
    shutil.copytree(trained_model, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file at all")
    meta = json.loads((bad / "tinysent.json").read_text())
    meta["files"]["model.safetensors"] = file_sha256(bad / "model.safetensors")
    (bad / "tinysent.json").write_text(json.dumps(meta))
    _, proc = _spawn(bad)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "cannot load the model" in err and "model.safetensors" in err and "Traceback" not in err
    assert str(tmp_path) not in out


def _idle(url, n):
    return [_connect(url) for _ in range(n)]


def _post(url):
    return httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=10)


def test_connections_over_the_limit_get_json_503_and_the_probes_still_answer(trained_model):
    from tinysent.apps.serve.runner import probe_headroom

    limit = 8
    url, proc = _start(trained_model, "--max-connections", str(limit), "--header-timeout", "60")
    held = []
    try:
        held += _idle(url, limit)  # idle connections that never send a request
        deadline = time.time() + 10
        while (r := _post(url)).status_code == 200:  # the server accepts them asynchronously
            assert time.time() < deadline, "the connection limit never applied"
            time.sleep(0.05)
        assert r.status_code == 503 and r.headers["content-type"] == "application/json"
        assert "too many connections (limit 8" in r.json()["error"] and r.headers["retry-after"] == "1"
        for probe in ("/healthz", "/readyz"):
            assert httpx.get(url + probe, timeout=10).status_code == 200, probe

        # Past the probes' headroom too: refused at once, before a request is read, still JSON.
        held += _idle(url, probe_headroom(limit))
        deadline = time.time() + 10
        while (r := httpx.get(url + "/healthz", timeout=10)).status_code == 200:
            assert time.time() < deadline, "the headroom never filled"
            time.sleep(0.05)
        assert r.status_code == 503 and "too many connections" in r.json()["error"]
    finally:
        for s in held:
            s.close()
    try:
        deadline = time.time() + 10
        while (r := _post(url)).status_code != 200:  # the closed ones are counted out
            assert time.time() < deadline, r.text
            time.sleep(0.05)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    logged = [json.loads(x) for x in out.splitlines() if x.startswith("{") and '"path"' in x]
    assert any(x["path"] == "/v1/predict" and x["status"] == 503 for x in logged)  # like any request


def test_the_limit_th_connection_is_served(trained_model):
    """--max-connections N allows N: with N - 1 held, a client's keep-alive connection is the Nth
    and all its requests are answered (uvicorn's own limit refused everything at N)."""
    url, proc = _start(trained_model, "--max-connections", "4", "--header-timeout", "60")
    held = _idle(url, 3)
    try:
        time.sleep(0.5)
        with httpx.Client(timeout=30) as c:
            codes = [c.post(url + "/v1/predict", json={"texts": ["ok"]}).status_code for _ in range(20)]
            assert codes == [200] * 20
            assert _post(url).status_code == 503  # a fifth connection is one too many
    finally:
        for s in held:
            s.close()
        proc.terminate()
        proc.communicate(timeout=30)


def test_idle_connections_leave_at_the_header_timeout(trained_model):
    url, proc = _start(trained_model, "--max-connections", "4", "--header-timeout", "1")
    held = _idle(url, 6)
    try:
        time.sleep(1.5)  # each closed by the server: nothing sent within the header time limit
        assert all(s.recv(10) == b"" for s in held)
        assert _post(url).status_code == 200
    except TimeoutError:
        raise AssertionError("an idle connection outlived the header time limit") from None
    finally:
        for s in held:
            s.close()
        proc.terminate()
        proc.communicate(timeout=30)
