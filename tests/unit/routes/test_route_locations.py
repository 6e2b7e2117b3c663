"""The route table (hf_serving/routes.py) and what the launcher renders from it: nginx accepts the configuration on
single- and multi-model endpoints, with and without an API key; every error nginx answers is JSON in its route's
shape with the catalogue's status for its code; and every route of the table is in the metrics' labels."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from hf_serving.error_catalogue import CODES, Protocol
from hf_serving.launcher import host_tools, nginx, route_locations
from hf_serving.launcher.plan import make_plan
from hf_serving.routes import BY_NAME, ROUTES, Answerer
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

RETURN = re.compile(r"return (\d{3}) '(\{.*?\})';")
MODES = [
    ({}, "single"),
    ({"SAGEMAKER_MULTI_MODEL": "true"}, "multi"),
    ({"SERVE_API_KEY": "k" * 24}, "key"),
    ({"SAGEMAKER_MULTI_MODEL": "true", "SERVE_API_KEY": "k" * 24, "SERVE_RATE_LIMIT_RPS": "5"}, "multi-key"),
]


def rendered(tmp_path, environ: dict[str, str]) -> str:
    plan = make_plan(Settings.from_environ({"SERVE_RUNTIME_DIR": str(tmp_path / "runtime"), **environ}), TINY_QA)
    return nginx.write_config(plan.runtime_dir, plan.nginx_values).read_text()


def test_the_table_names_each_route_once_and_every_worker_route_has_an_adapter():
    assert len({route.name for route in ROUTES}) == len(ROUTES)
    assert len({(route.path, route.methods) for route in ROUTES}) == len(ROUTES)
    for route in ROUTES:
        assert (route.answerer is Answerer.WORKER) == bool(route.exchange), route.name
        assert route.path.startswith("/") and route.methods


def test_a_template_route_matches_its_paths_and_names_the_segment():
    assert BY_NAME["kserve.v2.infer"].path_params("/v2/models/bert-base/infer") == {"name": "bert-base"}
    assert BY_NAME["kserve.v1.predict"].path_params("/v1/models/m.1:predict") == {"name": "m.1"}
    assert BY_NAME["openai.model"].path_params("/v1/models/a/b") is None
    assert BY_NAME["tei.embed"].path_params("/embed") == {}


@pytest.mark.parametrize(("environ", "mode"), MODES, ids=[mode for _, mode in MODES])
def test_nginx_accepts_every_mode_and_each_error_it_answers_is_its_codes_status_in_its_shape(tmp_path, environ, mode):
    text = rendered(tmp_path, environ)
    if host_tools.nginx_path() is not None and not host_tools.missing():
        checked = subprocess.run(
            [*nginx.nginx_command(tmp_path / "runtime" / "nginx.conf"), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stderr
    returns = RETURN.findall(text)
    assert len(returns) > 100
    shapes_seen = set()
    for status, body in returns:
        document = json.loads(re.sub(r"\$[a-z_]+", "x", body.replace("$route_model_json", '"x"')))
        if "error" not in document:
            continue  # an answer (/v2/health/live's), not an error
        shape = _shape_of(document)
        shapes_seen.add(shape)
        code = (
            document["error"]["code"] if shape is Protocol.SAGEMAKER or shape is Protocol.OPENAI else document["code"]
        )
        assert CODES[code].status == int(status) or (code, status) == ("model_not_found", "404"), (code, status)
    assert shapes_seen == set(Protocol)


def _shape_of(document: dict) -> Protocol:
    if "error_type" in document:
        return Protocol.TEI
    if isinstance(document["error"], str):
        return Protocol.KSERVE
    return Protocol.OPENAI if "type" in document["error"] else Protocol.SAGEMAKER


def test_a_protocol_route_refuses_in_its_own_shape_and_the_container_routes_in_theirs(tmp_path):
    text = rendered(tmp_path, {"SERVE_API_KEY": "k" * 24})
    embeddings = _location(text, "location = /v1/embeddings {")
    assert '"type":"authentication_error"' in embeddings and '"code":"unauthorized"' in embeddings
    assert 'set $serving_route "openai.embeddings";' in embeddings
    assert "error_page 413 = @payload_too_large__openai;" in embeddings
    invocations = _location(text, "location = /invocations {")
    assert '{"error":{"code":"unauthorized","message"' in invocations
    infer = _location(text, 'location ~ "^/v2/models/(?<route_model>[^/]+)/infer$" {')
    assert 'if ($route_model != "model")' in infer


def test_routes_of_a_single_model_are_a_404_in_their_shape_on_a_multi_model_endpoint(tmp_path):
    text = rendered(tmp_path, {"SAGEMAKER_MULTI_MODEL": "true"})
    embed = _location(text, "location = /embed {")
    assert "return 404" in embed and '"error_type"' in embed and "proxy_pass" not in embed
    embeddings = _location(text, "location = /v1/embeddings {")
    assert 'require("routes").admit_model_in_body("openai"' in embeddings


def test_the_longer_template_is_tried_first(tmp_path):
    text = rendered(tmp_path, {})
    predict = text.index('location ~ "^/v1/models/(?<route_model>[^/]+):predict$"')
    model = text.index('location ~ "^/v1/models/(?<route_model>[^/]+)$"')
    assert predict < model
    # The error shapes' map too: a map's regexes are tried in order, so KServe's errors are not OpenAI's.
    shapes = route_locations.shape_map()
    assert shapes.index(':predict$" kserve;') < shapes.index('[^/]+)$" openai;')


def test_a_single_model_inference_route_sends_explain_requests_to_the_explanation_worker(tmp_path):
    text = rendered(tmp_path, {})
    for head in ('location ~ "^/v1/models/(?<route_model>[^/]+):predict$" {', "location = /hf-inference {"):
        location = _location(text, head)
        assert 'require("admission").admit(require("explanations").route())' in location, head
        assert "proxy_pass http://model_edge$inner_route;" in location, head
    info = _location(text, "location = /info {")  # metadata: never an explanation
    assert "explanations" not in info


def test_every_route_has_a_metrics_label_and_kind():
    table = route_locations.metrics_routes()
    for route in ROUTES:
        assert f'"{route.label}", "{route.kind.value}"' in table


def _location(text: str, head: str) -> str:
    start = text.index(head)
    return text[start : text.index("\n        }\n", start)]
