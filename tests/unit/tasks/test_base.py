import pytest

from hf_serving.errors import BadRequest
from hf_serving.formats.records import RecordBatch
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

GOOD = {"question": "Which port?", "context": "The container listens on port 8080. " * 20}


@pytest.fixture(scope="module")
def model():
    return load_served_model(TINY_QA, Settings(model_dir=TINY_QA, dtype="float32"))


def test_records_sharing_parameters_run_together_and_match_single_requests(model):
    second = {"question": "Where?", "context": "Requests go to the invocations route."}
    results = model.predict_records(RecordBatch("application/jsonlines", [GOOD, second])).results
    alone = [model.predict(GOOD), model.predict(second)]
    # The same answers and offsets; the scores to float32's precision: on some CPUs (a Xeon with AMX, seen here) a
    # padded batch of two and a single row take different kernels, which differ in the last bits.
    assert [{k: v for k, v in r.items() if k != "score"} for r in results] == [
        {k: v for k, v in r.items() if k != "score"} for r in alone
    ]
    assert [r["score"] for r in results] == pytest.approx([r["score"] for r in alone], rel=1e-5)


def test_one_record_the_tokenizer_refuses_does_not_fail_the_others(model):
    parameters = {"max_seq_len": 48, "doc_stride": 16}
    too_long = {"inputs": {"question": "why " * 60, "context": "a long context " * 30}, "parameters": parameters}
    good = {"inputs": GOOD, "parameters": parameters}
    results = model.predict_records(RecordBatch("application/jsonlines", [good, too_long, good])).results
    assert results[0] == results[2] == model.predict(good)
    assert isinstance(results[1], BadRequest)
    with pytest.raises(BadRequest):
        model.predict(too_long)


def test_csv_rows_must_have_two_columns_and_errors_name_the_row(model):
    with pytest.raises(BadRequest, match="row 2: a row must have 2 columns: question,context"):
        model.predict_records(RecordBatch("text/csv", [["q", "c"], ["only one"]]))
    results = model.predict_records(RecordBatch("text/csv", [[GOOD["question"], GOOD["context"]]])).results
    assert results == [model.predict(GOOD)]


def test_a_request_is_answered_in_slices_of_text_in_order(model, monkeypatch):
    from hf_serving.tasks import base

    questions = [f"Which port, {n}?" for n in range(5)]
    monkeypatch.setattr(base, "SLICE_CHARS", 2 * len(questions[0] + GOOD["context"]))
    calls = []
    original = model.answer

    def counted(items, parameters):
        calls.append(len(items))
        return original(items, parameters)

    monkeypatch.setattr(model, "answer", counted)
    together = model.predict({"inputs": [{"question": q, "context": GOOD["context"]} for q in questions]})
    assert calls == [2, 2, 1]  # two items' text per call
    monkeypatch.setattr(base, "SLICE_CHARS", 10**9)
    assert together == model.predict({"inputs": [{"question": q, "context": GOOD["context"]} for q in questions]})


def test_a_record_over_the_per_record_limit_is_a_413_in_its_place_and_the_others_are_answered(model, monkeypatch):
    from hf_serving.errors import PayloadTooLarge
    from hf_serving.tasks import base

    monkeypatch.setattr(base, "RECORD_CHARS", 1000)
    huge = {"question": "Which port?", "context": "word " * 300}
    results = model.predict_records(RecordBatch("application/jsonlines", [GOOD, huge, GOOD])).results
    assert results[0] == results[2] == model.predict(GOOD)
    assert isinstance(results[1], PayloadTooLarge)
    assert results[1].message == "a record's text is 1,511 characters, over the 1,000 one record may hold"


def test_an_items_text_counts_its_strings_and_its_tuples_of_strings():
    from hf_serving.tasks.base import item_chars
    from hf_serving.tasks.question_answering.answerer import QAInput
    from hf_serving.tasks.sentence_embeddings.requests import SimilarityQuery

    assert item_chars("héllo") == 5
    assert item_chars(QAInput(question="why?", context="because")) == 11
    assert item_chars(SimilarityQuery("source", ("one", "three"))) == 14  # sentences count: batches slice by them
    assert item_chars(42) == 0
