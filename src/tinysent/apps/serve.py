"""HTTP service: ``tinysent serve`` (FastAPI + uvicorn).

Concurrent requests are batched continuously: while the model scores one batch, new requests queue
and are scored together as soon as it is free, so throughput grows with load while latency stays
bounded. A request the model cannot score fails alone: the batch it was in is scored again request
by request. Every error is a JSON answer with a 4xx status (400 not UTF-8, not JSON or nested too
deeply, 401 no or wrong bearer token, 408 body too slow, 413 body too large, 422 wrong shape, unknown
field, unencodable text or over a limit); the model and normaliser version come back in every
response. Slow clients are cut off: headers within ``header_timeout_s``, the body within
``body_timeout_s``, idle keep-alive connections after ``keep_alive_s``, at most ``max_connections``
at once (503 beyond).
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictStr

from tinysent import __version__

log = logging.getLogger("tinysent.access")


@dataclass
class Limits:
    max_texts: int = 256
    max_chars: int = 5000
    max_body_bytes: int = 1 << 20
    batch_window_ms: float = 0.0  # 0: continuous batching (see MicroBatcher)
    max_batch: int = 256
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 1000


OPEN_PATHS = ("/healthz", "/readyz")  # answered without a token: probes carry none


class PredictRequest(BaseModel):
    # A misspelt option ("neutral_bnd") must not be silently ignored: unknown fields are a 422. Strict
    # types: "binary": 0 or "0.4" for a number is a client's mistake to report, not to guess at.
    model_config = ConfigDict(extra="forbid")

    texts: list[StrictStr] = Field(..., description="tweets to score, in order")
    neutral_band: tuple[StrictFloat, StrictFloat] | None = Field(
        None,
        description="binary models: label 'neutral' when lo < P(positive) < hi; default: the model's own",
    )
    binary: StrictBool = Field(
        False, description="3-class models: answer negative / positive by P(pos) vs P(neg)"
    )


class Prediction(BaseModel):
    label: str
    positive: float
    negative: float
    neutral: float | None = Field(None, description="3-class models: P(neutral)")
    truncated: bool | None = None
    empty: bool | None = None


class ErrorResponse(BaseModel):
    error: str
    details: list | None = None
    limit_bytes: int | None = None


class PredictResponse(BaseModel):
    model: str
    normalizer_version: int
    predictions: list[Prediction]


class MicroBatcher:
    """Continuous batching: one worker scores everything queued as one model call in a thread, and
    whatever arrives meanwhile becomes the next call. Batches grow with load and no request waits for
    a timer; ``window_s`` > 0 adds a fixed wait after the first request (rarely better, measured in
    benchmarks/serve_load.py)."""

    def __init__(self, predictor, window_s: float, max_batch: int):
        self.predictor, self.window, self.max_batch = predictor, window_s, max_batch
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def submit(self, texts: list[str], band, binary: bool = False) -> list[dict]:
        fut = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((texts, (band, binary), fut))
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            n = len(jobs[0][0])
            if n < self.max_batch and self.window > 0:
                await asyncio.sleep(self.window)  # let concurrent requests join this batch
            # Drain without wait_for(queue.get()): a timed-out get can drop an item it already took.
            while n < self.max_batch and not self.queue.empty():
                job = self.queue.get_nowait()
                jobs.append(job)
                n += len(job[0])
            # One model call per distinct (band, binary) option (almost always one).
            by_band: dict = {}
            for job in jobs:
                by_band.setdefault(job[1], []).append(job)
            for (band, binary), group in by_band.items():
                texts = [t for job in group for t in job[0]]
                try:
                    records = await loop.run_in_executor(
                        None, self.predictor.predict, texts, 64, band, binary
                    )
                except Exception:
                    # One request's input may have broken the shared call: score each alone, so only
                    # that request fails and its neighbours get their answers.
                    await self._one_by_one(loop, group, band, binary)
                    continue
                i = 0
                for job in group:
                    k = len(job[0])
                    if not job[2].done():
                        job[2].set_result(records[i : i + k])
                    i += k

    async def _one_by_one(self, loop, group, band, binary) -> None:
        for texts, _, fut in group:
            try:
                records = await loop.run_in_executor(None, self.predictor.predict, texts, 64, band, binary)
            except Exception as e:  # never lose a waiting request
                if not fut.done():
                    fut.set_exception(e)
            else:
                if not fut.done():
                    fut.set_result(records)


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
    """Pure ASGI, before FastAPI: request id, access log, bearer token (401), body-size limit (413),
    body time limit (408), UTF-8 and JSON checks (400)."""

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


def create_app(
    model_path=None,
    limits: Limits | None = None,
    backend: str = "auto",
    threads: int | None = None,
    token: str | None = None,
):
    """(the ASGI app to serve, the FastAPI app inside it). ``token``: a bearer token every request
    but the health probes must carry (None: no token asked)."""
    from contextlib import asynccontextmanager

    from tinysent.runtime.predictor import load

    limits = limits or Limits()
    # ONNX Runtime's idle threads spin by default; in a service they steal the event loop's cores
    # (measured: 8 clients 372 → 455 req/s). TINYSENT_ORT_SPIN=1 restores spinning.
    os.environ.setdefault("TINYSENT_ORT_SPIN", "0")
    predictor = load(model_path, backend=backend, threads=threads)
    info = predictor.describe()
    model_name = str(info["path"])
    three_class = len(info["labels"]) == 3
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(app):
        app.state.batcher = MicroBatcher(predictor, limits.batch_window_ms / 1000, limits.max_batch)
        app.state.batcher.start()
        predictor.predict(["warm up"])  # first call allocates; keep it out of user latency
        # Move the millions of long-lived objects (torch, transformers, the model) out of the cyclic
        # collector's reach: a full collection over them stalls every request in flight.
        # TINYSENT_GC_FREEZE=0 turns this off (benchmarks/serve_configs.py measures both).
        if os.environ.get("TINYSENT_GC_FREEZE", "1") != "0":
            gc.collect()
            gc.freeze()
        state["ready"] = True
        yield
        state["ready"] = False
        await app.state.batcher.stop()

    app = FastAPI(
        title="tinysent",
        version=__version__,
        lifespan=lifespan,
        description="Tweet sentiment: negative / neutral / positive (3-class models), or negative / "
        "positive with an optional neutral band.",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"error": "invalid request", "details": errors})

    @app.get("/healthz")
    async def healthz():
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz():
        if not state["ready"]:
            return JSONResponse(status_code=503, content={"status": "loading"})
        return {"status": "ready", **info}

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        responses={
            400: {"model": ErrorResponse, "description": "not UTF-8, not JSON, or nested too deeply"},
            401: {"model": ErrorResponse, "description": "missing or wrong bearer token (when one is set)"},
            408: {"model": ErrorResponse, "description": "body not received in time"},
            413: {"model": ErrorResponse, "description": "body too large"},
            422: {"model": ErrorResponse, "description": "wrong shape, unknown field, or over a limit"},
            503: {
                "model": ErrorResponse,
                "description": "the model could not score (or too many connections)",
            },
        },
    )
    async def predict(req: PredictRequest, request: Request):
        if len(req.texts) > limits.max_texts:
            return JSONResponse(
                status_code=422,
                content={
                    "error": f"too many texts: {len(req.texts)} > {limits.max_texts}; split the request"
                },
            )
        long = [i for i, t in enumerate(req.texts) if len(t) > limits.max_chars]
        if long:
            return JSONResponse(
                status_code=422,
                content={
                    "error": f"text {long[0]} has {len(req.texts[long[0]])} characters > {limits.max_chars}"
                },
            )
        for i, t in enumerate(req.texts):
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:  # a lone surrogate ("\\udcff") is valid JSON, not text
                return JSONResponse(
                    status_code=422,
                    content={
                        "error": f"text {i} has an unpaired surrogate at character {e.start}: "
                        "send text that is valid Unicode"
                    },
                )
        band = tuple(req.neutral_band) if req.neutral_band else None
        if band is not None and not 0 <= band[0] <= band[1] <= 1:
            return JSONResponse(status_code=422, content={"error": "neutral_band needs 0 <= lo <= hi <= 1"})
        if band is not None and three_class:
            return JSONResponse(
                status_code=422,
                content={
                    "error": "this model labels neutral itself: drop neutral_band (or ask binary: true)"
                },
            )
        try:
            batcher = request.app.state.batcher
            records = await batcher.submit(req.texts, band, req.binary) if req.texts else []
        except Exception as e:  # a model failure is the service's, not the client's: 503, not a 500
            logging.getLogger("tinysent.apps.serve").exception("scoring failed")
            return JSONResponse(status_code=503, content={"error": f"could not score: {type(e).__name__}"})
        # A ready response skips FastAPI re-validating records the predictor built (the schema above
        # still documents them): less work per request on the event loop.
        return JSONResponse(
            {"model": model_name, "normalizer_version": info["normalizer_version"], "predictions": records}
        )

    model_headers = [
        (b"x-tinysent-model", model_name.encode("utf-8", "replace")[-200:]),
        (b"x-tinysent-normalizer-version", str(info["normalizer_version"]).encode()),
    ]
    return GuardMiddleware(app, limits, model_headers, token), app


def _factory():
    """uvicorn's entry for --workers > 1: each worker process loads the model from the same config."""
    cfg = json.loads(os.environ["TINYSENT_SERVE_CONFIG"])
    token = os.environ.get("TINYSENT_TOKEN") or None
    asgi, _ = create_app(cfg["model"], Limits(**cfg["limits"]), cfg["backend"], cfg["threads"], token)
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
) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
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
                "threads": threads,
            }
        )
        uvicorn.run("tinysent.apps.serve:_factory", factory=True, workers=workers, **common)
    else:
        asgi, _ = create_app(model_path, limits, backend, threads, token)
        uvicorn.run(asgi, **common)
