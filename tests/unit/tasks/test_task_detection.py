"""Which task a model directory is served as, and what decided it: HF_TASK, else the directory's layout, else its
model card's pipeline_tag (README.md), else config.json's architectures; a tag this container cannot serve the
model with is ignored, and the reason shows in the banner or in the refusal."""

import json
import shutil
from pathlib import Path

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.launcher.banner import found_by
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import FoundBy, detect, detect_task
from tests.support.paths import TINY_QA, minilm


def model_dir(tmp_path: Path, architectures: list[str] | None, tag: str | None = None) -> Path:
    """A config.json naming these architectures (none: no key), and a Hub card naming this pipeline_tag."""
    (tmp_path / "config.json").write_text(json.dumps({} if architectures is None else {"architectures": architectures}))
    if tag is not None:
        (tmp_path / "README.md").write_text(f"---\nlicense: mit\npipeline_tag: {tag}\n---\n\n# A model\n")
    return tmp_path


@pytest.mark.parametrize(
    ("architectures", "tag", "task"),
    [
        (["BartForSequenceClassification"], "zero-shot-classification", Task.ZERO_SHOT_CLASSIFICATION),  # an NLI model
        (["DistilBertForSequenceClassification"], "text-classification", Task.TEXT_CLASSIFICATION),
        (["DistilBertForSequenceClassification"], "sentiment-analysis", Task.TEXT_CLASSIFICATION),  # any of our names
        (["BertForMaskedLM"], "fill-mask", Task.FILL_MASK),
        (["BertForTokenClassification"], "token-classification", Task.TOKEN_CLASSIFICATION),  # dslim/bert-base-NER
        # cross-encoder/ms-marco-MiniLM-L6-v2 as transformers saves it (no CrossEncoder files): a plain one-output model
        (["DistilBertForQuestionAnswering"], "question-answering", Task.QUESTION_ANSWERING),
        (["BertModel"], "feature-extraction", Task.FEATURE_EXTRACTION),
        (["BertModel"], "sentence-similarity", Task.SENTENCE_EMBEDDINGS),  # the Hub's name for embedding models
        (["BertForSequenceClassification"], "sentence-similarity", Task.SENTENCE_EMBEDDINGS),  # a bare encoder fits all
        ([], "feature-extraction", Task.FEATURE_EXTRACTION),
    ],
)
def test_a_card_s_pipeline_tag_names_the_task_when_it_names_one_served_here(tmp_path, architectures, tag, task):
    detection = detect(model_dir(tmp_path, architectures, tag), None)
    assert (detection.spec.task, detection.found_by, detection.ignored_tag) == (task, FoundBy.MODEL_CARD, None)
    assert found_by(detection) == "from README.md pipeline_tag"


def test_hf_task_comes_before_the_card(tmp_path):
    nli = model_dir(tmp_path, ["BartForSequenceClassification"], "zero-shot-classification")
    detection = detect(nli, "text-classification")
    assert (detection.spec.task, detection.found_by) == (Task.TEXT_CLASSIFICATION, FoundBy.HF_TASK)
    assert found_by(detection) == "HF_TASK"


def test_the_card_comes_before_the_architectures_and_without_one_the_architectures_decide(tmp_path):
    nli = model_dir(tmp_path, ["BartForSequenceClassification"], "zero-shot-classification")
    assert detect_task(nli, None).task is Task.ZERO_SHOT_CLASSIFICATION
    (nli / "README.md").unlink()
    detection = detect(nli, None)
    assert (detection.spec.task, detection.found_by) == (Task.TEXT_CLASSIFICATION, FoundBy.ARCHITECTURES)
    assert found_by(detection) == "from config.json architectures"


@pytest.mark.parametrize("tag", ["feature-extraction", "text-classification", "fill-mask", "sentence-similarity"])
def test_a_sentence_transformers_layout_comes_before_the_card(tmp_path, tag):
    """The Hub tags many sentence-transformers models feature-extraction (its inference API pools them): the tag
    must not turn the sentence embeddings a user deployed into token vectors."""
    shutil.copytree(minilm(), tmp_path / "model")
    (tmp_path / "model" / "README.md").write_text(
        f"---\nlibrary_name: sentence-transformers\npipeline_tag: {tag}\n---\n"
    )
    detection = detect(tmp_path / "model", None)
    assert (detection.spec.task, detection.found_by) == (Task.SENTENCE_EMBEDDINGS, FoundBy.LAYOUT)
    assert found_by(detection) == "from the sentence-transformers layout, modules.json"
    assert detect_task(minilm(), None).task is Task.SENTENCE_EMBEDDINGS  # its own card: sentence-similarity


