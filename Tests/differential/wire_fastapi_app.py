#!/usr/bin/env python3
"""The FastAPI app a proxiML endpoint stands for, served by uvicorn: the wire-level peer of the reference endpoint.

Usage:
    wire_fastapi_app.py --model-dir DIR (--routes-file FILE | --route JSON ...) [--host 127.0.0.1] [--port 0]
                        [--handler def|async] [--loop auto|asyncio|uvloop] [--http auto|h11|httptools]
                        [--no-access-log]
    wire_fastapi_app.py --versions

Once the socket is bound it prints one line on stdout, the same shape as the reference endpoint's:
    Endpoint is running at: http://HOST:PORT
(with --port 0 the kernel picks a free port; the socket is bound and listening before the line is printed).

The app, for each route (the mapping documented on `BodyTemplate` in Sources/EndpointSpec/BodyTemplate.swift,
the same one Tests/differential/fastapi_oracle.py builds):

    class Body(BaseModel):
        x: int                          # required param:  name: T
        y: Optional[float] = 0.5        # optional param:  name: Optional[T] = <default_value, or None>
    @app.api_route(path, methods=[verb])
    def handler(body: Body):            # an empty template: def handler():
        return function(body.x, body.y)         # positional route
        return function(x=body.x, y=body.y)     # keyword route

i.e. the handler calls the real model function, imported from the model folder, with every template attribute
in template order (an omitted optional one gets its default_value, evaluated with ast.literal_eval, exactly as
the reference endpoint's Python worker does) and returns its result; FastAPI encodes it (jsonable_encoder, then
JSONResponse). `--handler async` declares the handlers `async def` (they then run on the event loop instead of
the thread pool). GET /ping answers {"message": "pong"}.
"""
import argparse
import ast
import importlib.util
import json
import os
import socket
import sys
import warnings

warnings.filterwarnings("ignore")

TYPES = {"str", "int", "float", "bool", "dict", "list"}


def versions():
    import fastapi
    import pydantic
    import uvicorn

    return {
        "fastapi": fastapi.__version__,
        "pydantic": pydantic.VERSION,
        "uvicorn": uvicorn.__version__,
        "python": sys.version.split()[0],
    }


def load_function(model_dir, file_name, function, modules):
    display = file_name if file_name.endswith(".py") else file_name + ".py"
    path = os.path.realpath(os.path.join(model_dir, display))
    if path not in modules:
        name = os.path.relpath(path, model_dir)[:-3].replace(os.sep, ".")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        modules[path] = module
    return getattr(modules[path], function)


def body_model(index, params):
    """The pydantic model of a body template (the same source text the validator oracle builds)."""
    lines = ["from typing import Optional", "from pydantic import BaseModel", f"class Body{index}(BaseModel):"]
    for param in params:
        name, typ = param["name"], param["type"]
        assert name.isidentifier() and typ in TYPES, param
        if param.get("optional"):
            default = param.get("default_value")
            lines.append(f"    {name}: Optional[{typ}] = {default if default is not None else 'None'}")
        else:
            lines.append(f"    {name}: {typ}")
    namespace = {}
    exec("\n".join(lines), namespace)
    return namespace[f"Body{index}"]


def make_handler(fn, params, positional, model, is_async):
    names = [p["name"] for p in params]

    def call(body):
        values = [getattr(body, n) for n in names]
        if positional:
            return fn(*values)
        return fn(**dict(zip(names, values)))

    if not params:
        if is_async:

            async def handler():
                return fn()

        else:

            def handler():
                return fn()

        return handler
    if is_async:

        async def handler(body):
            return call(body)

    else:

        def handler(body):
            return call(body)

    handler.__annotations__["body"] = model
    return handler


def build_app(model_dir, routes, is_async=False):
    from fastapi import FastAPI

    model_dir = os.path.realpath(model_dir)
    os.chdir(model_dir)
    sys.path.insert(0, model_dir)
    app = FastAPI()

    if is_async:

        @app.get("/ping")
        async def ping():
            return {"message": "pong"}

    else:

        @app.get("/ping")
        def ping():
            return {"message": "pong"}

    modules = {}
    for index, route in enumerate(routes):
        params = route.get("body") or []
        fn = load_function(model_dir, route["file"], route["function"], modules)
        model = body_model(index, params) if params else None
        handler = make_handler(fn, params, bool(route.get("positional", False)), model, is_async)
        handler.__name__ = f"route_{index}_{route['function']}"
        app.add_api_route(route["path"], handler, methods=[route.get("verb", "POST").upper()])
    return app


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", action="store_true")
    parser.add_argument("--model-dir")
    parser.add_argument("--routes-file")
    parser.add_argument("--route", action="append", default=[])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--handler", choices=["def", "async"], default="def")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv[1:])
    if args.versions:
        print(json.dumps(versions()))
        return 0
    if not args.model_dir:
        parser.error("--model-dir is required")
    routes = [json.loads(r) for r in args.route]
    if args.routes_file:
        with open(args.routes_file, "rb") as f:
            loaded = json.load(f)
        routes += loaded if isinstance(loaded, list) else loaded["routes"]
    if not routes:
        parser.error("no routes: give --routes-file or --route")

    import uvicorn

    app = build_app(args.model_dir, routes, is_async=args.handler == "async")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, loop=args.loop, http=args.http, access_log=not args.no_access_log, log_level="warning", workers=1
    )
    server = uvicorn.Server(config)
    sys.stdout.write(f"Endpoint is running at: http://{args.host}:{port}\n")
    sys.stdout.flush()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
