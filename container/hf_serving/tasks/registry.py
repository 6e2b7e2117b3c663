"""The task table: which tasks this container serves, and how a model directory names its task.

Adding a task is one package under tasks/ (its requests, its algorithm, its served model) and one row here.
The loader, the launcher's banner, the packaging checks and HF_TASK's accepted values all read this table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import ModelFacts, Task, TaskSpec
from hf_serving.tasks.feature_extraction.served import FeatureExtractionModel
from hf_serving.tasks.fill_mask.requests import FILL_MASK_PARAMETERS, parse_fill_mask_request
from hf_serving.tasks.fill_mask.served import FillMaskModel
from hf_serving.tasks.model_card import read_pipeline_tag
from hf_serving.tasks.model_files import tokenizer_vocabulary
from hf_serving.tasks.question_answering.answerer import PARAMETERS as QA_PARAMETERS
from hf_serving.tasks.question_answering.requests import parse_qa_request
from hf_serving.tasks.question_answering.served import QuestionAnsweringModel
from hf_serving.tasks.reranking.layout import is_cross_encoder_dir, not_a_reranker
from hf_serving.tasks.reranking.requests import RERANK_PARAMETERS, parse_rerank_request
from hf_serving.tasks.reranking.served import RerankingModel
from hf_serving.tasks.sentence_embeddings.layout import is_sentence_transformers_dir, transformer_dir
from hf_serving.tasks.sentence_embeddings.requests import (
    EMBEDDINGS_PARAMETERS,
    SIMILARITY_PARAMETERS,
    parse_embeddings_request,
)
from hf_serving.tasks.sentence_embeddings.served import SentenceEmbeddingsModel, layout_facts
from hf_serving.tasks.text_classification.labels import label_facts
from hf_serving.tasks.text_classification.requests import CLASSIFICATION_PARAMETERS, parse_classification_request
from hf_serving.tasks.text_classification.served import TextClassificationModel
from hf_serving.tasks.text_inputs import parse_plain_text_request
from hf_serving.tasks.token_classification.requests import SPEC as TOKEN_CLASSIFICATION_PARAMETERS
from hf_serving.tasks.token_classification.requests import parse_token_classification_request
from hf_serving.tasks.token_classification.served import TokenClassificationModel
from hf_serving.tasks.zero_shot.requests import ZERO_SHOT_PARAMETERS, parse_zero_shot_request
from hf_serving.tasks.zero_shot.served import ZeroShotModel

TASKS: dict[Task, TaskSpec] = {
    spec.task: spec
    for spec in (
        TaskSpec(
            Task.QUESTION_ANSWERING,
            names=("question-answering",),
            architecture_suffixes=("ForQuestionAnswering",),
            auto_model="AutoModelForQuestionAnswering",
            output_names=("start_logits", "end_logits"),
            csv_columns=("question", "context"),
            parse_request=parse_qa_request,
            served_model=QuestionAnsweringModel,
            explainable=True,
            parameters=QA_PARAMETERS,
        ),
        TaskSpec(
            Task.TEXT_CLASSIFICATION,
            names=("text-classification", "sentiment-analysis"),
            architecture_suffixes=("ForSequenceClassification",),
            auto_model="AutoModelForSequenceClassification",
            output_names=("logits",),
            csv_columns=("text",),
            parse_request=parse_classification_request,
            served_model=TextClassificationModel,
            explainable=True,
            parameters=CLASSIFICATION_PARAMETERS,
            layout_facts=label_facts,
        ),
        # A sentence-transformers directory (modules.json) names this task itself; HF_TASK names it for a plain
        # encoder, which is then mean-pooled as sentence-transformers does. It answers sentence similarity too (the
        # Hub's and Hugging Face's toolkit's name for the task of such models).
        TaskSpec(
            Task.SENTENCE_EMBEDDINGS,
            names=("sentence-embeddings", "sentence-similarity"),
            architecture_suffixes=(),
            auto_model="AutoModel",
            output_names=("last_hidden_state",),
            csv_columns=("text",),
            parse_request=parse_embeddings_request,
            served_model=SentenceEmbeddingsModel,
            weights_dir=transformer_dir,
            owns_directory=is_sentence_transformers_dir,
            parameters=EMBEDDINGS_PARAMETERS,
            more_parameters=(SIMILARITY_PARAMETERS,),
            layout_facts=layout_facts,
        ),
        # The transformers pipeline's per-token hidden states (AWS's Hugging Face toolkit serves this task).
        TaskSpec(
            Task.FEATURE_EXTRACTION,
            names=("feature-extraction",),
            architecture_suffixes=(),
            auto_model="AutoModel",
            output_names=("last_hidden_state",),
            csv_columns=("text",),
            parse_request=parse_plain_text_request,
            served_model=FeatureExtractionModel,
            weights_dir=transformer_dir,
        ),
        TaskSpec(
            Task.FILL_MASK,
            names=("fill-mask",),
            architecture_suffixes=("ForMaskedLM",),
            auto_model="AutoModelForMaskedLM",
            output_names=("logits",),
            csv_columns=("text",),
            parse_request=parse_fill_mask_request,
            served_model=FillMaskModel,
            parameters=FILL_MASK_PARAMETERS,
            reads_masks_only=True,
        ),
        # An NLI model (...ForSequenceClassification) is a text classifier unless HF_TASK names this task.
        TaskSpec(
            Task.ZERO_SHOT_CLASSIFICATION,
            names=("zero-shot-classification",),
            architecture_suffixes=(),
            auto_model="AutoModelForSequenceClassification",
            output_names=("logits",),
            csv_columns=("text", "candidate_labels"),
            parse_request=parse_zero_shot_request,
            served_model=ZeroShotModel,
            parameters=ZERO_SHOT_PARAMETERS,
        ),
        # Named entities and other per-token tags; "ner" is the pipeline's and AWS's alias.
        TaskSpec(
            Task.TOKEN_CLASSIFICATION,
            names=("token-classification", "ner"),
            architecture_suffixes=("ForTokenClassification",),
            auto_model="AutoModelForTokenClassification",
            output_names=("logits",),
            csv_columns=("text",),
            parse_request=parse_token_classification_request,
            served_model=TokenClassificationModel,
            parameters=TOKEN_CLASSIFICATION_PARAMETERS,
        ),
        # A sentence-transformers CrossEncoder directory of one output names this task itself; HF_TASK names it for a
        # plain one-output ...ForSequenceClassification (TEI's SageMaker container reranks with those).
        TaskSpec(
            Task.TEXT_RANKING,
            names=("text-ranking", "sentence-ranking", "rerank"),
            architecture_suffixes=(),
            auto_model="AutoModelForSequenceClassification",
            output_names=("logits",),
            csv_columns=("query", "texts"),
            parse_request=parse_rerank_request,
            served_model=RerankingModel,
            owns_directory=is_cross_encoder_dir,
            parameters=RERANK_PARAMETERS,
            misfit=not_a_reranker,
        ),
    )
}

ALIASES = {name: spec.task for spec in TASKS.values() for name in spec.names}


def parameter_schemas() -> dict[str, dict[str, Any]]:
    """Every task's parameters as OpenAPI schemas, by their names under components.schemas (api_docs/spec.py)."""
    declared = [spec.parameters for spec in TASKS.values() if spec.parameters is not None]
    declared += [more for spec in TASKS.values() for more in spec.more_parameters]
    return {parameters.schema_name: parameters.schema() for parameters in declared}


