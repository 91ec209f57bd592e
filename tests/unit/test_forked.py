"""Work in a forked child: its result comes back, its failure is reported rather than raised or
waited on, and a child still running when its caller gives up is ended."""

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.projections import forked
from service.projections.errors import LogNotReplayable
from service.projections.forked import Forked


def _result_of(
    work: Callable[[], object], name: str, *, passing: tuple[type[BaseException], ...] = ()
) -> object:
    """What ``work`` gives back from a forked child, the child closed after."""
    child = Forked(work, name=name)
    try:
        return child.result(passing=passing)
    finally:
        child.close()


def test_the_child_sends_back_what_its_work_returns():
    parent = os.getpid()
    result = _result_of(lambda: {"pid": os.getpid(), "rows": [(1, "a"), (2, None)]}, "counts")
    assert result is not None
    assert result["rows"] == [(1, "a"), (2, None)]
    assert result["pid"] != parent


def test_a_result_larger_than_a_pipe_holds_arrives_whole():
    payload = os.urandom(3 * 1024 * 1024)
    assert _result_of(lambda: payload, "sends a lot") == payload


def test_a_child_that_raises_is_reported_and_gives_none(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
):
    """What the child raised is said once, in one line of the parent's log: the child prints
    no traceback of its own (the caller that goes on shows the error, if it is one)."""

    def fails() -> None:
        raise ValueError("nothing to settle\nsecond line")

    with caplog.at_level(logging.WARNING):
        assert _result_of(fails, "settles nothing") is None
    assert (
        "the forked process that settles nothing failed (raised ValueError: nothing to settle)"
        in caplog.text
    )
    assert "Traceback" not in capfd.readouterr().err


def test_an_error_of_a_passing_type_is_raised_in_the_parent(caplog: pytest.LogCaptureFixture):
    """The caller names the errors that doing the work again would only meet again: those come
    back raised, whole (type and attributes), and are not reported as a failure of the child;
    any other error still gives None."""

    def fails() -> None:
        raise LogNotReplayable("StatementApproved", 41, "a-statement")

    child = Forked(fails, name="replays")
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(LogNotReplayable) as raised:
            child.result(passing=(LogNotReplayable,))
    finally:
        child.close()
    assert (raised.value.event_type, raised.value.position) == ("StatementApproved", 41)
    assert str(raised.value) == "StatementApproved at 41: no statement a-statement"
    assert "failed" not in caplog.text

    assert _result_of(fails, "replays otherwise", passing=(KeyError,)) is None


def test_a_child_whose_result_will_not_pickle_says_why(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
):
    with caplog.at_level(logging.WARNING):
        assert _result_of(lambda: lambda: "pickled by name only", "sends a lambda") is None
    assert "the forked process that sends a lambda failed (exit status 1)" in caplog.text
    assert "pickle local object" in capfd.readouterr().err


def test_a_child_killed_by_a_signal_is_reported(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        assert _result_of(lambda: os.kill(os.getpid(), 9), "is killed") is None
    assert "the forked process that is killed failed (exit status -9)" in caplog.text


def test_closing_ends_a_child_that_still_runs(tmp_path: Path):
    """The caller failed before it took the result: closing ends the child and reaps it."""
    said = tmp_path / "pid"

    def sleeps() -> None:
        written = tmp_path / "pid.part"
        written.write_text(str(os.getpid()))
        written.rename(said)  # whole or not at all
        time.sleep(600)

    child = Forked(sleeps, name="sleeps")
    while not said.exists():
        time.sleep(0.01)
    pid = int(said.read_text())

    child.close()

    with pytest.raises(ProcessLookupError):  # ended and reaped: no such process any more
        os.kill(pid, 0)
    child.close()  # a second close has nothing left to do


def test_a_child_that_has_sent_its_result_is_reaped_without_waiting_for_its_end():
    """The result is the child's last act: closing does not wait for the child to end (the
    kernel takes a while to take a large one apart), and it is reaped once it has, leaving no
    zombie behind."""
    child = Forked(os.getpid, name="says its pid")
    pid = child.result()
    assert pid is not None and pid != os.getpid()

    child.close()

    deadline = time.monotonic() + 30
    while pid in forked._LEAVING and time.monotonic() < deadline:
        time.sleep(0.01)
        forked._reap_the_departed()
    assert pid not in forked._LEAVING
    with pytest.raises(ProcessLookupError):  # reaped: not even a zombie is left
        os.kill(pid, 0)
    child.close()  # a second close has nothing left to do
