"""controller.flows.source: bytes to plain data, safely, with line numbers, or one SourceError."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.flows import source
from controller.flows.source import (
    MAX_BYTES,
    MAX_DEPTH,
    SourceError,
    parse_json,
    parse_text,
    parse_yaml,
    read_document,
)


def yaml_error(text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        parse_yaml(text)
    return caught.value


def json_error(text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        parse_json(text)
    return caught.value


# --- duplicate keys ---------------------------------------------------------------------------


def test_yaml_duplicate_key_is_an_error_at_the_second_occurrence() -> None:
    error = yaml_error("name: a\ngraph:\n  x: 1\n  y: 2\n  x: 3\n")
    assert error.message == "duplicate key 'x'"
    assert error.line == 5


def test_yaml_duplicate_is_by_text_so_1_and_quoted_1_collide() -> None:
    assert yaml_error("branches:\n  1: a\n  '1': b\n").line == 3


def test_json_duplicate_key_is_an_error() -> None:
    assert json_error('{"a": 1, "b": {"c": 1, "c": 2}}').message == "duplicate key 'c'"


# --- keys are the text the user wrote ---------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["1", "0", "0123", "007", "1.50", "on", "off", "yes", "no", "true", "null", "~", "1e3"]
)
def test_yaml_mapping_keys_stay_text(key: str) -> None:
    assert parse_yaml(f"{key}: value\n").data == {key: "value"}


def test_yaml_values_keep_their_yaml_types() -> None:
    data = parse_yaml("a: [1, 2.5, true, null, text, '1']\n").data
    assert data == {"a": [1, 2.5, True, None, "text", "1"]}


def test_yaml_dates_stay_the_text_written() -> None:
    assert parse_yaml("due: 2025-03-31\nbad: 2025-02-30\n").data == {
        "due": "2025-03-31",
        "bad": "2025-02-30",
    }


@pytest.mark.parametrize(
    "text",
    [
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
        "a: !!omap [{x: 1}]\n",
        "a: !!python/object/apply:os.system [echo]\n",
        "a: !custom [1]\n",
        "a: !custom text\n",
    ],
)
def test_yaml_tags_beyond_plain_data_are_refused(text: str) -> None:
    error = yaml_error(text)
    assert error.line == 1
    assert "tag" in error.message


def test_yaml_non_scalar_key_is_refused() -> None:
    error = yaml_error("a:\n  ? [x]\n  : 1\n")
    assert error.message == "mapping keys must be plain text"
    assert error.line == 2


# --- line numbers -----------------------------------------------------------------------------

FLOW = """\
name: Lines
graph:
  startNodeId: a
  nodes:
    - id: a
      type: dial
      outputs:
        default: b
    - id: b
      type: hangup
