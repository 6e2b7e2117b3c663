"""The settings and the rendered configuration of /metrics and the logs: nginx's route, log4j's layouts."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.launcher import edge, mms
from hf_serving.settings import Settings


def test_metrics_behind_the_key_needs_a_key():
    with pytest.raises(ConfigurationError, match="SERVE_METRICS=key needs SERVE_API_KEY"):
        Settings.from_environ({"SERVE_METRICS": "key"})
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        Settings.from_environ({"LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("environ", "check", "enabled"),
    [
        ({}, "", "true"),
        ({"SERVE_METRICS": "off"}, "return 404", "false"),
        ({"SERVE_METRICS": "KEY", "SERVE_API_KEY": "k" * 24}, "$api_key_matches", "true"),
    ],
)
def test_the_metrics_route_renders_as_set(environ, check, enabled):
    values = edge.edge_values(Settings.from_environ(environ))
    assert (check in values["METRICS_ACCESS"]) if check else values["METRICS_ACCESS"] == ""
    assert values["METRICS_ENABLED"] == enabled


def test_ping_lines_and_the_access_log_format_follow_the_settings():
    assert edge.edge_values(Settings.from_environ({}))["LOG_PING"] == 0
    values = edge.edge_values(Settings.from_environ({"SERVE_LOG_PING": "true", "LOG_FORMAT": "json"}))
    assert (values["LOG_PING"], values["ACCESS_LOG_FORMAT"]) == (1, "json")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log4j_configuration_is_well_formed_and_escapes_stack_traces(log_format):
    root = ElementTree.fromstring(mms.log4j2_xml("info", log_format))
    patterns = [element.text for element in root.iter("Pattern")] + [
        element.get("pattern") for element in root.iter("PatternLayout") if element.get("pattern")
    ]
    assert patterns
    assert all(layout.get("alwaysWriteExceptions") == "false" for layout in root.iter("PatternLayout"))
    throwable = [p for p in patterns if "%throwable" in p]
    # Its line breaks escaped (one line), the blank around it trimmed.
    assert throwable and all("%enc{%replace{%throwable}" in p for p in throwable)
    refs = list(root.iter("AppenderRef"))
    assert len(refs) == (2 if log_format == "json" else 1)
