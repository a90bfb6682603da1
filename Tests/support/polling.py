"""Waiting with a deadline, for the Python suites."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest


def eventually(check: Callable[[], Any], *, timeout: float = 10, interval: float = 0.05,
               what: str = "condition", last: Callable[[], Any] | None = None) -> Any:
    """Polls `check` until it returns something truthy; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = last() if last else value
            pytest.fail(f"timed out after {timeout} s waiting for {what}; last seen: {str(seen)[:2000]}", pytrace=False)
        time.sleep(interval)
