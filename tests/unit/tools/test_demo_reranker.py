"""demo-model --task text-ranking: a CrossEncoder directory with random weights, served as reranking with no setting."""

from __future__ import annotations

import json

from hf_serving.loading.source import has_random_weights
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import detect_task
from hf_serving.tools.demo_models import main


def test_demo_model_routes_text_ranking_to_a_cross_encoder_directory(tmp_path, capsys):
    out = tmp_path / "demo-reranker"
    assert main(["--task", "text-ranking", "--size", "tiny", "-o", str(out)]) == 0
    assert "cross-encoder with RANDOM weights" in capsys.readouterr().out
    saved = json.loads((out / "config_sentence_transformers.json").read_text())
    assert saved["model_type"] == "CrossEncoder" and saved["activation_fn"] == "torch.nn.modules.activation.Sigmoid"
    assert json.loads((out / "config.json").read_text())["id2label"] == {"0": "LABEL_0"}
    assert detect_task(out, None).task is Task.TEXT_RANKING and has_random_weights(out)
    assert all(path.stat().st_mode & 0o044 == 0o044 for path in out.rglob("*"))  # readable by the image's workers
