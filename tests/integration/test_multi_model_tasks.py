"""One multi-model endpoint, each model served with its own task, on the real stack: question answering, text
classification and fill-mask found from config.json, a token classifier whose model card agrees with its config.json,
and two ...ForSequenceClassification models that config.json alone would make text classifiers: an NLI model served
as zero-shot classification and a one-output model served as a reranker, because their model cards (README.md's
pipeline_tag) say so. HF_TASK is endpoint-wide and unset here: each model's own directory decides."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from transformers import pipeline

from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.model_parts import NER_LABELS
from tests.integration.test_multi_model import QA_BODY, invoke, load, running_mme
from tests.support.nli_models import assert_same_answers, tiny_nli
from tests.support.paths import TINY_QA

pytestmark = pytest.mark.integration

ZERO_SHOT_BODY = {
    "inputs": "The striker scored twice in the final.",
    "parameters": {"candidate_labels": ["sports", "politics", "cooking"]},
}
FILL_MASK_BODY = {"inputs": "Paris is the [MASK] of France."}
CLASSIFY_BODY = {"inputs": ["what a good film", "a dull evening"]}
NER_TEXT = "Maria Garcia lives in Berlin."
# Every token's group, "O" too: random weights may call every token "O", which the default would leave out.
NER_BODY = {"inputs": NER_TEXT, "parameters": {"aggregation_strategy": "simple", "ignore_labels": []}}
RERANK_BODY = {
    "inputs": {
        "query": "Which passage explains reranking?",
        "texts": ["A reranker scores each passage.", "The train leaves at noon.", "Café 東京 😀"],
    }
}
# As the Hub writes it into a snapshot of facebook/bart-large-mnli (its card's head).
NLI_CARD = """---
license: mit
pipeline_tag: zero-shot-classification
datasets:
- multi_nli
---

# A tiny NLI model

Random weights, for tests.
"""


@pytest.fixture(scope="module")
def nli(tmp_path_factory) -> Path:
    path = tiny_nli(tmp_path_factory.mktemp("nli-with-card"))
    (path / "README.md").write_text(NLI_CARD)
    return path


@pytest.fixture(scope="module")
def fill_mask(tmp_path_factory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-fill-mask"), Task.FILL_MASK, "tiny", seed=5)


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Path:
    """A token classifier with dslim/bert-base-NER's card head: the card and config.json agree."""
    path = build_model(tmp_path_factory.mktemp("tiny-ner"), Task.TOKEN_CLASSIFICATION, "tiny", NER_LABELS, seed=6)
    (path / "README.md").write_text("---\nlanguage: en\nlicense: mit\npipeline_tag: token-classification\n---\n")
    return path


@pytest.fixture(scope="module")
def reranker(tmp_path_factory) -> Path:
    """A one-output ...ForSequenceClassification, as transformers saves cross-encoder/ms-marco-MiniLM-L6-v2 (no
    CrossEncoder files), with that model's card head."""
    path = build_model(tmp_path_factory.mktemp("tiny-reranker"), Task.TEXT_CLASSIFICATION, "tiny", ("LABEL_0",), seed=8)
    (path / "README.md").write_text(
        "---\nlicense: apache-2.0\nlibrary_name: sentence-transformers\npipeline_tag: text-ranking\n---\n"
    )
    return path


@pytest.fixture(scope="module")
def models(nli, fill_mask, tagger, reranker, tiny_sentiment) -> dict[str, tuple[Path, str]]:
    """Each model's name on the endpoint: its directory and the task it must be served with."""
    return {
        "qa": (TINY_QA, "question-answering"),
        "classifier": (tiny_sentiment, "text-classification"),
        "fill-mask": (fill_mask, "fill-mask"),
        "ner": (tagger, "token-classification"),
        "nli": (nli, "zero-shot-classification"),
        "reranker": (reranker, "text-ranking"),
    }


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    yield from running_mme(tmp_path_factory.mktemp("mme-tasks"))


@pytest.fixture(scope="module")
def mme(endpoint, models):
    """The endpoint with every model loaded, one after the other, as SageMaker would on their first requests."""
    for name, (url, task) in models.items():
        loaded = load(endpoint, name, url)
        assert loaded.status_code == 200, loaded.text
        assert (loaded.json()["modelName"], loaded.json()["status"], loaded.json()["task"]) == (name, "ready", task)
    return endpoint


