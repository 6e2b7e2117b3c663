"""The README is the landing page: every link it gives into the repository (the site's pages under docs/, which
GitHub renders) leads to a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_relative_link_of_the_readme_resolves():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    relative = [link for link in links if "://" not in link]
    assert relative, "the README links into the site"
    assert [link for link in relative if not (ROOT / link).exists()] == []
