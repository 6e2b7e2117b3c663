"""Prediction monitoring: what the model saw and said (data capture), what it predicted (/metrics), and whether that
still looks like its baseline (drift)."""
