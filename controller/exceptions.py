"""Control-flow errors: the few exceptions that steer a call, each with one meaning.

The engine handles them in one place (`controller.engine`); nothing else catches them
except to add context. Everything else that goes wrong inside a node is a bug, recorded as
an internal error on that call only.
"""

from __future__ import annotations


class CallflowError(Exception):
    """Base of every error callflow raises on purpose."""


class CallEnded(CallflowError):
    """The call is gone: the caller hung up, FreeSWITCH hung up, or the socket closed.

    Raised by the ESL layer from whatever command or wait was in progress; `cause` is the
    FreeSWITCH hangup cause when one was seen (e.g. NORMAL_CLEARING), else a callflow reason
    such as `SOCKET_CLOSED`.
    """

    def __init__(self, cause: str, *, by: str = "caller") -> None:
        super().__init__(f"call ended ({cause}, by {by})")
        self.cause = cause
        self.by = by


class CallHandedOff(CallflowError):
    """The call this process dialled was answered and its socket reached another callflow
    process, which runs the rest of the flow and writes the record. This process stops."""


class NodeError(CallflowError):
    """A node could not do its job (missing audio, a value that cannot be spoken, a
    FreeSWITCH error). The engine takes the node's `onError` output if it is wired, else ends
    the call; the message goes into the call's record."""


class ESLError(CallflowError):
    """FreeSWITCH refused a command (`-ERR ...`) or answered in a way the protocol forbids."""


class CommandTimeout(ESLError):
    """FreeSWITCH did not answer or complete a command within its timeout."""


class NotConnected(ESLError):
    """A new outbound-socket connection never completed the connect exchange: no reply to
    `connect` in time (`reason` "timeout"), closed before one (`"closed"`), or a reply that
    names no channel (`"invalid"`). Not a call: there is nothing to hang up or record."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FlowLimitExceeded(CallflowError):
    """A call ran more steps than the step cap, or past its deadline: a runaway loop."""


class ConfigError(CallflowError):
    """The controller's configuration is unusable; the message names the setting."""


class UnsafeValue(CallflowError):
    """Text FreeSWITCH would expand or parse (`${...}`, a `$` in a stored channel variable, a
    path outside its root) was refused before anything was sent. The node takes `onError`;
    the message, kept in the call's record, names the field and why (docs/security.md)."""
