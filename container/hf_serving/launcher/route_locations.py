"""nginx's part of the route table (hf_serving/routes.py): a location for every protocol route, the error pages of
each protocol's shape, which shape a path answers in, and the routes' metrics labels for lua/metrics.lua.

A worker route's location does what /invocations' does (the API key, the rate limit, readiness, the method, the
forwarded headers, the body read within its time, admission control) and then tells the worker which route the
request came by (X-Serving-Route); its refusals are in its protocol's shape. An edge route is answered here from the
ready file or the model's serving mark. Every error body comes from the catalogue (error_catalogue.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import hf_serving
from hf_serving.error_catalogue import Protocol, nginx_return
from hf_serving.routes import ROUTES, Answerer, Kind, ModelFrom, Route, rendered_routes

# The request-id variable of each server: the public one's own; the inner hop's, as the public one sent it.
PUBLIC_ID, INNER_ID = "$request_id", "$http_x_request_id"
INDENT = "            "

# nginx's own refusals on a route, for each protocol's error pages (named locations @NAME__SHAPE).
# The messages may use the rendered values (see _edge_messages).
PUBLIC_PAGES = (
    "payload_too_large",
    "rate_limited",
    "unavailable",
    "timeout",
    "overloaded",
    "model_not_found",
    "not_ready",
    "body_model_missing",
)
INNER_PAGES = ("unavailable", "model_not_found", "internal_error", "worker_stopped", "timeout")
# URI error pages (nginx cannot redirect a request to a named location before it has a valid request line; these
# happen while a route reads its body, or, for a method nginx refuses before any location (TRACE), on a route's path:
# so they have the route's shape).
URI_PAGES = {
    "bad-request": ("bad_request", "malformed HTTP request"),
    "client-timeout": ("request_timeout", "the request was not received within {client_timeout_s} s"),
    "method-not-allowed": ("method_not_allowed", "method not allowed"),
}


@dataclass(frozen=True)
class EdgeFacts:
    """What the rendered locations need from the launcher."""

    multi_model: bool
    served_name: str  # a single-model endpoint's model name (SERVE_MODEL_NAME)
    ready_file: str
    runtime_dir: str
    max_payload_mb: int
    invocation_timeout_s: int
    outer_read_timeout_s: int
    queue_timeout_s: float
    client_timeout_s: int
    api_key_check: dict[Protocol, str]  # the rendered check per shape ("" when there is no key)
    rate_limit: str


def _messages(facts: EdgeFacts) -> dict[str, tuple[str, str]]:
    return {
        "payload_too_large": ("payload_too_large", f"the body is over {facts.max_payload_mb} MB"),
        "rate_limited": ("rate_limited", "too many requests from this client; retry later"),
        "too_many_connections": (
            "too_many_connections",
            "too many requests open at once from this address; retry when one has ended",
        ),
        "unavailable": ("not_ready", "no model worker can take this request now; retry"),
        "timeout": ("timeout", f"the model did not answer within {facts.invocation_timeout_s} s"),
        "overloaded": (
            "overloaded",
            f"the model is at capacity: this request could not start within "
            f"{facts.queue_timeout_s:g} s; retry after $admission_retry_after s",
        ),
        "model_not_found": ("model_not_found", "this model is not loaded"),
        "not_ready": ("not_ready", "the model is not ready"),
        "body_model_missing": ("bad_request", "name the model: this is a multi-model endpoint"),
        "internal_error": (
            "internal_error",
            "internal server error; the server log has the details under this request_id",
        ),
        "worker_stopped": ("not_ready", "the model worker stopped while answering and is being restarted; retry"),
    }


def _ret(shape: Protocol, key: str, facts: EdgeFacts, request_id: str = PUBLIC_ID) -> str:
    code, message = _messages(facts)[key]
    return nginx_return(shape, code, message, request_id)


def error_pages(facts: EdgeFacts) -> str:
    """The public server's error pages, one per protocol shape: @NAME__SHAPE, /.errors/SHAPE/NAME."""
    lines = []
    for shape in Protocol:
        for key in PUBLIC_PAGES:
            if key == "rate_limited":
                lines.append(
                    f"        location @rate_limited__{shape.value} {{\n"
                    f"            if ($limit_conn_status = REJECTED) {{\n"
                    f"                {_ret(shape, 'too_many_connections', facts)}\n            }}\n"
                    f"            {_ret(shape, key, facts)}\n        }}"
                )
            else:
                lines.append(
                    f"        location @{key}__{shape.value} {{\n            {_ret(shape, key, facts)}\n        }}"
                )
        for page, (code, message) in URI_PAGES.items():
            text = message.format(client_timeout_s=facts.client_timeout_s)
            lines.append(
                f"        location = /.errors/{shape.value}/{page} {{\n            internal;\n"
                f"            {nginx_return(shape, code, text)}\n        }}"
            )
    return "\n\n".join(lines)


