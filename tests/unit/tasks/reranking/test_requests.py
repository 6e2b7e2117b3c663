"""The reranking request shapes: TEI's /rerank body and the {"inputs", "parameters"} envelope, errors, the limit."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.formats.records import csv_row_payload
from hf_serving.tasks.base import item_chars
from hf_serving.tasks.reranking.requests import (
    MAX_TEXTS,
    RERANK_PARAMETERS,
    Pair,
    Ranking,
    Scoring,
    parse_rerank_request,
)


def test_teis_body_and_the_envelope_parse_to_the_same_request():
    tei = parse_rerank_request(
        {
            "query": "q",
            "texts": ["a", "b"],
            "raw_scores": True,
            "return_text": True,
            "truncate": False,
            "truncation_direction": "Left",
        }
    )
    envelope = parse_rerank_request(
        {
            "inputs": {"query": "q", "texts": ["a", "b"]},
            "parameters": {"raw_scores": True, "return_text": True, "truncate": False, "truncation_direction": "left"},
        }
    )
    assert tei == envelope
    assert tei.items == [Pair("q", "a"), Pair("q", "b")] and tei.is_batch
    assert tei.parameters == Scoring(truncate=False, truncation_direction="left")
    assert tei.ranking == Ranking(raw_scores=True, return_text=True, top_n=None)


def test_one_text_may_be_a_string_as_a_csv_row_query_text_carries_it():
    assert parse_rerank_request({"query": "q", "texts": "a"}).items == [Pair("q", "a")]
    row = csv_row_payload(["q", "a, quoted"], ("query", "texts"))
    assert parse_rerank_request(row).items == [Pair("q", "a, quoted")]


def test_defaults_are_teis_with_truncation_on():
    request = parse_rerank_request({"inputs": {"query": "q", "texts": ["a"]}})
    assert request.parameters == Scoring(truncate=True, truncation_direction="right")
    assert parse_rerank_request({"query": "q", "texts": ["a"], "truncate": None}).parameters.truncate  # TEI's null
    assert request.ranking == Ranking(raw_scores=False, return_text=False, top_n=None)


def test_parameters_may_sit_beside_inputs_or_beside_the_tei_body_but_not_twice():
    beside = parse_rerank_request({"inputs": {"query": "q", "texts": ["a"]}, "top_n": 1})
    assert beside.ranking.top_n == 1
    mixed = parse_rerank_request({"query": "q", "texts": ["a"], "parameters": {"top_n": 2}, "return_text": True})
    assert mixed.ranking == Ranking(return_text=True, top_n=2)
    with pytest.raises(BadRequest, match="top_n given both at the top level and in parameters"):
        parse_rerank_request({"query": "q", "texts": ["a"], "top_n": 1, "parameters": {"top_n": 2}})


def test_the_scoring_parameters_alone_group_records_so_different_queries_and_rankings_share_model_passes():
    first = parse_rerank_request({"query": "q1", "texts": ["a"], "top_n": 1, "raw_scores": True})
    second = parse_rerank_request({"query": "q2", "texts": ["b"], "return_text": True})
    assert first.parameters == second.parameters and hash(first.parameters) == hash(second.parameters)
    assert item_chars(Pair("query", "text")) == 9  # a pair's text is both halves: the request is sliced by it


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("just text", 'send {"query": "...", "texts": ["..."]}'),
        ({"texts": ["a"]}, "query is missing"),
        ({"inputs": {"query": "q"}}, "texts is missing"),
        ({"parameters": {}}, "inputs is missing"),
        ({"query": "", "texts": ["a"]}, "query must be a non-empty string, not an empty string"),
        ({"query": 3, "texts": ["a"]}, "query must be a non-empty string, not number"),
        ({"query": "q", "texts": {"a": 1}}, "texts must be a list of strings, or one string, not object"),
        ({"query": "q", "texts": " "}, "texts must not be empty"),
        ({"query": "q", "texts": []}, "texts must not be an empty list"),
        ({"query": "q", "texts": ["a", 5]}, "texts[1] must be a string, not number"),
        ({"query": "q", "texts": ["a", "  "]}, "texts[1] must not be empty"),
        ({"inputs": ["q", "a"]}, "inputs must be an object"),
        ({"inputs": {"query": "q", "texts": ["a"], "documents": []}}, "unknown field(s) documents in inputs"),
        ({"query": "q", "texts": ["a"], "inputs": {}}, "unknown field(s) inputs"),
        ({"query": "q", "texts": ["a"], "documents": ["b"]}, "unknown field(s) documents"),
        ({"query": "q", "texts": ["a"], "parameters": []}, "parameters must be a JSON object, not array"),
        ({"query": "q", "texts": ["a"], "top_n": 0}, "parameters.top_n must be an integer >= 1, or null for every"),
        ({"query": "q", "texts": ["a"], "top_n": True}, "parameters.top_n must be an integer >= 1"),
        (
            {"query": "q", "texts": ["a"], "raw_scores": "yes"},
            "parameters.raw_scores must be true or false, not string",
        ),
        ({"query": "q", "texts": ["a"], "return_text": 1}, "parameters.return_text must be true or false"),
        ({"query": "q", "texts": ["a"], "truncate": "no"}, "parameters.truncate must be true or false, or null"),
        (
            {"query": "q", "texts": ["a"], "truncation_direction": "up"},
            "parameters.truncation_direction must be one of right, left",
        ),
        (
            {"inputs": {"query": "q", "texts": ["a"]}, "parameters": {"top_k": 2}},
            "unknown parameters: top_k (accepted: raw_scores, return_text, top_n, truncate, truncation_direction)",
        ),
        (
            {"inputs": {"query": "q", "texts": ["a"]}, "parameters": {"explain": True}},
            "parameters.explain: this task's answers have no explanations",
        ),
    ],
)
def test_bad_requests_are_400s_naming_the_field(body, fragment):
    with pytest.raises(BadRequest) as caught:
        parse_rerank_request(body)
    assert fragment in caught.value.message


def test_more_texts_than_the_limit_is_a_413_naming_it():
    assert len(parse_rerank_request({"query": "q", "texts": ["t"] * MAX_TEXTS}).items) == MAX_TEXTS
    with pytest.raises(PayloadTooLarge, match=f"texts holds 1,001 texts, over the {MAX_TEXTS:,} one request may rank"):
        parse_rerank_request({"query": "q", "texts": ["t"] * (MAX_TEXTS + 1)})


def test_the_declared_parameters_are_the_ones_the_parser_accepts_and_their_schema_says_so():
    schema = RERANK_PARAMETERS.schema()
    assert list(schema["properties"]) == ["raw_scores", "return_text", "top_n", "truncate", "truncation_direction"]
    assert schema["properties"]["truncate"]["default"] is True
    assert schema["properties"]["top_n"] == {
        "type": "integer",
        "minimum": 1,
        "nullable": True,
        "description": schema["properties"]["top_n"]["description"],
    }
    assert RERANK_PARAMETERS.top_level == tuple(schema["properties"])
