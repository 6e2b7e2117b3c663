"""Reranking with cross-encoders: a query against many texts, scored as sentence-transformers' CrossEncoder scores
them, answered in text-embeddings-inference's /rerank shape."""
