"""The edge's optional parts rendered from settings: the API key's check."""

from __future__ import annotations

import hashlib

from hf_serving.launcher import edge
from hf_serving.settings import Settings

KEY = "Edge-Key_0123456789abcdef"


def test_the_key_check_holds_the_key_digest_not_the_key():
    check = edge.api_key_check(Settings.from_environ({"SERVE_API_KEY": KEY}))
    assert KEY not in check and KEY.lower() not in check
    assert f'require("api_key").matches("{hashlib.sha1(KEY.encode()).hexdigest()}")' in check
    assert "if ($api_key_matches = 0)" in check and '"code":"unauthorized"' in check
    assert edge.api_key_check(Settings.from_environ({})) == ""
