"""Offline tools, never on the request path: deploy, package, demo models, evaluate, SQuAD metrics."""