def test_a_cross_encoder_layout_comes_before_a_stale_card(tmp_path):
    """Older cross-encoder cards say text-classification; the CrossEncoder's own files say it reranks."""
    from hf_serving.tools.demo_reranker import build_reranker

    reranker = build_reranker(tmp_path / "cross-encoder", size="tiny", seed=3)
    (reranker / "README.md").write_text("---\nlicense: apache-2.0\npipeline_tag: text-classification\n---\n")
    detection = detect(reranker, None)
    assert (detection.spec.task, detection.found_by) == (Task.TEXT_RANKING, FoundBy.LAYOUT)
    assert found_by(detection) == "from the sentence-transformers CrossEncoder layout"


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("text-generation", "'text-generation' ignored: a generative task, not a task this container serves"),
        ("translation_en_to_fr", "'translation_en_to_fr' ignored: a generative task, not a task this container serves"),
        ("image-classification", "'image-classification' ignored: not a task this container serves"),
        (
            "question-answering",
            "'question-answering' ignored: config.json architectures "
            "['DistilBertForSequenceClassification'] have no ForQuestionAnswering head for it",
        ),
        (
            "fill-mask",
            "'fill-mask' ignored: config.json architectures ['DistilBertForSequenceClassification'] have no "
            "ForMaskedLM head for it",
        ),
    ],
)
def test_a_tag_that_cannot_be_served_is_ignored_and_the_banner_says_why(tmp_path, tag, reason):
    detection = detect(model_dir(tmp_path, ["DistilBertForSequenceClassification"], tag), None)
    assert (detection.spec.task, detection.found_by) == (Task.TEXT_CLASSIFICATION, FoundBy.ARCHITECTURES)
    assert detection.ignored_tag == f"README.md pipeline_tag {reason}"
    assert found_by(detection) == f"from config.json architectures; README.md pipeline_tag {reason}"


@pytest.mark.parametrize(
    ("architectures", "tag", "fragment"),
    [
        (
            ["GPT2LMHeadModel"],
            "text-generation",
            "; README.md pipeline_tag 'text-generation' ignored: a generative task, not a task this container serves",
        ),
        (
            ["BertModel"],
            "zero-shot-classification",
            "; README.md pipeline_tag 'zero-shot-classification' ignored: "
            "config.json architectures ['BertModel'] have no "
            "ForSequenceClassification head for it",
        ),
        (
            None,
            "token-classification-of-the-future",
            "; README.md pipeline_tag 'token-classification-of-the-future' ignored: not a task this container serves",
        ),
    ],
)
def test_when_nothing_decides_the_refusal_says_why_the_tag_did_not(tmp_path, architectures, tag, fragment):
    with pytest.raises(ConfigurationError) as caught:
        detect(model_dir(tmp_path, architectures, tag), None)
    message = str(caught.value)
    assert message.startswith("cannot tell the task from config.json architectures") and message.endswith(fragment)
    assert "\n" not in message


@pytest.mark.parametrize(
    "card",
    [
        "# No front matter\n\npipeline_tag: zero-shot-classification\n",
        "---\npipeline_tag: [zero-shot-classification\n---\n",
        "---\nlicense: mit\n---\n",
    ],
)
def test_a_card_without_a_readable_tag_leaves_the_decision_to_the_architectures(tmp_path, card):
    directory = model_dir(tmp_path, ["BartForSequenceClassification"])
    (directory / "README.md").write_text(card)
    detection = detect(directory, None)
    assert (detection.spec.task, detection.found_by, detection.ignored_tag) == (
        Task.TEXT_CLASSIFICATION,
        FoundBy.ARCHITECTURES,
        None,
    )


def test_a_card_does_not_excuse_a_missing_config(tmp_path):
    (tmp_path / "README.md").write_text("---\npipeline_tag: fill-mask\n---\n")
    with pytest.raises(ConfigurationError, match=r"has no config\.json"):
        detect(tmp_path, None)


def test_the_qa_fixture_without_a_card_is_still_found_by_its_architectures():
    detection = detect(TINY_QA, None)
    assert (detection.spec.task, detection.found_by, detection.ignored_tag) == (
        Task.QUESTION_ANSWERING,
        FoundBy.ARCHITECTURES,
        None,
    )


def test_a_text_ranking_card_on_a_one_output_classifier_makes_it_a_reranker(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"architectures": ["BertForSequenceClassification"], "id2label": {"0": "LABEL_0"}})
    )
    (tmp_path / "README.md").write_text("---\npipeline_tag: text-ranking\n---\n# a reranker\n")
    found = detect(tmp_path, None)
    assert found.spec.task is Task.TEXT_RANKING and found.found_by is FoundBy.MODEL_CARD


def test_a_text_ranking_card_on_a_model_of_several_labels_is_ignored_it_is_a_pair_classifier(tmp_path):
    """sentence-transformers writes a card tagged text-ranking for an NLI cross-encoder of three labels too."""
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["BertForSequenceClassification"],
                "id2label": {"0": "contradiction", "1": "entailment", "2": "neutral"},
            }
        )
    )
    (tmp_path / "README.md").write_text("---\npipeline_tag: text-ranking\n---\n# an NLI cross-encoder\n")
    found = detect(tmp_path, None)
    assert found.spec.task is Task.TEXT_CLASSIFICATION and found.found_by is FoundBy.ARCHITECTURES
    assert found.ignored_tag == (
        "README.md pipeline_tag 'text-ranking' ignored: a reranker has one output, this model "
        "3 labels (a pair classifier)"
    )
