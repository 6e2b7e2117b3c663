"""The launcher's wait for a group's other processes (MMS's workers writing their last captured records) to end."""

import os
import signal
import time

from hf_serving.launcher.processes import Children, group_followers


def test_the_wait_ends_when_the_followers_are_gone_and_not_before():
    children = Children()
    # The leader stays (exec sleep 30); its follower in the same group ends after 0.5 s.
    child = children.start("group", ["sh", "-c", "sleep 0.5 & exec sleep 30"], os.environ)
    try:
        time.sleep(0.1)
        assert len(group_followers(child.pid)) == 1
        started = time.monotonic()
        assert children.wait_followers_gone(child, 10.0)
        assert 0.2 < time.monotonic() - started < 5.0
        assert child.running  # the leader is not waited for, nor touched
    finally:
        children.signal_group(child, signal.SIGKILL)
        children.wait_for(child, 5.0)


def test_the_wait_gives_up_at_its_timeout():
    children = Children()
    child = children.start("group", ["sh", "-c", "sleep 30 & exec sleep 30"], os.environ)
    try:
        time.sleep(0.1)
        started = time.monotonic()
        assert not children.wait_followers_gone(child, 0.3)
        assert time.monotonic() - started < 2.0
    finally:
        children.signal_group(child, signal.SIGKILL)
        children.wait_for(child, 5.0)
        children.reap_all(2.0)
