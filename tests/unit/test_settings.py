from pathlib import Path

import pytest

from hf_serving import hardware
from hf_serving.errors import ConfigurationError
from hf_serving.loading.sizing import effective_batch_size, effective_threads, effective_workers
from hf_serving.settings import (
    BatchStrategy,
    Dtype,
    Engine,
    LogFormat,
    LogLevel,
    MetricsAccess,
    PortRange,
    ResponseCacheKind,
    Settings,
    early_log_format,
)


def test_defaults_match_the_sagemaker_contract():
    settings = Settings.from_environ({})
    assert settings.model_dir == Path("/opt/ml/model")
    assert settings.port == 8080
    assert settings.invocation_timeout_s == 60
    assert settings.max_payload_mb == 6
    assert settings.max_response_mb == 16
    assert settings.user_program == "inference.py"
    assert settings.trust_remote_code is False
    assert settings.install_code_requirements is False
    assert settings.code_dir == Path("/opt/ml/model/code")


def test_reads_each_variable():
    settings = Settings.from_environ(
        {
            "HF_MODEL_DIR": "/models/qa",
            "HF_MODEL_ID": "org/model",
            "HF_MODEL_REVISION": "abc",
            "HF_API_TOKEN": "secret",
            "HF_TASK": "question-answering",
            "SAGEMAKER_BIND_TO_PORT": "9090",
            "SAGEMAKER_SAFE_PORT_RANGE": "20000-20999",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": "30",
            "MODEL_DTYPE": "BFloat16",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SERVE_CODE_DIR": "/opt/ml/model/code",
        }
    )
    assert settings.model_dir == Path("/models/qa")
    assert (settings.model_id, settings.model_revision, settings.hub_token) == ("org/model", "abc", "secret")
    assert settings.port == 9090
    assert settings.safe_port_range == PortRange(20000, 20999)
    assert 20500 in settings.safe_port_range and 21000 not in settings.safe_port_range
    assert (settings.workers, settings.invocation_timeout_s, settings.dtype) == (2, 30, "bfloat16")
    assert settings.log_level == "INFO"
    assert settings.code_dir == Path("/opt/ml/model/code")


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("on", True), ("OFF", False)])
def test_explanations_are_on_unless_turned_off(value, expected):
    assert Settings.from_environ({} if value is None else {"SERVE_EXPLAIN": value}).explain is expected


def test_hub_token_never_shows_in_repr():
    assert "secret" not in repr(Settings.from_environ({"HF_TOKEN": "secret"}))


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("SAGEMAKER_BIND_TO_PORT", "http", "not an integer"),
        ("SAGEMAKER_BIND_TO_PORT", "70000", "outside"),
        ("SAGEMAKER_SAFE_PORT_RANGE", "20999-20000", "low < high"),
        ("SAGEMAKER_SAFE_PORT_RANGE", "20000", "range like"),
        ("MODEL_DTYPE", "fp8", "auto, float32, bfloat16, float16, int8"),
        ("HF_TRUST_REMOTE_CODE", "maybe", "boolean"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0", "outside"),
        ("SAGEMAKER_CONTAINER_LOG_LEVEL", "LOUD", "log level"),
        ("SERVE_EXPLAIN", "sometimes", "on, off"),
        ("SERVE_MAX_RESPONSE_MB", "0", "outside 1..1024"),
    ],
)
def test_bad_values_fail_naming_the_variable(name, value, named):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({name: value})
    assert name in str(caught.value)
    assert named in str(caught.value)


def test_the_answer_limit_is_read_in_mb():
    assert Settings.from_environ({"SERVE_MAX_RESPONSE_MB": "64"}).max_response_mb == 64


def test_batch_transform_mode_allows_an_hour_per_request_unless_told_otherwise():
    assert Settings.from_environ({"SAGEMAKER_BATCH": "true"}).invocation_timeout_s == 3600
    assert (
        Settings.from_environ({"SAGEMAKER_BATCH": "true", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "120"}).invocation_timeout_s
        == 120
    )
    settings = Settings.from_environ(
        {"SAGEMAKER_BATCH_STRATEGY": "single_record", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "4"}
    )
    assert (settings.batch_strategy, settings.max_concurrent_transforms) == ("SINGLE_RECORD", 4)


