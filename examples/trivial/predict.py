"""The smallest possible model, used by benchmarks: the cost measured is the endpoint's, not Python's.

Route: {"path": "/predict", "file": "predict", "function": "predict", "positional": true,
        "body": [{"name": "x", "type": "int"}]}
"""


def predict(x):
    return {"y": x}
