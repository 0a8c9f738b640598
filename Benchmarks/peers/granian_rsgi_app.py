"""A bare RSGI application for Granian: the fastest Python-side peer of the reference endpoint we could write.

Run:  granian --interface rsgi --working-dir Benchmarks/peers --no-ws --no-access-log granian_rsgi_app:app
Environment:
    PEER_MODEL_DIR    the model folder (default: examples/trivial of this repository)
    PEER_ROUTES_FILE  its routes, {"routes": [...]} as for `reference-endpoint --routes-file`
                      (default: PEER_MODEL_DIR/routes.json)

No framework: Granian calls `app(scope, proto)` for each request and the handler answers with
`proto.response_bytes`. For each route it serves what the reference endpoint serves, with FastAPI's semantics
(the app of Tests/differential/wire_fastapi_app.py, whose `body_model` and `load_function` it imports, so the
pydantic model and the model function are the same objects' sources, not copies):

- the route calls the SAME function imported from the model folder, positionally or by keyword, with every
  body attribute in template order (omitted optional ones get their default_value);
- the body is the pydantic v2 model of the template in lax mode ({"x": "2"} gives x = 2);
- errors are FastAPI's: 422 with {"detail": [...]} (pydantic's errors without url, loc prefixed by "body"),
  including an invalid JSON body (type json_invalid, loc ["body", position], ctx.error = json's message); 400
  {"detail": "There was an error parsing the body"} when the body cannot be read as JSON at all (bad bytes);
  a missing or non-JSON Content-Type is not parsed (FastAPI's strict_content_type); 404 and 405 as Starlette;
- GET /ping answers {"message": "pong"}.

Fast path, for `Content-Type: application/json`: `Model.model_validate_json`, i.e. the model's pydantic-core
validator's `validate_json` called directly (it parses and validates in one pass, in Rust), then the function,
its result encoded with orjson when it is installed (json's C encoder otherwise). Whenever that path fails
(invalid JSON, invalid body, a result orjson cannot encode) the request is answered by the slow path, which does
exactly what FastAPI does: json.loads, then model_validate(from_attributes=True), errors through a
jsonable_encoder-like conversion and json.dumps(ensure_ascii=False, allow_nan=False). Only errors take it, so it
costs nothing on the measured requests. Where the fast path could still differ from FastAPI: a body pydantic's
JSON parser accepts with another meaning than json.loads (none known for these types), and results orjson
encodes where json would not (NaN becomes null instead of Starlette's 500; floats are written by another
algorithm). The trivial model returns {"y": int}, for which both encoders agree.
"""
import email.message
import json
import operator
import os
import sys

from pydantic import ValidationError

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "differential"))
from wire_fastapi_app import body_model, load_function  # noqa: E402  (the FastAPI peer's own mapping)

try:
    import orjson

    ENCODER = f"orjson {orjson.__version__}"
    _fast_dumps = orjson.dumps
    _FAST_ERRORS = (TypeError, orjson.JSONEncodeError)
except ImportError:  # json's C encoder, with Starlette's JSONResponse options
    ENCODER = "json"
    _json_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def _fast_dumps(value):
        return _json_encoder.encode(value).encode("utf-8")

    _FAST_ERRORS = (TypeError, ValueError)

JSON_HEADERS = [("content-type", "application/json")]
TEXT_HEADERS = [("content-type", "text/plain; charset=utf-8")]
PONG = b'{"message":"pong"}'
NOT_FOUND = b'{"detail":"Not Found"}'
METHOD_NOT_ALLOWED = b'{"detail":"Method Not Allowed"}'
BAD_BODY = b'{"detail":"There was an error parsing the body"}'
UNDEFINED = object()


