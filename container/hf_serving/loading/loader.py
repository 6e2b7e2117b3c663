"""Loading a model directory into a served model: task, device, dtype, engine and threads decided once, here."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from hf_serving.engines import select
from hf_serving.engines.base import default_max_batch_tokens
from hf_serving.errors import ConfigurationError
from hf_serving.loading.explainer import attributor_source
from hf_serving.loading.sizing import effective_threads, effective_workers
from hf_serving.loading.source import has_random_weights
from hf_serving.settings import Settings
from hf_serving.tasks.base import LoadedParts, ServedModel
from hf_serving.tasks.registry import detect_task

log = logging.getLogger(__name__)


def load_served_model(model_dir: Path, settings: Settings, worker_index: int = 0) -> ServedModel:
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()  # a progress bar is noise in a server's log

    spec = detect_task(model_dir, settings.task)
    weights_dir = spec.weights_dir(model_dir)
    if torch.cuda.is_available():
        device = f"cuda:{worker_index % torch.cuda.device_count()}"
        dtype = select.dtype_on_gpu(settings.dtype, torch.cuda.is_bf16_supported())
    else:
        device, dtype = "cpu", select.dtype_on_cpu(settings.dtype)
    workers = effective_workers(settings)
    torch.set_num_threads(effective_threads(settings, workers))
    if has_random_weights(model_dir):
        log.warning("SERVING RANDOM WEIGHTS: %s is a demo model built offline; its answers are meaningless", model_dir)
    tokenizer = transformers.AutoTokenizer.from_pretrained(weights_dir, trust_remote_code=settings.trust_remote_code)
    if not tokenizer.is_fast:
        raise ConfigurationError(f"{weights_dir} has no fast tokenizer (tokenizer.json); offsets need one")
    config = transformers.AutoConfig.from_pretrained(weights_dir, trust_remote_code=settings.trust_remote_code)
    auto_model = getattr(transformers, spec.auto_model)
    engine = select.load_engine(
        auto_model,
        weights_dir,
        tokenizer.model_input_names,
        spec.output_names,
        dtype,
        device,
        settings.engine,
        torch.get_num_threads(),
        workers,
        settings.trust_remote_code,
        settings.max_batch_tokens or default_max_batch_tokens(device),
        prepare=partial(head_on_masks, tokenizer=tokenizer) if spec.reads_masks_only else None,
    )
    attributor = attributor_source(settings, engine, auto_model, weights_dir, tokenizer.model_input_names, device)
    served = spec.served_model(
        spec, LoadedParts(engine, tokenizer, config, model_dir, attributor, settings.max_response_bytes)
    )
    log.info("loaded %s: %s, %d threads", model_dir, served.describe(), torch.get_num_threads())
    return served


def head_on_masks(module: Any, tokenizer: Any) -> Any:
    """A masked LM running its head on the mask tokens' rows alone, where it answers the same so: imported here, when
    a fill-mask model loads, since engines/masked_lm.py needs torch."""
    from hf_serving.engines.masked_lm import masks_only

    return masks_only(module, tokenizer)
