"""The seeded team of tests/core (both databases), reused by the security cases."""

from tests.core.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    db_url,
    engine,
    pg_database,
    sqlite_template,
    talk,
    team,
)