def inner_error_pages(facts: EdgeFacts) -> str:
    """The inner hop's, by the shape the public server sent (X-Error-Shape)."""
    lines = []
    for shape in Protocol:
        for key in INNER_PAGES:
            if key == "internal_error":
                # A 500 in the handler's own error type is the handler's; any other is multi-model-server's (its
                # worker died while answering, and it is being restarted): retryable, so a 503.
                lines.append(
                    f"        location @internal_error__{shape.value} {{\n"
                    '            if ($upstream_http_content_type = "application/json; charset=utf-8") {\n'
                    f"                {_ret(shape, key, facts, INNER_ID)}\n            }}\n"
                    f"            {_ret(shape, 'worker_stopped', facts, INNER_ID)}\n        }}"
                )
            elif key != "worker_stopped":
                lines.append(
                    f"        location @{key}__{shape.value} {{\n"
                    f"            {_ret(shape, key, facts, INNER_ID)}\n        }}"
                )
    return "\n\n".join(lines)


def shape_map() -> str:
    """Which shape a path's errors take: a protocol route's own, the container's everywhere else; an error page's
    URI (/.errors/SHAPE/...) keeps the shape it was chosen for."""
    lines = [
        "    map $uri $error_shape {",
        f"        default {Protocol.SAGEMAKER.value};",
        '        "~^/\\.errors/(?<page_shape>[a-z]+)/" $page_shape;',
    ]
    # In _ordered's order: a map's regexes are tried in order too, and /v1/models/{name}'s (OpenAI's) would take
    # KServe's /v1/models/{name}:predict.
    for route in _ordered(ROUTES):
        if route.protocol is not Protocol.SAGEMAKER:
            lines.append(f'        "~{_regex(route)}" {route.protocol.value};')
    lines.append("    }")
    return "\n".join(lines)


def _regex(route: Route) -> str:
    """The route's path as nginx's regex over $uri; {name} is captured as $route_model."""
    parts = re.split(r"\{(\w+)\}", route.path)
    return (
        "^"
        + "".join(re.escape(part) if index % 2 == 0 else "(?<route_model>[^/]+)" for index, part in enumerate(parts))
        + "$"
    )


def _ordered(routes: tuple[Route, ...]) -> list[Route]:
    """Exact paths first (nginx prefers them anyway), then the templates, the longest first: nginx tries regex
    locations in order, and /v1/models/{name}:predict must be tried before /v1/models/{name}."""
    return sorted(routes, key=lambda route: ("{" in route.path, -len(route.path)))


def _method_check(route: Route, shape: Protocol) -> str:
    methods = "|".join(route.methods)
    wanted = " or ".join(m for m in route.methods if m != "HEAD")
    return (
        f"{INDENT}if ($request_method !~ ^({methods})$) {{\n"
        f"{INDENT}    {nginx_return(shape, 'method_not_allowed', f'use {wanted} for {route.path}')}\n"
        f"{INDENT}}}"
    )


def _error_pages_of(shape: Protocol) -> str:
    s = shape.value
    return (
        f"{INDENT}error_page 413 = @payload_too_large__{s};\n"
        f"{INDENT}error_page 429 = @rate_limited__{s};\n"
        f"{INDENT}error_page 400 =400 /.errors/{s}/bad-request;\n"
        f"{INDENT}error_page 408 =408 /.errors/{s}/client-timeout;\n"
        f"{INDENT}error_page 502 = @unavailable__{s};\n"
        f"{INDENT}error_page 504 = @timeout__{s};"
    )


def _location_head(route: Route) -> str:
    if "{" in route.path:
        return f'        location ~ "{_regex(route)}" {{'
    return f"        location = {route.path} {{"


