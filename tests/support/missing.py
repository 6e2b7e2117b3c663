"""What a test needs and the host lacks: a skip saying how to get it, except in CI (CI=true), whose .ci/run installs
and builds everything, so that a missing piece there fails instead of silently running fewer tests."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_or_fail(reason: str) -> NoReturn:
    """Skip saying `reason` (how to get what is missing); in CI, fail with it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, and CI must run this test", pytrace=False)
    pytest.skip(reason)
