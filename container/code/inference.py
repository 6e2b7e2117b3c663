"""The container's default handlers, as SageMaker's inference toolkits document theirs.

Every request goes through four hooks: model_fn, input_fn, predict_fn and output_fn. A model.tar.gz may
carry code/inference.py (or the file SAGEMAKER_PROGRAM names) defining any of them, or transform_fn alone;
each one it defines replaces the matching default, and the others stay. Each hook may take a trailing
`context` argument: model_fn gets the model server's context; the request hooks get a
hf_serving.serving.request_context.RequestContext (request_id, custom_attributes, set_custom_attributes,
get_request_header, set_response_header).

The defaults, in hf_serving.serving.default_hooks:
- model_fn(model_dir, context=None) -> a served model: loads config.json, weights and tokenizer for the task
  the directory holds (any task of hf_serving.tasks.registry: question answering, text classification,
  zero-shot classification, token classification, fill-mask, reranking, sentence embeddings and similarity,
  feature extraction; the layout, the model card or config.json decide it, HF_TASK forces one), on the engine
  and dtype chosen for this machine (MODEL_ENGINE, MODEL_DTYPE).
- input_fn(input_data, content_type, context=None): application/json gives the decoded JSON value;
  application/jsonlines and text/csv give a hf_serving.formats.records.RecordBatch (Batch Transform).
- predict_fn(data, model, context=None): validates the request for the model's task (a 400 naming the
  field) and answers it: JSON-able data, or a RecordResults for a RecordBatch.
- output_fn(prediction, accept, context=None) -> (body, content type): JSON, JSON Lines or CSV as Accept
  asks (406 if none fits).

A user's own inference.py may import and wrap these, e.g. a predict_fn that post-processes the default:

    from hf_serving.serving.default_hooks import predict_fn as default_predict_fn

    def predict_fn(data, model):
        return {"result": default_predict_fn(data, model)}
"""

from hf_serving.serving.default_hooks import input_fn, model_fn, output_fn, predict_fn

__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]
