"""The answer limit (SERVE_MAX_RESPONSE_MB), checked in the worker before multi-model-server frames an answer.

Java reads each answer into its heap, and its decoder of worker responses drops the connection, and with it the
worker and every request of its batch, at a field longer than max_response_size (launcher/mms.py sets that 1 MiB
above this limit). An answer over the limit is replaced here by a 413 naming it, so that no answer the worker sends
can reach Java's: the other requests of the batch are answered as usual. (Tasks whose answer size is known from the
request refuse earlier, before computing: BatchedModel.numbers_per_item.)
"""

from __future__ import annotations

from hf_serving.errors import ResponseTooLarge

# A UTF-8 character takes at most this many bytes: a str this much under the limit needs no encoding to be measured.
_MAX_UTF8_BYTES = 4


def encoded_size(body: bytes | str) -> int:
    """The bytes MMS sends for a body (it encodes a str as UTF-8)."""
    if isinstance(body, str):
        return len(body.encode("utf-8", "surrogatepass"))
    return len(body)


def refusal(body: bytes | str, limit_bytes: int) -> ResponseTooLarge | None:
    """A 413 naming the limit when the body is over it, else None."""
    if isinstance(body, str) and len(body) * _MAX_UTF8_BYTES <= limit_bytes:
        return None
    size = encoded_size(body)
    if size <= limit_bytes:
        return None
    return ResponseTooLarge.over(f"the answer is {size:,} bytes", limit_bytes)
