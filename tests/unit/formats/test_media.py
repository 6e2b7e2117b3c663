import pytest

from hf_serving.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from hf_serving.formats import media


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        (None, "application/json"),
        ("application/x-jsonlines", "application/jsonlines"),
    ],
)
def test_content_type_accepts_json_with_any_utf8_charset(header, expected):
    assert media.require_content_type(header, (media.JSON, media.JSONLINES)) == expected


@pytest.mark.parametrize("header", ["text/plain", "application/json; charset=latin-1", "image/png"])
def test_content_type_refuses_others_with_415(header):
    with pytest.raises(UnsupportedMediaType) as caught:
        media.require_content_type(header, (media.JSON,))
    assert caught.value.status == 415


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/html, application/*;q=0.5", "application/json"),
        ("text/csv;q=0.2, application/json;q=0.9", "application/json"),
    ],
)
def test_accept_negotiation(header, expected):
    assert media.negotiate_accept(header, (media.JSON, media.CSV), media.JSON) == expected


def test_accept_with_nothing_supported_is_406():
    with pytest.raises(NotAcceptable) as caught:
        media.negotiate_accept("text/html, application/xml;q=0.9", (media.JSON,), media.JSON)
    assert caught.value.status == 406
    assert "text/html" in caught.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": 1e999}', "out of range"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"a": ', "not valid JSON"),
        ("   ", "empty"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("1" * 5000, "the body holds an integer of more than 4300 digits"),
        ("-" + "1" * 4300, None),  # 4,300 digits and a sign: read
    ],
)
def test_strict_json_refuses_with_400_naming_the_problem(text, fragment):
    if fragment is None:
        assert media.decode_json(text) == int(text)
        return
    with pytest.raises(BadRequest) as caught:
        media.decode_json(text)
    assert fragment in caught.value.message


def test_invalid_utf8_is_a_400():
    with pytest.raises(BadRequest) as caught:
        media.decode_text(b'{"q": "\xff"}')
    assert "UTF-8" in caught.value.message


def test_json_round_trip_keeps_unicode():
    assert media.encode_json({"answer": "café 漢字 🙂"}).decode("utf-8") == '{"answer":"café 漢字 🙂"}'