def read_model_facts(spec: TaskSpec, model_dir: Path) -> ModelFacts:
    """What the served description tells of the model beyond its task (api_docs/spec.py), read from its files at
    start without loading it: its prompts' names and width, or its labels (the task's layout_facts, where it has
    one), and its tokenizer's vocabulary. Files that say it wrongly leave it unknown (the description then stays
    general): the worker's load names the problem."""
    try:
        facts = spec.layout_facts(model_dir) if spec.layout_facts is not None else ModelFacts()
        return replace(facts, vocabulary=tokenizer_vocabulary(spec.weights_dir(model_dir)))
    except ConfigurationError:
        return ModelFacts()


def read_config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist: the model directory has no config.json") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigurationError(f"{path} does not hold a JSON object")
    return config


# HF_TASK values of AWS's toolkit that generate text: served by vLLM/TGI-class servers, never by this container.
GENERATIVE_TASKS = ("text-generation", "text2text-generation", "summarization", "translation")


def task_named(name: str) -> Task:
    """The task HF_TASK names; a ConfigurationError of one line listing the served names when it names none."""
    key = name.strip().lower()
    task = ALIASES.get(key)
    if task is None:
        generative = key in GENERATIVE_TASKS or key.startswith("translation_")  # the pipeline's translation_en_to_fr
        why = " (a generative task: serve it with a vLLM or TGI-class server)" if generative else ""
        raise ConfigurationError(
            f"HF_TASK={name!r} is not supported{why}: this container serves {', '.join(sorted(ALIASES))}"
        )
    return task


