"""A task's request parameters, declared once: the validator every request goes through and the OpenAPI schema the
served /openapi.json shows are both read from the same declaration, so they cannot disagree.

    SPEC = ParameterSpec("ClassificationParameters", (
        Integer("top_k", default=1, minimum=1, nullable=True, null_means="for every label", description="..."),
        Choice("function_to_apply", ("softmax", "sigmoid", "none"), description="..."),
    ))
    values = SPEC.parse(request_parameters)      # BadRequest naming "parameters.top_k", or the values
    values["top_k"], values.given("top_k")        # a default when absent; whether the request named it

An unknown name is a 400 listing the accepted ones. Each error names the field as `parameters.NAME` (whether the
client sent it inside "parameters" or, where a task accepts it, at the top level beside "inputs"). A check that
involves two parameters (QA's doc_stride < max_seq_len) stays with the task, after parse().
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name

# A check beyond the type: the value's problem in words ("must contain {}"), or None when it is fine.
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Parameter:
    """One parameter: its name, default, whether null is a value, and its words for /docs."""

    name: str
    _: KW_ONLY  # the rest by name: Choice("aggregation_strategy", ("none", "simple"), default="none")
    default: Any = None
    nullable: bool = False
    null_means: str = ""  # what null asks for, in the error message ("for every label")
    description: str = ""
    check: Check | None = None
    required: bool = False  # a request without it is a 400 ("parameters.candidate_labels is missing")

    def parse(self, value: object) -> Any:
        if value is None and self.nullable:
            return None
        converted = self.convert(value)
        if converted is _INVALID:
            null = f", or null {self.null_means}".rstrip() if self.nullable else ""
            raise BadRequest(f"parameters.{self.name} must be {self.expected()}{null}")
        problem = self.check(converted) if self.check is not None else None
        if problem is not None:
            raise BadRequest(f"parameters.{self.name} {problem}")
        return converted

    def convert(self, value: object) -> Any:
        """The value as the task reads it, or _INVALID."""
        raise NotImplementedError

    def expected(self) -> str:
        """What a valid value is, in words: "an integer from 1 to 100"."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        schema = self.json_schema()
        if self.nullable:
            schema["nullable"] = True
        if self.default is not None:
            schema["default"] = self.default
        if self.description:
            schema["description"] = self.description
        return schema


class _Invalid:
    pass


_INVALID: Any = _Invalid()


@dataclass(frozen=True, kw_only=True)
class Integer(Parameter):
    minimum: int | None = None
    maximum: int | None = None

    def convert(self, value: object) -> Any:
        # bool is an int subclass in Python, but true is not a count; 2.0 is not an integer in JSON's sense here.
        if isinstance(value, bool) or not isinstance(value, int):
            return _INVALID
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return _INVALID
        return value

    def expected(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"an integer >= {self.minimum}"
        if self.maximum is not None:
            return f"an integer <= {self.maximum}"
        return "an integer"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True, kw_only=True)
class Number(Parameter):
    minimum: float | None = None
    maximum: float | None = None

    def convert(self, value: object) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN is not a number
            return _INVALID
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return _INVALID
        return float(value)

    def expected(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"a number >= {self.minimum:g}"
        return "a number"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class Boolean(Parameter):
    def parse(self, value: object) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, bool):
            null = ", or null" if self.nullable else ""
            raise BadRequest(f"parameters.{self.name} must be true or false{null}, not {json_type_name(value)}")
        return value

    def expected(self) -> str:
        return "true or false"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice(Parameter):
    """One of a few words; case does not matter (TEI writes "Right", the pipelines "right"), the lower case is kept."""

    choices: tuple[str, ...] = ()

    def convert(self, value: object) -> Any:
        if isinstance(value, str) and value.lower() in self.choices:
            return value.lower()
        return _INVALID

    def expected(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True, kw_only=True)
class Text(Parameter):
    """A string; non_blank refuses "" and whitespace."""

    non_blank: bool = True
    max_chars: int | None = None

    def convert(self, value: object) -> Any:
        if not isinstance(value, str) or (self.non_blank and not value.strip()):
            return _INVALID
        if self.max_chars is not None and len(value) > self.max_chars:
            return _INVALID
        return value

    def expected(self) -> str:
        limit = f" of at most {self.max_chars:,} characters" if self.max_chars is not None else ""
        return f"a non-empty string{limit}" if self.non_blank else f"a string{limit}"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.non_blank:
            schema["minLength"] = 1
        if self.max_chars is not None:
            schema["maxLength"] = self.max_chars
        return schema


