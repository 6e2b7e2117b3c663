"""Loading a model directory into a ServedModel: task, device, dtype and threads decided once, here."""

from __future__ import annotations

import logging
from pathlib import Path

from hf_serving import hardware
from hf_serving.classification_model import TextClassificationModel
from hf_serving.concurrency import effective_threads, effective_workers
from hf_serving.errors import ConfigurationError
from hf_serving.model_source import has_random_weights
from hf_serving.served_model import QuestionAnsweringModel, ServedModel
from hf_serving.settings import Settings
from hf_serving.tasks import Task, detect_task, read_config

log = logging.getLogger(__name__)


def resolve_dtype(setting: str, device: str):  # -> torch.dtype
    import torch

    if setting == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if hardware.cpu_has_fast_bf16() else torch.float32
    if setting == "int8":
        return torch.float32  # int8 quantises float32 Linear layers after loading
    return getattr(torch, setting)


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
    if has_random_weights(model_dir):
        log.warning("SERVING RANDOM WEIGHTS: %s is a demo model built offline; its answers are meaningless",
                    model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=settings.trust_remote_code)
    if not tokenizer.is_fast:
        raise ConfigurationError(f"{model_dir} has no fast tokenizer (tokenizer.json); offsets need one")
    auto_class = (AutoModelForQuestionAnswering if task is Task.QUESTION_ANSWERING
                  else AutoModelForSequenceClassification)
    model = auto_class.from_pretrained(model_dir, dtype=dtype, trust_remote_code=settings.trust_remote_code)
    model = _finish(model, settings.dtype, device)
    log.info("loaded %s model from %s: device %s, dtype %s, %d torch threads", task.value, model_dir, device,
             str(dtype).removeprefix("torch.") if settings.dtype != "int8" else "int8 (dynamic)",
             torch.get_num_threads())
    if task is Task.QUESTION_ANSWERING:
        return QuestionAnsweringModel(model, tokenizer, device)
    return TextClassificationModel(model, tokenizer, device)


def _finish(model, dtype_setting: str, device: str):
    import torch

    model.eval()
    if dtype_setting == "int8":
        if device != "cpu":
            raise ConfigurationError("MODEL_DTYPE=int8 is for CPUs; use bfloat16 or float16 on a GPU")
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model.to(device)
