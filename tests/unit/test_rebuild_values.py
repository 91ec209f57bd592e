"""The rebuild writes a statement's stated_at on SQLite from the payload's text when the domain
wrote it in UTC; it must be exactly what ``sqlite_time`` makes of the instant, and any other
spelling must take that path."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from service.projections.fold import DriverValues
from service.store.driver_sql import sqlite_time

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(instants)
def test_the_utc_text_the_domain_writes_gives_what_sqlite_time_gives(instant: datetime):
    values = DriverValues(sqlite=True)
    assert values.stated(instant.isoformat(), instant) == sqlite_time(instant)


@given(instants, st.integers(-12 * 60, 14 * 60).filter(bool))
def test_other_offsets_are_converted_from_the_instant(instant: datetime, minutes: int):
    values = DriverValues(sqlite=True)
    elsewhere = instant.astimezone(timezone(timedelta(minutes=minutes)))
    assert values.stated(elsewhere.isoformat(), elsewhere) == sqlite_time(instant)
    assert values.stated(instant.isoformat().replace("+00:00", "Z"), instant) == sqlite_time(
        instant
    )


def test_postgresql_takes_the_instant_itself():
    instant = datetime(2022, 5, 16, 10, 0, tzinfo=UTC)
    assert DriverValues(sqlite=False).stated(instant.isoformat(), instant) is instant
