"""Swagger UI's files for GET /docs: the swagger-ui-dist tarball that package-lock.json pins, fetched without node.

The pin is npm's own lock beside this module (written by `npm install --package-lock-only`, kept current by
Dependabot), so the standard tools read and update it; the image's build stage has no node, so the tarball is
fetched here with urllib from the lock's `resolved` URL and refused unless it matches the lock's `integrity`.
Only what the page loads is kept, with the licence files that Apache-2.0 asks to ship alongside. A stamp holds the
version and integrity: a second run with the same pin fetches nothing.

`python -m hf_serving docs-assets [-o DIR]`, run by `make install` and by the image build.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import ssl
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "swagger-ui-dist"
LOCK_PATH = Path(__file__).with_name("package-lock.json")
ASSETS_DIR = Path(__file__).with_name("swagger-ui")  # gitignored; the wheel ships it when it is there
STAMP = "pin.json"
# What page/index.html loads, and the licence files: the bundle's own third-party notices included.
WANTED = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-16x16.png",
    "favicon-32x32.png",
    "LICENSE",
    "NOTICE",
    "swagger-ui-bundle.js.LICENSE.txt",
)
TIMEOUT_S = 60.0
MAX_TARBALL_BYTES = 64 * 1024 * 1024  # 5.36.0's is 3.6 MB: anything far larger is not that package
# Strongest first: an npm lock may list several; sha1 alone (very old locks) is not accepted.
_ALGORITHMS = ("sha512", "sha384", "sha256")
COMMAND = "python -m hf_serving docs-assets"


class AssetsError(Exception):
    """The pin cannot be read, the tarball cannot be fetched, or it is not what the pin says."""


@dataclass(frozen=True)
class Pin:
    version: str
    url: str
    integrity: str  # Subresource Integrity form, as npm writes it: "sha512-<base64>"


def read_pin(lock_path: Path = LOCK_PATH) -> Pin:
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
        entry = lock["packages"][f"node_modules/{PACKAGE}"]
        version, integrity = entry["version"], entry["integrity"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssetsError(f"{lock_path} does not pin {PACKAGE} (version, integrity): {exc!r}") from None
    url = entry.get("resolved")
    if not url:
        # npm leaves it out with omit-lockfile-registry-resolved (api_docs/.npmrc turns that off).
        raise AssetsError(
            f"{lock_path} has no resolved URL for {PACKAGE}: regenerate it in {lock_path.parent} with "
            "npm install --package-lock-only --ignore-scripts"
        )
    return Pin(version, url, integrity)


def check_integrity(data: bytes, integrity: str) -> None:
    """Refuse `data` unless its digest is the one `integrity` names (npm's SRI string, strongest hash used)."""
    named = dict(part.split("-", 1) for part in integrity.split() if "-" in part)
    algorithm = next((name for name in _ALGORITHMS if name in named), None)
    if algorithm is None:
        raise AssetsError(f"integrity {integrity!r} names none of {', '.join(_ALGORITHMS)}")
    expected = named[algorithm]
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
    if actual != expected:
        raise AssetsError(
            f"{PACKAGE}'s tarball does not match the pin: {algorithm} expected {expected}, "
            f"got {actual}; nothing was installed"
        )


def installed_pin(directory: Path = ASSETS_DIR) -> Pin | None:
    """The pin the files in `directory` came from, or None where they are missing or incomplete."""
    try:
        stamp = json.loads((directory / STAMP).read_text(encoding="utf-8"))
        pin = Pin(stamp["version"], stamp["url"], stamp["integrity"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pin if all((directory / name).is_file() for name in WANTED) else None


def download(url: str, timeout_s: float = TIMEOUT_S) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise AssetsError(f"{PACKAGE}'s resolved URL {url!r} is not http(s)")
    # The system's CA bundle, or the one SSL_CERT_FILE / SSL_CERT_DIR name (OpenSSL reads them itself); proxies
    # from the usual variables (urllib reads them itself).
    context = ssl.create_default_context()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            data = response.read(MAX_TARBALL_BYTES + 1)
    except (OSError, urllib.error.URLError) as exc:
        raise AssetsError(f"could not download {url}: {exc}") from None
    if len(data) > MAX_TARBALL_BYTES:
        raise AssetsError(f"{url} is over {MAX_TARBALL_BYTES // (1024 * 1024)} MB: not {PACKAGE}'s tarball")
    return data


def extract(tarball: bytes, directory: Path) -> None:
    """Write exactly WANTED from npm's tarball (package/<name>) into `directory`, readable by nginx's workers."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in WANTED:
                try:
                    member = archive.getmember(f"package/{name}")  # by name: no path from the archive is followed
                except KeyError:
                    raise AssetsError(f"{PACKAGE}'s tarball lacks package/{name}") from None
                source = archive.extractfile(member) if member.isfile() else None
                if source is None:
                    raise AssetsError(f"{PACKAGE}'s package/{name} is not a regular file")
                target = directory / name
                target.write_bytes(source.read())
                target.chmod(0o644)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AssetsError(f"{PACKAGE}'s tarball cannot be read: {exc}") from None


def install(
    directory: Path = ASSETS_DIR, lock_path: Path = LOCK_PATH, fetch: Callable[[str], bytes] | None = None
) -> tuple[Pin, bool]:
    """The pinned files in `directory`; returns the pin and whether anything was fetched (False: already there).
    `fetch` gets the tarball's bytes from its URL (default: `download`)."""
    pin = read_pin(lock_path)
    if installed_pin(directory) == pin:
        return pin, False
    tarball = (fetch or download)(pin.url)
    check_integrity(tarball, pin.integrity)
    # Built beside the target and swapped in whole: an interrupted run leaves the old files or none, never a mix.
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        staging.chmod(0o755)
        extract(tarball, staging)
        (staging / STAMP).write_text(
            json.dumps(
                {"package": PACKAGE, "version": pin.version, "url": pin.url, "integrity": pin.integrity}, indent=2
            )
            + "\n",
            encoding="utf-8",
        )
        (staging / STAMP).chmod(0o644)
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return pin, True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hf_serving docs-assets", description=f"Fetch the pinned {PACKAGE} files that GET /docs serves."
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=ASSETS_DIR,
        help=f"where to put them (default: {ASSETS_DIR}, where serve looks)",
    )
    args = parser.parse_args(argv)
    try:
        pin, fetched = install(args.output, LOCK_PATH)
    except AssetsError as exc:
        print(f"docs-assets: {exc}", file=sys.stderr)
        return 1
    if fetched:
        print(
            f"{PACKAGE} {pin.version}: fetched from {pin.url}, integrity checked, {len(WANTED)} files in {args.output}"
        )
    else:
        print(f"{PACKAGE} {pin.version}: already in {args.output} (same pin)")
    return 0
