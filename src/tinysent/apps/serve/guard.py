"""The service's limits, its bearer-token policy and the pure-ASGI guard in front of the app."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import InputError

log = logging.getLogger("tinysent.access")


def enable_access_log() -> None:
    """One line per request on stdout, whatever the root logger's level: the CLI sets the root to
    WARNING (INFO with -v), and the access log is the service's record, not a debugging aid."""
    if not log.handlers:
        import sys

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@dataclass
class Limits:
    max_texts: int = 256
    max_chars: int = 5000
    max_body_bytes: int = 1 << 20
    batch_window_ms: float = 0.0  # 0: continuous batching (see MicroBatcher)
    max_batch: int = 256
    header_timeout_s: float = 10.0
    max_header_bytes: int = 1 << 15  # request line + headers; past it: 431 and the connection closes
    body_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 1000
    drain_s: float = 1.0  # after SIGTERM: /readyz says "stopping" this long before the port closes
    # host names the Host header may carry besides IP literals and localhost (the commands give the bind
    # address and --allowed-host): any other name is refused, so DNS rebinding reaches nothing. None:
    # no Host check (an app embedded in a server of your own, whose names it cannot know)
    hosts: tuple[str, ...] | None = None


# Set on the first SIGTERM / SIGINT (the runner's server): /readyz answers "stopping" while it drains.
STOPPING = threading.Event()
# answered without a token: probes carry none; "/" is the demo page (no data: its calls carry the token)
OPEN_PATHS = ("/healthz", "/readyz", "/")
BUSY_KEY = "tinysent.over_connection_limit"  # set in the scope by the runner's protocol: answer 503


def bearer_token(token_file: str | None, host: str, insecure: bool = False) -> str | None:
    """The bearer token from ``token_file`` or $TINYSENT_TOKEN (None: no token asked); refuses a weak
    token, and a non-loopback ``host`` without one unless ``insecure``."""
    import ipaddress

    token = None
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read --token-file {token_file}: {e}") from None
        if not token:
            raise InputError(f"--token-file {token_file} is empty")
    token = token or os.environ.get("TINYSENT_TOKEN") or None
    if token is not None and (len(token) < 16 or not token.isascii() or any(c.isspace() for c in token)):
        raise InputError("the bearer token must be at least 16 printable ASCII characters, no spaces")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and token is None and not insecure:
        raise InputError(
            f"--host {host} lets anyone who reaches the port use the service: set a token "
            "(--token-file FILE or TINYSENT_TOKEN), or say --insecure"
        )
    return token


def host_name(host: str) -> str:
    """The name in a Host header (``[::1]:8000`` -> ``::1``, ``Example.org:80`` -> ``example.org``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host: str, names) -> bool:
    """Whether a Host header names this server: an IP literal (DNS rebinding needs a name), localhost
    (``*.localhost`` too: it always resolves to loopback), or one of ``names`` (the bind address and
    --allowed-host)."""
    import ipaddress

    name = host_name(host)
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return name == "localhost" or name.endswith(".localhost") or name in {n.lower() for n in names}


def cross_origin(headers: dict) -> str | None:
    """Why a request comes from another web page (None: it does not). A browser names the page that
    sent a request in Origin (POSTs, and every fetch in cors mode) and says in Sec-Fetch-Site how it
    relates to this server; a client outside a browser (curl, httpx) sends neither."""
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
    if origin and origin not in (f"http://{host}", f"https://{host}"):
        return f"Origin {origin}"
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {site}"
    return None


def allowed_hosts(bind: str, more: str = "") -> tuple[str, ...]:
    """The host names a Host header may carry: the bind address and --allowed-host's names."""
    return tuple(n.strip().lower() for n in [bind, *more.split(",")] if n.strip())


def _json(status: int, body: dict, headers: list | None = None):
    payload = json.dumps(body).encode()
    return (
        status,
        [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *(headers or []),
        ],
        payload,
    )


