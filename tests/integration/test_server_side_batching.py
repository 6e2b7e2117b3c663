"""Server-side batching through multi-model-server: shared model passes, right answers, no dead worker."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.integration.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

CONTEXT = "The container listens on port 8080. Requests go to /invocations as JSON, and answers come back."


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batching")
    running = Stack(model_dir_with_code(tmp), tmp / "serve.log", MODEL_SERVER_BATCH_SIZE="8",
                    MODEL_SERVER_MAX_BATCH_DELAY_MS="20").start()
    try:
        yield running.wait_ready()
    finally:
        running.kill_everything()


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
        assert response.json() == expected[i % 24]
    log = stack.log()
    assert "CorruptedFrameException" not in log and "worker process died" not in log.lower()
    assert max(batch_sizes(log)) > 1


def batch_sizes(log: str) -> list[int]:
    """MMS's PredictionTime metric line ends with the ids of the requests of that batch."""
    return [line.rsplit("#hostname:", 1)[1].count(",") - 1 for line in log.splitlines() if "PredictionTime" in line]
