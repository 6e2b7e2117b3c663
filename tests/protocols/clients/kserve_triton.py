"""tritonclient's HTTP client (the Open Inference Protocol, KServe v2) against the container, as a user's
application calls it; run in .venv-clients by tests/protocols/clients_run.py.

    kserve_triton.py HOST:PORT < {"steps": [{"call": "is_server_live"}, {"call": "is_model_ready", "model": "m"},
                                            {"call": "get_model_metadata", "model": "m"},
                                            {"call": "infer", "model": "m", "inputs": {"text": ["a", "b"]},
                                             "binary_inputs": true, "outputs": [{"name": "embedding",
                                             "binary": true}] or null, "parameters": {...}}]}
prints one result per step: {"ok": <the answer>} or {"error": {"status", "message"}} (InferenceServerException).
An infer's answer: {"outputs": {name: {"datatype", "shape", "data"}}, "response": get_response(), "binary": [names
the server sent as binary data]}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def infer(client: httpclient.InferenceServerClient, step: dict[str, Any]) -> Any:
    inputs = []
    for name, texts in step["inputs"].items():
        tensor = httpclient.InferInput(name, [len(texts)], "BYTES")
        tensor.set_data_from_numpy(
            np.array([text.encode() for text in texts], dtype=np.object_), binary_data=step.get("binary_inputs", True)
        )
        inputs.append(tensor)
    outputs = None
    if step.get("outputs") is not None:
        outputs = [
            httpclient.InferRequestedOutput(output["name"], binary_data=output.get("binary", True))
            for output in step["outputs"]
        ]
    result = client.infer(
        step["model"], inputs, outputs=outputs, request_id=step.get("id", ""), parameters=step.get("parameters")
    )
    response = result.get_response()
    found = {}
    for output in response["outputs"]:
        array = result.as_numpy(output["name"])
        if array.dtype == np.object_:
            array = np.vectorize(lambda value: value.decode() if isinstance(value, bytes) else value, otypes=[object])(
                array
            )
        found[output["name"]] = {"datatype": output["datatype"], "shape": list(array.shape), "data": array.tolist()}
    binary = [output["name"] for output in response["outputs"] if "binary_data_size" in output.get("parameters", {})]
    return {"outputs": found, "response": response, "binary": binary}


def run(client: httpclient.InferenceServerClient, step: dict[str, Any]) -> Any:
    call = step["call"]
    if call == "infer":
        return infer(client, step)
    if call in ("is_model_ready", "get_model_metadata"):
        return getattr(client, call)(step["model"])
    if call in ("is_server_live", "is_server_ready", "get_server_metadata"):
        return getattr(client, call)()
    raise ValueError(f"unknown call {call!r}")


def main() -> None:
    plan = json.load(sys.stdin)
    client = httpclient.InferenceServerClient(url=sys.argv[1], network_timeout=60.0)
    results = []
    for step in plan["steps"]:
        try:
            results.append({"ok": run(client, step)})
        except InferenceServerException as exc:
            results.append({"error": {"status": exc.status(), "message": exc.message()}})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
