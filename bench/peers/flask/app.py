"""Peer (b): the Flask + transformers pipeline server that tutorials ship, run by gunicorn with 2 workers.

Deliberately as plain as the tutorials: one pipeline per worker process, loaded at import, default torch
threads, no batching. It takes the same bodies as the other servers: {"inputs": {"question", "context"}}
for question answering, {"inputs": "text"} for text classification.
"""

import os

from flask import Flask, jsonify, request
from transformers import pipeline

MODEL_DIR = os.environ["PEER_MODEL_DIR"]
TASK = os.environ["PEER_TASK"]  # question-answering or text-classification

app = Flask(__name__)
model = pipeline(TASK, model=MODEL_DIR, tokenizer=MODEL_DIR)


@app.get("/ping")
def ping():
    return jsonify(status="ok")


@app.post("/invocations")
def invocations():
    inputs = request.get_json()["inputs"]
    if TASK == "question-answering":
        return jsonify(model(question=inputs["question"], context=inputs["context"]))
    return jsonify(model(inputs))
