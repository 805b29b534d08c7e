"""HTTP service: ``tinysent serve`` (FastAPI + uvicorn).

Concurrent requests are batched continuously: while the model scores one batch, new requests queue
and are scored together as soon as it is free, so throughput grows with load while latency stays
bounded. Every error
is a JSON answer with a 4xx status (413 body too large, 400 not UTF-8 or not JSON, 422 wrong shape
or over a limit); the model and normaliser version come back in every response.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import __version__

log = logging.getLogger("tinysent.access")


@dataclass
class Limits:
    max_texts: int = 256
    max_chars: int = 5000
    max_body_bytes: int = 1 << 20
    batch_window_ms: float = 0.0  # 0: continuous batching (see MicroBatcher)
    max_batch: int = 256


class PredictRequest(BaseModel):
    texts: list[str] = Field(..., description="tweets to score, in order")
    neutral_band: tuple[float, float] | None = Field(
        None,
        description="binary models: label 'neutral' when lo < P(positive) < hi; default: the model's own",
    )
    binary: bool = Field(False, description="3-class models: answer negative / positive by P(pos) vs P(neg)")


class Prediction(BaseModel):
    label: str
    positive: float
    negative: float
    neutral: float | None = Field(None, description="3-class models: P(neutral)")
    truncated: bool | None = None
    empty: bool | None = None


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
                except Exception as e:  # never lose a waiting request
                    for job in group:
                        if not job[2].done():
                            job[2].set_exception(e)
                    continue
                i = 0
                for job in group:
                    k = len(job[0])
                    if not job[2].done():
                        job[2].set_result(records[i : i + k])
                    i += k


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
    """Pure ASGI: request id, access log, body-size limit (413) and UTF-8 check (400) before FastAPI."""

    def __init__(self, app, limits: Limits, model_headers: list):
        self.app, self.limits, self.model_headers = app, limits, model_headers

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

        async def reply(status, body):
            s, h, p = _json(status, body)
            await send_with_headers({"type": "http.response.start", "status": s, "headers": h})
            await send({"type": "http.response.body", "body": p})

        try:
            if scope["method"] == "POST":
                declared = headers.get(b"content-length")
                if declared is not None and int(declared) > self.limits.max_body_bytes:
                    return await reply(
                        413, {"error": "body too large", "limit_bytes": self.limits.max_body_bytes}
                    )
                chunks, size = [], 0
                while True:
                    msg = await receive()
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
    model_path=None, limits: Limits | None = None, backend: str = "auto", threads: int | None = None
):
    from contextlib import asynccontextmanager

    from .predict import load

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
            400: {"description": "not UTF-8 or not JSON"},
            413: {"description": "body too large"},
            422: {"description": "wrong shape or over a limit"},
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
            logging.getLogger("tinysent.serve").exception("scoring failed")
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
    return GuardMiddleware(app, limits, model_headers), app


def _factory():
    """uvicorn's entry for --workers > 1: each worker process loads the model from the same config."""
    cfg = json.loads(os.environ["TINYSENT_SERVE_CONFIG"])
    asgi, _ = create_app(cfg["model"], Limits(**cfg["limits"]), cfg["backend"], cfg["threads"])
    return asgi


def run(
    model_path=None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    limits: Limits | None = None,
    backend: str = "auto",
    threads: int | None = None,
) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    limits = limits or Limits()
    common = dict(host=host, port=port, log_level="warning", timeout_graceful_shutdown=30)
    if workers > 1:
        os.environ["TINYSENT_SERVE_CONFIG"] = json.dumps(
            {
                "model": str(model_path) if model_path else None,
                "limits": asdict(limits),
                "backend": backend,
                "threads": threads,
            }
        )
        uvicorn.run("tinysent.serve:_factory", factory=True, workers=workers, **common)
    else:
        asgi, _ = create_app(model_path, limits, backend, threads)
        uvicorn.run(asgi, **common)
