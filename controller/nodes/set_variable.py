"""Set Variable: stores a value (a template) in a flow variable for later nodes.

With `exportToChannel`, the value is also set as a FreeSWITCH channel variable, so the
dialplan, CDRs and other applications see it. FreeSWITCH expands `${...}` wherever such a
variable is used later, so what may be exported is restricted (docs/security.md):

- the name must not be one FreeSWITCH or callflow gives a meaning to (`api_*`, `execute_on_*`,
  `*_hook`, `sip_*`...; `controller.esl.expansion.reserved_channel_variable`), checked when
  the flow is loaded;
- the rendered value must hold no `$`, no control character and at most 1,024 characters;
  otherwise nothing is set (neither the channel variable nor the flow variable) and the node
  takes `onError`, its error naming the field and the variables the value came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller.esl import apps
from controller.esl.expansion import check_channel_value, reserved_channel_variable
from controller.exceptions import NodeError, UnsafeValue
from controller.flows.problems import Problem, error
from controller.nodes.base import NodeSpec
from controller.templates import FLOW_VARIABLE_PATTERN, placeholders

if TYPE_CHECKING:
    from controller.call import Call

OUTPUTS = ("onSuccess", "onError", "default")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["variable", "value"],
    "properties": {
        "variable": {
            "type": "string",
            "pattern": FLOW_VARIABLE_PATTERN,
            "description": "Flow variable to set (letters, digits and _).",
        },
        "value": {
            "type": ["string", "number", "boolean"],
            "description": "Value to store; text is a template, e.g. `{{contact.firstName}}`.",
        },
        "exportToChannel": {
            "type": "boolean",
            "default": False,
            "description": "Also set it as a channel variable on the call. The name must not "
            "be one FreeSWITCH gives a meaning to (`api_*`, `execute_*`, `sip_*`, `*_hook`...), "
            "and a value holding `$`, a control character or more than 1,024 characters is "
            "refused (onError): FreeSWITCH would expand it wherever the variable is used.",
        },
    },
}


TEMPLATE_FIELDS = ("value",)


def NEEDS_CALL(config: dict[str, Any]) -> bool:  # noqa: N802 - the contract's name
    return bool(config["exportToChannel"])


def writes(config: dict[str, Any]) -> Iterator[str]:
    yield config["variable"]


def check(node: NodeSpec) -> Iterator[Problem]:
    name = node.config["variable"]
    if node.config["exportToChannel"] and reserved_channel_variable(name):
        yield error(
            "reserved-variable",
            f"{name!r} cannot be exported to the channel: FreeSWITCH or callflow gives that "
            "name a meaning (some such variables run their value as a command); pick "
            "another name, e.g. in camelCase",
            pointer=f"{node.pointer}/config/variable",
            node=node.id,
        )


def run(call: Call, config: dict[str, Any]) -> str:
    value = config["value"]
    template = value if isinstance(value, str) else None
    if template is not None:
        value = call.render(template)
    if config["exportToChannel"]:
        channel = call.live_channel
        try:
            check_channel_value(str(value), f"value (exported as {config['variable']})")
        except UnsafeValue as exc:
            sources = ", ".join(placeholders(template)) if template else ""
            raise NodeError(f"{exc}{f'; it came from {sources}' if sources else ''}") from None
        apps.set_variable(
            channel,
            name=config["variable"],
            value=str(value),
            timeout=call.settings.command_timeout,
        )
    call.set_variable(config["variable"], value)
    return "onSuccess"
