"""An s3:// destination: one put_object per flush per worker (per hour within it), at
`<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, as SageMaker lays out its captures. boto3 finds its
credentials and region the usual way (environment, profile, instance or task role) and its endpoint from
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (the tests point it at moto); timeouts are short and retries few, since a
capture that waits only makes the buffer overflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from hf_serving.monitoring.capture.destinations import Layout, WriteFailed, file_name
from hf_serving.monitoring.capture.exchange import Exchange

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0
ATTEMPTS = 2
CONTENT_TYPE = "application/jsonlines"


class S3Destination:
    def __init__(self, destination: str, layout: Layout) -> None:
        parts = urlsplit(destination)
        if not parts.netloc:
            raise ValueError("an s3:// destination names a bucket: s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.layout = layout
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3  # only here: a container that never captures to S3 never imports it
            from botocore.config import Config

            config = Config(
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
                retries={"max_attempts": ATTEMPTS, "mode": "standard"},
            )
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def key(self, hour_prefix: str, name: str) -> str:
        return "/".join(part for part in (self.prefix, hour_prefix, name) if part)

    def write(self, exchanges: Sequence[Exchange]) -> int:
        client = self.client()
        written = 0
        for hour_prefix, lines in self.layout.by_hour(exchanges).items():
            try:
                client.put_object(
                    Bucket=self.bucket,
                    Key=self.key(hour_prefix, file_name()),
                    Body=b"".join(lines),
                    ContentType=CONTENT_TYPE,
                )
            except Exception as exc:  # botocore's errors, and anything under them: counted, never raised further
                raise WriteFailed(written, exc) from exc
            written += len(lines)
        return written
