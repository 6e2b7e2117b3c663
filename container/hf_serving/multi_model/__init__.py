"""Multi-model endpoints (SAGEMAKER_MULTI_MODEL=true): the model management API, each model's load and unload, and
the memory budget that decides whether one more model fits."""
