"""GET /docs: Swagger UI over this container's own OpenAPI description, served by nginx with nothing from outside.

`assets.py` fetches the pinned swagger-ui-dist (package-lock.json here) and checks its integrity; `spec.py` writes
the description served at /openapi.json and /openapi.yaml, tailored to this start; `page/` is our page and its
initializer. nginx serves all three (docker/nginx.conf).
"""
