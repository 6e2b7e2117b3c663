"""nginx's configuration for /docs, /openapi.json and /openapi.yaml: rendered from the settings and the fetched files,
and accepted by nginx itself (`nginx -t`) whether the docs are served, off, or missing their files."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from hf_serving.api_docs import site
from hf_serving.api_docs.assets import Pin
from hf_serving.launcher import edge, host_tools, nginx
from hf_serving.launcher.plan import HostFacts, make_plan
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

PIN = Pin("5.36.0", "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-5.36.0.tgz", "sha512-x")
KEY = "k" * 24


def test_served_docs_need_no_check_and_point_nginx_at_the_page_and_the_files():
    values = edge.docs_values(Settings.from_environ({}), PIN)
    assert values == {
        "DOCS_ACCESS": "",
        "SPEC_ACCESS": "",
        "DOCS_PAGE_DIR": str(site.PAGE_DIR),
        "DOCS_ASSETS_DIR": str(site.ASSETS_DIR),
    }


def test_off_every_route_is_a_json_404_saying_so():
    values = edge.docs_values(Settings.from_environ({"SERVE_DOCS": "off"}), PIN)
    for name in ("DOCS_ACCESS", "SPEC_ACCESS"):
        assert values[name] == (
            '            return 404 \'{"error":{"code":"not_found","message":"docs are off '
            '(SERVE_DOCS=off)","request_id":"$request_id"}}\';'
        )


def test_files_never_fetched_make_the_page_a_404_naming_the_command_and_leave_the_description():
    values = edge.docs_values(Settings.from_environ({}), None)
    assert "return 404" in values["DOCS_ACCESS"] and "python -m hf_serving docs-assets" in values["DOCS_ACCESS"]
    assert values["SPEC_ACCESS"] == ""


def rendered(tmp_path, environ: dict[str, str], assets: Pin | None) -> str:
    settings = Settings.from_environ({"SERVE_RUNTIME_DIR": str(tmp_path / "runtime"), **environ})
    plan = make_plan(settings, TINY_QA, dataclasses.replace(HostFacts.read(settings), docs_assets=assets))
    return nginx.write_config(plan.runtime_dir, plan.nginx_values).read_text()


@pytest.mark.parametrize(
    ("environ", "assets"),
    [({}, PIN), ({"SERVE_DOCS": "off"}, PIN), ({}, None), ({"SERVE_API_KEY": KEY}, PIN)],
    ids=["served", "off", "files-missing", "api-key"],
)
def test_nginx_accepts_the_rendered_configuration(tmp_path, environ, assets):
    if host_tools.nginx_path() is None or host_tools.missing():
        pytest.skip("no nginx with its Lua module on this host (scripts/host-packages.sh installs them)")
    text = rendered(tmp_path, environ, assets)
    checked = subprocess.run(
        [*nginx.nginx_command(tmp_path / "runtime" / "nginx.conf"), "-t"], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    # The routes never ask for the API key: a browser cannot send one to load a page.
    docs_section = text[text.index("location = /docs {") : text.index("location = /invocations {")]
    assert "$api_key_matches" not in docs_section
    assert f'alias "{site.PAGE_DIR}/";' in docs_section and f'alias "{site.ASSETS_DIR}/";' in docs_section


def test_every_docs_location_that_sets_headers_keeps_the_request_id():
    # add_header in a location drops the server's: each location with its own must repeat X-Request-Id.
    template = nginx.TEMPLATE_PATH.read_text()
    server = template[template.index("    server {") : template.index("    # The inner hop: loopback only")]
    for block in re.split(r"\n        location ", server)[1:]:
        if "add_header" in block:
            assert "add_header X-Request-Id $request_id always;" in block, block[:200]
