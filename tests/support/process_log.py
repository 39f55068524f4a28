"""A subprocess's log lines (its stderr), read as they come, each waited for with a deadline.

Read from the file descriptor itself into a buffer of our own: a buffered `readline()` after
`select()` can pull several lines into the file object's buffer, where `select()` never
reports them again, so a line already sent would be waited for until the timeout.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import time

LINE_TIMEOUT = 30.0


class ProcessLog:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None, "start the process with stderr=subprocess.PIPE"
        self.fd = process.stderr.fileno()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.pending = b""  # a line not complete yet
        self.lines: list[str] = []  # complete lines not handed out yet
        self.seen: list[str] = []  # every line handed out, for the failure message

    def next_line(self, deadline: float) -> str | None:
        """The next complete line, or None at the deadline or when the process closed it."""
        while not self.lines:
            if not self.selector.select(timeout=max(0.0, deadline - time.monotonic())):
                return None
            data = os.read(self.fd, 65536)
            if not data:
                return None
            *complete, self.pending = (self.pending + data).split(b"\n")
            self.lines.extend(line.decode(errors="replace") for line in complete)
        line = self.lines.pop(0)
        self.seen.append(line)
        return line

    def wait_for(self, pattern: str, timeout: float = LINE_TIMEOUT) -> re.Match[str]:
        """The first line from here on matching `pattern`; AssertionError with the lines seen
        when none comes in `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (line := self.next_line(deadline)) is not None:
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.seen))

    def close(self) -> None:
        self.selector.close()
