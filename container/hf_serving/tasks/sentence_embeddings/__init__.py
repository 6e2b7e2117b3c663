"""Sentence embeddings: sentence-transformers models served as pooled, optionally normalised vectors."""