def test_api_key_must_be_long_and_plain_and_is_never_echoed():
    assert Settings.from_environ({"SERVE_API_KEY": "abcdefghijklmnop-_.~"}).api_key == "abcdefghijklmnop-_.~"
    for bad in ("short", 'has"quote-and-is-long-enough', "has space and is long enough"):
        with pytest.raises(ConfigurationError) as caught:
            Settings.from_environ({"SERVE_API_KEY": bad})
        assert "SERVE_API_KEY" in str(caught.value) and bad not in str(caught.value)
    assert "abcdefghijklmnop" not in repr(Settings.from_environ({"SERVE_API_KEY": "abcdefghijklmnop"}))


def test_real_time_endpoints_batch_by_default_and_batch_transform_does_not():
    real_time = Settings.from_environ({})
    assert (real_time.batch_size, real_time.max_batch_delay_ms, real_time.engine) == (None, 1, "auto")
    assert Settings.from_environ({"SAGEMAKER_BATCH": "true"}).batch_size == 1
    told = Settings.from_environ(
        {
            "SAGEMAKER_BATCH": "true",
            "MODEL_SERVER_BATCH_SIZE": "4",
            "MODEL_SERVER_MAX_BATCH_DELAY_MS": "0",
            "MODEL_ENGINE": "Torch",
        }
    )
    assert (told.batch_size, told.max_batch_delay_ms, told.engine) == (4, 0, "torch")
    with pytest.raises(ConfigurationError, match="MODEL_ENGINE"):
        Settings.from_environ({"MODEL_ENGINE": "onnx"})


@pytest.mark.parametrize(
    ("gpus", "cores", "expected"),
    [
        (0, 2, (1, 2, 8)),  # CPU: one worker batching 8 requests on every core
        (0, 16, (1, 16, 8)),
        (1, 16, (4, 4, 32)),  # GPU: a worker per 4 cores, at most 4 per GPU, batches of 32, the cores shared
        (1, 32, (4, 8, 32)),
        (1, 8, (2, 4, 32)),
        (1, 4, (1, 4, 32)),
        (1, 2, (1, 2, 32)),
        (4, 32, (8, 4, 32)),
        (8, 96, (24, 4, 32)),
        (1, 12, (3, 4, 32)),
    ],
)
def test_workers_threads_and_batch_size_follow_the_hardware(monkeypatch, gpus, cores, expected):
    monkeypatch.setattr(hardware, "gpu_count", lambda: gpus)
    monkeypatch.setattr(hardware, "usable_cores", lambda: cores)
    settings = Settings.from_environ({})
    workers = effective_workers(settings)
    assert (workers, effective_threads(settings, workers), effective_batch_size(settings)) == expected


