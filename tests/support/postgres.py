"""A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` in a temporary directory,
reached only through a Unix socket in that directory (no TCP port to collide with).

PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` user (which
Debian's packages create) and its commands run through `runuser`. Binaries are found on PATH,
else under /usr/lib/postgresql/<version>/bin (where Debian puts them).

When they are missing, tests using the cluster skip, naming what is missing, unless
CALLFLOW_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail, so CI cannot pass by skipping.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REQUIRE_ENV = "CALLFLOW_REQUIRE_POSTGRES"
PORT = 5432  # only names the socket file: the cluster listens on no TCP address
COMMAND_TIMEOUT = 120.0
SUPERUSER = "postgres"
_databases = itertools.count(1)


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: Debian's newest version, else PATH's."""
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    for bindir in sorted(versions, key=lambda path: int(Path(path).parts[-2]), reverse=True):
        if Path(bindir, "initdb").exists() and Path(bindir, "pg_ctl").exists():
            return Path(bindir)
    found = shutil.which("pg_ctl")
    if found:
        bindir = Path(found).resolve().parent  # a link (e.g. in /usr/local/bin): its target
        if (bindir / "initdb").exists():
            return bindir
    return None


def find_runuser() -> Path | None:
    """util-linux's runuser (in /usr/sbin, which a root PATH may lack)."""
    found = shutil.which("runuser")
    candidates = [found] if found else []
    candidates += ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
    return next((Path(c) for c in candidates if Path(c).exists()), None)


def unavailable(reason: str) -> None:
    """Skip — or fail, where PostgreSQL is required (CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason} (`apt-get install postgresql` runs them)")


class Cluster:
    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.socket_dir = root
        self.log = root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            self.as_user = [str(find_runuser()), "-u", SUPERUSER, "--"]
            account = pwd.getpwnam(SUPERUSER)
            os.chown(root, account.pw_uid, account.pw_gid)

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.as_user, *command],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}{log}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",  # only reachable through the socket in a private directory
            "--no-sync",
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            f"-p {PORT} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
        )

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate")

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        url = f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={PORT}"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")

    def new_database(self) -> str:
        """The URL of a fresh, empty place for a store: a schema of its own in the test
        database (the store's tables are unqualified, found through search_path). A schema
        is made in milliseconds; CREATE DATABASE takes a quarter of a second."""
        schema = f"test_{os.getpid()}_{next(_databases)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=30) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        return self.url(schema=schema)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    bindir = find_bindir()
    if bindir is None:
        unavailable("initdb and pg_ctl were not found (/usr/lib/postgresql/*/bin, PATH)")
        raise AssertionError("unreachable")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            unavailable(f"running as root and there is no {SUPERUSER!r} user to run it as")
        if find_runuser() is None:
            unavailable("running as root and runuser (util-linux) was not found")
    root = Path(tempfile.mkdtemp(prefix="callflow-pg-"))
    cluster = Cluster(bindir, root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
