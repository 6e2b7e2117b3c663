"""The Open Inference Protocol's (KServe v2) tensors on the wire: an /infer body read into named tensors, and output
tensors written back, as JSON or with the binary tensor data extension that tritonclient uses by default.

The binary extension puts the JSON document first and the tensors' bytes after it: the request header
`Inference-Header-Content-Length` says where the JSON ends, each binary input names its `binary_data_size`, and a
BYTES element is a 4-byte little-endian length followed by its bytes. Outputs are binary when the request asks
(`binary_data` on a requested output, or `binary_data_output` for all of them); the answer then carries the same
header and its outputs their `binary_data_size`. When the header did not reach the worker, the JSON document's own
end is where the bytes start (a JSON object is self-delimiting), so a binary request still reads right.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.errors import BadRequest, UnsupportedMediaType
from hf_serving.formats.media import json_type_name, parse_media_type

HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY = "application/octet-stream"
_READABLE_TYPES = ("application/json", "text/json", BINARY, "*/*")

# The numeric datatypes this container writes, as numpy stores them little-endian (the extension's byte order).
NUMPY_TYPES = {"FP32": "<f4", "FP64": "<f8", "INT64": "<i8", "INT32": "<i4", "BOOL": "?"}

# Request parameters that belong to the protocol or to tritonclient, never to the model's own parameters.
PROTOCOL_PARAMETERS = frozenset(
    {"binary_data_output", "sequence_id", "sequence_start", "sequence_end", "priority", "timeout"}
)


@dataclass(frozen=True)
class InputTensor:
    """One request input of datatype BYTES, its elements decoded as UTF-8, flattened in row-major order."""

    name: str
    shape: tuple[int, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool | None  # its parameters' binary_data; None: the request's binary_data_output decides


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    parameters: Mapping[str, Any]  # the model's parameters: the protocol's own are taken out
    inputs: Mapping[str, InputTensor]
    outputs: tuple[RequestedOutput, ...] | None  # None: every output the model has
    binary_output: bool  # the request's binary_data_output

    def wants_binary(self, name: str) -> bool:
        for output in self.outputs or ():
            if output.name == name and output.binary is not None:
                return output.binary
        return self.binary_output


@dataclass(frozen=True)
class OutputTensor:
    name: str
    datatype: str  # BYTES or one of NUMPY_TYPES
    shape: tuple[int, ...]
    data: Any  # flat, row-major: a list of strings for BYTES, a sequence or array of numbers otherwise


def read_infer_request(body: bytes, content_type: str | None, header_length: str | None) -> InferRequest:
    media = parse_media_type(content_type).essence
    if media not in _READABLE_TYPES:
        raise UnsupportedMediaType(
            f"this route reads application/json, or {BINARY} with the binary tensor data extension, not {media}"
        )
    document, binary = _split_body(body, header_length)
    if not isinstance(document, dict):
        raise BadRequest(f"the inference request must be a JSON object, not {json_type_name(document)}")
    unknown = sorted(str(key) for key in document if key not in ("id", "parameters", "inputs", "outputs"))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected id, parameters, inputs, outputs")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest(f"id must be a string, not {json_type_name(request_id)}")
    parameters = _parameters(document.get("parameters"), "parameters")
    binary_output = parameters.get("binary_data_output", False)
    if not isinstance(binary_output, bool):
        raise BadRequest("parameters.binary_data_output must be true or false")
    inputs = _read_inputs(document.get("inputs"), binary)
    return InferRequest(
        request_id,
        {key: value for key, value in parameters.items() if key not in PROTOCOL_PARAMETERS},
        inputs,
        _read_outputs(document.get("outputs")),
        binary_output,
    )


def _split_body(body: bytes, header_length: str | None) -> tuple[object, bytes]:
    """The JSON document and the binary part after it."""
    if header_length is not None:
        try:
            end = int(header_length)
        except ValueError:
            raise BadRequest(f"{HEADER_LENGTH} must be a byte count, not {header_length!r}") from None
        if not 0 < end <= len(body):
            raise BadRequest(f"{HEADER_LENGTH} is {end}, outside the body's {len(body)} bytes")
    else:
        # latin-1 maps each byte to one character: the decoder's end is the JSON's length in bytes.
        text = body.decode("latin-1")
        try:
            _, end = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip(" \t\r\n")))
        except ValueError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        if not body[end:].strip(b" \t\r\n"):  # a JSON body's last newline; tensor bytes start with a length
            end = len(body)
    try:
        return json.loads(body[:end].decode("utf-8")), body[end:]
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the inference request's JSON is not valid: {exc}") from None


def _parameters(raw: object, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest(f"{where} must be a JSON object, not {json_type_name(raw)}")
    return raw


def _read_inputs(raw: object, binary: bytes) -> dict[str, InputTensor]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest('inputs must be a non-empty list of tensors {"name", "shape", "datatype", "data"}')
    inputs: dict[str, InputTensor] = {}
    offset = 0
    for index, tensor in enumerate(raw):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequest(f"inputs[{index}] must be an object with a name, shape, datatype and data")
        name = tensor["name"]
        if name in inputs:
            raise BadRequest(f"input {name} is given twice")
        shape = _shape(tensor.get("shape"), name)
        if tensor.get("datatype") != "BYTES":
            raise BadRequest(f"input {name} must have datatype BYTES (UTF-8 texts), not {tensor.get('datatype')!r}")
        size = _parameters(tensor.get("parameters"), f"input {name}'s parameters").get("binary_data_size")
        if size is not None:
            if "data" in tensor:
                raise BadRequest(f"input {name} has both data and parameters.binary_data_size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0 or offset + size > len(binary):
                raise BadRequest(
                    f"input {name}'s binary_data_size {size!r} is not within the body's "
                    f"{len(binary) - offset} bytes of tensor data left"
                )
            elements = _binary_bytes(binary[offset : offset + size], name)
            offset += size
        else:
            if "data" not in tensor:
                raise BadRequest(f"input {name} has no data")
            elements = _json_bytes(tensor["data"], name)
        if len(elements) != math.prod(shape):
            raise BadRequest(
                f"input {name} has shape {list(shape)}, which holds {math.prod(shape)} element(s), "
                f"but its data holds {len(elements)}"
            )
        inputs[name] = InputTensor(name, shape, tuple(elements))
    if offset != len(binary):
        raise BadRequest(
            f"the body holds {len(binary) - offset} byte(s) of tensor data no input's binary_data_size accounts for"
        )
    return inputs


def _shape(raw: object, name: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in raw
    ):
        raise BadRequest(f"input {name}'s shape must be a list of non-negative integers, not {raw!r}")
    return tuple(raw)


def _json_bytes(data: object, name: str) -> list[str]:
    """The elements of a BYTES tensor's JSON data, flattened (the spec allows nested lists, row-major)."""
    flat: list[object] = []

    def walk(value: object) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        else:
            flat.append(value)

    walk(data)
    for index, element in enumerate(flat):
        if not isinstance(element, str):
            raise BadRequest(f"input {name}'s element {index} must be a string, not {json_type_name(element)}")
    return flat  # type: ignore[return-value]  # checked above: every element is a str