def jsonable(value):
    """What fastapi.encoders.jsonable_encoder does to the values a validation error can hold."""
    if isinstance(value, dict):
        return {jsonable(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode()
    return value


def starlette_json(status, content):
    """Starlette's JSONResponse body, or its 500 when json cannot encode the content (NaN, lone surrogates)."""
    try:
        body = json.dumps(
            jsonable(content), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return 500, TEXT_HEADERS, b"Internal Server Error"
    return status, JSON_HEADERS, body


class Route:
    __slots__ = ("verb", "allow", "fn", "model", "validate_json", "call")

    def __init__(self, model_dir, route, index, modules):
        params = route.get("body") or []
        self.verb = route.get("verb", "POST").upper()
        self.allow = [("content-type", "application/json"), ("allow", self.verb)]
        self.fn = load_function(model_dir, route["file"], route["function"], modules)
        self.model = body_model(index, params) if params else None
        # What Model.model_validate_json calls, without its Python wrapper (0.5 us a body instead of 1.2 us).
        self.validate_json = self.model.__pydantic_validator__.validate_json if self.model else None
        names = [p["name"] for p in params]
        fn = self.fn
        if not names:
            self.call = lambda body: fn()
        elif len(names) == 1:
            get = operator.attrgetter(names[0])
            if route.get("positional", False):
                self.call = lambda body: fn(get(body))
            else:
                name = names[0]
                self.call = lambda body: fn(**{name: get(body)})
        else:
            get = operator.attrgetter(*names)
            if route.get("positional", False):
                self.call = lambda body: fn(*get(body))
            else:
                self.call = lambda body: fn(**dict(zip(names, get(body))))

    def answer(self, body):
        """Status, headers and body for a validated body (the function's result, or Starlette's 500)."""
        try:
            result = self.call(body)
        except Exception:
            return 500, TEXT_HEADERS, b"Internal Server Error"
        try:
            return 200, JSON_HEADERS, _fast_dumps(result)
        except _FAST_ERRORS:
            return starlette_json(200, result)

    def slow(self, raw, content_type):
        """Exactly FastAPI's reading and validation of a body parameter (fastapi.routing, get_request_handler)."""
        value = UNDEFINED
        try:
            if raw:
                value = raw  # no Content-Type, or not JSON: the bytes themselves (strict_content_type)
                if content_type:
                    message = email.message.Message()
                    message["content-type"] = content_type
                    if message.get_content_maintype() == "application":
                        subtype = message.get_content_subtype()
                        if subtype == "json" or subtype.endswith("+json"):
                            value = json.loads(raw)
        except json.JSONDecodeError as e:
            error = {"type": "json_invalid", "loc": ["body", e.pos], "msg": "JSON decode error", "input": {},
                     "ctx": {"error": e.msg}}
            return starlette_json(422, {"detail": [error]})
        except Exception:
            return 400, JSON_HEADERS, BAD_BODY
        if value is UNDEFINED:
            error = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
            return starlette_json(422, {"detail": [error]})
        try:
            body = self.model.model_validate(value, from_attributes=True)
        except ValidationError as exc:
            errors = [{**e, "loc": ("body",) + tuple(e["loc"])} for e in exc.errors(include_url=False)]
            return starlette_json(422, {"detail": errors})
        return self.answer(body)


def load_routes():
    model_dir = os.path.realpath(os.environ.get("PEER_MODEL_DIR") or os.path.join(ROOT, "examples", "trivial"))
    routes_file = os.environ.get("PEER_ROUTES_FILE") or os.path.join(model_dir, "routes.json")
    with open(routes_file, "rb") as f:
        loaded = json.load(f)
    specs = loaded if isinstance(loaded, list) else loaded["routes"]
    os.chdir(model_dir)  # as the endpoint's worker and the FastAPI peer run the model code
    sys.path.insert(0, model_dir)
    modules = {}
    return {spec["path"]: Route(model_dir, spec, index, modules) for index, spec in enumerate(specs)}


ROUTES = load_routes()


async def app(scope, proto):
    route = ROUTES.get(scope.path)
    if route is not None and route.verb == scope.method:
        raw = await proto()
        if route.model is None:
            status, headers, body = route.answer(None)
        else:
            content_type = scope.headers.get("content-type")
            if content_type == "application/json":
                try:
                    validated = route.validate_json(raw)
                except ValueError:  # ValidationError, or anything else: FastAPI's own path decides
                    status, headers, body = route.slow(raw, content_type)
                else:
                    status, headers, body = route.answer(validated)
            else:
                status, headers, body = route.slow(raw, content_type)
        proto.response_bytes(status, headers, body)
    elif scope.path == "/ping" and scope.method == "GET":
        proto.response_bytes(200, JSON_HEADERS, PONG)
    elif route is not None:
        proto.response_bytes(405, route.allow, METHOD_NOT_ALLOWED)
    else:
        proto.response_bytes(404, JSON_HEADERS, NOT_FOUND)
