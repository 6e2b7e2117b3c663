"""The model's labels, read from its config.json at start (registry.read_model_facts), for the served description:
`explain_label` names one of them (an unknown label is a 400 of classifier.py)."""

from __future__ import annotations

from pathlib import Path

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import ModelFacts
from hf_serving.tasks.model_files import read_json

# transformers' PretrainedConfig: without id2label, num_labels labels named LABEL_0, LABEL_1, ... (2 by default).
DEFAULT_LABEL_COUNT = 2


def label_facts(model_dir: Path) -> ModelFacts:
    """The labels as the loaded config names them (config.id2label, by index); a config.json that is missing or says
    them wrongly is a ConfigurationError (the description then stays general; the worker's load names the problem)."""
    config = read_json(model_dir / "config.json", "the model's config")
    if not isinstance(config, dict):
        raise ConfigurationError("config.json does not hold a JSON object")
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        try:
            by_index = sorted((int(index), str(label)) for index, label in id2label.items())
        except ValueError:
            raise ConfigurationError("config.json's id2label has a key that is not an index") from None
        return ModelFacts(labels=tuple(label for _, label in by_index))
    count = config.get("num_labels", DEFAULT_LABEL_COUNT)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigurationError("config.json's num_labels is not a positive integer")
    return ModelFacts(labels=tuple(f"LABEL_{index}" for index in range(count)))