# The Hub's pipeline tags for our tasks that HF_TASK spells otherwise (every name in ALIASES is a Hub tag already).
HUB_TAGS = {"sentence-similarity": Task.SENTENCE_EMBEDDINGS}


class FoundBy(Enum):
    """What decided a model's task, in the words of the launcher's banner and the multi-model log."""

    HF_TASK = "HF_TASK"
    LAYOUT = "the directory's layout"
    MODEL_CARD = "README.md pipeline_tag"
    ARCHITECTURES = "config.json architectures"


@dataclass(frozen=True)
class Detection:
    spec: TaskSpec
    found_by: FoundBy
    ignored_tag: str | None = None  # why the card's pipeline_tag, when it has one, did not decide


def detect_task(model_dir: Path, forced: str | None) -> TaskSpec:
    return detect(model_dir, forced).spec


def detect(model_dir: Path, forced: str | None) -> Detection:
    """HF_TASK when set, else the task the directory's layout names, else the one its model card's pipeline_tag
    names (README.md), else the one config.json's architectures imply.

    The layout comes before the card: a sentence-transformers directory is the library's own recipe for the model,
    and the Hub tags many of them `feature-extraction` (its inference API pools them): the tag would serve token
    vectors where the user deployed sentence embeddings. The card comes before the architectures: an NLI model is a
    ...ForSequenceClassification whose card says zero-shot-classification.
    """
    if forced is not None:
        return Detection(TASKS[task_named(forced)], FoundBy.HF_TASK)
    for spec in TASKS.values():
        if spec.owns_directory(model_dir):
            return Detection(spec, FoundBy.LAYOUT)
    config = read_config(model_dir)
    architectures = config.get("architectures") or []
    from_architectures = _task_of_architectures(architectures)
    tag = read_pipeline_tag(model_dir)
    ignored = None
    if tag is not None:
        tagged, ignored = _task_of_tag(tag, config, architectures, from_architectures)
        if tagged is not None:
            return Detection(tagged, FoundBy.MODEL_CARD)
    if from_architectures is not None:
        return Detection(from_architectures, FoundBy.ARCHITECTURES, ignored)
    served = ", ".join(f"...{suffix}" for spec in TASKS.values() for suffix in spec.architecture_suffixes)
    raise ConfigurationError(
        f"cannot tell the task from config.json architectures {architectures!r}: this container serves {served} "
        f"models, sentence-transformers directories (embeddings, or a CrossEncoder: reranking) and models whose "
        f"README.md names a pipeline_tag it serves; set HF_TASK to force one "
        f"({', '.join(sorted(ALIASES))})" + (f"; {ignored}" if ignored else "")
    )


def _task_of_architectures(architectures: list[object]) -> TaskSpec | None:
    for architecture in architectures:
        for spec in TASKS.values():
            if isinstance(architecture, str) and architecture.endswith(spec.architecture_suffixes):
                return spec
    return None


def _task_of_tag(
    tag: str, config: dict[str, Any], architectures: list[object], from_architectures: TaskSpec | None
) -> tuple[TaskSpec | None, str | None]:
    """The task the card's tag names, or why it is ignored: a task this container does not serve, or one whose
    head the checkpoint does not have (transformers would load a random head in its place, and warn only)."""
    task = ALIASES.get(tag) or HUB_TAGS.get(tag)
    if task is None:
        generative = tag in GENERATIVE_TASKS or tag.startswith("translation")
        return None, (
            f"README.md pipeline_tag {tag!r} ignored: "
            f"{'a generative task, ' if generative else ''}not a task this container serves"
        )
    spec = TASKS[task]
    # A bare encoder (AutoModel) loads from any checkpoint of its family; a head only from one that has that head.
    if spec.auto_model == "AutoModel" or (
        from_architectures is not None and from_architectures.auto_model == spec.auto_model
    ):
        misfit = spec.misfit(config)
        return (spec, None) if misfit is None else (None, f"README.md pipeline_tag {tag!r} ignored: {misfit}")
    return None, (
        f"README.md pipeline_tag {tag!r} ignored: config.json architectures {architectures!r} have no "
        f"{spec.auto_model.removeprefix('AutoModel')} head for it"
    )
