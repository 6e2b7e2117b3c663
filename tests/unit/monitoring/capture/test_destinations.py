"""Each destination for real: a temporary directory, moto's S3 server, a local HTTP sink."""

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hf_serving.monitoring.capture.cloudevents import REQUEST_TYPE, RESPONSE_TYPE, CloudEventsSink
from hf_serving.monitoring.capture.destinations import Layout, WriteFailed, describe, kind_of
from hf_serving.monitoring.capture.directory import DirectoryDestination
from hf_serving.monitoring.capture.exchange import Exchange, body, cut_to
from tests.support.missing import skip_or_fail
from tests.support.paths import ROOT
from tests.unit.monitoring.capture.sinks import EventSink

MOTO_SERVER = ROOT / ".venv-deploy" / "bin" / "moto_server"  # make install-deploy
LAYOUT = Layout("my-endpoint", "AllTraffic")
HOUR = 1_765_000_000.0  # 2025-12-06T05:46:40Z


def exchange(event_id: str, when: float = HOUR, **extra: object) -> Exchange:
    return Exchange(
        event_id,
        when,
        body(b'{"inputs": "fine"}', "application/json"),
        body(b'[{"label":"POSITIVE","score":0.9}]', "application/json"),
        **extra,
    )  # type: ignore[arg-type]


def test_the_directory_layout_is_sagemakers_one_file_per_flush_and_hour(tmp_path: Path):
    destination = DirectoryDestination(str(tmp_path), LAYOUT)
    assert destination.write([exchange("a"), exchange("b"), exchange("c", HOUR + 3600)]) == 3
    assert destination.write([exchange("d")]) == 1
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert [f.rsplit("/", 1)[0] for f in files] == ["my-endpoint/AllTraffic/2025/12/06/05"] * 2 + [
        "my-endpoint/AllTraffic/2025/12/06/06"
    ]
    assert all(f.endswith(".jsonl") and not f.rsplit("/", 1)[1].startswith(".") for f in files)
    ids = sorted(
        json.loads(line)["eventMetadata"]["eventId"] for f in files for line in (tmp_path / f).read_text().splitlines()
    )
    assert ids == ["a", "b", "c", "d"]


def test_an_unwritable_directory_fails_the_batch_and_leaves_no_partial_file(tmp_path: Path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    with pytest.raises(WriteFailed) as failed:
        DirectoryDestination(str(blocker), LAYOUT).write([exchange("a")])
    assert failed.value.written == 0
    assert [p.name for p in tmp_path.rglob("*")] == ["file-not-dir"]


def test_destinations_by_their_scheme_and_logged_without_credentials():
    assert kind_of("s3://bucket/prefix") == "s3"
    assert kind_of("https://sink.example/x") == "cloudevents"
    assert kind_of("/var/capture") == "directory"
    assert describe("https://user:secret@sink.example:8443/events?token=abc") == "https://sink.example:8443/events"
    assert describe("s3://bucket/prefix") == "s3://bucket/prefix"
    assert describe("/var/capture") == "/var/capture"


def test_the_sink_receives_kserves_two_cloudevents_per_exchange():
    with EventSink() as sink:
        destination = CloudEventsSink(sink.url, LAYOUT, "http://localhost:8080/")
        assert destination.write([exchange("req-9", inference_id="caller-1", model="sentiment")]) == 1
        assert destination.write([exchange("req-10")]) == 1  # on the kept-alive connection
        destination.close()
    (request_headers, request_body), (response_headers, response_body), (third, _), _ = sink.events
    assert request_body == b'{"inputs": "fine"}' and response_body == b'[{"label":"POSITIVE","score":0.9}]'
    for headers, kind in ((request_headers, REQUEST_TYPE), (response_headers, RESPONSE_TYPE)):
        assert headers["ce-type"] == kind
        assert headers["ce-specversion"] == "1.0" and headers["ce-id"] == "req-9"
        assert headers["ce-source"] == "http://localhost:8080/"
        assert headers["ce-time"] == "2025-12-06T05:46:40Z"
        assert headers["content-type"] == "application/json"
        assert headers["ce-inferenceservicename"] == "my-endpoint" and headers["ce-endpoint"] == "AllTraffic"
        assert headers["ce-component"] == "predictor"
        assert headers["ce-inferenceid"] == "caller-1" and headers["ce-targetmodel"] == "sentiment"
    assert third["ce-id"] == "req-10" and "ce-targetmodel" not in third


def test_a_cut_body_is_marked_on_its_event():
    with EventSink() as sink:
        big = Exchange("big", HOUR, body(b"x" * 3000, "text/csv"), body(b"1", "text/csv"))
        destination = CloudEventsSink(sink.url, LAYOUT, "src")
        destination.write([cut_to(big, 1000)])
        destination.close()
    (request_headers, request_body), (response_headers, _) = sink.events
    assert request_headers["ce-truncated"] == "true" and len(request_body) == 999
    assert "ce-truncated" not in response_headers


def test_a_sink_that_refuses_or_is_gone_fails_the_batch():
    with EventSink() as sink:
        sink.status = 503
        with pytest.raises(WriteFailed) as refused:
            CloudEventsSink(sink.url, LAYOUT, "src").write([exchange("a"), exchange("b")])
        assert refused.value.written == 0 and "503" in str(refused.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WriteFailed):
        CloudEventsSink(f"http://127.0.0.1:{port}/", LAYOUT, "src").write([exchange("a")])


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory):
    if not MOTO_SERVER.exists():
        skip_or_fail(f"{MOTO_SERVER} is missing (make deploy-test builds it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def test_s3_keys_follow_the_layout_under_the_prefix(moto_s3: str, monkeypatch: pytest.MonkeyPatch):
    boto3 = pytest.importorskip("boto3")
    from hf_serving.monitoring.capture.s3 import S3Destination

    for name, value in {
        "AWS_ENDPOINT_URL_S3": moto_s3,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket="captures")
    assert S3Destination("s3://captures/team/capture", LAYOUT).write([exchange("a"), exchange("b")]) == 2
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="captures")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("team/capture/my-endpoint/AllTraffic/2025/12/06/05/")
    assert keys[0].endswith(".jsonl")
    lines = client.get_object(Bucket="captures", Key=keys[0])["Body"].read().splitlines()
    assert [json.loads(line)["eventMetadata"]["eventId"] for line in lines] == ["a", "b"]
    with pytest.raises(WriteFailed):
        S3Destination("s3://no-such-bucket", LAYOUT).write([exchange("c")])
