"""The request kinds of issue 27's encoder tasks and fill-mask (bench/payloads.py): their sizes with the demo models'
tokenizer, the bodies every server gets, and the answer check, on answers that transformers' own pipelines and
sentence-transformers' CrossEncoder give on tiny models built here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import payloads

NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
NLI_LABELS = ("contradiction", "neutral", "entailment")


def _tiny_config(tokenizer, **extra):
    from transformers import DistilBertConfig

    from hf_serving.tools.demo_models import SIZES

    size = SIZES["tiny"]
    return DistilBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        dim=size.dim,
        n_layers=size.n_layers,
        n_heads=size.n_heads,
        hidden_dim=size.hidden_dim,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """A tiny token classifier, NLI classifier, one-logit cross-encoder and masked LM with the demo models'
    vocabulary."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import (
        DistilBertForMaskedLM,
        DistilBertForSequenceClassification,
        DistilBertForTokenClassification,
    )

    from hf_serving.tools.demo_models import build_tokenizer

    tokenizer, root = build_tokenizer(), tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    dirs = {"ner": root / "ner", "nli": root / "nli", "rerank": root / "rerank", "mlm": root / "mlm"}
    for name, model_class, labels in (
        ("ner", DistilBertForTokenClassification, NER_LABELS),
        ("nli", DistilBertForSequenceClassification, NLI_LABELS),
    ):
        config = _tiny_config(
            tokenizer, id2label=dict(enumerate(labels)), label2id={label: index for index, label in enumerate(labels)}
        )
        model_class(config).save_pretrained(dirs[name])
        tokenizer.save_pretrained(dirs[name])
    plain = root / "rerank-plain"
    DistilBertForSequenceClassification(_tiny_config(tokenizer, num_labels=1)).save_pretrained(plain)
    tokenizer.save_pretrained(plain)
    CrossEncoder(str(plain), device="cpu").save(str(dirs["rerank"]))
    DistilBertForMaskedLM(_tiny_config(tokenizer)).save_pretrained(dirs["mlm"])
    tokenizer.save_pretrained(dirs["mlm"])
    return dirs


def test_the_task_kinds_have_their_sizes_and_every_server_gets_the_same_body(tiny_models):
    kinds = payloads.build(tiny_models)  # check_token_counts raises if a text left its size class
    assert set(kinds) == {"ner128", "zsl5", "rerank20", "fill60"}
    ner, zsl, rerank = kinds["ner128"], kinds["zsl5"], kinds["rerank20"]
    assert 120 <= ner.tokens <= 136 and ner.texts == 1
    assert json.loads(ner.body) == {"inputs": payloads.NEWS, "parameters": {"aggregation_strategy": "simple"}}
    assert zsl.texts == 5 and json.loads(zsl.body) == {
        "inputs": payloads.REVIEW,
        "parameters": {"candidate_labels": list(payloads.ZERO_SHOT_LABELS)},
    }
    assert rerank.texts == 20 and all(60 <= length <= 90 for length in rerank.lengths)
    assert json.loads(rerank.body) == {"query": payloads.QUESTION, "texts": list(payloads.RERANK_PASSAGES)}
    fill = kinds["fill60"]
    text = json.loads(fill.body)["inputs"]
    assert 55 <= fill.tokens <= 70 and text.count("[MASK]") == 1
    assert text.replace("[MASK]", payloads.MASKED_WORD) == payloads.REVIEW


def test_the_pipelines_own_answers_pass_the_check_and_other_shapes_do_not(tiny_models):
    from sentence_transformers import CrossEncoder
    from transformers import pipeline

    kinds = payloads.build(tiny_models)
    ner, zsl, rerank = kinds["ner128"], kinds["zsl5"], kinds["rerank20"]

    entities = pipeline("token-classification", model=str(tiny_models["ner"]), aggregation_strategy="simple")(
        payloads.NEWS
    )
    entities = json.loads(json.dumps(entities, default=float))  # as a server sends it
    assert entities and payloads.valid_response(ner, entities)
    assert payloads.valid_response(ner, [])  # random weights may tag nothing
    assert not payloads.valid_response(ner, [{"label": "PER", "score": 0.5}])
    assert not payloads.valid_response(ner, {"entity_group": "PER"})

    answer = pipeline("zero-shot-classification", model=str(tiny_models["nli"]))(
        payloads.REVIEW, candidate_labels=list(payloads.ZERO_SHOT_LABELS)
    )
    assert payloads.valid_response(zsl, answer) and payloads.valid_response(zsl, [answer])
    assert not payloads.valid_response(zsl, {**answer, "labels": answer["labels"][:4], "scores": answer["scores"][:4]})
    assert not payloads.valid_response(zsl, [{"label": "price", "score": 0.9}])

    ranked = CrossEncoder(str(tiny_models["rerank"]), device="cpu").rank(
        payloads.QUESTION, list(payloads.RERANK_PASSAGES)
    )
    tei = [{"index": int(row["corpus_id"]), "score": float(row["score"])} for row in ranked]
    assert payloads.valid_response(rerank, tei)
    assert not payloads.valid_response(rerank, tei[:19])  # a text left out
    assert not payloads.valid_response(rerank, [*tei[:19], tei[0]])  # a text twice
    assert not payloads.valid_response(rerank, [row["score"] for row in tei])  # bare scores

    fill = kinds["fill60"]
    proposals = pipeline("fill-mask", model=str(tiny_models["mlm"]))(json.loads(fill.body)["inputs"])
    proposals = json.loads(json.dumps(proposals, default=float))
    assert payloads.valid_response(fill, proposals)
    assert not payloads.valid_response(fill, proposals[:4])  # top_k is 5
    assert not payloads.valid_response(fill, [proposals])  # the shape of several masks
    assert not payloads.valid_response(fill, [{"label": "x", "score": 0.5}] * 5)
