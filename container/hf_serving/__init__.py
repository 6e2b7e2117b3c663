"""A SageMaker-compatible inference container for Hugging Face NLP models (see the README and the site under docs/)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("hf-serving")
except _metadata.PackageNotFoundError:  # run from a checkout's container/ without an install
    __version__ = "0+unknown"
