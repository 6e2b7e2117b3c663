"""Explanations as a page a person can look at: `Accept: text/html` on an explain request.

Every token of each explained text is shaded by its attribution: green where it raised the output explained (the
label's score, the answer's start or end logit), red where it lowered it, stronger the larger its share of the
largest in that row; hovering a token shows its value. Tokens are shown in their own characters, from the offsets;
the gaps between tokens are shown as one space. The page is self-contained: inline styles, no script, nothing
fetched, so it renders the same offline and under a strict Content-Security-Policy (nginx sends one with it).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

CONTENT_TYPE = "text/html; charset=utf-8"

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1f2937; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; } h3 { font-size: .95rem; font-weight: 600; }
.legend, .figures { color: #4b5563; font-size: .9rem; }
.tokens { line-height: 2.1; } .field { color: #6b7280; font-size: .8rem; margin-right: .5rem; }
.tokens span.t { padding: .15rem .1rem; border-radius: .2rem; }
.tokens span.answer { outline: 2px solid #2563eb; }
.up { background: #16a34a; } .down { background: #dc2626; } .legend .t { color: #fff; }
"""


def has_explanations(prediction: object) -> bool:
    return next(_explained(prediction), None) is not None


def render(prediction: object) -> bytes:
    sections = [_section(number, entry) for number, entry in enumerate(_explained(prediction), start=1)]
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Explanation</title><style>{_STYLE}</style></head><body>\n"
        "<h1>What each token contributed</h1>\n"
        '<p class="legend">Integrated gradients against a baseline with every token of the text replaced by '
        'padding: <span class="t up">green</span> tokens raised the output explained, <span class="t down">'
        "red</span> ones lowered it; the stronger the colour, the larger the share. Hover a token for its value. "
        "The attributions of a row add up to the output minus the baseline's, within the error shown.</p>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    return page.encode("utf-8")


def _explained(value: object, depth: int = 0) -> Iterator[dict]:
    """The results that carry an explanation, in the response's order. Answers nest two lists deep at most (a batch
    of top_k lists); a list of numbers (a vector, hidden states) is never walked: every JSON response passes here."""
    if isinstance(value, dict):
        explanation = value.get("explanation")
        if isinstance(explanation, dict) and isinstance(explanation.get("targets"), list):
            yield value
    elif isinstance(value, list) and value and isinstance(value[0], dict | list) and depth < 2:
        for item in value:
            yield from _explained(item, depth + 1)


def _section(number: int, entry: dict) -> str:
    if "answer" in entry:
        heading = f"Answer {number}: \u201c{entry['answer']}\u201d (score {entry['score']:.4g})"
        answer = (entry["start"], entry["end"])
    else:
        heading = f"Text {number}: {entry['label']} (score {entry['score']:.4g})"
        answer = None
    rows = [_target(target, answer) for target in entry["explanation"]["targets"]]
    return f"<section><h2>{html.escape(heading)}</h2>\n" + "\n".join(rows) + "</section>"


def _target(target: dict, answer: tuple[int, int] | None) -> str:
    tokens = target["tokens"]
    largest = max((abs(token["attribution"]) for token in tokens), default=0.0) or 1.0
    figures = (
        f"{target['output']} {target['value']:.4g}, baseline {target['baseline_value']:.4g}; the attributions "
        f"add up to the difference within {abs(target['delta']):.2g} ({target['steps']} steps"
        f"{'' if target['converged'] else ', not converged'})"
    )
    lines = []
    for field in dict.fromkeys(token.get("field") for token in tokens):
        spans, previous_end = [], None
        for token in (token for token in tokens if token.get("field") == field):
            if previous_end is not None and token["start"] > previous_end:
                spans.append(" ")
            spans.append(_token(token, largest, answer if field == "context" else None))
            previous_end = token["end"]
        label = f'<span class="field">{html.escape(field)}</span>' if field else ""
        lines.append(f'<p class="tokens">{label}{"".join(spans)}</p>')
    return (
        f'<h3>{html.escape(str(target["target"]))}</h3>\n<p class="figures">{html.escape(figures)}</p>\n'
        + "\n".join(lines)
    )


def _token(token: dict, largest: float, answer: tuple[int, int] | None) -> str:
    value = token["attribution"]
    share = min(abs(value) / largest, 1.0)
    kind = "up" if value >= 0 else "down"
    classes = f"t {kind}" + (" answer" if answer and answer[0] <= token["start"] and token["end"] <= answer[1] else "")
    # The colour at the token's share: a background alpha (no inline colour computations in CSS needed).
    rgb = "22, 163, 74" if value >= 0 else "220, 38, 38"
    return (
        f'<span class="{classes}" style="background: rgba({rgb}, {0.08 + 0.72 * share:.3f})" '
        f'title="{value:+.4g}">{html.escape(token["token"])}</span>'
    )
