"""Pairing command replies with the commands that asked for them.

mod_event_socket reads one command at a time off the socket and answers each in turn, so
the replies come back in the order the commands were written, however many were written at
once (the opening is four). A waiter whose command timed out stays queued: its late reply
must not be taken for the next command's.
"""

from __future__ import annotations

from collections import deque

from gevent.event import AsyncResult

from controller.esl.messages import Reply
from controller.exceptions import ESLError


class ReplyMustBeOk:
    """Takes the reply of a command whose caller waits for something else (an execute waits
    for its completion): a refusal, or the connection ending, fails `done` instead."""

    __slots__ = ("done", "what")

    def __init__(self, done: AsyncResult, what: str) -> None:
        self.done = done
        self.what = what

    def set(self, reply: Reply) -> None:
        if not reply.ok and not self.done.ready():
            self.done.set_exception(
                ESLError(f"{self.what}: FreeSWITCH answered {reply.text.strip()!r}")
            )

    def set_exception(self, exc: BaseException) -> None:
        if not self.done.ready():
            self.done.set_exception(exc)


Waiter = AsyncResult | ReplyMustBeOk


class ReplyQueue:
    """The waiters for replies not yet read, oldest first."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: deque[Waiter] = deque()

    def expect(self, waiters: tuple[Waiter, ...]) -> None:
        """Queue the waiters of commands about to be written, in writing order."""
        self._waiting.extend(waiters)

    def deliver(self, reply: Reply) -> bool:
        """Hand `reply` to the oldest waiter; False when nobody was waiting for one."""
        if not self._waiting:
            return False
        self._waiting.popleft().set(reply)
        return True

    def fail_all(self, exc: BaseException) -> None:
        """The connection ended: no reply will come for anyone still waiting."""
        while self._waiting:
            self._waiting.popleft().set_exception(exc)
