"""Two shims that let sagemaker-huggingface-inference-toolkit 2.6.0 (written for transformers 4.x) run on 5.2.0.

Loaded by every Python process of peer (a) through PYTHONPATH (multi-model-server's workers inherit it);
nothing in site-packages is edited. Each shim applies only when its module is imported:
1. transformers_utils.py does `from transformers.file_utils import is_tf_available`, which transformers 5
   removed (ImportError at start): it is supplied, answering False, before that module runs.
2. handler_service.py calls `model(inputs, **parameters)` with the {question, context} dict as a positional
   argument, which 5.x's question-answering pipeline refuses (keyword arguments only; every QA request
   would fail with 400): for that one shape the same call is made with keywords. Everything else, including
   text classification, takes the toolkit's own path.
"""

import importlib.abc
import importlib.machinery
import sys


def _supply_is_tf_available(module=None):
    import transformers.file_utils

    if not hasattr(transformers.file_utils, "is_tf_available"):
        transformers.file_utils.is_tf_available = lambda: False


def _question_answering_by_keyword(module):
    service = module.HuggingFaceHandlerService
    toolkit_predict = service.predict

    def predict(self, data, model, context=None):
        inputs = data.get("inputs") if isinstance(data, dict) else None
        if isinstance(inputs, dict) and {"question", "context"} <= inputs.keys():
            parameters = data.get("parameters") or {}
            return model(question=inputs["question"], context=inputs["context"], **parameters)
        return toolkit_predict(self, data, model, context)

    service.predict = predict


BEFORE = {"sagemaker_huggingface_inference_toolkit.transformers_utils": _supply_is_tf_available}
AFTER = {"sagemaker_huggingface_inference_toolkit.handler_service": _question_answering_by_keyword}


class _ShimLoader(importlib.abc.Loader):
    def __init__(self, inner, name):
        self.inner, self.name = inner, name

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        if self.name in BEFORE:
            BEFORE[self.name](module)
        self.inner.exec_module(module)
        if self.name in AFTER:
            AFTER[self.name](module)


class _ShimFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in BEFORE and name not in AFTER:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ShimLoader(spec.loader, name)
        return spec


sys.meta_path.insert(0, _ShimFinder())
