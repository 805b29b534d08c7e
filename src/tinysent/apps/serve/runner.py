"""Running the service with uvicorn: one process or ``--workers N``, a header time limit and a
connection limit that keeps the health probes answering."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict

from tinysent.apps.serve.app import LOAD_FAILURES, checked_model, create_app
from tinysent.apps.serve.guard import BUSY_KEY, OPEN_PATHS, STOPPING, Limits, enable_access_log
from tinysent.core.errors import ModelError


def probe_headroom(limit: int) -> int:
    """Connections beyond ``limit`` that only /healthz and /readyz may use (a quarter more, at least
    64): an orchestrator's probes still answer while clients hold every connection the service allows."""
    return max(64, limit // 4)


def announcer(host: str, port: int, token: str | None, worker: bool = False):
    """What ``create_app`` calls once the model is loaded: one line with the service's address and
    its try-it page (each ``--workers`` process says it for itself, with its process id)."""
    import sys

    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    auth = " (requests need the bearer token of --token-file)" if token else ""
    who = f" (worker {os.getpid()})" if worker else ""

    def say() -> None:
        print(
            f"tinysent serve: ready at {url}/ (the page to try it); POST {url}/v1/predict{auth}{who}; "
            "Ctrl+C stops",
            file=sys.stdout,
            flush=True,
        )

    return say


def _factory():
    """uvicorn's entry for --workers > 1: each worker process loads the model from the same config."""
    cfg = json.loads(os.environ["TINYSENT_SERVE_CONFIG"])
    enable_access_log()
    token = os.environ.get("TINYSENT_TOKEN") or None
    say = announcer(cfg["host"], cfg["port"], token, worker=True)
    asgi, _ = create_app(
        cfg["model"], Limits(**cfg["limits"]), cfg["backend"], cfg["threads"], token, cfg["precision"], say
    )
    return asgi


def guarded_protocol(limits: Limits):
    """uvicorn's httptools protocol with two limits uvicorn lacks. Headers: a connection whose request
    headers are not complete ``header_timeout_s`` after it opened or after its previous response is
    closed (a slowloris client holds a connection with a trickle of header bytes). Connections: beyond
    ``max_connections`` a request gets the service's JSON 503 and its connection is closed, except
    the health probes, which keep :func:`probe_headroom` connections more; beyond those a connection
    gets the JSON 503 at once. (uvicorn's own ``limit_concurrency`` answers every request, probes
    included, with plain text once the limit is reached.) A module-level class, so that
    ``--workers N`` (spawned processes) can import it; the limits travel in the environment."""
    os.environ["TINYSENT_HEADER_TIMEOUT"] = str(limits.header_timeout_s)
    os.environ["TINYSENT_MAX_CONNECTIONS"] = str(limits.max_connections)
    os.environ["TINYSENT_MAX_HEADER_BYTES"] = str(limits.max_header_bytes)
    GuardedProtocol.header_timeout = limits.header_timeout_s
    GuardedProtocol.max_connections = limits.max_connections
    GuardedProtocol.max_header_bytes = limits.max_header_bytes
    return GuardedProtocol


def raw_response(status: str, message: str, extra: str = "") -> bytes:
    """A raw HTTP error with the service's JSON body, written before (or instead of) reading the
    request; the connection is closed after it."""
    body = json.dumps({"error": message})
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}connection: close\r\n\r\n"
    )
    return (head + body).encode()


def busy_response(limit: int) -> bytes:
    """The raw HTTP 503 for a connection over every limit, written before its request is read."""
    body = json.dumps({"error": f"too many connections (limit {limit} per process); retry shortly"})
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    )
    return (head + body).encode()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpTools
except ImportError:  # no httptools: `tinysent serve` names the extra that installs it
    _HttpTools = object


