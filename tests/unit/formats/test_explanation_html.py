"""The page an explain request gets with Accept: text/html: every token in order, shaded by sign, nothing fetched."""

from __future__ import annotations

import re

import pytest

from hf_serving.errors import NotAcceptable
from hf_serving.formats import explanation_html
from hf_serving.serving.default_hooks import output_fn


def _target(name, tokens, output="softmax score"):
    return {
        "target": name,
        "output": output,
        "value": 0.9,
        "baseline_value": 0.4,
        "delta": 0.0002,
        "steps": 64,
        "converged": True,
        "tokens": tokens,
    }


CLASSIFIED = [
    {
        "label": "NEGATIVE",
        "score": 0.99,
        "explanation": {
            "method": "integrated_gradients",
            "baseline": "[PAD]",
            "targets": [
                _target(
                    "NEGATIVE",
                    [
                        {"token": "The", "start": 0, "end": 3, "attribution": 0.01},
                        {"token": "<b>hotel</b>", "start": 4, "end": 16, "attribution": -0.2},
                        {"token": "awful", "start": 21, "end": 26, "attribution": 0.8},
                    ],
                )
            ],
        },
    }
]
ANSWERED = {
    "answer": "1936",
    "score": 0.99,
    "start": 3,
    "end": 7,
    "explanation": {
        "method": "integrated_gradients",
        "baseline": "[PAD]",
        "targets": [
            _target(
                "start",
                [
                    {"token": "year", "field": "question", "start": 9, "end": 13, "attribution": 12.0},
                    {"token": "In", "field": "context", "start": 0, "end": 2, "attribution": 0.5},
                    {"token": "1936", "field": "context", "start": 3, "end": 7, "attribution": 4.0},
                ],
                "start logit",
            )
        ],
    },
}


TOKEN = re.compile(r'<span class="t (up|down)[^"]*" style="background: rgba\([^)]*\)" title="([^"]+)">([^<]*)</span>')


def _tokens(page: str) -> list[tuple[str, str, str]]:
    return TOKEN.findall(page)


def test_every_token_is_shown_in_order_shaded_by_sign_with_its_value_and_escaped():
    page = explanation_html.render(CLASSIFIED).decode()
    assert _tokens(page) == [
        ("up", "+0.01", "The"),
        ("down", "-0.2", "&lt;b&gt;hotel&lt;/b&gt;"),
        ("up", "+0.8", "awful"),
    ]
    assert "Text 1: NEGATIVE (score 0.99)" in page and "softmax score 0.9, baseline 0.4" in page
    assert "<b>" not in page


def test_question_answering_shows_each_field_and_marks_the_answer():
    page = explanation_html.render(ANSWERED).decode()
    assert '<span class="field">question</span>' in page and '<span class="field">context</span>' in page
    assert re.search(r'class="t up answer"[^>]*>1936<', page)
    assert not re.search(r'class="t up answer"[^>]*>In<', page)
    assert "Answer 1: \u201c1936\u201d" in page


def test_the_page_fetches_nothing_and_runs_no_script():
    page = explanation_html.render([CLASSIFIED, ANSWERED]).decode()
    assert "<script" not in page and "http" not in page and "url(" not in page and " src=" not in page


def test_output_fn_answers_an_explanation_as_html_when_asked():
    body, content_type = output_fn(CLASSIFIED, "text/html")
    assert content_type == "text/html; charset=utf-8" and body.startswith(b"<!doctype html>")
    body, content_type = output_fn(CLASSIFIED, "application/json")
    assert content_type == "application/json" and body.startswith(b'[{"label":"NEGATIVE"')


def test_a_browser_asking_for_a_plain_answer_gets_json_and_html_alone_is_a_406_saying_why():
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    plain = [{"label": "NEGATIVE", "score": 0.99}]
    assert output_fn(plain, browser)[1] == "application/json"
    assert output_fn(CLASSIFIED, browser)[1] == "text/html; charset=utf-8"
    with pytest.raises(NotAcceptable, match=r'text/html answers requests with "explain": true'):
        output_fn(plain, "text/html")


class _Counted(list):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self):
        _Counted.walks += 1
        return super().__iter__()


def test_vectors_and_hidden_states_are_never_walked_looking_for_explanations():
    vectors = [_Counted([0.5] * 384) for _ in range(4)]
    hidden_states = [[_Counted([0.1] * 8) for _ in range(3)]]
    _Counted.walks = 0
    assert not explanation_html.has_explanations(vectors) and not explanation_html.has_explanations(hidden_states)
    assert _Counted.walks == 0
    assert explanation_html.has_explanations([[{"label": "x"}, CLASSIFIED[0]]])  # a top_k list in a batch
