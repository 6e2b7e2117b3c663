"""Server-side batching through multi-model-server: shared model passes, right answers, no dead worker."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.support import metrics
from tests.support.answers import same_answer
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

CONTEXT = "The container listens on port 8080. Requests go to /invocations as JSON, and answers come back."


def batching_stack(tmp_path_factory, name: str, batch_size: int, delay_ms: int):
    tmp = tmp_path_factory.mktemp(name)
    yield from Stack(
        model_dir_with_code(tmp),
        tmp / "serve.log",
        MODEL_SERVER_BATCH_SIZE=str(batch_size),
        MODEL_SERVER_MAX_BATCH_DELAY_MS=str(delay_ms),
    ).serving()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from batching_stack(tmp_path_factory, "batching", 8, 20)


def body(i: int) -> dict:
    return {"question": f"Question {i}: which port?", "context": CONTEXT}


def test_concurrent_requests_are_batched_answered_correctly_and_no_worker_dies(stack):
    bodies = [body(i) for i in range(24)]
    # Small responses one at a time first: MMS's Java side then reads the worker's socket in small
    # chunks, so the frames of the batches below arrive split, at many places.
    expected = [stack.invoke(b).json() for b in bodies] + [stack.invoke(b).json() for b in bodies]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda i: stack.invoke(bodies[i % 24], timeout=60), range(360)))
    assert [r.status_code for r in responses] == [200] * 360
    for i, response in enumerate(responses):
        assert same_answer(response.json(), expected[i % 24]), (response.json(), expected[i % 24])
    log = stack.log()
    assert "CorruptedFrameException" not in log and "worker process died" not in log.lower()
    assert batches_over(stack, 1) > 0


def batches_over(stack: Stack, size: int) -> float:
    """Batches of more than `size` requests the workers answered, from /metrics' histogram."""
    samples = metrics.scrape(stack.url)
    every = metrics.total(samples, "hf_serving_batch_requests_count")
    return every - metrics.total(samples, "hf_serving_batch_requests_bucket", le=f"{float(size)}")


@pytest.fixture(scope="module")
def no_delay(tmp_path_factory):
    yield from batching_stack(tmp_path_factory, "no-delay", 8, 0)


def test_without_a_batch_delay_a_busy_worker_still_gets_what_queued_meanwhile(no_delay):
    """MODEL_SERVER_MAX_BATCH_DELAY_MS=0: nothing waits for company, yet requests that queue while the worker is busy
    go together, up to the batch size. MMS's own Model ended every such batch at two (launcher/java/Model.java)."""
    bodies = [body(i) for i in range(24)]
    expected = [no_delay.invoke(b).json() for b in bodies]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda i: no_delay.invoke(bodies[i % 24], timeout=60), range(240)))
    assert [r.status_code for r in responses] == [200] * 240
    for i, response in enumerate(responses):
        assert same_answer(response.json(), expected[i % 24]), (response.json(), expected[i % 24])
    assert batches_over(no_delay, 2) > 0


@pytest.fixture(scope="module")
def large_batches(tmp_path_factory):
    yield from batching_stack(tmp_path_factory, "large-batches", 32, 50)


def test_batch_responses_longer_than_a_socket_read_keep_the_worker_alive(large_batches):
    """Batches of up to 32 answers of top_k 2-8 make frames of up to ~30 KB, which MMS may read in pieces.

    MMS's own decoder killed the worker when a piece ended inside a status code: seen on a 16-core GPU host
    with batches of 64. Whether a piece ends there depends on Netty's read sizes and timing, which this test
    does not control (here it passed without the fix too); tests/unit/test_mms_response_decoder.py shows the
    failure and the fix at every split point. This test checks the whole stack with the fix at large batches.
    """
    # Answers of different lengths, batched in varying company: the pieces end at ever different fields.
    bodies = [
        {
            "inputs": {"question": f"Question {i}: which port?", "context": CONTEXT * (1 + i % 4)},
            "parameters": {"top_k": 2 + i % 7},
        }
        for i in range(32)
    ]
    expected = [large_batches.invoke(b).json() for b in bodies]
    assert [len(answers) for answers in expected] == [2 + i % 7 for i in range(32)]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda i: large_batches.invoke(bodies[i % 32], timeout=60), range(640)))
    assert [r.status_code for r in responses] == [200] * 640
    for i, response in enumerate(responses):
        # Padded beside longer contexts, float32 scores move in the last digits; answers and offsets do not.
        got, alone = response.json(), expected[i % 32]
        assert [spans(answer) for answer in got] == [spans(answer) for answer in alone]
        assert [a["score"] for a in got] == pytest.approx([a["score"] for a in alone], rel=1e-4)
    log = large_batches.log()
    assert "DecoderException" not in log and "worker process died" not in log.lower()
    assert batches_over(large_batches, 8) > 0


def spans(answer: dict) -> tuple[str, int, int]:
    return answer["answer"], answer["start"], answer["end"]
