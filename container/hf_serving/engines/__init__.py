"""Engines run a model on arrays: the contract, torch, OpenVINO, and the choice between them."""
