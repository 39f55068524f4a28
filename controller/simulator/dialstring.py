"""How FreeSWITCH reads an `originate` command (mod_commands originate_function,
switch_ivr_originate, switch_event_create_brackets, switch_utils.c switch_separate_string).

    originate <call url> <exten>|&<app>(<args>) [<dialplan>] [<context>] [<cid_name>]
              [<cid_num>] [<timeout_sec>]

The whole argument is first split on blanks (`separate_string_blank_delim`): a single quote
toggles "inside quotes" (spaces do not split there), a backslash protects the next character,
and each piece is then cleaned up — paired single quotes removed, `\\n \\r \\t \\s \\' \\" \\\\`
unescaped. Double quotes are ordinary characters. Hence:

- `&socket(127.0.0.1:8084 async full)` unquoted is three arguments: the socket app gets only
  `127.0.0.1:8084` (static mode, single-channel control), `async` becomes the dialplan and
  `full)` the context (FINDINGS.md "The originate / &socket trap");
- `'&socket(127.0.0.1:8084 async full)'` and `&socket('127.0.0.1:8084 async full')` both reach
  the app as `127.0.0.1:8084 async full`;
- `&socket("127.0.0.1:8084 async full")` gives the app `"127.0.0.1:8084` (no such host).

The call url may start with `{a=1,b=2}` (variables for the call) and then `[c=3]` (variables
for that leg). Their lists split on `,` (or on X after a leading `^^X`), each item on its first
`=`; an item without `=` is dropped. Quotes are removed by the blank split *before* the list
is split, so `{v='a, b'}` gives v=a (the ` b` item has no `=`): a comma in a value needs `\\,`
or another delimiter (`{^^:v=a,b:w=c}`). Several endpoints (`,` or `|` between them) are not
simulated: the first one is dialled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)
PARSE_ERROR = "-ERR DESTINATION_OUT_OF_ORDER\n"
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def cleanup(text: str, delim: str = "") -> str:
    """cleanup_separated_string: strip paired single quotes, escapes, surrounding blanks."""
    out: list[str] = []
    end = 0
    inside = False
    i = len(text) - len(text.lstrip(" "))
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in ("'", '"', "\\") or (delim and nxt == delim) or nxt in _UNESCAPE:
                out.append(_UNESCAPE.get(nxt, nxt))
                end = len(out)
                i += 2
                continue
        if char == "'" and (inside or "'" in text[i + 1 :]):
            inside = not inside
            if inside:
                end = len(out)
        else:
            out.append(char)
            if char != " " or inside:
                end = len(out)
        i += 1
    return "".join(out[:end])


def _spans(text: str, delim: str, limit: int) -> list[tuple[int, int]]:
    """The token spans of separate_string_blank_delim / separate_string_char_delim: a token
    started when `limit` is reached runs to the end of the text."""
    blank = delim == " "
    spans: list[list[int]] = []
    inside = False
    state = "start"
    i = 0
    while i < len(text) and len(spans) < limit:
        char = text[i]
        if state == "start":
            spans.append([i, len(text)])
            state = "skip" if blank else "find"
        elif state == "skip":  # blank delim: leading blanks, then the token
            if char == " ":
                i += 1
            else:
                state = "find"
        elif state == "find":
            if char == "\\":
                i += 1
            elif char == "'" and (blank or inside or "'" in text[i + 1 :]):
                inside = not inside
            elif char == delim and not inside:
                spans[-1][1] = i
                state = "ending" if blank else "start"
            i += 1
        elif char == " ":  # "ending": blanks after a token
            i += 1
        else:
            state = "start"
    return [(a, b) for a, b in spans]


def separate(text: str, delim: str = " ", limit: int = 1024) -> list[str]:
    """switch_separate_string (`^^X` at the front makes X the delimiter), then each token's
    cleanup."""
    if text.startswith("^^") and len(text) >= 4:
        delim, text = text[2], text[3:]
    clean_delim = "" if delim == " " else delim
    return [cleanup(text[a:b], clean_delim) for a, b in _spans(text, delim, limit)]


def find_end(text: str, open_char: str, close_char: str) -> int:
    """switch_find_end_paren: index of the bracket closing text[0], or -1."""
    depth = 0
    for index, char in enumerate(text):
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return index
    return -1


def brackets(text: str, open_char: str, close_char: str) -> tuple[list[tuple[str, str]], str]:
    """switch_event_create_brackets: the `name=value` list at the front of `text`, and the rest."""
    if not text.startswith(open_char):
        return [], text
    end = find_end(text, open_char, close_char)
    if end < 0:
        return [], text
    body, rest = text[1:end], text[end + 1 :]
    delim = ","
    if body.startswith("^^") and len(body) >= 3:
        delim, body = body[2], body[3:]
    items = []
    for item in separate(body, delim) if body else []:
        pair = separate(item, "=", 2)
        if len(pair) == 2:
            items.append((pair[0], pair[1]))
    return items, rest


def first_endpoint(text: str) -> str:
    """The first of several endpoints (`,` or `|` outside brackets)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "[{<":
            depth += 1
        elif char in "]}>":
            depth -= 1
        elif char in ",|" and depth == 0:
            return text[:index]
    return text


