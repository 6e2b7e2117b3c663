"""The worker's reads of multi-model-server's messages (serving/frontend_reads.py): the same messages as MMS's own
field-by-field reads, from a real socket, whatever the pieces the frontend's bytes arrive in."""

from __future__ import annotations

import importlib.util
import json
import random
import socket
import struct
import subprocess
import sys
import threading
from types import ModuleType

import pytest

from hf_serving.serving import frontend_reads


def fresh_mms_reader() -> ModuleType:
    """A copy of MMS's message module of its own, so that patching it touches no other test's (or worker's)."""
    spec = importlib.util.find_spec("mms.protocol.otf_message_handler")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def field(value: bytes) -> bytes:
    return struct.pack("!i", len(value)) + value


END = struct.pack("!i", -1)


def inference_message(requests: list[tuple[str, dict[str, str], bytes, str]]) -> bytes:
    """An inference message as the Java frontend writes it: per request its id, its headers and one input."""
    message = b"I"
    for request_id, headers, body, content_type in requests:
        message += field(request_id.encode())
        for name, value in headers.items():
            message += field(name.encode()) + field(value.encode())
        message += END
        message += field(b"body") + field(content_type.encode()) + field(body) + END
    return message + END


def load_message(name: str, path: str, batch_size: int, gpu: int) -> bytes:
    return (
        b"L"
        + field(name.encode())
        + field(path.encode())
        + struct.pack("!i", batch_size)
        + field(b"hf_serving.serving.handler_service:handle")
        + struct.pack("!i", gpu)
        + field(b"fd-1")
    )


def messages() -> list[bytes]:
    headers = {f"x-header-{i}": "v" * i for i in range(12)}
    big = json.dumps({"inputs": "word " * 40_000}).encode()  # several of the reader's 64 KB reads
    return [
        load_message("model", "/opt/ml/model", 8, -1),
        inference_message([("a" * 32, headers, b'{"inputs": "one"}', "application/json")]),
        inference_message(
            [
                ("b" * 32, headers, big, "application/json"),
                ("c" * 32, {}, b"plain text", "text/csv"),
                ("d" * 32, {"content-type": "application/octet-stream"}, bytes(range(256)), "application/x-npy"),
            ]
        ),
    ]


def send_in_pieces(sock: socket.socket, data: bytes, seed: int) -> None:
    pieces, rng, at = [], random.Random(seed), 0
    while at < len(data):
        size = rng.choice([1, 2, 3, 5, 17, 1000, 70_000])
        pieces.append(data[at : at + size])
        at += size
    for piece in pieces:
        sock.sendall(piece)
    sock.close()


def read_all(module: ModuleType, data: bytes, count: int, seed: int) -> list[tuple[bytes, object]]:
    """The `count` messages of `data`, sent through a socket pair in random pieces, as the module's retrieve_msg reads
    them; then the end of the connection as MMS's reader reports it."""
    reader, writer = socket.socketpair()
    sender = threading.Thread(target=send_in_pieces, args=(writer, data, seed))
    sender.start()
    try:
        read = [module.retrieve_msg(reader) for _ in range(count)]
        with pytest.raises(ValueError, match="Frontend disconnected"):
            module.retrieve_msg(reader)
        return read
    finally:
        sender.join()
        reader.close()


@pytest.mark.parametrize("seed", range(5))
def test_the_buffered_reads_give_what_mms_own_reads_give(seed):
    sent = messages()
    data = b"".join(sent)
    original, patched = fresh_mms_reader(), fresh_mms_reader()
    assert frontend_reads.install(patched)
    expected = read_all(original, data, len(sent), seed)
    assert read_all(patched, data, len(sent), seed) == expected
    [(load_cmd, load), (_, first), (_, batch)] = expected
    assert load_cmd == b"L" and load["batchSize"] == 8 and "gpu" not in load
    assert [r["requestId"] for r in batch] == [bytearray(b"b" * 32), bytearray(b"c" * 32), bytearray(b"d" * 32)]
    assert len(first[0]["headers"]) == 12 and first[0]["parameters"][0]["value"] == {"inputs": "one"}
    assert batch[1]["parameters"][0]["value"] == "plain text"
    assert batch[2]["parameters"][0]["value"] == bytearray(range(256))


def test_a_message_cut_short_is_a_disconnection_not_a_hang():
    module = fresh_mms_reader()
    assert frontend_reads.install(module)
    reader, writer = socket.socketpair()
    writer.sendall(messages()[1][:-9])
    writer.close()
    with pytest.raises(ValueError, match="Frontend disconnected"):
        module.retrieve_msg(reader)
    reader.close()


def test_a_reader_it_does_not_know_is_left_alone():
    module = fresh_mms_reader()

    def _retrieve_buffer(sock, size):  # another version's reader: other names, no recv
        return sock.read(size)

    module._retrieve_buffer = _retrieve_buffer
    assert not frontend_reads.install(module)
    assert module._retrieve_buffer is _retrieve_buffer


def test_installing_twice_is_installing_once():
    module = fresh_mms_reader()
    assert frontend_reads.install(module) and frontend_reads.install(module)
    assert module._retrieve_buffer is frontend_reads.read_exactly


def test_the_installed_multi_model_server_is_the_version_it_was_written_for():
    """In a process of its own, as a worker does it: MMS's module itself is patched (a new MMS would log why not)."""
    code = (
        "from hf_serving.serving import frontend_reads\n"
        "from mms.protocol import otf_message_handler as m\n"
        "print(frontend_reads.install(), m._retrieve_buffer is frontend_reads.read_exactly)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]
