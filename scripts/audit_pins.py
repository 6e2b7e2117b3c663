"""Known vulnerabilities in the pinned requirements, from the one advisory source this network reaches.

`make audit` runs pip-audit, which asks PyPI's per-release JSON API (pypi.org/pypi/NAME/VERSION/json) or
OSV (api.osv.dev) about each pinned version. Where neither is reachable (this project's build machines
and CI reach PyPI's simple index and per-project JSON only), pip-audit can audit nothing, and without
--strict it even says "No known vulnerabilities found". This is the fallback CI runs:

1. resolve the requirements exactly as `pip install` would (pip's --dry-run --report), and
2. for each resolved package ask PyPI's per-project JSON, which carries the advisories (PyPI's own, fed
   by OSV and the PyPA advisory database) of the project's latest release, and the yanked state of every
   release.

A pin that is the latest release is audited for real; a yanked pin fails; a pin older than the latest
cannot be audited from here and is listed as such, never called clean.

    python scripts/audit_pins.py -r requirements.txt torch==2.13.0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PYPI_JSON = "https://pypi.org/pypi/{name}/json"


@dataclass(frozen=True)
class Finding:
    name: str
    version: str
    latest: str
    vulnerabilities: list[str]  # advisory ids (with the versions that fix them) of the latest release
    yanked: bool

    @property
    def audited(self) -> bool:
        return _public(self.version) == _public(self.latest)

    @property
    def failed(self) -> bool:
        return self.yanked or (self.audited and bool(self.vulnerabilities))


def _public(version: str) -> str | None:
    """'2.13.0+cpu' -> '2.13.0'; None for the non-PEP 440 versions of some old releases."""
    try:
        return Version(version).public
    except InvalidVersion:
        return None


def resolve(requirement_files: list[str], pins: list[str]) -> list[tuple[str, str]]:
    """(name, version) of every package pip would install for these requirements, dependencies included."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            *(arg for path in requirement_files for arg in ("-r", path)),
            *pins,
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        installs = json.loads(report.read_text())["install"]
    return sorted((item["metadata"]["name"], item["metadata"]["version"]) for item in installs)


def fetch(name: str, version: str) -> Finding:
    url = PYPI_JSON.format(name=canonicalize_name(name))
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                project = json.load(response)
            break
        except OSError:
            if attempt == 2:
                raise
    public = _public(version)
    files = next((files for release, files in project["releases"].items() if _public(release) == public), [])
    return Finding(
        name=name,
        version=version,
        latest=project["info"]["version"],
        vulnerabilities=[
            f"{vuln['id']} (fixed in {', '.join(vuln.get('fixed_in') or ['nothing yet'])})"
            for vuln in project.get("vulnerabilities") or []
            if not vuln.get("withdrawn")
        ],
        yanked=bool(files) and all(file.get("yanked") for file in files),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--requirement", action="append", default=[], help="a requirements file")
    parser.add_argument("pins", nargs="*", help="more requirements, e.g. torch==2.13.0")
    args = parser.parse_args()
    packages = resolve(args.requirement, args.pins)
    with ThreadPoolExecutor(8) as pool:
        findings = list(pool.map(lambda package: fetch(*package), packages))
    for finding in findings:
        if finding.yanked:
            status = "YANKED on PyPI"
        elif not finding.audited:
            status = f"not audited: the latest is {finding.latest}, and advisories of older releases are out of reach"
        elif finding.vulnerabilities:
            status = "VULNERABLE: " + "; ".join(finding.vulnerabilities)
        else:
            status = "no known vulnerabilities"
        print(f"{finding.name:28} {finding.version:16} {status}")
    audited = sum(finding.audited for finding in findings)
    failed = [finding.name for finding in findings if finding.failed]
    print(
        f"{len(findings)} packages: {audited} audited, {len(findings) - audited} not auditable from here, "
        f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
