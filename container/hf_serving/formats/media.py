"""Content types in and out: parsing Content-Type, negotiating Accept, strict JSON decoding and encoding."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hf_serving.errors import BadRequest, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"
HTML = "text/html"  # explanations only (formats/explanation_html.py)
ANY = "*/*"

# Clients and the SageMaker SDK spell JSON Lines several ways.
_ALIASES = {"application/x-jsonlines": JSONLINES, "application/jsonl": JSONLINES, "application/x-ndjson": JSONLINES}


@dataclass(frozen=True)
class MediaType:
    essence: str
    charset: str | None = None


def parse_media_type(header: str | None) -> MediaType:
    """'application/json; charset=UTF-8' -> MediaType('application/json', 'utf-8')."""
    if header is None or not header.strip():
        return MediaType(JSON)  # no Content-Type at all: JSON, as AWS's toolkits assume
    essence, *params = (part.strip() for part in header.split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    essence = essence.lower()
    return MediaType(_ALIASES.get(essence, essence), charset)


def require_content_type(header: str | None, supported: Sequence[str]) -> str:
    media = parse_media_type(header)
    if media.essence not in supported:
        raise UnsupportedMediaType(f"Content-Type {header!r} is not supported: use one of {', '.join(supported)}")
    if media.charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {media.charset!r} is not supported: send UTF-8")
    return media.essence


def negotiate_accept(header: str | None, supported: Sequence[str], default: str) -> str:
    """The first supported type the client accepts, by q-value then order; 406 if there is none."""
    if header is None or not header.strip():
        return default
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        essence, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if essence and quality > 0:
            ranges.append((-quality, index, _ALIASES.get(essence.lower(), essence.lower())))
    for _, _, wanted in sorted(ranges):
        if wanted in (ANY, "application/*"):
            return default if default in supported else supported[0]
        if wanted in supported:
            return wanted
    raise NotAcceptable(f"Accept {header!r} is not supported: this endpoint answers {', '.join(supported)}")


def decode_text(body: bytes | bytearray | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid UTF-8 (byte {exc.start})") from None


class _Refused(Exception):
    """Raised by the json hooks below, which do not know what they decode; decode_json names it."""


# Python's own limit on the digits of an integer it converts (sys.get_int_max_str_digits()'s default).
MAX_INTEGER_DIGITS = 4300


def _bounded_int(digits: str) -> int:
    if len(digits) - digits.startswith("-") > MAX_INTEGER_DIGITS:
        raise _Refused(f"holds an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def _reject_constant(name: str) -> float:
    raise _Refused(f"is not valid JSON: {name} is not a JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"is not valid JSON for this endpoint: key {key!r} appears twice")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"is not valid JSON for this endpoint: number {text[:40]} is out of range")
    return value


# A \uD800-\uDFFF escape, or such a code point already in the text. Python's json decodes one that pairs with
# nothing into a lone surrogate, which no tokenizer takes and UTF-8 cannot encode (I-JSON, RFC 7493, forbids it).
_SURROGATE_IN_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_lone_surrogates(value: object, what: str) -> None:
    pending = [value]  # iteratively: the nesting may be as deep as the recursion limit allows
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                raise BadRequest(
                    f"{what} is not valid JSON for this endpoint: \\u{ord(found.group()):04x} is a lone "
                    "UTF-16 surrogate, not a Unicode character"
                )
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def decode_json(text: str, what: str = "the body") -> object:
    """Strict JSON: no NaN/Infinity, no duplicate keys, no overflowing floats, no lone surrogates, bounded
    nesting."""
    if not text.strip():
        raise BadRequest(f"{what} is empty: send a JSON document")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except _Refused as exc:
        raise BadRequest(f"{what} {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply") from None
    except ValueError:  # nothing of Python's own message: it names interpreter internals
        raise BadRequest(f"{what} is not valid JSON for this endpoint") from None
    if _SURROGATE_IN_TEXT.search(text):
        _reject_lone_surrogates(value, what)
    return value


# Not a type any client sends (nginx forwards a client's Accept, and this one has no registered tree): what the worker
# asks the default output_fn for when a protocol route's adapter reshapes the answer (serving/protocol_calls.py), so
# that the answer reaches it as the Python value it is, not encoded to JSON and decoded again.
NATIVE = "application/x.hf-serving.native"


def encode_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)
