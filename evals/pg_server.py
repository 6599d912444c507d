"""A throwaway PostgreSQL server for the order-store tests and benchmark, started on demand.

`cluster()` runs Debian's `initdb` + `pg_ctl` (package `postgresql`, installed by
scripts/bootstrap.sh) into a fresh directory under the system temp dir, listening on
127.0.0.1 on a free port with trust authentication, fsync off; it is started once per test
process and stopped (and deleted) when the process exits. PostgreSQL refuses to run as root,
so under root the server runs as the `nobody` user (the directory is handed to it).
`fresh_database_url()` creates an empty database on it for one test.

When the binaries are missing, `cluster()` raises `PostgresUnavailable` naming the package;
`tests/pgcluster.py` turns that into a failure under CI and a skip elsewhere.

`python -m evals.pg_server` starts one and prints its admin URL until Ctrl-C;
`python -m evals.orders_bench` uses `cluster()` the same way.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` "
    "(scripts/bootstrap.sh does)"
)


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH first, then Debian's /usr/lib/postgresql/<v>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    root: Path
    port: int
    bindir: Path
    run_as: dict[str, Any]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
             "-w", "stop"],
            capture_output=True, check=False, **self.run_as,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    root = Path(tempfile.mkdtemp(prefix="orders-pg-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        # initdb and postgres refuse root: hand the directory to an unprivileged user
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    data, port = root / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        done = subprocess.run(
            list(args), capture_output=True, text=True, env=env, cwd=root, check=False, **run_as
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {' | '.join(tail)}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--no-locale", "--no-sync")  # fmt: skip
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
        "-t", "60", "start")  # fmt: skip
    return Cluster(root=root, port=port, bindir=bindir, run_as=run_as)


_CLUSTER: Cluster | None = None
_FAILED: str | None = None


def cluster() -> Cluster:
    """This process's server (started on first use, stopped at exit); PostgresUnavailable."""
    global _CLUSTER, _FAILED
    if _FAILED is not None:
        raise PostgresUnavailable(_FAILED)
    if _CLUSTER is None:
        try:
            _CLUSTER = start_cluster()
        except PostgresUnavailable as e:
            _FAILED = str(e)
            raise
        atexit.register(_CLUSTER.stop)
    return _CLUSTER


SHARED_DB = "orders_shared"
_SHARED_READY = False
ORDER_TABLES = ("idempotency", "order_items", "orders")
"""What the store's calls write; the menu and the schema stay."""


def fresh_database_url(*, migrated: bool = False) -> str:
    """A database on this process's server for one test.

    `migrated=False`: a new, empty database (`CREATE DATABASE`, ~1-2 s on a busy box).
    `migrated=True`: this process's one database at the store's schema with the menu seeded,
    its order tables emptied (`TRUNCATE`: milliseconds; no migration or copy per test). Tests
    run one at a time, so the emptied tables are the test's own."""
    c = cluster()
    global _SHARED_READY
    if migrated and _SHARED_READY:
        with psycopg.connect(c.url(SHARED_DB), autocommit=True) as conn:
            conn.execute(f"TRUNCATE {', '.join(ORDER_TABLES)}")
        return c.url(SHARED_DB)
    name = SHARED_DB if migrated else f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(c.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    if migrated:
        from tools.coffee.migrate import check_orders_db

        check_orders_db(c.url(name))
        _SHARED_READY = True
    return c.url(name)


if __name__ == "__main__":
    import time

    c = cluster()
    print(c.admin_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
