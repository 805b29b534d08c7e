"""HTTP service: ``tinysent serve`` (FastAPI + uvicorn).

Concurrent requests are batched continuously: while the model scores one batch, new requests queue
and are scored together as soon as it is free, so throughput grows with load while latency stays
bounded. A request the model cannot score fails alone: the batch it was in is scored again request
by request. Every error is a JSON answer with a 4xx status (400 not UTF-8, not JSON or nested too
deeply, 401 no or wrong bearer token, 408 body too slow, 413 body too large, 422 wrong shape, unknown
field, unencodable text or over a limit); the model and normaliser version come back in every
response. Slow clients are cut off: headers within ``header_timeout_s``, the body within
``body_timeout_s``, idle keep-alive connections after ``keep_alive_s``; beyond ``max_connections`` a
request gets a JSON 503, the health probes excepted (they keep some headroom). The port opens while
the model loads: ``/readyz`` says "loading" until it is ready.

In order: :mod:`.guard` (limits, bearer token, the ASGI guard), :mod:`.batcher` (continuous batching),
:mod:`.app` (schemas and routes), :mod:`.runner` (uvicorn).
"""

from tinysent.apps.serve.batcher import MicroBatcher
from tinysent.apps.serve.guard import Limits, allowed_hosts, bearer_token


def create_app(*args, **kwargs):
    """See :func:`tinysent.apps.serve.app.create_app` (imported on use: it needs the serve extra)."""
    from tinysent.apps.serve.app import create_app as make

    return make(*args, **kwargs)


def run(*args, **kwargs):
    """See :func:`tinysent.apps.serve.runner.run`."""
    from tinysent.apps.serve.runner import run as serve

    return serve(*args, **kwargs)


__all__ = ["Limits", "MicroBatcher", "allowed_hosts", "bearer_token", "create_app", "run"]
