"""A SageMaker-compatible inference container for Hugging Face NLP models (see the README)."""
