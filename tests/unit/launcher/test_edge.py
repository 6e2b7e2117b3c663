"""The edge's optional parts rendered from settings: the API key's check and the connection limits."""

from __future__ import annotations

import hashlib
import resource

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.launcher import edge
from hf_serving.settings import Settings

KEY = "Edge-Key_0123456789abcdef"


def test_the_key_check_holds_the_key_digest_not_the_key():
    check = edge.api_key_check(Settings.from_environ({"SERVE_API_KEY": KEY}))
    assert KEY not in check and KEY.lower() not in check
    assert f'require("api_key").matches("{hashlib.sha1(KEY.encode()).hexdigest()}")' in check
    assert "if ($api_key_matches = 0)" in check and '"code":"unauthorized"' in check
    assert edge.api_key_check(Settings.from_environ({})) == ""


def test_connection_limits_default_and_settable():
    values = edge.edge_values(Settings.from_environ({}))
    assert "limit_conn per_address 512;" in str(values["CONNECTIONS_PER_ADDRESS"])
    assert values["REQUEST_READ_TIMEOUT_S"] == 60
    off = edge.edge_values(Settings.from_environ({"SERVE_MAX_CONNECTIONS_PER_ADDRESS": "0"}))
    assert off["CONNECTIONS_PER_ADDRESS"] == ""
    assert Settings.from_environ({"SAGEMAKER_BATCH": "true"}).request_read_timeout_s == 600
    assert "requests open per client address: no limit" in edge.describe_connections(
        Settings.from_environ({"SERVE_MAX_CONNECTIONS_PER_ADDRESS": "0"})
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVE_MAX_CONNECTIONS", "10"),
        ("SERVE_MAX_CONNECTIONS_PER_ADDRESS", "-1"),
        ("SERVE_REQUEST_READ_TIMEOUT_S", "0"),
    ],
)
def test_bad_connection_settings_fail_at_start_naming_the_variable(name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_environ({name: value})


def test_without_root_the_connections_fit_the_open_file_limit(monkeypatch):
    monkeypatch.setattr(edge.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(edge.resource, "getrlimit", lambda _: (1024, 4096))
    settings = Settings.from_environ({"SERVE_MAX_CONNECTIONS": "8192"})
    assert edge.connection_limits(settings) == (2016, 4096)
    assert "connections: 2016 (SERVE_MAX_CONNECTIONS=8192 capped by the open-file limit)" in edge.describe_connections(
        settings
    )
    monkeypatch.setattr(edge.resource, "getrlimit", lambda _: (1024, resource.RLIM_INFINITY))
    assert edge.connection_limits(settings) == (8192, 2 * 8192 + 64)
