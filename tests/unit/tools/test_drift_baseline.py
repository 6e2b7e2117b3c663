"""python -m hf_serving drift-baseline (tools/drift_baseline.py) with the real trained sentiment classifier
(build/demo-sentiment-trained), in this process: from a texts file, and from SageMaker data-capture records of the
same texts and the answers the model gave them, which must give the same profile (one outcome extraction, the
server's); what it skips, counted; a multi-model baseline built one model at a time."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hf_serving.__main__ import main
from hf_serving.monitoring.drift import profile as profiles
from hf_serving.monitoring.drift.profile import TOKEN_BINS, Histogram
from tests.support.paths import ROOT
from tests.support.sentiment_texts import opinions

TEXTS = opinions(40, positive=0.25, seed=11)


@pytest.fixture(scope="module")
def sentiment(request) -> Path:
    """build/demo-sentiment-trained, or the same classifier trained for this session where it was not built."""
    built = ROOT / "build" / "demo-sentiment-trained"
    return built if (built / "config.json").exists() else request.getfixturevalue("trained_sentiment")


@pytest.fixture(scope="module")
def served(sentiment):
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import Settings

    return load_served_model(sentiment, Settings(model_dir=sentiment))


@pytest.fixture
def loaded_once(served, monkeypatch):
    """The module's model for every run after the first test's: a load is seconds."""
    from hf_serving.loading import loader

    monkeypatch.setattr(loader, "load_served_model", lambda model_dir, settings: served)


def answered(served, texts: list[str]) -> list[dict]:
    return served.predict({"inputs": texts})


def texts_file(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps(text) + "\n" for text in texts))
    return path


def record(content_type: str, sent: bytes, answered_body: bytes, base64_bodies: bool = False, **metadata) -> dict:
    def part(body: bytes, mode: str, out_type: str) -> dict:
        if base64_bodies:
            return {
                "observedContentType": out_type,
                "mode": mode,
                "data": base64.b64encode(body).decode(),
                "encoding": "BASE64",
            }
        return {
            "observedContentType": out_type,
            "mode": mode,
            "data": body.decode(),
            "encoding": "CSV" if out_type == "text/csv" else "JSON",
        }

    return {
        "captureData": {
            "endpointInput": part(sent, "INPUT", content_type),
            "endpointOutput": part(answered_body, "OUTPUT", content_type),
        },
        "eventMetadata": {"eventId": "e", "inferenceTime": "2026-12-07T14:00:00Z", **metadata},
        "eventVersion": "0",
    }


def run(*args: object) -> int:
    return main(["drift-baseline", *(str(arg) for arg in args)])


def test_a_texts_file_is_run_through_the_model(sentiment, served, tmp_path, capsys):
    out = tmp_path / "baseline.json"
    assert run(texts_file(tmp_path / "texts.jsonl", TEXTS), out, "--model", sentiment) == 0
    ((name, profile),) = profiles.read(out).items()
    assert name == "model" and profile.task == "text-classification"
    assert set(profile.model_labels or ()) == {"NEGATIVE", "POSITIVE"}
    answers = answered(served, TEXTS)
    expected_classes: dict[str, int] = {}
    for answer in answers:
        expected_classes[answer["label"]] = expected_classes.get(answer["label"], 0) + 1
    assert profile.items == len(TEXTS) and profile.classes == expected_classes
    assert profile.classes.get("POSITIVE", 0) == 10  # the model knows its words: a quarter of them
    confidence_bins = Histogram(profile.confidence.bins, ())
    expected_confidences = [0] * len(profile.confidence.bins)
    for answer in answers:
        expected_confidences[confidence_bins.index(answer["score"])] += 1
    assert list(profile.confidence.counts) == expected_confidences
    token_bins = Histogram(TOKEN_BINS, ())
    expected_tokens = [0] * len(TOKEN_BINS)
    for text in TEXTS:
        expected_tokens[token_bins.index(len(served.tokenizer(text)["input_ids"]))] += 1
    assert list(profile.tokens.counts) == expected_tokens
    assert profile.source["kind"] == "texts" and profile.source["records"] == len(TEXTS)
    printed = capsys.readouterr().out
    assert f"model model (text-classification): {len(TEXTS)} items from {len(TEXTS)} lines of texts in" in printed
    assert "  classes: NEGATIVE 75.0%, POSITIVE 25.0%\n" in printed
    filled = [
        f"{low:g}-{high:g}: {count}"
        for low, high, count in zip(TOKEN_BINS, TOKEN_BINS[1:], expected_tokens, strict=False)
        if count
    ]
    assert f"  tokens: {', '.join(filled)}\n" in printed
    assert f"wrote {out}" in printed


def test_capture_records_of_the_same_traffic_give_the_same_profile(sentiment, served, loaded_once, tmp_path):
    from_texts = tmp_path / "from-texts.json"
    assert run(texts_file(tmp_path / "texts.jsonl", TEXTS), from_texts, "--model", sentiment) == 0
    hour = tmp_path / "capture" / "endpoint" / "AllTraffic" / "2026" / "12" / "07" / "14"
    hour.mkdir(parents=True)
    first, batch, lines = TEXTS[0], TEXTS[1:20], TEXTS[20:]
    records = [
        # a lone text, as JSON: its answer is a list of one
        record(
            "application/json", json.dumps({"inputs": first}).encode(), json.dumps(answered(served, [first])).encode()
        ),
        # a batch as JSON, bodies in BASE64
        record(
            "application/json",
            json.dumps({"inputs": batch}).encode(),
            json.dumps(answered(served, batch)).encode(),
            base64_bodies=True,
        ),
        # JSON Lines, one text a record
        record(
            "application/jsonlines",
            "".join(json.dumps({"inputs": text}) + "\n" for text in lines).encode(),
            "".join(json.dumps(served.predict({"inputs": text})) + "\n" for text in lines).encode(),
        ),
        # skipped, and counted: CSV, a record cut for size, another model's
        record("text/csv", b"a text\n", b"POSITIVE,0.9\n"),
        record("application/json", b"{}", b"{}", truncated=True),
        record(
            "application/json",
            json.dumps({"inputs": first}).encode(),
            json.dumps(answered(served, [first])).encode(),
            targetModel="another",
        ),
    ]
    (hour / "capture-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    (hour / "capture-2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[3:]))
    from_capture = tmp_path / "from-capture.json"
    assert run(tmp_path / "capture", from_capture, "--model", sentiment) == 0
    texts_profile = profiles.read(from_texts)["model"]
    capture_profile = profiles.read(from_capture)["model"]
    assert capture_profile.items == texts_profile.items == len(TEXTS)
    assert capture_profile.classes == texts_profile.classes
    assert capture_profile.confidence == texts_profile.confidence
    assert capture_profile.tokens == texts_profile.tokens
    assert capture_profile.source["kind"] == "data capture"
    assert capture_profile.source["skipped"] == {
        "text/csv records": 1,
        "records cut for size": 1,
        "records of other models": 1,
    }


def test_a_multi_model_baseline_is_built_one_model_at_a_time(sentiment, loaded_once, tmp_path, capsys):
    out = tmp_path / "baseline.json"
    source = texts_file(tmp_path / "texts.jsonl", TEXTS[:8])
    assert run(source, out, "--model", sentiment, "--name", "sentiment") == 0
    assert run(source, out, "--model", sentiment, "--name", "reviews") == 0
    assert sorted(profiles.read(out)) == ["reviews", "sentiment"]
    assert "(kept the profiles of sentiment)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no record"),
        ("7\n", "a texts file holds JSON strings or request objects"),
        ("{broken\n", "is not JSON"),
    ],
)
def test_a_source_it_cannot_read_is_refused_saying_where(sentiment, loaded_once, tmp_path, capsys, content, message):
    source = tmp_path / "source.jsonl"
    source.write_text(content)
    assert run(source, tmp_path / "out.json", "--model", sentiment) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
