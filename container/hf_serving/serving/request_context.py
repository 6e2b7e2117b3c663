"""The per-request context handed to the request hooks (input_fn, predict_fn, output_fn, transform_fn).

The model server's own context describes a whole batch; this one is bound to one request of it, so a
hook reads its own headers and sets its own response headers, never request 0's.
"""

from __future__ import annotations

from typing import Any

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
REQUEST_ID = "X-Request-Id"


class RequestContext:
    def __init__(self, server_context: Any, index: int, headers: dict[str, str]) -> None:
        self._server_context = server_context
        self._index = index
        # Header names are case-insensitive; the model server keeps whatever case the client sent.
        self._headers = {name.lower(): value for name, value in headers.items() if isinstance(value, str)}
        self.request_id: str = self._headers.get(REQUEST_ID.lower()) or str(
            server_context.get_request_id(index) if server_context is not None else ""
        )

    @property
    def headers(self) -> dict[str, str]:
        """The request's headers, by lower-case name."""
        return dict(self._headers)

    @property
    def system_properties(self) -> dict:
        return self._server_context.system_properties if self._server_context is not None else {}

    @property
    def custom_attributes(self) -> str | None:
        """X-Amzn-SageMaker-Custom-Attributes as the caller sent it, if at all."""
        return self._headers.get(CUSTOM_ATTRIBUTES.lower())

    def set_custom_attributes(self, value: str) -> None:
        """Return custom attributes to the caller (SageMaker passes this header back)."""
        self.set_response_header(CUSTOM_ATTRIBUTES, value)

    def get_request_header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    def set_response_header(self, name: str, value: str) -> None:
        # Netty refuses CR/LF in header values; strip them rather than fail the response.
        clean = value.replace("\r", " ").replace("\n", " ")
        if self._server_context is not None:
            self._server_context.set_response_header(self._index, name, clean)
