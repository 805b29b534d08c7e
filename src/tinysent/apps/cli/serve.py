"""``tinysent serve``: the HTTP service."""

from __future__ import annotations

from dataclasses import dataclass

from tinysent.apps.cli.options import ALLOWED_HOST_HELP, BACKEND_HELP, BACKENDS, MODEL_HELP
from tinysent.data.config import option


@dataclass
class ServeOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    host: str = option("127.0.0.1", "bind address (loopback by default)")
    port: int = option(8000, "TCP port to listen on")
    workers: int = option(1, "worker processes, each with its own model copy")
    backend: str = option("auto", BACKEND_HELP, choices=BACKENDS)
    precision: str = option(
        "auto",
        "which ONNX file: auto (int8 when present), int8 or fp32 (fp32: a text's answer never depends on the "
        "requests it shares a model call with; see the serve docs)",
        choices=("auto", "int8", "fp32"),
    )
    max_texts: int = option(256, "texts per request (422 above)")
    max_chars: int = option(5000, "characters per text (422 above)")
    max_body_bytes: int = option(1 << 20, "request body size in bytes (413 above)")
    batch_window_ms: float = option(
        0.0, "extra wait before scoring a batch; 0: score the queue as soon as the model is free"
    )
    threads: int | None = option(None, "model threads per worker (none: one per CPU core)")
    token_file: str | None = option(
        None,
        "file holding a bearer token that every request but /healthz and /readyz must carry "
        "(or set TINYSENT_TOKEN); none: no token asked",
        metavar="FILE",
    )
    insecure: bool = option(False, "allow a non-loopback --host without a token")
    allowed_host: str = option(
        "",
        ALLOWED_HOST_HELP,
        metavar="NAMES",
    )
    header_timeout: float = option(10.0, "seconds for a client to send its request headers (then closed)")
    body_timeout: float = option(10.0, "seconds for a client to send its request body (then 408)")
    keep_alive: float = option(5.0, "seconds an idle keep-alive connection stays open")
    max_connections: int = option(1000, "connections at once (503 beyond)")
    max_header_bytes: int = option(1 << 15, "request line and headers in bytes (431 above)")
    drain: float = option(
        1.0,
        "seconds after SIGTERM during which /readyz answers 503 'stopping' while requests are still "
        "served, before the port closes (a load balancer stops sending); 0: close at once",
    )


HELP = "HTTP service: POST /v1/predict and /v1/explain, a page to try it at /, /healthz, /readyz"
EXTRA = "serve"
Options = ServeOptions


def run(args) -> int:
    from tinysent.apps.serve import Limits, allowed_hosts, bearer_token
    from tinysent.apps.serve import run as serve

    token = bearer_token(args.token_file, args.host, args.insecure)
    limits = Limits(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
        batch_window_ms=args.batch_window_ms,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        keep_alive_s=args.keep_alive,
        max_connections=args.max_connections,
        max_header_bytes=args.max_header_bytes,
        drain_s=args.drain,
        hosts=allowed_hosts(args.host, args.allowed_host),
    )
    serve(
        args.model,
        args.host,
        args.port,
        args.workers,
        limits,
        args.backend,
        args.threads,
        token,
        args.precision,
    )
    return 0
