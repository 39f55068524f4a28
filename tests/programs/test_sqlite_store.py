"""What is particular to the SQLite store (the contract is in test_store.py)."""

from __future__ import annotations

from pathlib import Path

from controller.programs.model import ProgramSpec
from controller.programs.sqlite_store import SQLiteStore


def test_the_file_is_in_wal_mode_and_survives_reopening(tmp_path: Path, spec: ProgramSpec) -> None:
    path = tmp_path / "db" / "callflow.db"
    first = SQLiteStore(path)
    first.create_program("p1", spec, now=0)
    first.close()
    second = SQLiteStore(path)
    assert second.get_program("p1").spec == spec
    assert second._read("PRAGMA journal_mode")[0][0] == "wal"
    assert not second.shared  # one controller per file: it resolves every owner's attempts
    second.close()
