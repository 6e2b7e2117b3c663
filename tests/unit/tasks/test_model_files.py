"""A model directory's files read without loading it (tasks/model_files.py), as the served description is told of
the model (registry.read_model_facts): its prompts' names, its width, and its tokenizer's vocabulary size, which is
the loaded tokenizer's len() (protocols/token_ids.py bounds ids by it)."""

from __future__ import annotations

import json
import shutil

import transformers

from hf_serving.tasks.base import ModelFacts, Task
from hf_serving.tasks.model_files import tokenizer_vocabulary
from hf_serving.tasks.registry import TASKS, read_model_facts
from tests.support.paths import minilm

EMBEDDINGS, QA = TASKS[Task.SENTENCE_EMBEDDINGS], TASKS[Task.QUESTION_ANSWERING]


def layout_of_minilm(tmp_path):
    """all-MiniLM-L6-v2's files without its weights: what the facts are read from."""
    for path in minilm().iterdir():
        if path.is_dir():
            shutil.copytree(path, tmp_path / path.name)
        elif path.suffix in (".json", ".txt"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_vocabulary_is_the_loaded_tokenizers_length_and_the_width_the_vectors():
    vocabulary = len(transformers.AutoTokenizer.from_pretrained(minilm()))
    assert tokenizer_vocabulary(minilm()) == vocabulary
    assert read_model_facts(EMBEDDINGS, minilm()) == ModelFacts(prompt_names=(), vocabulary=vocabulary, width=384)


def test_the_prompts_names_are_the_models_sorted(tmp_path):
    model_dir = layout_of_minilm(tmp_path)
    config = {"prompts": {"query": "query: ", "document": None}, "default_prompt_name": None}
    (model_dir / "config_sentence_transformers.json").write_text(json.dumps(config), encoding="utf-8")
    assert read_model_facts(EMBEDDINGS, model_dir).prompt_names == ("document", "query")


def test_a_task_without_prompts_says_nothing_of_them():
    assert read_model_facts(QA, minilm()) == ModelFacts(vocabulary=30522)


def test_files_that_do_not_say_leave_the_facts_unknown(tmp_path):
    model_dir = layout_of_minilm(tmp_path)
    (model_dir / "tokenizer.json").unlink()
    assert read_model_facts(EMBEDDINGS, model_dir) == ModelFacts(prompt_names=(), width=384)
    (model_dir / "config_sentence_transformers.json").write_text('{"prompts": ["query"]}', encoding="utf-8")
    assert read_model_facts(EMBEDDINGS, model_dir) == ModelFacts()  # the worker's load names the problem


def test_a_classifiers_labels_are_its_configs_in_index_order_or_transformers_defaults(tmp_path):
    classification = TASKS[Task.TEXT_CLASSIFICATION]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"id2label": {"1": "POSITIVE", "0": "NEGATIVE", "10": "MIXED"}}), encoding="utf-8")
    assert read_model_facts(classification, tmp_path).labels == ("NEGATIVE", "POSITIVE", "MIXED")
    config.write_text(json.dumps({"num_labels": 3}), encoding="utf-8")
    assert read_model_facts(classification, tmp_path).labels == ("LABEL_0", "LABEL_1", "LABEL_2")
    config.write_text("{}", encoding="utf-8")
    assert read_model_facts(classification, tmp_path).labels == ("LABEL_0", "LABEL_1")
    config.write_text(json.dumps({"id2label": {"first": "A"}}), encoding="utf-8")
    assert read_model_facts(classification, tmp_path) == ModelFacts()  # the worker's load names the problem
