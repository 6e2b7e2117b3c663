"""MMS's Java side decoding our worker's responses: its own decoder fails on split reads, the fixed one never does.

A real batch response is made by the worker's handle() and MMS's own Python encoder, then decoded in Java by
tests/java/DecoderSplits.java whole and split in two at every byte, as a socket read may split it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from mms.protocol.otf_message_handler import create_predict_response

from hf_serving.launcher import mms, mms_fix
from hf_serving.serving import handler_service
from tests.support.mms_worker import USER_CODE, mms_context, parse_frame
from tests.support.paths import ROOT

HARNESS = ROOT / "tests" / "java" / "DecoderSplits.java"


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> dict[str, Path]:
    """The harness, and the fixed decoder, compiled against MMS's jar."""
    root = tmp_path_factory.mktemp("java")
    java, jar = mms.java_executable(), mms.model_server_jar()
    subprocess.run(
        [
            java,
            "-m",
            "jdk.compiler/com.sun.tools.javac.Main",
            "-nowarn",
            "-cp",
            str(jar),
            "-d",
            str(root / "harness"),
            str(HARNESS),
        ],
        check=True,
        capture_output=True,
    )
    return {"harness": root / "harness", "fixed": mms_fix.compile_into(root / "fixed", java, jar), "jar": jar}


def batch_frame(code_dir: Path, tmp_path: Path) -> Path:
    """A response to 24 requests: answers, bad requests, and a header set by a user's output_fn."""
    code_dir.mkdir()
    (code_dir / "inference.py").write_text(USER_CODE)
    context = mms_context(24)
    good = json.dumps(
        {
            "inputs": {
                "question": "Which port does it listen on?",
                "context": "The container listens on port 8080. " * 8,
            },
            "parameters": {"top_k": 3},
        }
    ).encode()
    bodies = [b"{broken" if index % 5 == 2 else good for index in range(24)]
    handler_service.handle(None, context)
    responses = handler_service.handle([{"body": body} for body in bodies], context)
    frame = bytes(create_predict_response(responses, context.request_ids, "Prediction success", 200, context))
    path = tmp_path / "frame.bin"
    path.write_bytes(frame)
    return path


def decode_splits(classes: dict[str, Path], frame: Path, fixed: bool) -> tuple[list[str], dict[int, str]]:
    path = [classes["harness"], *([classes["fixed"]] if fixed else []), classes["jar"]]
    out = frame.with_suffix(".decoded")
    # cwd: the jar's logging configuration writes a logs/ folder there.
    subprocess.run(
        [mms.java_executable(), "-cp", ":".join(map(str, path)), "DecoderSplits", str(frame), str(out)],
        check=True,
        capture_output=True,
        cwd=frame.parent,
    )
    whole, _, splits = out.read_text().partition("\n--\n")
    results = dict(line.split(" ", 1) for line in splits.splitlines())
    return whole.splitlines(), {int(split): result for split, result in results.items()}


def test_the_fixed_decoder_decodes_every_split_of_a_batch_response(worker, tmp_path, classes):
    frame = batch_frame(worker, tmp_path)
    whole, splits = decode_splits(classes, frame, fixed=True)
    expected = parse_frame(frame.read_bytes())
    assert whole[:2] == ["200", "Prediction success"]
    assert len(whole) == 2 + 24
    for line, prediction in zip(whole[2:], expected, strict=True):
        request_id, content_type, status, phrase, headers, body = line.split("|", 5)
        assert (request_id, content_type, int(status), phrase) == (
            prediction["request_id"],
            prediction["content_type"],
            prediction["status"],
            prediction["phrase"],
        )
        # Every response has a header map now (Server-Timing), an answer also the user's header.
        assert ("X-Amzn-SageMaker-Custom-Attributes=seen" in headers) == (status == "200")
        assert re.search(r"Server-Timing=tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, encode;dur=[0-9.]+", headers)
        assert body == prediction["body"].decode()
    assert [p["status"] for p in expected].count(400) == 5
    assert len(splits) == frame.stat().st_size - 1
    assert {result for result in splits.values()} == {"SAME"}


def test_mms_own_decoder_kills_the_worker_on_some_splits(worker, tmp_path, classes):
    """Why the fix exists: if MMS's decoder ever passes this, the fix can go."""
    frame = batch_frame(worker, tmp_path)
    whole, splits = decode_splits(classes, frame, fixed=False)
    assert len(whole) == 2 + 24  # whole, it decodes fine
    failures = [split for split, result in splits.items() if result.startswith("ERR")]
    assert failures, "MMS's own decoder handled every split"
    # A status code cut in two (IndexOutOfBoundsException, wrapped), a header cut in two (CorruptedFrameException).
    assert {splits[split] for split in failures} <= {"ERR DecoderException", "ERR CorruptedFrameException"}
    assert all(result in ("SAME", "NONE") for split, result in splits.items() if split not in failures)


def test_the_launcher_puts_the_fixed_decoder_first_on_the_class_path(tmp_path):
    command = mms.java_command(tmp_path, "")
    class_path = command[command.index("-cp") + 1].split(":")
    assert mms_fix.is_current(Path(class_path[0]))
    assert (Path(class_path[0]) / "com/amazonaws/ml/mms/util/codec/ModelResponseDecoder.class").is_file()
    assert class_path[-1].endswith("frontend/*")


def test_without_a_prebuilt_copy_the_launcher_compiles_one(tmp_path, monkeypatch):
    monkeypatch.setattr(mms_fix, "PREBUILT", tmp_path / "missing")
    fixed = mms_fix.class_dir_for(tmp_path / "runtime", mms.java_executable(), mms.model_server_jar())
    assert fixed == tmp_path / "runtime" / "mms-fix"
    assert mms_fix.is_current(fixed)


def test_a_java_that_cannot_compile_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(mms_fix, "PREBUILT", tmp_path / "missing")
    with pytest.raises(mms_fix.MmsFixError, match="could not run"):
        mms_fix.class_dir_for(tmp_path, str(tmp_path / "no-java"), mms.model_server_jar())
