"""What is particular to the PostgreSQL store (the contract is in test_store.py, run on both):
processes claiming from one program at once, owner names held by live sessions only, calls
from the hub, a connection the server drops."""

from __future__ import annotations

import psycopg
import pytest
from gevent.event import AsyncResult, Event
from gevent.pool import Group
from support.programs import contact

from controller.programs.database import open_store, redacted
from controller.programs.model import ProgramSpec
from controller.programs.postgres_store import PostgresStore
from controller.programs.store import StoreError


def test_stores_claiming_at_once_take_every_contact_exactly_once(
    postgres_url: str, spec: ProgramSpec
) -> None:
    """Two stores (two processes' connections), four claimers each, claiming at once: each
    claim runs on the thread pool, so the statements really overlap in the server."""
    stores = [PostgresStore(postgres_url), PostgresStore(postgres_url)]
    try:
        phones = [f"+2126000{n:05d}" for n in range(300)]
        stores[0].create_program("p1", spec, now=0)
        stores[0].add_contacts("p1", [contact(p, i) for i, p in enumerate(phones, 2)], now=0)
        stores[0].transition("p1", "running", allowed_from=("created",), now=0)
        taken: dict[str, list[str]] = {}

        def claimer(name: str, store: PostgresStore) -> None:
            mine = taken.setdefault(name, [])
            while claimed := store.claim_due("p1", now=1, limit=7, owner=name):
                mine += [row.phone for row in claimed]

        group = Group()
        for index in range(8):
            group.spawn(claimer, f"owner-{index}", stores[index % 2])
        assert group.join(timeout=60), "claimers did not finish"
        everything = [phone for phones_taken in taken.values() for phone in phones_taken]
        assert sorted(everything) == sorted(phones)  # all claimed, none twice
        assert sum(1 for mine in taken.values() if mine) > 1  # they really shared the work
        rows = stores[1].contacts("p1")
        assert {row.status for row in rows} == {"claimed"}
    finally:
        for store in stores:
            store.close()


def test_an_owner_name_is_held_by_one_live_store_at_a_time(postgres_url: str) -> None:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    try:
        first.hold_owner("host-a")
        first.hold_owner("host-a")  # again: still held
        with pytest.raises(StoreError, match="'host-a' is held by another live process"):
            second.hold_owner("host-a")
        second.hold_owner("host-b")
        first.close()  # its session ends: the name is free
        third = PostgresStore(postgres_url)
        third.hold_owner("host-a")
        third.close()
    finally:
        first.close()
        second.close()


def test_a_call_from_the_hub_runs_in_place(postgres_url: str, spec: ProgramSpec) -> None:
    """A link callback runs in the hub, where nothing may switch: the store must not try to
    hand the statement to the thread pool there."""
    store = PostgresStore(postgres_url)
    try:
        store.create_program("p1", spec, now=0)
        done, seen = Event(), []
        result: AsyncResult = AsyncResult()
        result.rawlink(lambda _: (seen.append(store.get_program("p1")), done.set()))
        result.set(None)
        assert done.wait(timeout=10)
        assert seen[0] is not None and seen[0].id == "p1"
    finally:
        store.close()


def test_a_dropped_connection_is_reported_then_replaced(
    postgres_url: str, spec: ProgramSpec
) -> None:
    store = PostgresStore(postgres_url)
    try:
        store.create_program("p1", spec, now=0)
        store.hold_owner("host-a")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            ).fetchall()
        assert len(killed) >= 2  # the pool's connection and the owner's
        with pytest.raises(StoreError, match="program database postgresql://"):
            store.get_program("p1")
        assert store.get_program("p1") is not None  # a new connection
        store.hold_owner("host-a")  # the lock went with its session: taken again
    finally:
        store.close()


def test_a_server_that_is_not_there_is_a_store_error_without_the_password() -> None:
    url = "postgresql://callflow:s3cret@/nodb?host=/nonexistent-dir&port=1"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert "s3cret" not in str(raised.value)
    assert redacted(url) in str(raised.value)
