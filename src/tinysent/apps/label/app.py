"""The labelling page's web app (the serve stack: FastAPI behind the service's guard, so a token is
asked when it listens beyond loopback): the page at ``/`` and its JSON calls under ``/api/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from tinysent.apps.label.page import LABEL_PAGE
from tinysent.apps.label.session import Session, StaleTweet
from tinysent.core.errors import InputError


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictInt
    label: StrictStr


class SkipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictInt


def create_app(session: Session, export_to: Path, token: str | None = None, hosts=()):
    """(the ASGI app to serve, the FastAPI app inside it). ``token``: the bearer token every call but
    the page itself must carry; ``hosts``: the names a Host header may carry besides IP literals and
    localhost."""
    from tinysent.apps.serve.guard import GuardMiddleware, Limits
    from tinysent.core.version import __version__

    app = FastAPI(title="tinysent label", version=__version__)

    def answer(call):
        try:
            return call()
        except StaleTweet:  # a second click or a second tab: show what is current now
            return JSONResponse(
                status_code=409,
                content={"error": "that tweet is no longer the one shown", "state": session.state()},
            )
        except InputError as e:
            return JSONResponse(status_code=422, content={"error": str(e)})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return HTMLResponse(LABEL_PAGE)

    @app.get("/api/state")
    def state():
        return session.state()

    @app.post("/api/label")
    def label(req: LabelRequest):
        return answer(lambda: session.label(req.id, req.label))

    @app.post("/api/skip")
    def skip(req: SkipRequest):
        return answer(lambda: session.skip(req.id))

    @app.post("/api/undo")
    def undo():
        return answer(session.undo)

    @app.get("/api/explain")
    def explain(id: int):
        if not 0 <= id < len(session.texts):
            return JSONResponse(status_code=404, content={"error": f"no tweet {id} in the pool"})
        e = session.explain(id)
        return (
            e if e is not None else JSONResponse(status_code=202, content={"status": "the model is loading"})
        )

    @app.post("/api/export")
    def export():
        session.start_export(export_to)
        return session.state()

    return GuardMiddleware(app, Limits(hosts=tuple(hosts)), [], token), app
