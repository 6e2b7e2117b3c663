"""OpenAI's Python SDK against the container, as a user's application calls it; run in .venv-clients by
tests/protocols/clients_run.py.

    openai_sdk.py < {"base_url": ".../v1", "api_key": "...", "steps": [{"call": "embeddings.create", "kwargs": {}},
                                                                      {"call": "models.list"},
                                                                      {"call": "models.retrieve", "args": ["id"]}]}
prints one result per step: {"ok": <the SDK's parsed answer, model_dump()>} or {"error": <the exception the SDK
raised: its class, status, message, body, type, param, code>}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import openai


def run(client: openai.OpenAI, step: dict[str, Any]) -> Any:
    call, args, kwargs = step["call"], step.get("args", []), step.get("kwargs", {})
    if call == "embeddings.create":
        # warnings=False: an embedding asked as base64 is a string where the type says floats, as the SDK means it
        return client.embeddings.create(*args, **kwargs).model_dump(warnings=False)
    if call == "models.list":
        return [model.model_dump() for model in client.models.list()]
    if call == "models.retrieve":
        return client.models.retrieve(*args, **kwargs).model_dump()
    raise ValueError(f"unknown call {call!r}")


def main() -> None:
    plan = json.load(sys.stdin)
    # max_retries=0: a test wants the first answer, not the SDK's retries of a 5xx.
    client = openai.OpenAI(base_url=plan["base_url"], api_key=plan["api_key"], max_retries=0, timeout=60)
    results = []
    for step in plan["steps"]:
        try:
            results.append({"ok": run(client, step)})
        except openai.APIStatusError as exc:
            results.append(
                {
                    "error": {
                        "class": type(exc).__name__,
                        "status_code": exc.status_code,
                        "message": exc.message,
                        "body": exc.body,
                        "type": exc.type,
                        "param": exc.param,
                        "code": exc.code,
                    }
                }
            )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