@dataclass(frozen=True, kw_only=True)
class Texts(Parameter):
    """A list of non-empty strings, or one string (split at commas where comma_separated, as the zero-shot pipeline
    splits candidate_labels); always read as a tuple."""

    comma_separated: bool = False
    min_items: int = 1
    max_items: int | None = None

    def convert(self, value: object) -> Any:
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",")] if self.comma_separated else [value]
            items = [item for item in items if item] if self.comma_separated else items
        elif isinstance(value, list):
            items = value
        else:
            return _INVALID
        if not all(isinstance(item, str) and item.strip() for item in items):
            return _INVALID
        if len(items) < self.min_items or (self.max_items is not None and len(items) > self.max_items):
            return _INVALID
        return tuple(items)

    def expected(self) -> str:
        count = (
            f"{self.min_items} to {self.max_items:,}" if self.max_items is not None else f"at least {self.min_items}"
        )
        single = "a comma-separated string" if self.comma_separated else "one string"
        return f"a list of {count} non-empty strings, or {single}"

    def json_schema(self) -> dict[str, Any]:
        # Blank items are refused as empty ones (convert strips them): the patterns say so.
        array: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "pattern": "\\S"},
            "minItems": self.min_items,
        }
        if self.max_items is not None:
            array["maxItems"] = self.max_items
        one: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "\\S"}
        if self.comma_separated:
            one["description"] = "comma-separated"
            one["pattern"] = "[^\\s,]"  # one part at least that is not blank
        return {"oneOf": [array, one]}

    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        if isinstance(schema.get("default"), tuple):
            schema["default"] = list(schema["default"])
        return schema


class Values(Mapping[str, Any]):
    """parse()'s result: every declared parameter's value (its default when the request left it out)."""

    def __init__(self, values: dict[str, Any], given: frozenset[str]) -> None:
        self._values = values
        self._given = given

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def given(self, name: str) -> bool:
        """Whether the request named it (top_k absent and top_k null are different requests)."""
        return name in self._given


@dataclass(frozen=True)
class ParameterSpec:
    """A task's parameters: schema_name is its name under components.schemas in the OpenAPI description."""

    schema_name: str
    parameters: tuple[Parameter, ...]
    description: str = ""
    # Accepted at the top level of the body as well as in "parameters" (TEI's shapes); the docs say so.
    top_level: tuple[str, ...] = field(default=())
    # What the parameters' check refuses across parameters, as JSON schemas every request's parameters must satisfy
    # (the schema's allOf): a request valid under the description is never that 400 (the contract test checks it).
    rules: tuple[dict[str, Any], ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters)

    def parse(self, raw: object) -> Values:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise BadRequest(f"parameters must be a JSON object, not {json_type_name(raw)}")
        unknown = sorted(str(name) for name in raw if name not in self.names)
        if "explain" in unknown and raw["explain"] is not False:
            raise BadRequest(
                "parameters.explain: this task's answers have no explanations (question answering and "
                "text classification have them)"
            )
        if unknown:
            raise BadRequest(f"unknown parameters: {', '.join(unknown)} (accepted: {', '.join(self.names)})")
        for parameter in self.parameters:
            if parameter.required and parameter.name not in raw:
                raise BadRequest(f"parameters.{parameter.name} is missing: it is required")
        values = {
            parameter.name: parameter.parse(raw[parameter.name]) if parameter.name in raw else parameter.default
            for parameter in self.parameters
        }
        return Values(values, frozenset(raw))

    def schema(self) -> dict[str, Any]:
        """The OpenAPI 3.0 schema of the "parameters" object."""
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
        if self.description:
            schema["description"] = self.description
        required = [parameter.name for parameter in self.parameters if parameter.required]
        if required:
            schema["required"] = required
        schema["properties"] = {parameter.name: parameter.schema() for parameter in self.parameters}
        if {"explain", "explain_steps"} <= set(self.names):
            # explain_steps without explain: true is refused (tasks/explaining.py): the schema says so, so that a
            # request valid under the description is never that 400 (the contract test checks it).
            schema["anyOf"] = [
                {"not": {"required": ["explain_steps"]}},
                {"required": ["explain"], "properties": {"explain": {"enum": [True]}}},
            ]
        if self.rules:
            schema["allOf"] = [dict(rule) for rule in self.rules]
        return schema
