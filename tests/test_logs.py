"""controller.logs: the call context is per greenlet, and every line carries it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import gevent
import pytest
from gevent.event import Event

from controller import logs


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A logger with the controller's handler writing into a buffer."""
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    logger = logging.getLogger("callflow.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_greenlet_has_its_own_call_context() -> None:
    both_bound = Event()
    seen: dict[str, object] = {}

    def call(uuid: str) -> None:
        logs.bind_call(uuid, "flow-" + uuid)
        if uuid == "b":
            both_bound.set()
        both_bound.wait(5)  # switch while both are bound
        gevent.sleep(0)
        context = logs.current_call()
        seen[uuid] = (context.call_uuid, context.flow) if context else None
        seen[uuid + "-child"] = gevent.spawn(logs.current_call).get(timeout=5)

    gevent.joinall([gevent.spawn(call, "a"), gevent.spawn(call, "b")], timeout=5)
    assert seen == {"a": ("a", "flow-a"), "b": ("b", "flow-b"), "a-child": None, "b-child": None}
    assert logs.current_call() is None  # nothing leaked into this greenlet


def test_a_helper_greenlet_shares_the_call_context_and_sees_updates() -> None:
    seen = []

    def call() -> None:
        logs.bind_call("pending-1", "dialer")
        ready = Event()

        def helper() -> None:
            ready.wait(5)
            context = logs.current_call()
            seen.append((context.call_uuid, context.node) if context else None)

        reader = gevent.spawn(logs.in_this_context(helper))
        logs.update_call(call_uuid="answered-1", node="dial")  # e.g. the dial was answered
        ready.set()
        reader.join(timeout=5)

    gevent.spawn(call).join(timeout=5)
    assert seen == [("answered-1", "dial")]


def test_every_line_carries_the_bound_call(captured) -> None:
    logger, stream, _ = captured

    def call() -> None:
        logs.bind_call("uuid-1", "menu-flow")
        logs.update_call(node="menu")
        logger.info("inside a node")
        logs.update_call(node=None)
        logger.info("between nodes")

    gevent.spawn(call).join(timeout=5)
    logger.info("not about a call")
    first, second, third = _lines(stream)
    assert (first["call_uuid"], first["flow"], first["node"]) == ("uuid-1", "menu-flow", "menu")
    assert (second["call_uuid"], second["flow"], "node" in second) == (
        "uuid-1",
        "menu-flow",
        False,
    )
    assert not {"call_uuid", "flow", "node"} & third.keys()
    assert first["level"] == "info" and first["logger"] == "callflow.test-logs"
    assert first["time"].endswith("+00:00")


def test_an_explicit_call_wins_over_the_greenlets_own(captured) -> None:
    logger, stream, _ = captured

    def reader() -> None:
        logs.bind_call("call-a", "flow-a")
        logs.update_call(node="play")
        logger.info("about b", extra=logs.about_call("call-b"))
        logger.info("about a, explicitly", extra=logs.about_call("call-a"))

    gevent.spawn(reader).join(timeout=5)
    about_b, about_a = _lines(stream)
    assert about_b["call_uuid"] == "call-b"
    assert "flow" not in about_b and "node" not in about_b  # a's flow/node are not b's
    assert (about_a["call_uuid"], about_a["flow"], about_a["node"]) == ("call-a", "flow-a", "play")


def test_text_lines_show_the_call_in_brackets() -> None:
    stream = io.StringIO()
    handler = logs.make_handler("text", stream)
    make = logging.getLogger("callflow.test-text").makeRecord
    for fields in ({"call_uuid": "u1", "flow": "f", "node": "n"}, {"call_uuid": "u2"}, {}):
        record = make("callflow.x", logging.WARNING, __file__, 1, "hello %s", ("there",), None)
        record.__dict__.update(fields)
        handler.handle(record)
    with_node, without_node, no_call = stream.getvalue().splitlines()
    assert with_node.endswith(" WARNING callflow.x [u1 f/n]: hello there")
    assert without_node.endswith(" WARNING callflow.x [u2]: hello there")
    assert no_call.endswith(" WARNING callflow.x: hello there")


def test_a_json_line_stays_one_line_with_a_traceback(captured) -> None:
    logger, stream, _ = captured
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logger.exception("failed:\n  detail")
    [line] = stream.getvalue().splitlines()
    data = json.loads(line)
    assert data["message"] == "failed:\n  detail"
    assert "ValueError: bad" in data["exception"]


def test_configure_replaces_the_handler_rather_than_adding_one() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        first, second = io.StringIO(), io.StringIO()
        logs.configure("text", "warning", first)
        logs.configure("json", "debug", second)
        logging.getLogger("callflow.test-configure").debug("once")
        assert first.getvalue() == ""
        assert json.loads(second.getvalue())["message"] == "once"
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_update_call_rejects_unknown_fields() -> None:
    def call() -> None:
        logs.bind_call("u")
        logs.update_call(phone="0600000001")

    with pytest.raises(TypeError):
        gevent.spawn(call).get(timeout=5)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_byte_that_is_not_utf8_is_logged_as_an_escape_on_a_strict_stream(
    log_format: str,
) -> None:
    """A value from FreeSWITCH holding the byte 0xFF (surrogate-escaped) in a message or a
    call field: the line is written, as valid UTF-8, on a stream that refuses surrogates."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    handler = logs.make_handler(log_format, stream)
    handler.handleError = lambda record: pytest.fail("the line was not written")  # type: ignore[method-assign]
    logger = logging.getLogger("callflow.test-logs-bytes")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("destination %s", "12\udcff34", extra=logs.about_call("c\udcfe"))
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    line = raw.getvalue().decode("utf-8")
    if log_format == "json":
        data = json.loads(line)
        assert (data["message"], data["call_uuid"]) == ("destination 12\\xff34", "c\\xfe")
    else:
        assert line.rstrip().endswith("[c\\xfe]: destination 12\\xff34")
