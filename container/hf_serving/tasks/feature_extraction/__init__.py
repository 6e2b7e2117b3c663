"""Per-token features: the transformers feature-extraction pipeline's hidden states, one row per token."""
