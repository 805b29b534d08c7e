"""The FastAPI app: request and response schemas, routes, the model loaded once per process."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictStr

from tinysent.apps.serve.batcher import MicroBatcher
from tinysent.apps.serve.guard import STOPPING, GuardMiddleware, Limits
from tinysent.apps.serve.pages import DEMO_PAGE
from tinysent.core.errors import InputError
from tinysent.core.version import __version__

RETRY = {"retry-after": "1"}
LOAD_FAILURES: list[str] = []  # read by the runner after the server stops: a failed load exits non-zero


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
    # A model of another label set (your own task) answers every label's probability by its name.
    model_config = ConfigDict(extra="allow")

    label: str
    positive: float | None = Field(None, description="sentiment models: P(positive)")
    negative: float | None = Field(None, description="sentiment models: P(negative)")
    neutral: float | None = Field(None, description="3-class models: P(neutral)")
    truncated: bool | None = None
    empty: bool | None = None


class ErrorResponse(BaseModel):
    error: str
    details: list | None = None
    limit_bytes: int | None = None


# the answers the service's POST endpoints may give besides 200 (the guard's and their own)
ERRORS = {
    400: {"model": ErrorResponse, "description": "not UTF-8, not JSON, or nested too deeply"},
    401: {"model": ErrorResponse, "description": "missing or wrong bearer token (when one is set)"},
    408: {"model": ErrorResponse, "description": "body not received in time"},
    413: {"model": ErrorResponse, "description": "body too large"},
    422: {"model": ErrorResponse, "description": "wrong shape, unknown field, or over a limit"},
    503: {
        "model": ErrorResponse,
        "description": "the model is still loading or could not score, or too many connections",
    },
}


class PredictResponse(BaseModel):
    model: str
    normalizer_version: int
    predictions: list[Prediction]


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[StrictStr] = Field(..., description="tweets to explain, in order")


class Explained(Prediction):
    explanation: list[dict] = Field(
        ...,
        description="each word (start, end: its characters in the text) and its weight: the label's "
        "probability with the tweet minus without the word (positive: it pushed toward the label)",
    )


class ExplainResponse(BaseModel):
    model: str
    normalizer_version: int
    predictions: list[Explained]


# /v1/explain scores each text once per word as well: fewer texts per request than /v1/predict
EXPLAIN_COST = 16


def text_problem(texts: list[str], limits: Limits, max_texts: int) -> JSONResponse | None:
    """The 422 for texts over a limit or not valid Unicode, else None."""
    if len(texts) > max_texts:
        return JSONResponse(
            status_code=422,
            content={"error": f"too many texts: {len(texts)} > {max_texts}; split the request"},
        )
    long = [i for i, t in enumerate(texts) if len(t) > limits.max_chars]
    if long:
        return JSONResponse(
            status_code=422,
            content={"error": f"text {long[0]} has {len(texts[long[0]])} characters > {limits.max_chars}"},
        )
    for i, t in enumerate(texts):
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
    return None


NOT_LOADED = {"error": "the model is not loaded yet (see /readyz); retry shortly"}


def checked_model(model_path, backend: str = "auto", precision: str = "auto"):
    """(the model folder, checked: files present and matching their pinned hashes; its public name).
    The name says which model by name and content, never by path (responses and the open /readyz
    must not reveal the server's file system): NAME@<sha256 prefix of the weight file it runs>."""
    from tinysent.core.folder import ModelFolder
    from tinysent.runtime.predictor import shipped_folder
    from tinysent.runtime.registry import resolve_model

    folder = ModelFolder(resolve_model(model_path) if model_path is not None else shipped_folder())
    weights = folder.weights(backend, precision)
    return folder, f"{folder.path.name}@{(folder.meta.files or {}).get(weights.name, 'unpinned')[:12]}"


def create_app(
    model_path=None,
    limits: Limits | None = None,
    backend: str = "auto",
    threads: int | None = None,
    token: str | None = None,
    precision: str = "auto",
    on_ready=None,
):
    """(the ASGI app to serve, the FastAPI app inside it); ``on_ready()`` is called once the model
    is loaded (when /readyz starts answering 200). ``token``: a bearer token every request
    but the health probes must carry (None: no token asked); ``precision``: which ONNX file (fp32:
    answers that do not depend on the other requests a text shares a call with). The model loads
    once the server listens (/readyz says "loading" until then); in process, await
    ``app.state.loading`` after the lifespan starts."""
    from contextlib import asynccontextmanager

    from tinysent.runtime.predictor import load

    limits = limits or Limits()
    # ONNX Runtime's idle threads spin by default; in a service they steal the event loop's cores
    # (measured: 8 clients 372 → 455 req/s). TINYSENT_ORT_SPIN=1 restores spinning.
    os.environ.setdefault("TINYSENT_ORT_SPIN", "0")
    # Checked now, before the port opens: a wrong folder, option or damaged file is a one-line error.
    # The slow part (sessions, warm-up) runs once the server listens, so /readyz can say "loading".
    folder, model_name = checked_model(model_path, backend, precision)
    normalizer_version = folder.meta.normalizer_config.version
    state: dict = {"predictor": None, "info": None, "error": None, "stopping": False}

    def bring_up():
        predictor = load(folder, backend=backend, threads=threads, precision=precision).warm()
        predictor.predict(["warm up"])  # first call allocates; keep it out of user latency
        return predictor

    async def loaded(app):
        try:
            predictor = await asyncio.to_thread(bring_up)
        except Exception as e:  # the service cannot work without its model: say why and stop
            state["error"] = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            LOAD_FAILURES.append(state["error"])
            logging.getLogger("tinysent.apps.serve").error("cannot load the model: %s", state["error"])
            if os.environ.get("TINYSENT_SERVE_CONFIG"):  # a --workers process: exit code 3 stops
                os._exit(3)  # uvicorn's supervisor instead of restarting a worker that fails alike
            os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own handler: a clean shutdown
            return
        app.state.batcher = MicroBatcher(predictor, limits.batch_window_ms / 1000, limits.max_batch)
        app.state.batcher.start()
        # Move the millions of long-lived objects (the model, its libraries) out of the cyclic
        # collector's reach: a full collection over them stalls every request in flight.
        # TINYSENT_GC_FREEZE=0 turns this off (benchmarks/serve_configs.py measures both).
        if os.environ.get("TINYSENT_GC_FREEZE", "1") != "0":
            gc.collect()
            gc.freeze()
        info = {k: v for k, v in predictor.describe().items() if k != "path"}
        state["info"] = {**info, "model": model_name}
        state["predictor"] = predictor
        if on_ready is not None:
            on_ready()

    @asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(loaded(app))  # startup returns now: uvicorn opens the port
        app.state.loading = task  # in-process users await it (tests, an app that mounts this one)
        yield
        state["stopping"] = True  # /readyz turns 503: balancers stop sending; in-flight ones finish
        if task.done() and getattr(app.state, "batcher", None) is not None:
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

    @app.get(
        "/readyz",
        responses={503: {"description": "not ready: the model is loading, failed to load, or stopping"}},
    )
    async def readyz():
        if state["error"] is not None:
            return JSONResponse(status_code=503, content={"status": "failed", "error": state["error"]})
        stopping = state["stopping"] or STOPPING.is_set()
        if state["predictor"] is None or stopping:
            status = "stopping" if stopping else "loading"
            return JSONResponse(status_code=503, content={"status": status}, headers=RETRY)
        return {"status": "ready", **state["info"]}

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        responses=ERRORS,
    )
    async def predict(req: PredictRequest, request: Request):
        predictor = state["predictor"]
        if predictor is None:
            return JSONResponse(status_code=503, content=NOT_LOADED, headers=RETRY)
        problem = text_problem(req.texts, limits, limits.max_texts)
        if problem is not None:
            return problem
        band = tuple(req.neutral_band) if req.neutral_band else None
        try:  # the label model's own rules, as predict applies them (core/labels.py)
            predictor.labels.check(req.binary, band)
        except InputError as e:
            msg = (
                str(e)
                .replace("--neutral-band", "neutral_band")
                .replace("neutral band", "neutral_band")
                .replace("--binary, binary=True", "binary: true")
            )
            return JSONResponse(
                status_code=422, content={"error": msg.replace("--binary / binary=True", "binary")}
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
            {
                "model": model_name,
                "normalizer_version": normalizer_version,
                "predictions": records,
            }
        )

    @app.post(
        "/v1/explain",
        response_model=ExplainResponse,
        response_model_exclude_none=True,
        responses=ERRORS,
    )
    async def explain(req: ExplainRequest):
        """Each word's weight toward the label, by occlusion (runtime/explain.py): the answer and why."""
        predictor = state["predictor"]
        if predictor is None:
            return JSONResponse(status_code=503, content=NOT_LOADED, headers=RETRY)
        problem = text_problem(req.texts, limits, max(1, limits.max_texts // EXPLAIN_COST))
        if problem is not None:
            return problem
        try:
            records = await asyncio.to_thread(predictor.explain, req.texts) if req.texts else []
        except Exception as e:
            logging.getLogger("tinysent.apps.serve").exception("explaining failed")
            return JSONResponse(status_code=503, content={"error": f"could not score: {type(e).__name__}"})
        return JSONResponse(
            {"model": model_name, "normalizer_version": normalizer_version, "predictions": records}
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo():
        """A page to try the model: type tweets, see labels, probabilities and each word's weight."""
        return HTMLResponse(DEMO_PAGE)

    model_headers = [
        (b"x-tinysent-model", model_name.encode("utf-8", "replace")[-200:]),
        (b"x-tinysent-normalizer-version", str(normalizer_version).encode()),
    ]
    return GuardMiddleware(app, limits, model_headers, token), app
