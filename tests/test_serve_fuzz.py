"""Bounded fuzzing of the HTTP API from its own OpenAPI schema: valid-shaped and junk bodies, zero 5xx."""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinysent.serve import Limits, create_app


@pytest.fixture(scope="module")
def client(trained_model):
    asgi, app = create_app(
        trained_model, Limits(max_texts=20, max_chars=200, max_body_bytes=8000, batch_window_ms=0)
    )
    with TestClient(asgi) as c:
        schema = c.get("/openapi.json").json()
        req = schema["components"]["schemas"]["PredictRequest"]
        yield c, {**req, "components": schema["components"]}


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values of a (small) JSON schema as FastAPI writes it: objects, arrays, tuples, anyOf, scalars."""
    if "anyOf" in schema:
        return st.one_of([from_schema(s) for s in schema["anyOf"]])
    t = schema.get("type")
    if t == "object":
        props = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: v for k, v in props.items() if k in required},
            optional={k: v for k, v in props.items() if k not in required},
        )
    if t == "array" and "prefixItems" in schema:
        return st.tuples(*[from_schema(s) for s in schema["prefixItems"]]).map(list)
    if t == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=25)
    return {
        "string": st.text(max_size=250),
        "number": st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=2),
        "integer": st.integers(),
        "null": st.none(),
        "boolean": st.booleans(),
    }.get(t, st.none())


def test_fuzz_from_openapi_schema(client):
    c, req_schema = client
    bodies = st.one_of(
        from_schema(req_schema).map(lambda b: json.dumps(b).encode()),
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=30),
            lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
            max_leaves=12,
        ).map(lambda b: json.dumps(b).encode()),
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies)
    def check(body):
        r = c.post("/v1/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code < 500, (body[:200], r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/json")

    check()
