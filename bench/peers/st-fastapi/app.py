"""Peer (c): the FastAPI + sentence-transformers embedding service that tutorials ship, run by uvicorn.

Deliberately as plain as the tutorials: the model is loaded at import, one uvicorn worker (the tutorials'
`uvicorn app:app`), default torch threads, no batching across requests. The endpoints are plain `def`, as
FastAPI's documentation advises for blocking work, so FastAPI runs each request in its thread pool and
concurrent requests call encode() on the shared model at the same time.

    POST /invocations (or /embed)  {"inputs": "text"} or {"inputs": ["text", ...]}  ->  [[float, ...], ...]
    GET  /ping

    PEER_MODEL_DIR=DIR uvicorn app:app --app-dir bench/peers/st-fastapi --host 127.0.0.1 --port PORT --workers 1
"""

import os

from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(os.environ["PEER_MODEL_DIR"])
app = FastAPI()


class EmbedRequest(BaseModel):
    inputs: str | list[str]


@app.get("/ping")
def ping():
    return {"status": "ok"}


@app.post("/invocations")
@app.post("/embed")
def embed(request: EmbedRequest):
    texts = [request.inputs] if isinstance(request.inputs, str) else request.inputs
    return model.encode(texts).tolist()
