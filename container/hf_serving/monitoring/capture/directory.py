"""A directory destination: `<directory>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, a new file per flush per
worker. Each is written under a hidden temporary name in its own directory and renamed when whole, so that a reader
listing *.jsonl never sees half a file (a rename within a file system is atomic)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hf_serving.monitoring.capture.destinations import Layout, WriteFailed, file_name
from hf_serving.monitoring.capture.exchange import Exchange


class DirectoryDestination:
    def __init__(self, directory: str, layout: Layout) -> None:
        self.root = Path(directory)
        self.layout = layout

    def write(self, exchanges: Sequence[Exchange]) -> int:
        written = 0
        for prefix, lines in self.layout.by_hour(exchanges).items():
            try:
                self._write_file(self.root / prefix, b"".join(lines))
            except OSError as exc:
                raise WriteFailed(written, exc) from exc
            written += len(lines)
        return written

    @staticmethod
    def _write_file(folder: Path, content: bytes) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = file_name()
        partial = folder / f".{name}.partial"
        try:
            with partial.open("wb") as out:
                out.write(content)
            os.replace(partial, folder / name)
        finally:
            partial.unlink(missing_ok=True)
