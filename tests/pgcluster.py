"""The PostgreSQL half of the order-store tests: a fresh database on this test process's
throwaway server (`evals.pg_server`: initdb + pg_ctl on loopback, stopped at exit).

Without PostgreSQL's binaries (Debian `postgresql`, installed by scripts/bootstrap.sh) the
PostgreSQL tests FAIL under CI (`CI` set: CI must test both back ends) and are SKIPPED with the
reason on a developer machine without the package (the SQLite half still runs).
"""

from __future__ import annotations

import os

import pytest

from evals.pg_server import PostgresUnavailable, fresh_database_url


def require_postgres(*, migrated: bool = False) -> str:
    """A fresh database URL (`migrated`: already at the store's schema, menu seeded), or fail
    (CI) / skip (elsewhere) with the reason."""
    try:
        return fresh_database_url(migrated=migrated)
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"{e} (CI must test the PostgreSQL back end)", pytrace=False)
        pytest.skip(f"{e}; the PostgreSQL half of the order-store tests did not run")
