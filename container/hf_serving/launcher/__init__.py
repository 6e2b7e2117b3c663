"""The process supervisor behind entrypoint/serve: nginx in front, multi-model-server behind it."""
