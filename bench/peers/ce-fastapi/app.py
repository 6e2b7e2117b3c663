"""Peer (d): a reranking service as the tutorials build one, a sentence-transformers CrossEncoder behind FastAPI.

As plain as peer (c) (bench/peers/st-fastapi): the model is loaded at import, one uvicorn worker, default torch
threads, no batching across requests, plain `def` endpoints (FastAPI's thread pool runs concurrent requests'
predict() at once). It answers text-embeddings-inference's (TEI's) rerank request and answer, so that a client
of TEI's /rerank (and this container's /invocations) gets the same bytes back in the same shape:

    POST /invocations (or /rerank)
        {"query": "...", "texts": ["...", ...], "raw_scores": false, "return_text": false, "truncate": true}
        ->  [{"index": 3, "score": 0.97}, ...]   sorted by score, highest first ("text" too with return_text)
    GET  /ping

Scores are CrossEncoder.predict's on the (query, text) pairs: its activation function (Sigmoid for a one-label
model), or the raw logits with raw_scores. `truncate` is accepted and changes nothing: CrossEncoder always
truncates a pair at the model's maximum length.

    PEER_MODEL_DIR=DIR uvicorn app:app --app-dir bench/peers/ce-fastapi --host 127.0.0.1 --port PORT --workers 1
"""

import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import CrossEncoder

model = CrossEncoder(os.environ["PEER_MODEL_DIR"])
app = FastAPI()


class RerankRequest(BaseModel):
    query: str
    texts: list[str]
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool = True


@app.get("/ping")
def ping():
    return {"status": "ok"}


@app.post("/invocations")
@app.post("/rerank")
def rerank(request: RerankRequest):
    activation = torch.nn.Identity() if request.raw_scores else None  # None: the model's own (Sigmoid)
    scores = model.predict([(request.query, text) for text in request.texts], activation_fn=activation)
    ranked = sorted(range(len(request.texts)), key=lambda index: -float(scores[index]))
    return [
        {
            "index": index,
            "score": float(scores[index]),
            **({"text": request.texts[index]} if request.return_text else {}),
        }
        for index in ranked
    ]
