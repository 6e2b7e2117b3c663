"""The admission settings nginx gets: two batches per worker in the model server, the bound as nginx reads it."""

from __future__ import annotations

from hf_serving.launcher import admission, nginx
from hf_serving.settings import Settings


def test_two_batches_per_worker_are_let_into_the_model_server():
    assert admission.slots(workers=1, batch_size=8) == 16
    assert admission.slots(workers=2, batch_size=8) == 32
    assert admission.slots(workers=1, batch_size=1) == 2  # Batch Transform: one request per pass


def test_the_rendered_configuration_carries_the_slots_the_bound_and_the_lua_module(tmp_path):
    settings = Settings.from_environ({"SERVE_QUEUE_TIMEOUT_S": "2.5"})
    values = admission.nginx_values(settings, workers=2, batch_size=8)
    assert values["ADMISSION_SLOTS"] == 32 and values["QUEUE_TIMEOUT_S"] == "2.5"
    assert (admission.LUA_DIR / "admission.lua").is_file()
    template = (
        '{{NGINX_MODULES}}\nlua_package_path "{{LUA_DIR}}/?.lua;;";\n'
        'require("admission").start({slots = {{ADMISSION_SLOTS}}, bound_s = {{QUEUE_TIMEOUT_S}}})\n'
    )
    text = nginx.render(template, {**values, "NGINX_MODULES": "load_module x.so;"})
    assert f'lua_package_path "{admission.LUA_DIR}/?.lua;;";' in text
    assert "{slots = 32, bound_s = 2.5}" in text
    assert "at most 2.5 s (SERVE_QUEUE_TIMEOUT_S)" in admission.describe(settings, 2, 8)


def test_the_explanation_worker_has_a_pool_of_two_slots_only_when_it_exists():
    settings = Settings.from_environ({})
    assert admission.nginx_values(settings, workers=1, batch_size=8, explanation_worker=True)["EXPLAIN_SLOTS"] == 2
    assert admission.nginx_values(settings, workers=1, batch_size=8)["EXPLAIN_SLOTS"] == 0


def test_the_real_template_uses_every_admission_value():
    template = nginx.TEMPLATE_PATH.read_text()
    for name in ("NGINX_MODULES", "LUA_DIR", "ADMISSION_SLOTS", "QUEUE_TIMEOUT_S", "EXPLAIN_SLOTS"):
        assert "{{" + name + "}}" in template
    # The body read whole within SERVE_REQUEST_READ_TIMEOUT_S first, then the route and a slot.
    assert (
        '                require("request_body").read()\n'
        '                require("admission").admit(require("explanations").route())\n'
    ) in template
    assert (admission.LUA_DIR / "request_body.lua").is_file()
    assert (admission.LUA_DIR / "explanations.lua").is_file()
