"""Replies paired with their commands in writing order (the channel's use: test_channel.py)."""

from __future__ import annotations

import pytest
from gevent.event import AsyncResult

from controller.esl.messages import Reply
from controller.esl.replies import ReplyMustBeOk, ReplyQueue
from controller.exceptions import CallEnded, ESLError

OK = Reply(True, "+OK", "command/reply")
REFUSED = Reply(False, "-ERR command not found", "command/reply")


def test_replies_go_to_the_oldest_waiter_first() -> None:
    queue, first, second = ReplyQueue(), AsyncResult(), AsyncResult()
    queue.expect((first, second))
    assert queue.deliver(REFUSED) and queue.deliver(OK)
    assert (first.get(timeout=0), second.get(timeout=0)) == (REFUSED, OK)


def test_a_reply_nobody_waits_for_is_reported() -> None:
    assert not ReplyQueue().deliver(OK)


def test_when_the_connection_ends_every_waiter_is_told() -> None:
    queue, waiters = ReplyQueue(), (AsyncResult(), AsyncResult())
    queue.expect(waiters)
    queue.fail_all(CallEnded("SOCKET_CLOSED", by="freeswitch"))
    for waiter in waiters:
        with pytest.raises(CallEnded):
            waiter.get(timeout=0)
    assert not queue.deliver(OK)  # nobody left


def test_a_reply_that_must_be_ok_fails_its_command_only_when_refused() -> None:
    accepted, refused = AsyncResult(), AsyncResult()
    ReplyMustBeOk(accepted, "execute playback").set(OK)
    assert not accepted.ready()  # the command's result is something else (its completion)
    ReplyMustBeOk(refused, "execute playback").set(REFUSED)
    with pytest.raises(ESLError, match="execute playback: FreeSWITCH answered '-ERR command"):
        refused.get(timeout=0)


def test_a_late_refusal_does_not_replace_a_result_already_there() -> None:
    done = AsyncResult()
    done.set("completed")
    ReplyMustBeOk(done, "execute playback").set(REFUSED)
    ReplyMustBeOk(done, "execute playback").set_exception(ESLError("gone"))
    assert done.get(timeout=0) == "completed"