@dataclass
class Originate:
    """What FreeSWITCH reads from one `originate` argument string."""

    arg: str
    variables: list[tuple[str, str]] = field(default_factory=list)  # {...}
    leg_variables: list[tuple[str, str]] = field(default_factory=list)  # [...]
    endpoint: str = ""  # e.g. loopback/callee-silent/controller-test
    exten: str = ""
    app: str | None = None  # `&app(args)`: the application and its argument
    app_arg: str = ""
    dialplan: str = "XML"
    context: str = "default"
    cid_name: str | None = None
    cid_num: str | None = None
    timeout: int = 60

    @property
    def tech(self) -> str:
        return self.endpoint.split("/", 1)[0]

    def variable(self, name: str) -> str | None:
        """A call variable, the leg's own first (as FreeSWITCH looks them up)."""
        for items in (self.leg_variables, self.variables):
            for key, value in items:
                if key == name:
                    return value
        return None


def parse_originate(arg: str | None) -> Originate | str:
    """The parsed command, or the text FreeSWITCH answers when it cannot run (the usage, or
    PARSE_ERROR for an unclosed `{` or `[`)."""
    if not arg or not arg.strip():
        return USAGE
    argv = separate(arg, " ", 10)
    if len(argv) < 2 or len(argv) > 7:
        return USAGE
    values: list[str | None] = [None if a.lower() == "undef" else a for a in argv]
    values += [None] * (7 - len(values))
    url, exten = values[0] or "", values[1] or ""
    result = Originate(arg=arg, exten=exten)
    result.dialplan = values[2] or "XML"
    result.context = values[3] or "default"
    result.cid_name, result.cid_num = values[4], values[5]
    if values[6]:
        digits = values[6].strip()
        result.timeout = int(digits) if digits.isdigit() else 0
    result.variables, url = brackets(url, "{", "}")
    url = first_endpoint(url)
    result.leg_variables, url = brackets(url, "[", "]")
    if url[:1] in ("{", "["):
        # switch_event_create_brackets found no closing bracket: "Parse Error!", and the
        # originate fails before any channel exists (FINDINGS.md: an unquoted
        # `{v=${system ...}}` is cut at its blank).
        return PARSE_ERROR
    result.endpoint = url
    if exten.startswith("&") and len(exten) > 1:
        name = exten[1:].split(")", 1)[0]
        app, _, app_arg = name.partition("(")
        result.app, result.app_arg = app, app_arg
    return result


def socket_target(app_arg: str) -> tuple[str, int, str]:
    """mod_event_socket's socket app: (host, port, the words after host:port)."""
    words = separate(app_arg, " ") if app_arg.strip() else []
    target = words[0] if words else ""
    host, colon, port = target.rpartition(":")
    if not colon:
        host, port = target, "8084"
    host = host.split("/", 1)[0]
    number = int(port) if port.isdigit() else 0
    return host, number, " ".join(words[1:])
