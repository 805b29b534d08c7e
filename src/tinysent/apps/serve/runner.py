"""Running the service with uvicorn: one process or ``--workers N``, and a header time limit."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict

from tinysent.apps.serve.app import create_app
from tinysent.apps.serve.guard import Limits, enable_access_log


def _factory():
    """uvicorn's entry for --workers > 1: each worker process loads the model from the same config."""
    cfg = json.loads(os.environ["TINYSENT_SERVE_CONFIG"])
    enable_access_log()
    token = os.environ.get("TINYSENT_TOKEN") or None
    asgi, _ = create_app(
        cfg["model"], Limits(**cfg["limits"]), cfg["backend"], cfg["threads"], token, cfg["precision"]
    )
    return asgi


def header_timeout_protocol(seconds: float):
    """uvicorn's httptools protocol, closing a connection whose request headers are not complete
    ``seconds`` after it opened or after its previous response (a slowloris client holds a
    connection with a trickle of header bytes; uvicorn itself has no such limit). A module-level
    class, so that ``--workers N`` (spawned processes) can import it; the limit travels in the
    environment."""
    os.environ["TINYSENT_HEADER_TIMEOUT"] = str(seconds)
    return HeaderTimeoutProtocol


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpTools
except ImportError:  # no httptools: `tinysent serve` names the extra that installs it
    _HttpTools = object


class HeaderTimeoutProtocol(_HttpTools):
    """See :func:`header_timeout_protocol`."""

    _header_timer = None

    def _arm(self):
        self._disarm()
        seconds = float(os.environ.get("TINYSENT_HEADER_TIMEOUT", "10"))
        self._header_timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self):
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self):
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self):
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self):
        super().on_response_complete()
        self._arm()  # the next request's headers get the same time (keep-alive idles are shorter)

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


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
        limit_concurrency=limits.max_connections,
        http=header_timeout_protocol(limits.header_timeout_s),
    )
    if token:
        os.environ["TINYSENT_TOKEN"] = token  # worker processes read it from here, never from argv
    if workers > 1:
        os.environ["TINYSENT_SERVE_CONFIG"] = json.dumps(
            {
                "model": str(model_path) if model_path else None,
                "limits": asdict(limits),
                "backend": backend,
                "precision": precision,
                "threads": threads,
            }
        )
        uvicorn.run("tinysent.apps.serve.runner:_factory", factory=True, workers=workers, **common)
    else:
        asgi, _ = create_app(model_path, limits, backend, threads, token, precision)
        uvicorn.run(asgi, **common)