def test_settings_beat_the_hardware_defaults(monkeypatch):
    monkeypatch.setattr(hardware, "gpu_count", lambda: 1)
    monkeypatch.setattr(hardware, "usable_cores", lambda: 16)
    settings = Settings.from_environ(
        {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_BATCH_SIZE": "64", "MODEL_SERVER_THREADS": "3"}
    )
    assert (effective_workers(settings), effective_threads(settings, 1), effective_batch_size(settings)) == (1, 3, 64)
    assert effective_batch_size(Settings.from_environ({"SAGEMAKER_BATCH": "true"})) == 1


def test_the_queue_bound_is_seconds_with_a_real_time_default_and_the_invocation_timeout_under_batch_transform():
    assert Settings.from_environ({}).queue_timeout_s == 5.0
    assert Settings.from_environ({"SERVE_QUEUE_TIMEOUT_S": "0.5"}).queue_timeout_s == 0.5
    assert Settings.from_environ({"SERVE_QUEUE_TIMEOUT_S": "0"}).queue_timeout_s == 0.0
    assert Settings.from_environ({"SAGEMAKER_BATCH": "true"}).queue_timeout_s == 3600.0
    assert (
        Settings.from_environ({"SAGEMAKER_BATCH": "true", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "600"}).queue_timeout_s
        == 600.0
    )
    assert Settings.from_environ({"SAGEMAKER_BATCH": "true", "SERVE_QUEUE_TIMEOUT_S": "30"}).queue_timeout_s == 30.0
    for bad, message in (
        ("-1", "outside 0..3600"),
        ("soon", "is not a number"),
        ("nan", "outside"),
        ("7200", "outside 0..3600"),
    ):
        with pytest.raises(ConfigurationError, match=f"SERVE_QUEUE_TIMEOUT_S.*{message}"):
            Settings.from_environ({"SERVE_QUEUE_TIMEOUT_S": bad})


def test_docs_are_on_by_default_and_off_only_when_asked():
    assert Settings.from_environ({}).docs is True
    assert Settings.from_environ({"SERVE_DOCS": "on"}).docs is True
    assert Settings.from_environ({"SERVE_DOCS": "OFF"}).docs is False
    with pytest.raises(ConfigurationError, match=r"SERVE_DOCS='false' is not one of: on, off"):
        Settings.from_environ({"SERVE_DOCS": "false"})


def test_a_multi_model_endpoint_with_a_key_asks_for_it_on_metrics_unless_told_public():
    """Its /metrics names every model it holds, which GET /models shows only to key holders."""
    key = {"SERVE_API_KEY": "k" * 20}
    assert Settings.from_environ({"SAGEMAKER_MULTI_MODEL": "true", **key}).metrics == "key"
    assert (
        Settings.from_environ({"SAGEMAKER_MULTI_MODEL": "true", **key, "SERVE_METRICS": "public"}).metrics == "public"
    )
    assert Settings.from_environ({"SAGEMAKER_MULTI_MODEL": "true"}).metrics == "public"  # no key to ask for
    assert Settings.from_environ(key).metrics == "public"  # a single-model endpoint names no model


@pytest.mark.parametrize("destination", ["relative/dir", "s3://", "s3:///prefix", "gs://bucket/x", "http://"])
def test_a_capture_destination_that_cannot_work_fails_at_start(destination):
    with pytest.raises(ConfigurationError, match="DATA_CAPTURE_DESTINATION"):
        Settings.from_environ({"DATA_CAPTURE_PERCENT": "5", "DATA_CAPTURE_DESTINATION": destination})


def test_a_sink_url_with_credentials_is_not_echoed_in_the_error():
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_environ({"DATA_CAPTURE_DESTINATION": "ftp://user:secret@host/x"})
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize("destination", ["/var/capture", "s3://bucket", "s3://bucket/a/b", "https://sink:8443/x"])
def test_capture_destinations_that_work(destination):
    settings = Settings.from_environ({"DATA_CAPTURE_PERCENT": "5", "DATA_CAPTURE_DESTINATION": destination})
    assert settings.data_capture_destination == destination


@pytest.mark.parametrize(
    ("name", "raw", "field", "member"),
    [
        ("MODEL_DTYPE", "INT8", "dtype", Dtype.INT8),
        ("MODEL_ENGINE", "OpenVINO", "engine", Engine.OPENVINO),
        ("SAGEMAKER_BATCH_STRATEGY", "single_record", "batch_strategy", BatchStrategy.SINGLE_RECORD),
        ("SERVE_METRICS", "OFF", "metrics", MetricsAccess.OFF),
        ("LOG_FORMAT", "Json", "log_format", LogFormat.JSON),
        ("SAGEMAKER_CONTAINER_LOG_LEVEL", "warning", "log_level", LogLevel.WARNING),
        ("SAGEMAKER_CONTAINER_LOG_LEVEL", "40", "log_level", LogLevel.ERROR),
        ("RESPONSE_CACHE", "Memory", "response_cache", ResponseCacheKind.MEMORY),
        ("RESPONSE_CACHE", "redis://cache:6379/0", "response_cache", ResponseCacheKind.REDIS),
    ],
)
def test_a_choice_is_read_in_any_case_into_its_enum_which_prints_and_compares_as_its_value(name, raw, field, member):
    value = getattr(Settings.from_environ({name: raw}), field)
    assert value is member
    assert value == member.value and f"{value}" == member.value and str(value) == member.value


def test_a_choice_outside_its_enum_fails_listing_the_values():
    with pytest.raises(ConfigurationError, match="MODEL_ENGINE='onnx' is not one of: auto, torch, openvino"):
        Settings.from_environ({"MODEL_ENGINE": "onnx"})


def test_the_libraries_variables_are_read_for_the_children_and_left_unset_by_default():
    defaults = Settings.from_environ({})
    assert (defaults.tokenizers_parallelism, defaults.gomp_spincount, defaults.omp_wait_policy) == (None, None, None)
    chosen = Settings.from_environ(
        {"TOKENIZERS_PARALLELISM": "true", "GOMP_SPINCOUNT": "500", "OMP_WAIT_POLICY": "passive"}
    )
    assert (chosen.tokenizers_parallelism, chosen.gomp_spincount, chosen.omp_wait_policy) == ("true", "500", "passive")


@pytest.mark.parametrize(("raw", "expected"), [("json", "json"), (" JSON ", "json"), ("text", "text"), ("xml", "text")])
def test_the_log_format_before_the_settings_is_json_only_when_asked_and_text_otherwise(raw, expected):
    assert early_log_format({"LOG_FORMAT": raw}) == expected
    assert early_log_format({}) is LogFormat.TEXT
