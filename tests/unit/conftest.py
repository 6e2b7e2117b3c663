"""Fixtures shared by the unit tests of several packages."""

from tests.support.mms_worker import worker

__all__ = ["worker"]
