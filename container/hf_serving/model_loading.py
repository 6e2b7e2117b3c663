"""Loading a model directory into a ServedModel: task, device, dtype and threads decided once, here."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from hf_serving import hardware, openvino_engine, openvino_runtime
from hf_serving.classification_model import TextClassificationModel
from hf_serving.concurrency import effective_threads, effective_workers
from hf_serving.errors import ConfigurationError
from hf_serving.model_source import has_random_weights
from hf_serving.served_model import QuestionAnsweringModel, ServedModel
from hf_serving.settings import Settings
from hf_serving.tasks import Task, detect_task, read_config

log = logging.getLogger(__name__)

# What the decoders read from a forward pass, by task, in the order the models return them.
OUTPUT_NAMES = {Task.QUESTION_ANSWERING: ["start_logits", "end_logits"], Task.TEXT_CLASSIFICATION: ["logits"]}
# What MODEL_DTYPE=int8 means on each engine, for the log.
INT8_ON_OPENVINO = "int8 (int8 weights; activations quantised at run time)"
INT8_ON_TORCH = "int8 (torch dynamic quantisation)"


def resolve_dtype(setting: str, device: str):  # -> torch.dtype
    import torch

    if setting == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if hardware.cpu_has_fast_bf16() else torch.float32
    if setting == "int8":
        return torch.float32  # int8 quantises float32 Linear layers after loading
    return getattr(torch, setting)


def choose_engine(setting: str, dtype_name: str, device: str) -> str:
    """torch or openvino. auto: OpenVINO for bfloat16 on CPU (~1.4x torch's req/s, bench/README.md) and int8 on CPU
    (~2.4x torch's dynamic int8 model-only, openvino_int8.py); torch for float32, the reference that answers
    exactly as transformers' pipeline did, and for GPUs and float16."""
    if setting == "torch":
        return "torch"
    fits = device == "cpu" and dtype_name in openvino_engine.SERVED_DTYPES
    if setting == "openvino":
        if not fits:
            served = ", ".join(openvino_engine.SERVED_DTYPES[:-1]) + f" and {openvino_engine.SERVED_DTYPES[-1]}"
            raise ConfigurationError(f"MODEL_ENGINE=openvino serves {served} on CPU, not {dtype_name} on {device}")
        if not openvino_runtime.available():
            raise ConfigurationError("MODEL_ENGINE=openvino, but the openvino package is not installed")
        return "openvino"
    return "openvino" if fits and dtype_name != "float32" and openvino_runtime.available() else "torch"


def load_served_model(model_dir: Path, settings: Settings, worker_index: int = 0) -> ServedModel:
    import torch
    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()  # a progress bar is noise in a server's log

    task = detect_task(read_config(model_dir), settings.task)
    device = f"cuda:{worker_index % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    workers = effective_workers(settings)
    torch.set_num_threads(effective_threads(settings, workers))
    dtype = resolve_dtype(settings.dtype, device)
    dtype_name = "int8" if settings.dtype == "int8" else str(dtype).removeprefix("torch.")
    engine = choose_engine(settings.engine, dtype_name, device)
    if has_random_weights(model_dir):
        log.warning("SERVING RANDOM WEIGHTS: %s is a demo model built offline; its answers are meaningless",
                    model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=settings.trust_remote_code)
    if not tokenizer.is_fast:
        raise ConfigurationError(f"{model_dir} has no fast tokenizer (tokenizer.json); offsets need one")
    auto_class = (AutoModelForQuestionAnswering if task is Task.QUESTION_ANSWERING
                  else AutoModelForSequenceClassification)
    model = None
    if engine == "openvino":
        try:
            model = _compile_openvino(model_dir, settings, auto_class, tokenizer, task, dtype_name, workers)
            engine_name = openvino_engine.describe()
        except Exception as exc:
            if settings.engine == "openvino":
                raise
            # auto must never stop a model that torch serves: OpenVINO cannot convert every architecture.
            log.warning("OpenVINO could not convert %s (%s: %s); serving it on torch instead", model_dir,
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    if model is None:
        model = auto_class.from_pretrained(model_dir, dtype=dtype, trust_remote_code=settings.trust_remote_code)
        model = _finish(model, settings.dtype, device)
        engine_name = f"torch {torch.__version__}"
    dtype_text = dtype_name
    if dtype_name == "int8":
        dtype_text = INT8_ON_OPENVINO if isinstance(model, openvino_engine.OpenVINOModel) else INT8_ON_TORCH
    log.info("loaded %s model from %s: %s, device %s, dtype %s, %d threads", task.value, model_dir, engine_name,
             device, dtype_text, torch.get_num_threads())
    if task is Task.QUESTION_ANSWERING:
        return QuestionAnsweringModel(model, tokenizer, device)
    return TextClassificationModel(model, tokenizer, device)


def _compile_openvino(model_dir: Path, settings: Settings, auto_class, tokenizer, task: Task, dtype_name: str,
                      workers: int) -> openvino_engine.OpenVINOModel:
    import torch

    # Converted from float32 weights: OpenVINO makes its own bf16 copy when it compiles.
    torch_model = auto_class.from_pretrained(model_dir, dtype=torch.float32,
                                             trust_remote_code=settings.trust_remote_code)
    # The tokenizer's outputs that forward() takes (a tokenizer may make some a model does not take).
    given = set(tokenizer.model_input_names)
    return openvino_engine.OpenVINOModel(
        torch_model, [name for name in inspect.signature(torch_model.forward).parameters if name in given],
        OUTPUT_NAMES[task], dtype_name, threads=torch.get_num_threads(), pin_threads=workers == 1)


def _finish(model, dtype_setting: str, device: str):
    import torch

    model.eval()
    if dtype_setting == "int8":
        if device != "cpu":
            raise ConfigurationError("MODEL_DTYPE=int8 is for CPUs; use bfloat16 or float16 on a GPU")
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model.to(device)