def test_each_model_is_described_with_its_own_task_and_the_log_says_what_decided_it(mme, models):
    for name, (_, task) in models.items():
        described = requests.get(f"{mme.url}/models/{name}", timeout=5)
        assert described.status_code == 200, described.text
        assert (described.json()["modelName"], described.json()["status"], described.json()["task"]) == (
            name,
            "ready",
            task,
        )
    listed = requests.get(f"{mme.url}/models", timeout=5).json()["models"]
    assert sorted(m["modelName"] for m in listed) == sorted(models)
    log = mme.log()
    assert "model 'nli': task zero-shot-classification (from README.md pipeline_tag)" in log
    assert "model 'classifier': task text-classification (from config.json architectures)" in log
    assert "model 'fill-mask': task fill-mask (from config.json architectures)" in log
    assert "model 'qa': task question-answering (from config.json architectures)" in log
    assert "model 'ner': task token-classification (from README.md pipeline_tag)" in log
    assert "model 'reranker': task text-ranking (from README.md pipeline_tag)" in log


def test_the_nli_model_answers_zero_shot_as_the_pipeline_does(mme, nli):
    response = invoke(mme, "nli", ZERO_SHOT_BODY)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"sequence", "labels", "scores"}
    assert answer["sequence"] == ZERO_SHOT_BODY["inputs"]
    assert sorted(answer["labels"]) == sorted(ZERO_SHOT_BODY["parameters"]["candidate_labels"])
    assert sum(answer["scores"]) == pytest.approx(1.0, abs=1e-5)
    reference = pipeline("zero-shot-classification", model=str(nli), device="cpu")
    assert_same_answers(answer, reference(ZERO_SHOT_BODY["inputs"], **ZERO_SHOT_BODY["parameters"]))


def test_the_one_output_model_reranks_the_texts(mme):
    response = invoke(mme, "reranker", RERANK_BODY)
    assert response.status_code == 200, response.text
    ranked = response.json()
    assert all(set(entry) == {"index", "score"} for entry in ranked)
    assert sorted(entry["index"] for entry in ranked) == [0, 1, 2]
    scores = [entry["score"] for entry in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 < score < 1 for score in scores)  # sigmoid, as TEI


def test_the_fill_mask_model_fills_the_mask(mme):
    response = invoke(mme, "fill-mask", FILL_MASK_BODY)
    assert response.status_code == 200, response.text
    answers = response.json()
    assert isinstance(answers, list) and len(answers) == 5  # the pipeline's default top_k
    for answer in answers:
        assert list(answer) == ["score", "token", "token_str", "sequence"]
        assert isinstance(answer["token"], int) and isinstance(answer["token_str"], str) and answer["token_str"]
        assert "[MASK]" not in answer["sequence"] and answer["sequence"].startswith("paris is the")
    scores = [answer["score"] for answer in answers]
    assert scores == sorted(scores, reverse=True)


def test_the_token_classifier_answers_entity_groups_with_offsets_into_the_text(mme):
    response = invoke(mme, "ner", NER_BODY)
    assert response.status_code == 200, response.text
    groups = response.json()
    assert groups and all(set(group) == {"entity_group", "score", "word", "start", "end"} for group in groups)
    assert {group["entity_group"] for group in groups} <= {"O", "PER", "LOC", "ORG"}
    ends = [0] + [group["end"] for group in groups]
    for group, previous_end in zip(groups, ends, strict=False):
        assert previous_end <= group["start"] < group["end"] <= len(NER_TEXT)  # in order, inside the text
        assert NER_TEXT[group["start"] : group["end"]].lower().replace(" ", "") == group["word"].replace(" ", "")


def test_the_classifier_and_the_qa_model_answer_their_own_requests(mme):
    labels = invoke(mme, "classifier", CLASSIFY_BODY)
    assert labels.status_code == 200, labels.text
    assert [set(row) for row in labels.json()] == [{"label", "score"}] * 2
    assert {row["label"] for row in labels.json()} <= {"NEGATIVE", "POSITIVE"}
    answer = invoke(mme, "qa", QA_BODY)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert set(found) == {"score", "start", "end", "answer"}
    assert QA_BODY["inputs"]["context"][found["start"] : found["end"]] == found["answer"] and found["answer"]


def test_a_zero_shot_request_to_the_text_classifier_is_a_400_naming_the_parameter(mme):
    response = invoke(mme, "classifier", ZERO_SHOT_BODY)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["request_id"]
    assert error["message"].startswith("unknown parameters: candidate_labels (accepted: ")


def test_a_request_of_another_task_is_a_400_for_the_zero_shot_model_and_it_keeps_answering(mme):
    response = invoke(mme, "nli", FILL_MASK_BODY)  # no candidate_labels
    assert response.status_code == 400, response.text
    assert "candidate_labels" in response.json()["error"]["message"]
    answered = invoke(mme, "nli", ZERO_SHOT_BODY)  # a 400 never costs a worker
    assert answered.status_code == 200, answered.text
