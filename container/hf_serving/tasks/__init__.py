"""The tasks served: one package each, a shared batching base, and the registry that ties them to models."""
