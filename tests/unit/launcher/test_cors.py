"""CORS at the edge (SERVE_CORS_ORIGINS): the setting's checks, the nginx text rendered from it (off: none at all), and
nginx's acceptance of it (`nginx -t`). The browser's side is tests/integration/test_cors.py."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.launcher import cors, edge, host_tools, nginx
from hf_serving.launcher.plan import HostFacts, make_plan
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

KEY = "Cors-Key_0123456789abcdef"
APP = "https://app.example.com"


def settings(origins: str | None, **environ: str) -> Settings:
    return Settings.from_environ({**({"SERVE_CORS_ORIGINS": origins} if origins is not None else {}), **environ})


def test_off_by_default_and_then_nothing_is_rendered():
    for off in (settings(None), settings(""), settings(" , ")):
        assert off.cors_origins == ()
        assert cors.cors_values(off) == {"CORS_MAPS": "", "CORS": "", "CORS_HEADERS": ""}
        assert cors.describe(off) == "CORS: off (SERVE_CORS_ORIGINS)"


def test_origins_are_kept_as_a_browser_sends_them():
    listed = settings(" HTTPS://App.Example.com,http://127.0.0.1:5173 , https://app.example.com,http://[::1]:8000")
    assert listed.cors_origins == (APP, "http://127.0.0.1:5173", "http://[::1]:8000")
    assert settings("*").cors_origins == ("*",)


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com/",  # a trailing slash: no Origin ever has one
        "https://app.example.com/path",
        "app.example.com",
        "null",
        "https://app.example.com:443",
        "http://a.example:80",
        "https://a.example:0",
        "https://a.example:70000",
        '"https://a.example"',
        "https://a.example;",
        "https://a b.example",
        "https://*.example.com",
        "*, https://app.example.com",
        "https://user@app.example.com",
    ],
)
def test_what_is_not_an_origin_fails_at_start_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="SERVE_CORS_ORIGINS"):
        settings(value)


def origin_patterns(maps: str) -> dict[str, str]:
    """The origin map's regular expressions and the origin each answers, from the rendered text."""
    block = maps[maps.index("map $http_origin $cors_origin {") :]
    block = block[: block.index("}")]
    return dict(re.findall(r'"~(\S+)" "(\S+)";', block))


def test_a_listed_origin_is_matched_exactly_and_answered_as_configured_never_echoed():
    maps = cors.cors_maps(settings(f"{APP},http://[::1]:8000"))
    patterns = origin_patterns(maps)
    assert sorted(patterns.values()) == sorted([APP, "http://[::1]:8000"])
    assert "$http_origin;" not in maps and '$http_origin"' not in maps  # the value is never the request's Origin
    for sent, answered in [
        (APP, APP),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://app.example.com.evil.example", None),
        ("https://appxexample.com", None),
        ("https://evil.example/https://app.example.com", None),
        ("http://app.example.com", None),
        ("HTTPS://APP.EXAMPLE.COM", None),
        ("", None),
    ]:
        found = [origin for pattern, origin in patterns.items() if re.search(pattern, sent)]
        assert found == ([answered] if answered else []), sent
    assert 'default "";' in maps


def test_any_origin_is_a_literal_star_and_only_for_requests_that_have_an_origin():
    maps = cors.cors_maps(settings("*", SERVE_API_KEY=KEY))
    assert 'map $http_origin $cors_origin {\n        "" "";\n        default "*";\n    }' in maps


def test_no_origin_is_ever_told_that_credentials_are_allowed():
    for value in ("*", APP):
        rendered = "".join(cors.cors_values(settings(value, SERVE_API_KEY=KEY)).values())
        assert "Credentials" not in rendered


def test_the_preflight_is_answered_at_the_server_level_with_its_headers():
    values = cors.cors_values(settings(APP))
    assert values["CORS"].endswith("        if ($cors_preflight) {\n            return 204;\n        }")
    for header in ("Allow-Origin", "Expose-Headers", "Allow-Methods", "Allow-Headers", "Max-Age"):
        assert f"add_header Access-Control-{header} " in values["CORS"]
    assert "add_header Vary Origin always;" in values["CORS"]
    assert all(line.endswith(" always;") for line in values["CORS"].splitlines() if "add_header" in line)
    # A preflight: a listed origin ($cors_origin not empty), OPTIONS, and Access-Control-Request-Method.
    pattern = re.search(r'\$cors_preflight \{\n\s+"~(\S+ \S+ \S+)" 1;', values["CORS_MAPS"])
    assert pattern is not None
    for key, preflight in [
        (f"OPTIONS {APP} POST", True),
        ("OPTIONS  POST", False),
        (f"OPTIONS {APP} ", False),
        (f"POST {APP} POST", False),
    ]:
        assert bool(re.search(pattern.group(1), key)) is preflight, key


def test_a_page_may_send_every_header_the_container_forwards_and_read_the_ones_it_adds():
    template = nginx.TEMPLATE_PATH.read_text()
    forwarded = set(re.findall(r"proxy_set_header ([A-Za-z-]+) \$http_", template))  # the client's own headers
    assert {"Content-Type", "Accept", "X-Amzn-SageMaker-Target-Model"} <= forwarded and len(forwarded) >= 7
    assert forwarded | {"X-Api-Key", "Authorization"} == set(cors.ALLOWED_HEADERS)
    maps = cors.cors_maps(settings(APP))
    assert f'1 "{", ".join(cors.ALLOWED_HEADERS)}";' in maps
    assert {"X-Request-Id", "Server-Timing", "Retry-After", "X-Cache"} <= set(cors.EXPOSED_HEADERS)
    assert f'"~." "{", ".join(cors.EXPOSED_HEADERS)}";' in maps


def test_every_public_location_with_its_own_headers_repeats_the_cors_ones():
    # add_header in a location drops the server's: CORS_HEADERS must be there too, or /openapi.json has no CORS.
    template = nginx.TEMPLATE_PATH.read_text()
    server = template[template.index("    server {") : template.index("    # The inner hop: loopback only")]
    assert "\n{{CORS}}\n" in server[: server.index("        location ")]
    for block in re.split(r"\n        location ", server)[1:]:
        if "add_header" in block:
            assert "{{CORS_HEADERS}}" in block, block[:200]


def test_edge_values_carry_the_cors_parts():
    values = edge.edge_values(settings(APP))
    assert {"CORS_MAPS", "CORS", "CORS_HEADERS"} <= set(values) and values["CORS"]
    assert cors.describe(settings(APP)) == f"CORS: preflights answered and headers sent for {APP}"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SERVE_CORS_ORIGINS": f"{APP},http://[::1]:8000,https://{'a' * 200}.example"},
        {"SERVE_CORS_ORIGINS": "*", "SERVE_API_KEY": KEY},
    ],
    ids=["off", "listed", "any-with-key"],
)
def test_nginx_accepts_the_rendered_configuration(tmp_path, environ):
    if host_tools.nginx_path() is None or host_tools.missing():
        pytest.skip("no nginx with its Lua module on this host (scripts/host-packages.sh installs them)")
    settings = Settings.from_environ({"SERVE_RUNTIME_DIR": str(tmp_path / "runtime"), **environ})
    plan = make_plan(settings, TINY_QA, dataclasses.replace(HostFacts.read(settings), docs_assets=None))
    text = nginx.write_config(plan.runtime_dir, plan.nginx_values).read_text()
    checked = subprocess.run(
        [*nginx.nginx_command(tmp_path / "runtime" / "nginx.conf"), "-t"], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert ("Access-Control" in text) is bool(environ)