class GuardedProtocol(_HttpTools):
    """See :func:`guarded_protocol`."""

    _header_timer = None
    # Read once per process: a --workers process imports this module with the parent's limits set in
    # its environment; in the parent, guarded_protocol sets them.
    header_timeout = float(os.environ.get("TINYSENT_HEADER_TIMEOUT", "10"))
    max_connections = int(os.environ.get("TINYSENT_MAX_CONNECTIONS", "1000"))
    max_header_bytes = int(os.environ.get("TINYSENT_MAX_HEADER_BYTES", str(1 << 15)))
    _in_headers, _header_bytes = True, 0

    def _arm(self):
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self):
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Request headers past ``max_header_bytes`` get 431 and the connection closes: without a
        limit one 100 MB header is held in memory (and parsed) whole."""
        if self._in_headers:
            end = data.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > self.max_header_bytes:
                self._disarm()
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.write(
                        raw_response(
                            "431 Request Header Fields Too Large",
                            f"request headers over {self.max_header_bytes:,} bytes",
                        )
                    )
                    self.transport.close()
                return
        super().data_received(data)

    def connection_made(self, transport):
        self._in_headers, self._header_bytes = True, 0
        super().connection_made(transport)  # counts it in self.connections (the server's, shared)
        if len(self.connections) > self.max_connections + probe_headroom(self.max_connections):
            transport.write(busy_response(self.max_connections))
            transport.close()
            return
        self._arm()

    def on_message_begin(self):
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self):
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()  # builds the scope; the app reads it on the next loop turn
        if len(self.connections) > self.max_connections and self.scope.get("path") not in OPEN_PATHS:
            self.scope[BUSY_KEY] = self.max_connections  # GuardMiddleware answers the JSON 503

    def on_message_complete(self):
        super().on_message_complete()
        self._in_headers, self._header_bytes = True, 0  # what comes next is the next request's head

    def on_response_complete(self):
        super().on_response_complete()
        self._arm()  # the next request's headers get the same time (keep-alive idles are shorter)

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


def draining_server(uvicorn, drain_s: float):
    """uvicorn's Server that, on SIGTERM / SIGINT, first says "stopping" on /readyz (503) while still
    answering for ``drain_s`` seconds, so a load balancer's probe sees it and stops sending before the
    port closes; then uvicorn's graceful shutdown (in-flight requests answered). A second signal
    stops at once."""
    import threading

    class DrainingServer(uvicorn.Server):
        _draining = False

        def handle_exit(self, sig, frame):
            STOPPING.set()
            if drain_s > 0 and not self._draining and not self.should_exit:
                self._draining = True
                timer = threading.Timer(drain_s, super().handle_exit, (sig, frame))
                timer.daemon = True
                timer.start()
                return
            super().handle_exit(sig, frame)

    return DrainingServer


def run(
    model_path=None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    limits: Limits | None = None,
    backend: str = "auto",
    threads: int | None = None,
    token: str | None = None,
    precision: str = "auto",
) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    enable_access_log()
    limits = limits or Limits()
    common = dict(
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=30,
        timeout_keep_alive=limits.keep_alive_s,
        http=guarded_protocol(limits),
    )
    if token:
        os.environ["TINYSENT_TOKEN"] = token  # worker processes read it from here, never from argv
    if workers > 1:
        # Checked once here: a wrong or damaged model folder is a one-line error, not N workers
        # failing (each then loads its own copy while its port already answers the probes).
        checked_model(model_path, backend, precision)
        os.environ["TINYSENT_SERVE_CONFIG"] = json.dumps(
            {
                "model": str(model_path) if model_path else None,
                "limits": asdict(limits),
                "backend": backend,
                "precision": precision,
                "threads": threads,
                "host": host,
                "port": port,
            }
        )
        uvicorn.run("tinysent.apps.serve.runner:_factory", factory=True, workers=workers, **common)
    else:
        say = announcer(host, port, token)
        asgi, _ = create_app(model_path, limits, backend, threads, token, precision, say)
        server = draining_server(uvicorn, limits.drain_s)(uvicorn.Config(asgi, **common))
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:  # the port was taken, say: uvicorn said why
            raise SystemExit(3)
    if LOAD_FAILURES:
        raise ModelError(f"cannot load the model: {LOAD_FAILURES[-1]}")