class GuardMiddleware:
    """Pure ASGI, before FastAPI: request id, access log, connection limit (503, marked by the
    runner's protocol), Host header (403: DNS rebinding), another web page's request (403: the page
    at ``/`` excepted, it holds no data), bearer token (401), body-size limit (413), body time limit
    (408), UTF-8 and JSON checks (400)."""

    def __init__(self, app, limits: Limits, model_headers: list, token: str | None = None):
        self.app, self.limits, self.model_headers = app, limits, model_headers
        self.token = token.encode() if token else None

    def _authorized(self, headers: dict) -> bool:
        got = headers.get(b"authorization", b"")
        scheme, _, value = got.partition(b" ")
        # compare_digest: the time taken does not tell how much of a guess was right
        return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        extra = [(b"x-request-id", rid.encode()), *self.model_headers]
        status_box = {"status": 0}

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), *extra]}
                status_box["status"] = msg["status"]
            await send(msg)

        async def reply(status, body, headers=None):
            s, h, p = _json(status, body, headers)
            await send_with_headers({"type": "http.response.start", "status": s, "headers": h})
            await send({"type": "http.response.body", "body": p})

        try:
            if scope.get(BUSY_KEY):
                return await reply(
                    503,
                    {"error": f"too many connections (limit {scope[BUSY_KEY]} per process); retry shortly"},
                    [(b"retry-after", b"1"), (b"connection", b"close")],
                )
            host = headers.get(b"host", b"").decode("latin-1")
            if host and self.limits.hosts is not None and not host_allowed(host, self.limits.hosts):
                return await reply(
                    403,
                    {
                        "error": f"Host {host_name(host)!r} is not this server's name: if you reach it "
                        "by that name on purpose, start it with --allowed-host "
                        f"{host_name(host)}"
                    },
                )
            why = scope["path"] != "/" and cross_origin(headers)
            if why:
                return await reply(
                    403,
                    {
                        "error": f"refused a request from another web page ({why}): only this "
                        "server's own page and clients outside a browser may call it"
                    },
                )
            if self.token and scope["path"] not in OPEN_PATHS and not self._authorized(headers):
                return await reply(
                    401,
                    {"error": "missing or wrong bearer token (Authorization: Bearer TOKEN)"},
                    [(b"www-authenticate", b"Bearer")],
                )
            if scope["method"] == "POST":
                declared = headers.get(b"content-length")
                if declared is not None and not declared.isdigit():
                    return await reply(400, {"error": "content-length is not a number"})
                if declared is not None and int(declared) > self.limits.max_body_bytes:
                    return await reply(
                        413, {"error": "body too large", "limit_bytes": self.limits.max_body_bytes}
                    )
                chunks, size = [], 0
                deadline = time.monotonic() + self.limits.body_timeout_s
                while True:
                    try:
                        msg = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        return await reply(
                            408, {"error": f"body not received within {self.limits.body_timeout_s:g} s"}
                        )
                    if msg["type"] == "http.disconnect":
                        return
                    chunks.append(msg.get("body", b""))
                    size += len(chunks[-1])
                    if size > self.limits.max_body_bytes:
                        return await reply(
                            413, {"error": "body too large", "limit_bytes": self.limits.max_body_bytes}
                        )
                    if not msg.get("more_body"):
                        break
                body = b"".join(chunks)
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError as e:
                    return await reply(400, {"error": f"body is not UTF-8 (byte {e.start})"})
                try:
                    json.loads(text)
                except ValueError as e:
                    return await reply(400, {"error": f"body is not JSON: {e}"})
                except RecursionError:
                    return await reply(400, {"error": "body is JSON nested too deeply"})
                sent = False

                async def replay():
                    nonlocal sent
                    if sent:
                        return {"type": "http.disconnect"}
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}

                return await self.app(scope, replay, send_with_headers)
            return await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                json.dumps(
                    {
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_box["status"],
                        "ms": round((time.perf_counter() - t0) * 1e3, 2),
                    }
                )
            )