def _worker_location(route: Route, facts: EdgeFacts) -> str:
    shape = route.protocol
    lines = [_location_head(route), f'{INDENT}set $serving_route "{route.name}";', f"{INDENT}set $serving_path $uri;"]
    check = facts.api_key_check.get(shape, "")
    if check:
        lines.append(check)
    if facts.multi_model and route.model_from is ModelFrom.NONE:
        message = (
            f"{route.path} serves the model of a single-model endpoint; on a multi-model endpoint use "
            "/models/{name}/invoke"
        )
        return "\n".join([*lines, f"{INDENT}{nginx_return(shape, 'not_found', message)}", "        }"])
    lines.append(_method_check(route, shape))
    if facts.multi_model and route.model_from is ModelFrom.ALL:
        # The loaded models' list: the model management API has it (multi_model/api.py).
        return "\n".join(
            [
                *lines,
                f'{INDENT}access_by_lua_block {{ require("request_body").read() }}',
                _proxy("models_api", route.path),
                f"{INDENT}proxy_read_timeout 30s;",
                f"{INDENT}error_page 502 504 = @unavailable__{shape.value};",
                "        }",
            ]
        )
    if facts.rate_limit and route.kind.value == "inference":
        lines.append(facts.rate_limit)
    lines.append(f"{INDENT}if (!-f {facts.ready_file}) {{\n{INDENT}    {_ret(shape, 'not_ready', facts)}\n{INDENT}}}")
    lines.append(
        f"{INDENT}if ($forwarded_header_is_bad) {{\n{INDENT}    "
        f"{nginx_return(shape, 'bad_request', 'a header value holds a control character')}\n{INDENT}}}"
    )
    if "POST" not in route.methods:
        lines.append(f"{INDENT}proxy_method POST;  # the model server's inference API takes POSTs only")
    lines.append(_worker_target(route, facts, lines))
    lines.append(f"{INDENT}proxy_read_timeout {facts.outer_read_timeout_s}s;")
    lines.append(_error_pages_of(shape))
    lines.append("        }")
    return "\n".join(lines)


def _worker_target(route: Route, facts: EdgeFacts, lines: list[str]) -> str:
    """The admission and proxy lines: the single model's pool, or the named model's on a multi-model endpoint."""
    if not facts.multi_model:
        if route.model_from is ModelFrom.PATH:
            lines.append(
                f'{INDENT}if ($route_model != "{facts.served_name}") {{\n{INDENT}    '
                f"{nginx_return(route.protocol, 'model_not_found', _not_this_model(facts))}\n{INDENT}}}"
            )
        if route.kind is Kind.INFERENCE:
            # As /invocations: a body that asks for explanations goes to the explanation worker (lua/explanations.lua),
            # whose pool and route it names; the batching workers refuse explain requests.
            lines.append(f"{INDENT}set $inner_route /invocations;")
            lines.append(
                f'{INDENT}access_by_lua_block {{\n{INDENT}    require("request_body").read()\n'
                f'{INDENT}    require("admission").admit(require("explanations").route())\n{INDENT}}}'
            )
            return f"{INDENT}proxy_pass http://model_edge$inner_route;"
        lines.append(
            f'{INDENT}access_by_lua_block {{\n{INDENT}    require("request_body").read()\n'
            f'{INDENT}    require("admission").admit()\n{INDENT}}}'
        )
        return _proxy("model_edge", "/invocations")
    if route.model_from is ModelFrom.PATH:
        lines.append(f'{INDENT}set_by_lua_block $model_in_stack {{ return "m" .. ngx.md5(ngx.var.route_model) }}')
        lines.append(
            f"{INDENT}if (!-f {facts.runtime_dir}/models/$model_in_stack/serving) {{\n{INDENT}    "
            f"{nginx_return(route.protocol, 'model_not_found', 'this model is not loaded')}\n{INDENT}}}"
        )
        lines.append(
            f'{INDENT}access_by_lua_block {{\n{INDENT}    require("request_body").read()\n'
            f'{INDENT}    require("admission").admit(ngx.var.model_in_stack, ngx.var.route_model)\n'
            f"{INDENT}}}"
        )
    else:  # the body's "model" (OpenAI): lua/routes.lua reads it
        lines.append(f'{INDENT}set $model_in_stack "";')
        lines.append(
            f'{INDENT}access_by_lua_block {{\n{INDENT}    require("request_body").read()\n'
            f'{INDENT}    require("routes").admit_model_in_body("{route.protocol.value}", '
            f'"{facts.runtime_dir}/models")\n{INDENT}}}'
        )
        # proxy_pass itself, not _proxy's `set`: a `set` runs in the rewrite phase, before access_by_lua has named the
        # model, so the path would be /models//invoke; proxy_pass reads its variables when it proxies.
        return f"{INDENT}proxy_pass http://model_edge/models/$model_in_stack/invoke;"
    return _proxy("model_edge", "/models/$model_in_stack/invoke")


def _proxy(upstream: str, path: str) -> str:
    """proxy_pass to a path, through a variable: nginx takes no URI part in a regex location's proxy_pass."""
    return f'{INDENT}set $inner_path "{path}";\n{INDENT}proxy_pass http://{upstream}$inner_path;'


def _not_this_model(facts: EdgeFacts) -> str:
    return f"this endpoint serves one model, named {facts.served_name} (SERVE_MODEL_NAME)"