"""


def test_yaml_lines_of_pointers() -> None:
    document = parse_yaml(FLOW)
    assert document.lines[""] == 1
    assert document.lines["/graph/startNodeId"] == 3
    assert document.lines["/graph/nodes/0"] == 5
    assert document.lines["/graph/nodes/0/outputs"] == 7  # the key's line, not its content's
    assert document.lines["/graph/nodes/0/outputs/default"] == 8
    assert document.lines["/graph/nodes/1/type"] == 10


def test_line_of_falls_back_to_the_nearest_enclosing_value() -> None:
    document = parse_yaml(FLOW)
    assert document.line_of("/graph/nodes/1/config/reason") == 9
    assert document.line_of("/missing") == 1


def test_lines_with_crlf_line_endings() -> None:
    document = parse_yaml(FLOW.replace("\n", "\r\n"))
    assert document.lines["/graph/nodes/1/type"] == 10


def test_lines_of_keys_escaped_as_json_pointer() -> None:
    document = parse_yaml("branches:\n  a/b: x\n  c~d: y\n")
    assert document.lines["/branches/a~1b"] == 2
    assert document.lines["/branches/c~0d"] == 3


def test_json_has_no_line_map_but_errors_carry_the_line() -> None:
    assert parse_json('{"a": 1}').line_of("/a") is None
    error = json_error('{\n  "a": 1,\n  "b": [1,]\n}')
    assert error.line == 3
    assert error.message.startswith("invalid JSON: ")


def test_yaml_syntax_error_has_a_line() -> None:
    error = yaml_error("a: 1\nb: [1, 2\nc: 3\n")
    assert error.message.startswith("invalid YAML: ")
    assert error.line == 3


def test_yaml_tab_indentation_has_a_line() -> None:
    assert yaml_error("a:\n  b: 1\n\tc: 2\n").line == 3


def test_yaml_two_documents() -> None:
    error = yaml_error("a: 1\n---\nb: 2\n")
    assert error.message == (
        "invalid YAML: expected a single document in the stream but found another document"
    )
    assert error.line == 2


# --- merge keys -------------------------------------------------------------------------------


def test_merge_key_value_is_overridden_by_a_key_written_beside_it() -> None:
    data = parse_yaml("base: &b {a: 1, c: 3}\nx:\n  <<: *b\n  a: 2\n").data
    assert data["x"] == {"a": 2, "c": 3}
    assert data["base"] == {"a": 1, "c": 3}


def test_merge_of_a_list_the_earlier_mapping_wins() -> None:
    data = parse_yaml("p: &p {a: 1}\nq: &q {a: 2, z: 0}\nx:\n  <<: [*p, *q]\n").data
    assert data["x"] == {"a": 1, "z": 0}


def test_an_aliased_mapping_that_merges_reads_the_same_every_time() -> None:
    data = parse_yaml("b: &b {a: 1}\nx: &x\n  <<: *b\n  a: 2\ny: *x\nz: *x\n").data
    assert data["x"] == data["y"] == data["z"] == {"a": 2}


def test_merged_values_keep_the_line_of_the_anchor() -> None:
    document = parse_yaml("base: &b\n  k: 1\nx:\n  <<: *b\n  z: 2\n")
    assert document.lines["/x/k"] == 2
    assert document.lines["/x/z"] == 5


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate() -> None:
    assert yaml_error("x:\n  a: 1\n  <<: {b: 1}\n  a: 2\n").line == 4


@pytest.mark.parametrize(
    ("text", "line"),
    [("x:\n  <<: 3\n", 2), ("x:\n  <<: [{a: 1}, 3]\n", 2), ("x: &a\n  <<: *a\n", 1)],
)
def test_bad_merges_are_errors(text: str, line: int) -> None:
    error = yaml_error(text)
    assert "'<<'" in error.message
    assert error.line == line


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert parse_yaml("x: {'<<': 1}\n").data == {"x": {"<<": 1}}


# --- depth limit ------------------------------------------------------------------------------


def nested_yaml(levels: int) -> str:
    return "a: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def test_yaml_nesting_at_the_limit_is_accepted() -> None:
    parse_yaml(nested_yaml(MAX_DEPTH))


def test_yaml_nesting_beyond_the_limit_is_refused() -> None:
    error = yaml_error(nested_yaml(MAX_DEPTH + 1))
    assert error.message == f"nested deeper than {MAX_DEPTH} levels"
    assert error.line == 1


def test_recursive_alias_is_refused_by_the_depth_limit() -> None:
    assert yaml_error("x: &a\n  y: *a\n").message == f"nested deeper than {MAX_DEPTH} levels"


def test_json_nesting_at_the_limit_is_accepted() -> None:
    parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    parse_json('{"a": ' + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "}")


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 100_000])
def test_json_nesting_beyond_the_limit_is_refused(levels: int) -> None:
    text = "[" * levels + "]" * levels
    assert json_error(text).message == f"nested deeper than {MAX_DEPTH} levels"


def test_yaml_nesting_far_beyond_the_limit_is_refused_without_recursion() -> None:
    yaml_error("[" * 100_000)


# --- alias expansion limit --------------------------------------------------------------------


def test_billion_laughs_is_refused() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    error = yaml_error("\n".join(lines) + "\n")
    assert "aliases" in error.message


def test_ordinary_alias_reuse_is_fine() -> None:
    data = parse_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n").data
    assert data["b"] == [[1, 2]] * 3


def test_expansion_limit_counts_every_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_EXPANDED_NODES", 5)
    parse_yaml("a: [1, 2, 3]\n")  # 5 values: the root, a, and three items
    assert "aliases" in yaml_error("a: [1, 2, 3, 4]\n").message


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 5000, "1:" * 3000 + "1"])
def test_yaml_integer_too_long_is_an_error(number: str) -> None:
    error = yaml_error(f"a: 1\nb: {number}\n")
    assert "too many digits" in error.message
    assert error.line == 2


def test_json_integer_too_long_is_an_error() -> None:
    assert "too many digits" in json_error('{"a": ' + "9" * 5000 + "}").message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_not_json(constant: str) -> None:
    assert constant in json_error('{"a": ' + constant + "}").message


# --- documents that are not mappings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "is_json", "kind"),
    [
        ("- a\n- b\n", False, "a list"),
        ("just text\n", False, "text"),
        ("~\n", False, "nothing (null)"),
        ("42\n", False, "a single value"),
        ("[1]", True, "a list"),
        ('"text"', True, "text"),
        ("null", True, "nothing (null)"),
    ],
)
def test_a_flow_must_be_a_mapping(text: str, is_json: bool, kind: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_text(text, is_json=is_json)
    assert caught.value.message.endswith(f"not {kind}")


def test_not_a_mapping_points_at_the_documents_first_line() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text("# a comment\n\n- a\n", is_json=False)
    assert caught.value.line == 3


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_yaml(text: str) -> None:
    error = yaml_error(text)
    assert (error.message, error.line) == ("the file is empty", 1)


def test_an_empty_yaml_document_is_not_a_flow() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text("---\n", is_json=False)
    assert caught.value.message.endswith("not nothing (null)")


# --- size limit -------------------------------------------------------------------------------


def test_parse_text_refuses_text_over_the_size_limit() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text("a: " + "x" * MAX_BYTES, is_json=False)
    assert "larger than" in caught.value.message


def test_read_document_refuses_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(SourceError) as caught:
        read_document(path)
    assert caught.value.message == f"file is larger than {MAX_BYTES // 1024} KiB"


def test_read_document_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_document(tmp_path / "nope.yaml")
    assert caught.value.message.startswith("cannot read file: ")


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"), [("flow.yaml", "name: Café\n"), ("flow.json", '{"name": "Café"}')]
)
def test_read_document_skips_a_utf8_bom(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    raw = b"\xef\xbb\xbf" + text.encode("utf-8")
    path.write_bytes(raw)
    document, read = read_document(path)
    assert document.data == {"name": "Café"}  # no '\ufeff' glued to the first key
    assert read == raw  # the version hashes the bytes as they are


def test_bom_does_not_shift_yaml_lines(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + FLOW.encode("utf-8"))
    document, _ = read_document(path)
    assert document.lines["/graph/startNodeId"] == 3


def test_read_document_refuses_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: Caf\xe9\n")
    with pytest.raises(SourceError) as caught:
        read_document(path)
    assert caught.value.message == "file is not UTF-8 text (byte 9)"


def test_read_document_picks_the_parser_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "flow.JSON"
    path.write_text("{'a': 1}", encoding="utf-8")  # valid YAML, invalid JSON
    with pytest.raises(SourceError) as caught:
        read_document(path)
    assert caught.value.message.startswith("invalid JSON")


def test_a_large_anchor_repeated_by_aliases_is_refused_by_its_expanded_text() -> None:
    # 1 MB of text, named once and aliased 200 times: few values, but 200 MB written out
    big = "x" * (1024 * 1024 - 100)
    text = f'name: amp\nanchor: &big "{big}"\nitems:\n' + "  - *big\n" * 200
    error = yaml_error(text)
    assert error.message.startswith("document expands to more than 4 MiB of text")
    assert error.line == 2


def test_expanded_text_counts_keys_and_values_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_EXPANDED_BYTES", 12)
    parse_yaml("ab: &a {cd: ef}\ngh: *a\n")  # ab cd ef gh cd ef: 12 characters
    assert "expands to more than" in yaml_error("ab: &a {cd: ef}\ngh: *a\ni: j\n").message
