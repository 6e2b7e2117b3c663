"""The answer limit (SERVE_MAX_RESPONSE_MB), checked in the worker before multi-model-server frames an answer.

Java reads each answer into its heap, and its decoder of worker responses drops the connection, and with it the
worker and every request of its batch, at a field longer than max_response_size (launcher/mms.py sets that 1 MiB
above this limit). An answer over the limit is replaced here by a 413 naming it, so that no answer the worker sends
can reach Java's: the other requests of the batch are answered as usual.
"""

from __future__ import annotations

from hf_serving.errors import ResponseTooLarge

MIB = 1024 * 1024
LIMIT_VARIABLE = "SERVE_MAX_RESPONSE_MB"
# A UTF-8 character takes at most this many bytes: a str this much under the limit needs no encoding to be measured.
_MAX_UTF8_BYTES = 4


def limit_bytes(max_response_mb: int) -> int:
    return max_response_mb * MIB


def encoded_size(body: bytes | str) -> int:
    """The bytes MMS sends for a body (it encodes a str as UTF-8)."""
    if isinstance(body, str):
        return len(body.encode("utf-8", "surrogatepass"))
    return len(body)


def refusal(body: bytes | str, max_response_mb: int) -> ResponseTooLarge | None:
    """A 413 naming the limit when the body is over it, else None."""
    limit = limit_bytes(max_response_mb)
    if isinstance(body, str) and len(body) * _MAX_UTF8_BYTES <= limit:
        return None
    size = encoded_size(body)
    if size <= limit:
        return None
    return too_large(f"the answer is {size:,} bytes", max_response_mb)


def too_large(what: str, max_response_mb: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"{what}, over the {max_response_mb} MB answer limit ({LIMIT_VARIABLE}): send fewer "
                            "records or texts per request")
