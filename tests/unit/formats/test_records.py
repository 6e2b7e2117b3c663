import csv
import io

import pytest

from hf_serving.errors import BadRequest
from hf_serving.formats import records


def test_jsonlines_one_record_per_line_and_a_bad_line_becomes_its_own_error():
    batch = records.decode_jsonlines('{"a": 1}\n{broken\n[1, 2]\n')
    assert batch.format == "application/jsonlines"
    assert batch.records[0] == {"a": 1} and batch.records[2] == [1, 2]
    assert isinstance(batch.records[1], BadRequest)
    assert "line 2 is not valid JSON" in batch.records[1].message


def test_jsonlines_without_a_final_newline_and_with_a_blank_line():
    batch = records.decode_jsonlines('{"a": 1}\n\n{"b": 2}')
    assert len(batch.records) == 3
    assert isinstance(batch.records[1], BadRequest) and "line 2 is empty" in batch.records[1].message


def test_jsonlines_encoding_keeps_order_and_numbers_error_lines():
    body = records.encode_jsonlines([{"x": 1}, BadRequest("nope"), [{"y": 2}]])
    assert body.decode().splitlines() == [
        '{"x":1}',
        '{"error":{"code":"bad_request","message":"nope","line":2}}',
        '[{"y":2}]',
    ]


def test_csv_follows_rfc_4180_quoting():
    batch = records.decode_csv('q1,c1\r\n"q, with comma","c with ""quotes""\nand a newline"\n')
    assert batch.records == [["q1", "c1"], ["q, with comma", 'c with "quotes"\nand a newline']]


@pytest.mark.parametrize("text", ["", "\n\n", 'a,"unterminated\n'])
def test_csv_that_holds_no_rows_or_is_malformed_is_a_400(text):
    with pytest.raises(BadRequest):
        records.decode_csv(text)


def test_a_csv_field_may_be_larger_than_pythons_default_field_limit():
    context = "x" * 150 * 1024  # over the csv module's 131,072 characters
    batch = records.decode_csv(f'q,"{context}"\n')
    assert batch.records == [["q", context]]


def test_csv_encoding_one_row_per_result_object():
    body = records.encode_csv(
        [{"score": 0.5, "answer": "a, b"}, [{"label": "x", "score": 1}, {"label": "y", "score": 0}]]
    )
    assert body.decode() == '0.5,"a, b"\nx,1\ny,0\n'


def test_a_csv_cell_that_holds_a_list_or_an_object_is_json():
    body = records.encode_csv(
        [
            {"sequence": "Ça va", "labels": ["politics", "sports"], "scores": [0.75, 0.25]},
            [[{"token_str": "a"}], [{"token_str": "b"}]],
        ]
    )
    assert list(csv.reader(io.StringIO(body.decode()))) == [
        ["Ça va", '["politics","sports"]', "[0.75,0.25]"],
        ['{"token_str":"a"}'],
        ['{"token_str":"b"}'],
    ]
