"""The SageMaker handler contract: default hooks, a user's overrides, and running them for one request.

Built on sagemaker-inference's Transformer, which already knows the contract users write against:
it imports the user's module (SAGEMAKER_PROGRAM, default inference.py), takes each hook it defines and
the default for each it does not, refuses transform_fn mixed with the other request hooks, and calls
model_fn with or without a context. What it gets wrong for a server we replace here: its transform()
reads request 0's headers for a whole batch and puts tracebacks in response bodies. Here each request
runs alone, with its own headers and its own errors (batch_handler.py).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.transformer import Transformer

from hf_serving.serving.request_context import RequestContext

log = logging.getLogger(__name__)

DEFAULT_HOOKS = "hf_serving.serving.default_hooks"  # container/code/inference.py documents them for users
HOOK_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


class ContainerDefaults(DefaultInferenceHandler):
    """The container's default hooks in the shape sagemaker-inference expects."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.default_model_fn = module.model_fn
        self.default_input_fn = module.input_fn
        self.default_predict_fn = module.predict_fn
        self.default_output_fn = module.output_fn


class HookRunner(Transformer):
    def __init__(self, code_dir: Path, default_hooks: str = DEFAULT_HOOKS) -> None:
        defaults = ContainerDefaults(importlib.import_module(default_hooks))
        super().__init__(default_inference_handler=defaults)
        self.defaults = defaults
        self.code_dir = code_dir
        self.overridden: set[str] = set()
        if code_dir.is_dir() and str(code_dir) not in sys.path:
            # The user's module and any sibling modules it imports resolve from their code/ directory.
            sys.path.insert(0, str(code_dir))

    def load(self, model_dir: Path, server_context: Any) -> Any:
        """Import the user's hooks (if any) and run model_fn; returns the loaded model."""
        self.validate_and_initialize(model_dir=str(model_dir), context=server_context)
        self.overridden = overridden = self.overridden_hooks()
        log.info(
            "handler hooks: %s",
            ", ".join(
                f"{name} ({'user' if name in overridden else 'default'})"
                for name in HOOK_NAMES
                if name != "transform_fn" or name in overridden
            ),
        )
        return self._model

    @property
    def model(self) -> Any:
        return self._model

    def overridden_hooks(self) -> set[str]:
        defaults = {
            self.defaults.default_model_fn,
            self.defaults.default_input_fn,
            self.defaults.default_predict_fn,
            self.defaults.default_output_fn,
            self._default_transform_fn,
        }
        current = {
            "model_fn": self._model_fn,
            "input_fn": self._input_fn,
            "predict_fn": self._predict_fn,
            "output_fn": self._output_fn,
            "transform_fn": self._transform_fn,
        }
        return {name for name, fn in current.items() if fn not in defaults}

    def can_batch(self) -> bool:
        """Requests of one model-server batch may share a model pass: decoding and prediction are ours."""
        return not {"input_fn", "predict_fn", "transform_fn"} & self.overridden and hasattr(
            self._model, "predict_records"
        )

    def tells_outcomes(self) -> bool:
        """The container's model answers as it is, so what it predicted is what the client got (monitoring): no user
        model_fn, predict_fn or transform_fn stands between them. A user's input_fn or output_fn only reshapes."""
        return not {"model_fn", "predict_fn", "transform_fn"} & self.overridden

    def uses_transform_fn(self) -> bool:
        return self._transform_fn != self._default_transform_fn

    def transform(
        self, body: bytes, content_type: str | None, accept: str | None, context: RequestContext
    ) -> tuple[bytes | str, str]:
        """One request through the user's transform_fn (the handler runs the other hooks one by one)."""
        result = call_hook(self._transform_fn, (self._model, body, content_type, accept), context)
        return _body_and_type(result, accept)

    def decode(self, body: bytes, content_type: str | None, context: RequestContext) -> Any:
        return call_hook(self._input_fn, (body, content_type), context)

    def predict(self, data: Any, context: RequestContext) -> Any:
        return call_hook(self._predict_fn, (data, self._model), context)

    def encode(self, prediction: Any, accept: str | None, context: RequestContext) -> tuple[bytes | str, str]:
        return _body_and_type(call_hook(self._output_fn, (prediction, accept), context), accept)


def _body_and_type(result: Any, accept: str | None) -> tuple[bytes | str, str]:
    """output_fn and transform_fn may return the body alone (then it is of the Accept type) or (body, type)."""
    if isinstance(result, tuple):
        return result[0], result[1]
    return result, accept or ""


def call_hook(func: Callable[..., Any], args: tuple, context: RequestContext) -> Any:
    """Call a hook with or without the trailing context argument, as its signature asks."""
    if _takes_context(func, len(args)):
        return func(*args, context)
    return func(*args)


@functools.cache
def _takes_context(func: Callable[..., Any], arg_count: int) -> bool:
    """Read once per hook, not per request: a positional slot after the arguments, or *args."""
    parameters = inspect.signature(func).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) > arg_count or any(p.kind is p.VAR_POSITIONAL for p in parameters)