def _binary_bytes(raw: bytes, name: str) -> list[str]:
    elements: list[str] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise BadRequest(f"input {name}'s binary data ends inside an element's 4-byte length")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise BadRequest(f"input {name}'s element {len(elements)} says {length} bytes, past its binary data")
        try:
            elements.append(raw[offset : offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(f"input {name}'s element {len(elements)} is not UTF-8 text") from None
        offset += length
    return elements


def _read_outputs(raw: object) -> tuple[RequestedOutput, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadRequest(f'outputs must be a list of {{"name"}} objects, not {json_type_name(raw)}')
    outputs = []
    for index, output in enumerate(raw):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise BadRequest(f"outputs[{index}] must be an object with a name")
        binary = _parameters(output.get("parameters"), f"output {output['name']}'s parameters").get("binary_data")
        if binary is not None and not isinstance(binary, bool):
            raise BadRequest(f"output {output['name']}'s parameters.binary_data must be true or false")
        outputs.append(RequestedOutput(output["name"], binary))
    return tuple(outputs)


@dataclass(frozen=True)
class EncodedResponse:
    """A JSON document, or (when an output is binary) the body's bytes and where its JSON part ends."""

    document: dict[str, Any] | None
    body: bytes | None = None
    json_length: int = 0


def write_infer_response(
    head: dict[str, Any], outputs: Sequence[OutputTensor], request: InferRequest
) -> EncodedResponse:
    chunks: list[bytes] = []
    written = []
    for output in outputs:
        entry: dict[str, Any] = {"name": output.name, "datatype": output.datatype, "shape": list(output.shape)}
        if request.wants_binary(output.name):
            chunk = _binary_data(output)
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = (
                list(output.data)
                if output.datatype == "BYTES"
                else np.asarray(output.data, dtype=NUMPY_TYPES[output.datatype]).tolist()
            )
        written.append(entry)
    document = {**head, "outputs": written}
    if not chunks:
        return EncodedResponse(document)
    header = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return EncodedResponse(None, header + b"".join(chunks), len(header))


def _binary_data(output: OutputTensor) -> bytes:
    if output.datatype == "BYTES":
        encoded = [str(element).encode("utf-8") for element in output.data]
        return b"".join(struct.pack("<I", len(element)) + element for element in encoded)
    return np.asarray(output.data, dtype=NUMPY_TYPES[output.datatype]).tobytes()
