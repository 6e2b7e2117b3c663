"""Extractive question answering: request shapes, span decoding, the answerer and its served model."""
