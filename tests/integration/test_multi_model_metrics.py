"""A multi-model endpoint's /metrics over many loads and unloads, on the real stack: an unloaded model's series go with
it (nginx's counts, its admission pool's gauges, its workers' files), so the size of /metrics follows the models
loaded, not every model ever loaded; and who may read model names: with an API key, only its holders."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.integration.test_multi_model import QA_BODY, invoke, load, running_mme
from tests.support import metrics
from tests.support.paths import TINY_QA

pytestmark = pytest.mark.integration

KEY = "metrics-key-0123456789"
CYCLES = 20


@pytest.fixture(scope="module")
def mme(tmp_path_factory):
    yield from running_mme(tmp_path_factory.mktemp("mme-metrics"))


def named(samples: metrics.Samples, name: str) -> list[tuple[str, dict[str, str]]]:
    return [(sample, dict(labels)) for (sample, labels) in samples if dict(labels).get("model") == name]


def scrape_text(url: str, **headers: str) -> str:
    response = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def cycle(stack, name: str) -> None:
    """Load a model under a new name, answer two requests (one refused at the door), check its series, unload it."""
    assert load(stack, name, TINY_QA).status_code == 200
    for _ in range(2):
        assert invoke(stack, name, QA_BODY).status_code == 200
    assert invoke(stack, name, {"inputs": []}).status_code == 400
    loaded = metrics.scrape(stack.url)
    assert metrics.total(loaded, "hf_serving_requests_total", model=name, code="200") == 2
    assert metrics.total(loaded, "hf_serving_stage_duration_seconds_count", model=name, stage="inference") >= 2
    assert metrics.total(loaded, "hf_serving_admission_slots", model=name) > 0
    assert requests.delete(f"{stack.url}/models/{name}", timeout=60).status_code == 200


def test_an_unloaded_model_leaves_no_series_and_metrics_do_not_grow_with_history(mme):
    cycle(mme, "cycle-0")
    first = scrape_text(mme.url)
    # Its processes are gone, and so are its series: nginx's counts, its pool's gauges, its workers' files.
    assert not named(metrics.parse(first), "cycle-0")
    files = {path.name for path in (Path(mme.env["SERVE_RUNTIME_DIR"]) / "metrics").glob("*.db")}
    for index in range(1, CYCLES):
        cycle(mme, f"cycle-{index}")
    last = scrape_text(mme.url)
    samples = metrics.parse(last)
    assert not [found for index in range(CYCLES) for found in named(samples, f"cycle-{index}")]
    assert len(last.splitlines()) <= len(first.splitlines()), (len(first.splitlines()), len(last.splitlines()))
    assert len(list((Path(mme.env["SERVE_RUNTIME_DIR"]) / "metrics").glob("*.db"))) <= len(files)
    # The endpoint's own totals stay: every answer is still counted, with no model named (the 404s of unloaded ones).
    assert metrics.total(samples, "hf_serving_requests_total", route="/models", code="200") >= CYCLES
    assert metrics.total(samples, "hf_serving_models_loaded") == 0


def test_a_model_loaded_again_under_its_old_name_after_a_scrape_saw_it_gone_counts_from_zero(mme):
    cycle(mme, "again")
    assert not named(metrics.scrape(mme.url), "again")
    assert load(mme, "again", TINY_QA).status_code == 200
    assert invoke(mme, "again", QA_BODY).status_code == 200
    samples = metrics.scrape(mme.url)
    assert metrics.total(samples, "hf_serving_requests_total", model="again", code="200") == 1
    assert metrics.total(samples, "hf_serving_stage_duration_seconds_count", model="again", stage="inference") == 1
    assert requests.delete(f"{mme.url}/models/again", timeout=60).status_code == 200


@pytest.fixture(scope="module")
def keyed_mme(tmp_path_factory):
    yield from running_mme(tmp_path_factory.mktemp("keyed-mme-metrics"), SERVE_API_KEY=KEY)


def test_with_an_api_key_model_names_on_metrics_are_for_its_holders_only(keyed_mme):
    """GET /models answers only with the key; /metrics, which names every model loaded, asks for it too."""
    assert load(keyed_mme, "tenant-a", TINY_QA, **{"X-Api-Key": KEY}).status_code == 200
    assert invoke(keyed_mme, "tenant-a", QA_BODY, **{"X-Api-Key": KEY}).status_code == 200
    for headers in ({}, {"X-Api-Key": "wrong-key-0123456789"}):
        refused = requests.get(f"{keyed_mme.url}/metrics", headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert "tenant-a" not in refused.text
    assert requests.get(f"{keyed_mme.url}/models", timeout=10).status_code == 401
    samples = metrics.scrape(keyed_mme.url, **{"X-Api-Key": KEY})
    assert metrics.total(samples, "hf_serving_requests_total", model="tenant-a", code="200") == 1
    assert "/metrics: behind the API key" in keyed_mme.log()


def test_an_operator_may_make_them_public_and_is_warned(tmp_path):
    for stack in running_mme(tmp_path, SERVE_API_KEY=KEY, SERVE_METRICS="public"):
        assert "hf_serving_requests_total" in scrape_text(stack.url)  # a 200, with no key
        assert "/metrics is public (SERVE_METRICS=public) and names every model loaded" in stack.log()