def _edge_location(route: Route, facts: EdgeFacts) -> str:
    """nginx's own answers: liveness, readiness (the ready file; a multi-model endpoint's model: its serving mark),
    the server's metadata."""
    shape = route.protocol
    lines = [_location_head(route), _method_check(route, shape)]
    if route.name == "kserve.v2.live":
        lines.append(f"{INDENT}return 200 '{{\"live\":true}}';")
    elif route.name == "kserve.v2.server":
        # binary_tensor_data: the v2 tensors' binary form, which tritonclient sends by default (protocols/kserve.py).
        server = {"name": "hf-serving", "version": hf_serving.__version__, "extensions": ["binary_tensor_data"]}
        body = json.dumps(server, separators=(",", ":"))
        lines.append(f"{INDENT}return 200 '{body}';")
    elif route.name == "kserve.v2.ready":
        lines.append(
            f"{INDENT}if (!-f {facts.ready_file}) {{\n{INDENT}    {_ret(shape, 'not_ready', facts)}\n"
            f"{INDENT}}}\n{INDENT}return 200 '{{\"ready\":true}}';"
        )
    elif route.name == "kserve.v2.model_ready":
        if facts.multi_model:
            lines.append(f'{INDENT}set_by_lua_block $model_in_stack {{ return "m" .. ngx.md5(ngx.var.route_model) }}')
            lines.append(
                f"{INDENT}if (!-f {facts.runtime_dir}/models/$model_in_stack/serving) {{\n{INDENT}    "
                f"{nginx_return(shape, 'model_not_found', 'this model is not loaded')}\n{INDENT}}}"
            )
            lines.append(
                f'{INDENT}set_by_lua_block $route_model_json {{ return require("routes").json_string('
                "ngx.var.route_model) }"
            )
            lines.append(f'{INDENT}return 200 \'{{"name":$route_model_json,"ready":true}}\';')
        else:
            lines.append(
                f'{INDENT}if ($route_model != "{facts.served_name}") {{\n{INDENT}    '
                f"{nginx_return(shape, 'model_not_found', _not_this_model(facts))}\n{INDENT}}}"
            )
            lines.append(
                f"{INDENT}if (!-f {facts.ready_file}) {{\n{INDENT}    {_ret(shape, 'not_ready', facts)}\n{INDENT}}}"
            )
            lines.append(f'{INDENT}return 200 \'{{"name":"{facts.served_name}","ready":true}}\';')
    else:
        raise ValueError(f"no edge answer for route {route.name}")
    lines.append("        }")
    return "\n".join(lines)


def locations(facts: EdgeFacts) -> str:
    """Every rendered route's location, in the order nginx must try them."""
    rendered = []
    for route in _ordered(rendered_routes()):
        if route.answerer is Answerer.EDGE:
            rendered.append(_edge_location(route, facts))
        else:
            rendered.append(_worker_location(route, facts))
    return "\n\n".join(rendered)


def metrics_routes() -> str:
    """The routes' labels and kinds for lua/metrics.lua: a Lua table of {pattern, label, kind, exact path}; an exact
    path ("" for a template) is found by one table lookup per request, a template by its pattern, the longest first.
    /predict counts as /invocations, the /docs files as /docs, /openapi.json and .yaml as /openapi."""
    rows = [
        ("^/predict$", "/invocations", "inference", "/predict"),
        ("^/docs/", "/docs", "docs", ""),
        ("^/openapi%.json$", "/openapi", "docs", "/openapi.json"),
        ("^/openapi%.yaml$", "/openapi", "docs", "/openapi.yaml"),
    ]
    for route in _ordered(ROUTES):
        if route.name == "openapi":
            continue
        parts = re.split(r"\{(\w+)\}", route.path)
        pattern = "^" + "".join(_lua_escape(part) if index % 2 == 0 else "[^/]+" for index, part in enumerate(parts))
        rows.append((pattern + "$", route.label, route.kind.value, "" if len(parts) > 1 else route.path))
    return "{" + ", ".join(f'{{"{p}", "{label}", "{kind}", "{exact}"}}' for p, label, kind, exact in rows) + "}"


def _lua_escape(text: str) -> str:
    return re.sub(r"([().%+\-*?\[\]^$])", r"%\1", text)


def inner_shape_map() -> str:
    known = "".join(f"        {shape.value} {shape.value};\n" for shape in Protocol)
    return f"    map $http_x_error_shape $inner_shape {{\n        default {Protocol.SAGEMAKER.value};\n{known}    }}"


def nginx_values(facts: EdgeFacts) -> dict[str, str | int]:
    return {
        "ERROR_SHAPE_MAP": shape_map(),
        "INNER_SHAPE_MAP": inner_shape_map(),
        "ROUTE_LOCATIONS": locations(facts),
        "ROUTE_ERROR_PAGES": error_pages(facts),
        "INNER_ERROR_PAGES": inner_error_pages(facts),
        "METRICS_ROUTES": metrics_routes(),
    }
