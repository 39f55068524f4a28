"""The descriptor table as HTTP sees it, and the start-up limit raise (controller/sockets.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller import sockets


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> tuple[sockets.DescriptorTable, list[int]]:
    """A table of 100 descriptors whose exact count is `open_now[0]`."""
    open_now = [10]
    monkeypatch.setattr(sockets, "descriptor_limit", lambda: 100)
    monkeypatch.setattr(sockets, "count_open_descriptors", lambda: open_now[0])
    table = sockets.DescriptorTable()
    table.recount()
    return table, open_now


def test_accepts_since_the_last_count_are_added_closes_are_not(
    table: tuple[sockets.DescriptorTable, list[int]],
) -> None:
    descriptors, open_now = table
    descriptors.opened(39)  # 49 open as far as it knows: 50 free, more than the reserve
    assert descriptors.room_for_http(reserve=50)
    descriptors.opened()  # 50 open: the reserve would be touched
    open_now[0] = 50
    descriptors._counted_at = float("-inf")  # a count is due
    assert not descriptors.room_for_http(reserve=50)
    open_now[0] = 20  # calls ended: the next count (at most every RECOUNT_EVERY) sees it
    descriptors._counted_at = float("-inf")
    assert descriptors.room_for_http(reserve=50)


def test_between_counts_the_estimate_decides(
    table: tuple[sockets.DescriptorTable, list[int]],
) -> None:
    """Counted just now (the fixture): within RECOUNT_EVERY, 75 accepts since are taken as
    75 more open, however many have closed meanwhile."""
    descriptors, _ = table
    descriptors.opened(75)
    assert not descriptors.room_for_http(reserve=20)  # 85 open by the estimate, 80 allowed
    assert (descriptors._counted, descriptors._opened_since) == (10, 75)


def test_a_reserve_above_half_the_limit_counts_as_half(
    table: tuple[sockets.DescriptorTable, list[int]],
) -> None:
    descriptors, _ = table
    descriptors.opened(30)  # 40 open of 100
    assert descriptors.room_for_http(reserve=1000)  # taken as 50


def test_the_soft_limit_is_raised_to_the_hard_limit() -> None:
    script = (
        "import resource; from controller.sockets import raise_descriptor_limit; "
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); "
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)); "
        "print(*raise_descriptor_limit(), hard, resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    before, after, hard, now = map(int, output)
    assert before == 256 and after == now
    assert hard in (now, -1)  # -1: RLIM_INFINITY, raised to at least 2**20
