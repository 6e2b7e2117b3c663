"""The buffer and its thread: flush on size, on time and at close; a full buffer or a failing destination drops and
counts, never raises."""

import threading
import time
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from hf_serving.monitoring.capture.counts import CaptureCounts
from hf_serving.monitoring.capture.exchange import Exchange, body
from hf_serving.monitoring.capture.writer import CaptureWriter

DEADLINE_S = 10.0


class Collecting:
    def __init__(self, gate: threading.Event | None = None, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.gate, self.fail = gate, fail

    def write(self, exchanges: Sequence[Exchange]) -> int:
        if self.gate is not None:
            self.gate.wait(DEADLINE_S)
        if self.fail:
            raise OSError("No space left on device")
        self.batches.append([e.event_id for e in exchanges])
        return len(exchanges)

    @property
    def ids(self) -> list[str]:
        return [i for batch in self.batches for i in batch]


def exchange(n: int) -> Exchange:
    return Exchange(f"r{n}", time.time(), body(b"{}", "application/json"), body(b"[]", "application/json"))


def count(model: str, result: str) -> float:
    return REGISTRY.get_sample_value("hf_serving_data_capture_records_total", {"model": model, "result": result}) or 0


def until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S} s: {what}")
        time.sleep(0.01)


def writer(destination: Collecting, model: str, capacity: int = 100, flush_s: float = 60.0) -> CaptureWriter:
    return CaptureWriter(lambda: destination, CaptureCounts(model, "test"), capacity, flush_s)


def test_a_batch_is_written_when_the_buffer_holds_half_its_capacity():
    destination = Collecting()
    w = writer(destination, "size", capacity=10)
    for n in range(5):
        assert w.offer(exchange(n))
    until(lambda: destination.ids == ["r0", "r1", "r2", "r3", "r4"], "a flush on size")
    w.close()
    assert count("size", "written") == 5


def test_a_lone_record_is_written_after_the_flush_interval():
    destination = Collecting()
    w = writer(destination, "time", flush_s=0.2)
    started = time.monotonic()
    w.offer(exchange(1))
    until(lambda: destination.ids == ["r1"], "a flush on time")
    assert time.monotonic() - started >= 0.15
    w.close()


def test_close_writes_what_is_left_and_nothing_is_taken_after():
    destination = Collecting()
    w = writer(destination, "close")
    for n in range(3):
        w.offer(exchange(n))
    w.close()
    assert destination.ids == ["r0", "r1", "r2"]
    assert not w.offer(exchange(9))
    w.close()  # twice: atexit and multiprocessing's finalizers both call it


def test_a_full_buffer_drops_and_counts_without_waiting():
    gate = threading.Event()
    destination = Collecting(gate)
    w = writer(destination, "full", capacity=4)
    taken = [w.offer(exchange(n)) for n in range(2)]  # half the capacity: the thread starts writing and blocks
    until(lambda: not w._pending, "the thread took the first batch")
    # The destination is held shut: were offer() to wait for it, these offers would never return
    offering = threading.Thread(target=lambda: taken.extend(w.offer(exchange(n)) for n in range(2, 10)))
    offering.start()
    offering.join(timeout=30)
    assert not offering.is_alive() and not gate.is_set()  # the request path never waits for the destination
    assert taken == [True] * 6 + [False] * 4
    assert count("full", "buffer_full") == 4
    gate.set()
    w.close()
    assert sorted(destination.ids) == [f"r{n}" for n in range(6)]
    assert count("full", "written") == 6


def test_a_failing_destination_counts_the_batch_and_logs_once(caplog: pytest.LogCaptureFixture):
    w = writer(Collecting(fail=True), "failing")
    for n in range(3):
        w.offer(exchange(n))
    w.flush()
    w.offer(exchange(4))
    w.close()
    assert count("failing", "write_failed") == 4 and count("failing", "written") == 0
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], warnings


def test_a_destination_that_cannot_be_opened_counts_as_failed():
    def broken():
        raise ValueError("no bucket")

    w = CaptureWriter(broken, CaptureCounts("unopened", "test"), 10, 60.0)
    w.offer(exchange(1))
    w.close()
    assert count("unopened", "write_failed") == 1


def test_past_its_bytes_the_buffer_drops_like_a_full_one(monkeypatch: pytest.MonkeyPatch):
    from hf_serving.monitoring.capture import writer as writer_module

    monkeypatch.setattr(writer_module, "BUFFER_BYTES", 10)  # two exchanges of 4 bytes fit, the third does not
    destination = Collecting()
    w = writer(destination, "bytes", capacity=100)
    assert [w.offer(exchange(n)) for n in range(3)] == [True, True, False]
    w.close()
    assert destination.ids == ["r0", "r1"] and count("bytes", "buffer_full") == 1
