"""The node-type registry: a type name → the module that validates and runs it.

Adding a node type: write its module (see `base.py` for the contract), its tests, and one
line below.
"""

from __future__ import annotations

from controller.nodes import answer, condition, dial, dtmf, hangup, play, record, set_variable
from controller.nodes.base import NodeType

NODE_TYPES: dict[str, NodeType] = {
    "dial": NodeType.from_module("dial", dial),
    "answer": NodeType.from_module("answer", answer),
    "play": NodeType.from_module("play", play),
    "dtmf": NodeType.from_module("dtmf", dtmf),
    "record": NodeType.from_module("record", record),
    "condition": NodeType.from_module("condition", condition),
    "set_variable": NodeType.from_module("set_variable", set_variable),
    "hangup": NodeType.from_module("hangup", hangup),
}
