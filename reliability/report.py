"""The head every reliability result starts with: the verdict, and the host and commit it came from."""

from __future__ import annotations


def heading(title: str, passed: bool, host: dict) -> list[str]:
    """Markdown lines; `host` is bench.run.machine_meta(), taken when the run was written."""
    return [
        f"# {title}: {'PASSED' if passed else 'FAILED'}",
        "",
        f"Host: {host['cpu']}, {host['cores']} cores; commit {host['commit']}; written {host['started_utc']}.",
        "",
    ]
