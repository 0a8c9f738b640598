#!/usr/bin/env python3
"""FastAPI oracle for the EndpointSpec differential test.

Usage: fastapi_oracle.py CORPUS.json            -> prints results JSON on stdout
       fastapi_oracle.py --versions             -> prints {"fastapi": ..., "pydantic": ..., "python": ...}

CORPUS.json is one group or a list of groups:
    {"template": [{"name": "x", "type": "int", "optional": false, "default_value": null}, ...],
     "cases": [{"body_b64": "<base64>" | null, "body": "<utf-8 text>", "content_type": "application/json" | null}]}
(`body_b64` wins over `body`; a null/absent body sends a request without a body).

For each group the script builds the FastAPI app the template stands for (the mapping documented on
`BodyTemplate` in Sources/EndpointSpec/BodyTemplate.swift):

    class Body(BaseModel):
        x: int                          # required
        y: Optional[float] = 0.5        # optional, default_value (Python literal text) or None
    @app.post("/predict")
    def handler(body: Body): ...        # empty template: def handler(): ...

and answers each case through fastapi.testclient.TestClient. Output: a list (one per group) of lists of
{"status": int, "body_b64": str, "args": {...} | null}, where "args" (on 200) are the attributes the client
provided, in template order, as the handler received them (json.dumps with ensure_ascii=True, allow_nan=True).
"""
import base64
import json
import sys
import warnings

warnings.filterwarnings("ignore")

TYPES = {"str", "int", "float", "bool", "dict", "list"}


def versions():
    import fastapi
    import pydantic

    return {"fastapi": fastapi.__version__, "pydantic": pydantic.VERSION, "python": sys.version.split()[0]}


def build_app(template):
    from fastapi import FastAPI, Response

    names = []
    lines = ["from typing import Optional", "from pydantic import BaseModel", "class Body(BaseModel):"]
    for param in template:
        name, typ = param["name"], param["type"]
        assert name.isidentifier() and typ in TYPES, param
        names.append(name)
        if param.get("optional"):
            default = param.get("default_value")
            lines.append(f"    {name}: Optional[{typ}] = {default if default is not None else 'None'}")
        else:
            lines.append(f"    {name}: {typ}")
    if not template:
        lines.append("    pass")
    namespace = {}
    exec("\n".join(lines), namespace)
    Body = namespace["Body"]

    app = FastAPI()

    def echo(values):
        text = json.dumps(values, ensure_ascii=True, allow_nan=True, separators=(",", ":"))
        return Response(content=text, media_type="application/json")

    if template:

        def handler(body: Body):  # type: ignore[valid-type]
            provided = body.model_fields_set
            return echo({n: getattr(body, n) for n in names if n in provided})

        handler.__annotations__["body"] = Body
    else:

        def handler():
            return echo({})

    app.post("/predict")(handler)
    return app


def run_group(group):
    from fastapi.testclient import TestClient

    client = TestClient(build_app(group["template"]), raise_server_exceptions=False)
    results = []
    for case in group["cases"]:
        headers = {}
        if case.get("content_type") is not None:
            headers["content-type"] = case["content_type"]
        if case.get("body_b64") is not None:
            content = base64.b64decode(case["body_b64"])
        elif case.get("body") is not None:
            content = case["body"].encode("utf-8")
        else:
            content = None
        response = client.post("/predict", content=content, headers=headers)
        args = None
        if response.status_code == 200:
            args = json.loads(response.content)
        results.append(
            {"status": response.status_code, "body_b64": base64.b64encode(response.content).decode(), "args": args}
        )
    return results


def main(argv):
    if len(argv) == 2 and argv[1] == "--versions":
        print(json.dumps(versions()))
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        corpus = json.load(f)
    groups = corpus if isinstance(corpus, list) else [corpus]
    out = [run_group(g) for g in groups]
    sys.stdout.write(json.dumps(out, ensure_ascii=True, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
