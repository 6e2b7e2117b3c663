"""How a worker's batch is taken from the queue, in Java: this container's Model (launcher/java/Model.java) against
MMS 1.1.11's own, each driven by tests/java/BatchPolling.java on a real Model object, and the replacement's public
members against the original's (the JVM loads it in the original's place, so nothing MMS calls may be missing)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hf_serving.launcher import mms, mms_fix
from tests.support.paths import ROOT

HARNESS = ROOT / "tests" / "java" / "BatchPolling.java"
MODEL_CLASS = "com/amazonaws/ml/mms/wlm/Model.class"


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("java")
    java, jar = mms.java_executable(), mms.model_server_jar()
    compiler = [java, "-m", "jdk.compiler/com.sun.tools.javac.Main", "-nowarn", "-cp", str(jar)]
    subprocess.run([*compiler, "-d", str(root / "harness"), str(HARNESS)], check=True, capture_output=True)
    return {"harness": root / "harness", "fixed": mms_fix.compile_into(root / "fixed", java, jar), "jar": jar}


def polled(classes: dict[str, Path], fixed: bool, tmp_path: Path) -> dict[str, str]:
    """The harness's lines with this container's Model first on the class path (`fixed`), or with MMS's own."""
    path = [classes["harness"], *([classes["fixed"]] if fixed else []), classes["jar"]]
    done = subprocess.run(
        [mms.java_executable(), "-cp", ":".join(map(str, path)), "BatchPolling"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the jar's logging configuration writes a logs/ folder there
        timeout=120,
    )
    # The jar's logging library may print a warning of its own first.
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if re.fullmatch(r"[a-z_]+=\S+", line))


@pytest.fixture(scope="module")
def ours(classes, tmp_path_factory) -> dict[str, str]:
    return polled(classes, True, tmp_path_factory.mktemp("ours"))


@pytest.fixture(scope="module")
def theirs(classes, tmp_path_factory) -> dict[str, str]:
    return polled(classes, False, tmp_path_factory.mktemp("theirs"))


def test_a_batch_is_what_is_queued_and_a_lone_request_waits_for_nothing(ours):
    found = ours
    assert found["queued_no_delay"] == "5"  # every request that came while the worker was busy
    assert (found["many_first"], found["many_second"]) == ("8", "4")  # never more than the batch size
    ids = [int(job.removeprefix("job-")) for job in found["many_in_order"].split(",")]
    assert ids == list(range(ids[0], ids[0] + 12))  # in the order they came, none lost or repeated
    assert found["alone_no_delay"] == "1"
    assert found["control"] == "1:true" and found["after_control"] == "1"


def test_a_lone_request_after_a_lone_request_waits_for_nothing(ours):
    found = ours
    assert found["lone"] == "1" and int(found["lone_ms"]) < 4_000  # its delay was 5 s


def test_after_a_batch_in_company_the_delay_gathers_and_a_full_batch_ends_it(ours):
    found = ours
    assert found["pair"] == "2"
    assert found["waited_alone"] == "1" and int(found["waited_ms"]) >= 300  # it waited the delay for company
    # The second request came at about 100 ms: the batch was full then, long before its 20 s delay.
    assert found["filled"] == "2" and int(found["filled_ms"]) < 10_000


def test_mms_own_model_ends_a_batch_at_two_without_a_delay_and_holds_a_lone_request(theirs):
    """Why the replacement exists: if MMS's Model ever passes these, it can go."""
    found = theirs
    assert found["queued_no_delay"] == "2"
    assert found["lone"] == "1" and int(found["lone_ms"]) >= 5_000
    assert found["many_first"] == "8" and found["filled"] == "2"


def public_members(class_path: Path | str, tmp_path: Path) -> list[str]:
    javap = [mms.java_executable(), "-m", "jdk.jdeps/com.sun.tools.javap.Main", "-public"]
    done = subprocess.run(
        [*javap, "-cp", str(class_path), "com.amazonaws.ml.mms.wlm.Model"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    return sorted(line.strip() for line in done.stdout.splitlines() if line.startswith("  "))


def test_the_replacement_has_every_public_member_of_mms_own(classes, tmp_path):
    ours, theirs = public_members(classes["fixed"], tmp_path), public_members(classes["jar"], tmp_path)
    assert "public void pollBatch(java.lang.String, long, java.util.Map<java.lang.String, " in " ".join(theirs)
    assert ours == theirs
