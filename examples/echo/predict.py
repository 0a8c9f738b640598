"""Echo model: returns the text it was given and its length.

Route: {"verb": "POST", "path": "/predict", "file": "predict", "function": "predict",
        "positional": false, "body": [{"name": "text", "type": "str"}]}
"""


def predict(text):
    return {"text": text, "length": len(text)}
