"""After a large request the worker gives freed memory back to the system; after a small one it does nothing."""

from __future__ import annotations

import subprocess
import sys

from hf_serving.serving import memory

# 300 MB of 1 KB objects, every 64th kept alive (as a request's survivors are): freed, the rest stays in glibc's
# heap, because live chunks pin it, until malloc_trim returns the free pages in between.
FRAGMENTED = """
import resource, sys
from hf_serving.serving import memory

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

blocks = [bytes(1024) for _ in range(300_000)]
kept = blocks[::64]
del blocks
before = rss_mb()
assert memory.after_request(memory.LARGE_REQUEST_BYTES)
print(before, rss_mb())
"""


def test_a_small_request_is_not_followed_by_a_trim():
    assert memory.after_request(memory.LARGE_REQUEST_BYTES - 1) is False


def test_after_a_large_request_freed_memory_goes_back_to_the_system():
    done = subprocess.run([sys.executable, "-c", FRAGMENTED], capture_output=True, text=True, timeout=120, check=True)
    before, after = (float(value) for value in done.stdout.split())
    assert before - after > 150, (before, after)  # of ~300 MB freed, most returned
