"""The paused collector: off inside, back as it was after, shared by overlapping threads."""

import gc
import threading
from collections.abc import Iterator

import pytest

from service.store.collector import paused_collector


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_off_inside_and_on_after() -> None:
    with paused_collector:
        assert not gc.isenabled()
        with paused_collector:  # reentrant: a read inside a read
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_resumes_the_collector() -> None:
    with pytest.raises(RuntimeError), paused_collector:
        raise RuntimeError("the read failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with paused_collector:
        pass
    assert not gc.isenabled()


def test_overlapping_threads_resume_only_when_the_last_is_done() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with paused_collector:
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with paused_collector:
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first thread left, this one still decodes

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert seen == [False]
    assert gc.isenabled()
