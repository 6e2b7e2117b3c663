"""CORS at the edge (SERVE_CORS_ORIGINS), rendered into nginx's configuration; off by default, when all three parts
are empty and nginx answers no CORS header at all.

- http level (CORS_MAPS): the origin a request comes from, if it is listed ($cors_origin: the listed origin, else
  ""), whether it is a preflight ($cors_preflight), and the headers' values, each "" where it does not apply: nginx's
  add_header sends nothing for an empty value, so one set of lines serves every request.
- server level (CORS): those add_header lines, and the preflight's answer, a 204 at the server's rewrite phase, before
  any location: before the API key (a browser never sends credentials on a preflight), the rate limits and admission
  control (it takes no slot). An unlisted origin's preflight goes on to its route and gets that route's answer as
  before (a 405 or 401 in JSON) without a CORS header, so the browser refuses the call.
- a location with add_header of its own (CORS_HEADERS): add_header is not inherited there, so it repeats the
  response headers.

"*" answers Access-Control-Allow-Origin: * (never an echo of the Origin), and no origin is ever answered with
Access-Control-Allow-Credentials: the container uses no cookie nor HTTP authentication a browser would attach by
itself. SERVE_API_KEY travels in a header the page's own script sets, so with a key, "*" lets any page that holds the
key call the endpoint, which any other client holding it can already do.
"""

from __future__ import annotations

from hf_serving.settings import Settings

# What a browser may send: the headers the container reads or forwards to the handler (docker/nginx.conf's
# proxy_set_header list), the API key's two forms among them.
ALLOWED_HEADERS = (
    "Content-Type",
    "Accept",
    "X-Api-Key",
    "Authorization",
    "X-Amzn-SageMaker-Custom-Attributes",
    "X-Amzn-SageMaker-Target-Model",
    "X-Amzn-SageMaker-Target-Variant",
    "X-Amzn-SageMaker-Inference-Id",
    "X-Amzn-SageMaker-Session-Id",
    "Inference-Header-Content-Length",
)  # KServe v2's binary tensors
ALLOWED_METHODS = ("GET", "HEAD", "POST", "DELETE")
# What a page may read besides the CORS-safelisted ones (Content-Type, Content-Length, ...): the edge's and the
# handler's own headers.
EXPOSED_HEADERS = (
    "X-Request-Id",
    "Server-Timing",
    "Retry-After",
    "X-Cache",
    "X-Amzn-SageMaker-Custom-Attributes",
    "Inference-Header-Content-Length",
)
# How long a browser may reuse a preflight's answer: Chromium's own cap.
MAX_AGE_S = 7200


def _literal(origin: str) -> str:
    """The origin as a regular expression matching only itself: settings.py allows no other special character."""
    return "".join(f"\\{char}" if char in ".+[]" else char for char in origin)


def _origin_map(settings: Settings) -> str:
    if settings.cors_origins == ("*",):
        entries = '        "" "";\n        default "*";'
    else:
        # Anchored, case-sensitive regular expressions, not map's string keys: those are matched ignoring case, and
        # their hash would need map_hash_bucket_size raised (before every other map) for a long host name. The value
        # is the origin as configured, never $http_origin.
        entries = '        default "";\n' + "\n".join(
            f'        "~^{_literal(origin)}$" "{origin}";' for origin in settings.cors_origins
        )
    return f"    map $http_origin $cors_origin {{\n{entries}\n    }}"


def _when(source: str, value: str, name: str) -> str:
    return f'    map {source} {name} {{\n        {value};\n        default "";\n    }}'


def cors_maps(settings: Settings) -> str:
    if not settings.cors_origins:
        return ""
    # A listed origin, an OPTIONS and Access-Control-Request-Method: a preflight (an OPTIONS without the latter is
    # an ordinary request, answered by its route).
    preflight = (
        '    map "$request_method $cors_origin $http_access_control_request_method" $cors_preflight {\n'
        '        "~^OPTIONS \\S+ \\S" 1;\n        default 0;\n    }'
    )
    return "\n".join(
        [
            "    # CORS (SERVE_CORS_ORIGINS, hf_serving/launcher/cors.py): each value is empty where it does not "
            "apply,",
            "    # and add_header sends nothing for an empty value.",
            _origin_map(settings),
            preflight,
            _when("$cors_origin", f'"~." "{", ".join(EXPOSED_HEADERS)}"', "$cors_expose_headers"),
            _when("$cors_preflight", f'1 "{", ".join(ALLOWED_METHODS)}"', "$cors_allow_methods"),
            _when("$cors_preflight", f'1 "{", ".join(ALLOWED_HEADERS)}"', "$cors_allow_headers"),
            _when("$cors_preflight", f"1 {MAX_AGE_S}", "$cors_max_age"),
        ]
    )


def cors_headers(settings: Settings) -> str:
    """Every response's CORS headers; Vary: Origin on all of them, a listed origin's or not, so that a cache never
    hands one origin's answer to another."""
    if not settings.cors_origins:
        return ""
    return (
        "            add_header Access-Control-Allow-Origin $cors_origin always;\n"
        "            add_header Access-Control-Expose-Headers $cors_expose_headers always;\n"
        "            add_header Vary Origin always;"
    )


def cors_server(settings: Settings) -> str:
    """The server's: the response headers, the preflight's, and the preflight's answer."""
    if not settings.cors_origins:
        return ""
    indent = "        "
    lines = [line.strip() for line in cors_headers(settings).splitlines()] + [
        "add_header Access-Control-Allow-Methods $cors_allow_methods always;",
        "add_header Access-Control-Allow-Headers $cors_allow_headers always;",
        "add_header Access-Control-Max-Age $cors_max_age always;",
        "if ($cors_preflight) {",
        "    return 204;",
        "}",
    ]
    return "\n".join(indent + line for line in lines)


def cors_values(settings: Settings) -> dict[str, str | int]:
    return {"CORS_MAPS": cors_maps(settings), "CORS": cors_server(settings), "CORS_HEADERS": cors_headers(settings)}


def describe(settings: Settings) -> str:
    if not settings.cors_origins:
        return "CORS: off (SERVE_CORS_ORIGINS)"
    return f"CORS: preflights answered and headers sent for {', '.join(settings.cors_origins)}"
