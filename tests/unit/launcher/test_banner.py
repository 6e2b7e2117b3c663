"""The start-up banner (launcher/banner.py), read from a plan: the mode's lines first, the sizes as planned, and the
configuration as JSON fields with the choices as their strings and no secret."""

from __future__ import annotations

import json

from hf_serving.launcher import banner
from hf_serving.launcher.plan import HostFacts, make_plan
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

KEY = "k" * 24


def plan_for(tmp_path, model_dir=TINY_QA, **settings):
    host = HostFacts((20001, 20002, 20003, 20004, 20005), tmp_path / "runtime", 0, None, "", {})
    return make_plan(Settings(model_dir=TINY_QA, runtime_dir=tmp_path / "runtime", **settings), model_dir, host)


def test_the_mode_lines_come_first_then_the_planned_sizes_and_ports(tmp_path):
    plan = plan_for(tmp_path)
    lines = banner.lines(plan, banner.single_model_lines(plan))
    assert lines[0] == f"model source: directory {TINY_QA}"
    assert lines[1].startswith("task: question-answering (")
    sizes = next(line for line in lines if line.startswith("workers"))
    assert sizes.startswith(f"workers: {plan.workers}, torch threads per worker: {plan.threads}, ")
    assert any("model server 20001, management 20002, nginx's inner hop 20003" in line for line in lines)


def test_a_multi_model_endpoint_says_so_and_sizes_per_model(tmp_path):
    plan = plan_for(tmp_path, None, multi_model=True)
    lines = banner.lines(plan, banner.multi_model_lines("memory budget: 1 GB"))
    assert lines[0].startswith("mode: multi-model endpoint") and lines[1] == "memory budget: 1 GB"
    assert any(line.startswith("workers per model: ") for line in lines)
    assert lines[-1].endswith("user code: each model's own code/ (if any)")


def test_the_json_configuration_holds_the_choices_as_strings_and_no_secret(tmp_path):
    plan = plan_for(tmp_path, api_key=KEY, hub_token="hf_secret")
    fields = json.loads(json.dumps(banner.configuration(plan)))
    assert (fields["dtype"], fields["metrics"], fields["log_format"], fields["response_cache"]) == (
        "auto",
        "public",
        "text",
        "off",
    )
    assert (fields["task"], fields["model_dir"], fields["workers"]) == (
        "question-answering",
        str(TINY_QA),
        plan.workers,
    )
    assert KEY not in json.dumps(fields) and "hf_secret" not in json.dumps(fields)
    assert "api_key" not in fields and "hub_token" not in fields
