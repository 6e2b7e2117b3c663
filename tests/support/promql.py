"""What the dashboard and the alerting rules in deploy/ ask Prometheus, read without Prometheus: every PromQL
expression they hold, the metric and label names each one uses, and an alert's condition taken apart.

PromQL is not parsed in full: a small lexer that knows strings, label matchers, range selectors and the grouping
clauses is enough for the expressions shipped here, and the integration test runs every one of them through a real
Prometheus (tests/integration/test_observability_prometheus.py), which is the parser that counts.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.missing import skip_or_fail
from tests.support.paths import ROOT

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "hf-serving-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
METRICS_DOC = ROOT / "docs" / "reference" / "metrics.md"  # the metric table, every series /metrics serves
PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")

# Series Prometheus writes itself for every target (not the container's): the not-ready alert reads `up`.
SYNTHETIC = {"up": frozenset()}
# Labels every scraped series carries (the scrape's), and the one a histogram's buckets add.
TARGET_LABELS = frozenset({"job", "instance"})
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

AGGREGATIONS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
}
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    *AGGREGATIONS,
}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
SET_OPERATORS = ("and", "or", "unless")


def prometheus_tool(name: str) -> str:
    """Debian's prometheus or promtool (scripts/observe-packages.sh installs them), else one on PATH. Missing: the
    test skips, saying so, except in CI (CI=true), which installs them, where it fails."""
    fixed = PROMETHEUS.parent / name
    found = str(fixed) if fixed.exists() else shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (Debian's prometheus package: scripts/observe-packages.sh installs it)"
        skip_or_fail(reason)
    return found


@dataclass(frozen=True)
class Metric:
    name: str
    type: str
    labels: frozenset[str]


def documented_metrics(doc: Path = METRICS_DOC) -> dict[str, Metric]:
    """The metric table of docs/reference/metrics.md: `| \\`name\\` | type | labels | what |`."""
    metrics = {}
    for line in doc.read_text().splitlines():
        row = re.match(r"\|\s*`(hf_serving_[a-z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|", line)
        if row:
            labels = frozenset(label.strip() for label in row.group(3).split(",") if label.strip())
            metrics[row.group(1)] = Metric(row.group(1), row.group(2).strip(), labels)
    return metrics


def series_labels(name: str, metrics: dict[str, Metric]) -> frozenset[str] | None:
    """The labels a series of that name carries, or None when /metrics has no such series (a histogram's own name
    included: only its _bucket, _sum and _count are series)."""
    if name in SYNTHETIC:
        return SYNTHETIC[name] | TARGET_LABELS
    if name in metrics and metrics[name].type != "histogram":
        return metrics[name].labels | TARGET_LABELS
    for suffix in HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and base in metrics and metrics[base].type == "histogram":
            return metrics[base].labels | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set())
    return None


# ---------------------------------------------------------------------------------------------------------------
# Where the expressions are


def load_dashboard(path: Path = DASHBOARD) -> dict:
    return json.loads(path.read_text())


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, those inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title and refId, expr) for every target of every panel."""
    return [
        (f"{panel['title']} [{target.get('refId', '?')}]", target["expr"])
        for panel in panels(dashboard)
        if panel.get("type") != "row"
        for target in panel.get("targets", [])
    ]


def load_rules(path: Path = ALERTS) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def rule_exprs(path: Path = ALERTS) -> list[tuple[str, str]]:
    return [(rule.get("alert") or rule["record"], rule["expr"]) for rule in load_rules(path)]


GRAFANA_VARIABLES = ("$__rate_interval", "$__interval", "$__range")


def substitute(expr: str, interval: str = "1m", model: str = ".*") -> str:
    """A dashboard expression as Grafana would send it: its interval variables, and `model=~"$model"` (the
    template variable, "All" being `.*`)."""
    for variable in GRAFANA_VARIABLES:
        expr = expr.replace(variable, interval).replace("${" + variable[1:] + "}", interval)
    return expr.replace("${model}", model).replace("$model", model)


# ---------------------------------------------------------------------------------------------------------------
# A lexer for what the expressions use


TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>\[[^\]]*\])
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_]))
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){},])
""",
    re.VERBOSE,
)


def tokens(expr: str) -> list[tuple[str, str]]:
    out, position = [], 0
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read {expr[position : position + 20]!r} in {expr!r}")
        position = match.end()
        if match.lastgroup != "space":
            out.append((match.lastgroup or "", match.group()))
    return out


@dataclass
class Uses:
    """Metric names, each selector's metric and label matchers [(label, operator, value)], and the labels of the
    grouping clauses (by, without, on, ignoring, group_left, group_right)."""

    metrics: set[str]
    selectors: list[tuple[str, list[tuple[str, str, str]]]]
    grouping: set[str]


def uses(expr: str) -> Uses:
    found = Uses(set(), [], set())
    toks = tokens(expr)
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "ident" and text in GROUPING:
            if following == "(":  # by (a, b): label names, not metrics
                end = _closing(toks, i + 1)
                found.grouping |= {t for k, t in toks[i + 2 : end] if k == "ident"}
                i = end + 1
                continue
        elif kind == "ident" and text not in KEYWORDS and following != "(":
            found.metrics.add(text)
            matchers: list[tuple[str, str, str]] = []
            if following == "{":
                end = _closing(toks, i + 1)
                inside = [t for t in toks[i + 2 : end] if t[1] != ","]
                if len(inside) % 3 or any(
                    k != "ident" or o not in ("=", "!=", "=~", "!~") or v[0] != "string"
                    for (k, _), (_, o), v in zip(inside[::3], inside[1::3], inside[2::3], strict=True)
                ):
                    raise ValueError(f"cannot read the matchers of {text} in {expr!r}")
                matchers = [
                    (label, op, value[1:-1])
                    for (_, label), (_, op), (_, value) in zip(inside[::3], inside[1::3], inside[2::3], strict=True)
                ]
                i = end
            found.selectors.append((text, matchers))
        elif kind == "op" and text == "{":  # a selector by matchers alone ({__name__=~...}): not used here
            raise ValueError(f"a selector without a metric name in {expr!r}")
        i += 1
    return found


def _closing(toks: list[tuple[str, str]], opening: int) -> int:
    pairs = {"(": ")", "{": "}"}
    want, depth = pairs[toks[opening][1]], 0
    for j in range(opening, len(toks)):
        if toks[j][1] == toks[opening][1]:
            depth += 1
        elif toks[j][1] == want:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced")


# ---------------------------------------------------------------------------------------------------------------
# An alert's condition, taken apart


def top_level_split(expr: str, operators: tuple[str, ...]) -> list[str]:
    """expr cut at each of the operators that stands outside parentheses, braces, brackets and strings (a set
    operator only as a whole word); the pieces, trimmed."""
    pieces, depth, start, i, quote = [], 0, 0, 0, ""
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            operator = next((op for op in operators if _operator_at(expr, i, op)), None)
            if operator is not None:
                pieces.append(expr[start:i])
                start = i = i + len(operator)
                continue
        i += 1
    pieces.append(expr[start:])
    return [piece.strip() for piece in pieces]


def _operator_at(expr: str, i: int, operator: str) -> bool:
    if not expr.startswith(operator, i):
        return False
    if not operator.isalpha():
        return True

    def word(char: str) -> bool:
        return char.isalnum() or char == "_"

    return (i == 0 or not word(expr[i - 1])) and (i + len(operator) == len(expr) or not word(expr[i + len(operator)]))


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def condition_operands(expr: str) -> list[str]:
    """The queries an alert compares with its thresholds: the expression cut at its top-level set operators (or,
    and, unless), each part cut at its comparison, the numeric thresholds dropped. `a > 0.05 or b == 0` gives
    [a, b]."""
    operands = []
    for part in top_level_split(expr, SET_OPERATORS):
        sides = top_level_split(MODIFIERS.sub("", part), COMPARISONS)
        if len(sides) > 2:
            raise ValueError(f"more than one comparison in {part!r}")
        operands += [MODIFIERS.sub("", side) for side in sides if not is_number(MODIFIERS.sub("", side))]
    return operands


# What may stand between a binary operator and its right-hand side: `> bool 1`, `or on (instance) up == 0`.
MODIFIERS = re.compile(r"^\s*(?:(?:on|ignoring|group_left|group_right)\s*\([^)]*\)\s*|bool\s+)*")
