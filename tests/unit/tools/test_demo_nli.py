"""The demo NLI model: MNLI's labels, random weights marked, served as zero-shot classification."""

import json

from transformers import AutoConfig

from hf_serving.loading.source import has_random_weights
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import FoundBy, detect
from hf_serving.tasks.zero_shot.classifier import entailment_id
from hf_serving.tools.demo_models import main


def test_the_demo_nli_model_names_entailment_and_is_marked_random(tmp_path):
    out = tmp_path / "nli"
    assert main(["--task", "zero-shot-classification", "--size", "tiny", "-o", str(out)]) == 0
    config = AutoConfig.from_pretrained(out)
    assert config.architectures == ["DistilBertForSequenceClassification"]
    assert config.id2label == {0: "contradiction", 1: "neutral", 2: "entailment"}
    assert entailment_id(config) == 2
    assert has_random_weights(out)
    assert json.loads((out / "RANDOM_WEIGHTS").read_text())["task"] == "zero-shot-classification"
    assert all(oct(path.stat().st_mode)[-3:] == "644" for path in out.iterdir())
    # Its card names its task, as NLI models' cards on the Hub do: served as zero-shot with no HF_TASK.
    assert detect(out, None).spec.task is Task.ZERO_SHOT_CLASSIFICATION
    assert detect(out, None).found_by is FoundBy.MODEL_CARD
