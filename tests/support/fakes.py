"""Stand-ins for the model server's objects, for tests that call the handler in-process."""

from __future__ import annotations

import json

from hf_serving.serving.batch_handler import HandlerService
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA


class FakeServerContext:
    """The parts of mms.context.Context the handler uses, for a batch of requests."""

    def __init__(self, headers: list[dict[str, str]]) -> None:
        self.headers = headers
        self.statuses: dict[int, tuple[int, str]] = {}
        self.response_headers: dict[int, dict[str, str]] = {i: {} for i in range(len(headers))}
        self.system_properties = {"model_dir": str(TINY_QA)}

    def get_all_request_header(self, index):
        return self.headers[index]

    def get_request_id(self, index):
        return f"mms-{index}"

    def set_response_status(self, code, phrase, idx):
        self.statuses[idx] = (code, phrase)

    def set_response_content_type(self, idx, value):
        self.response_headers[idx]["content-type"] = value

    def set_response_header(self, idx, key, value):
        self.response_headers[idx][key] = value


def service_for(settings: Settings) -> HandlerService:
    service = HandlerService(settings)
    service.initialize(FakeServerContext([]))
    return service


def json_request(body: object, **headers: str) -> tuple[dict, dict[str, str]]:
    return {"body": json.dumps(body).encode()}, {"Content-Type": "application/json", **headers}


def run_batch(service: HandlerService, requests: list[tuple[dict, dict[str, str]]]):
    context = FakeServerContext([headers for _, headers in requests])
    bodies = service.handle_batch([request for request, _ in requests], context)
    return bodies, context
