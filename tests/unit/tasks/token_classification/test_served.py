"""The served model's records: JSON Lines and CSV through BatchedModel, tokens per record, results the response cache
can store."""

from __future__ import annotations

import json

from hf_serving.errors import BadRequest
from hf_serving.formats.records import decode_csv, decode_jsonlines, encode_json_list
from tests.unit.tasks.token_classification.parity import assert_same

TEXTS = ["Ada Lovelace met Charles Babbage in London.", "Zürich, 東京 and São Paulo 😀"]


def test_json_lines_records_each_answered_with_their_own_parameters_and_a_bad_one_alone(served_short, reference_short):
    lines = "".join(
        json.dumps(record) + "\n"
        for record in (
            {"inputs": TEXTS[0], "parameters": {"aggregation_strategy": "simple", "stride": 4}},
            {"inputs": TEXTS[1], "parameters": {"aggregation_strategy": "simple", "stride": 22}},  # past the window
            {"inputs": TEXTS, "parameters": {"aggregation_strategy": "first", "ignore_labels": []}},
            {"inputs": TEXTS[1], "parameters": {"aggregation": "simple"}},
        )
    )
    outcome = served_short.predict_records(decode_jsonlines(lines))
    first, too_long_a_stride, pair, unknown = outcome.results
    assert_same(first, reference_short(TEXTS[0], aggregation_strategy="simple", stride=4))
    assert isinstance(too_long_a_stride, BadRequest) and "parameters.stride" in too_long_a_stride.message
    assert_same(pair, reference_short(TEXTS, aggregation_strategy="first", ignore_labels=[]))
    assert isinstance(unknown, BadRequest) and "unknown parameters: aggregation" in unknown.message
    encoding = served_short.tagger.tokenizer(
        TEXTS, truncation=True, max_length=24, stride=4, return_overflowing_tokens=True
    )
    assert outcome.tokens is not None and outcome.tokens[0] == sum(
        len(ids)
        for ids, text in zip(encoding["input_ids"], encoding["overflow_to_sample_mapping"], strict=True)
        if text == 0
    )
    assert outcome.tokens[1] is None and outcome.tokens[3] is None


def test_csv_rows_are_texts_answered_as_lists_in_row_order(served, reference):
    outcome = served.predict_records(decode_csv(f'"Ada Lovelace, in London"\n"{TEXTS[1]}"\n'))
    assert_same(outcome.results, reference(["Ada Lovelace, in London", TEXTS[1]]))
    assert json.loads(encode_json_list(outcome.results)) == outcome.results  # Accept: application/json


def test_results_are_json_as_they_are_for_the_response_cache(served):
    [answer] = served.answer([TEXTS[1]], served.parse({"inputs": "x", "parameters": {"ignore_labels": []}}).parameters)
    stored = json.loads(json.dumps(served.encode_result(answer.result)))
    assert served.decode_result(stored) == answer.result and answer.tokens > 2
