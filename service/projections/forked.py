"""Work done in a child forked from this process, its result sent back through a pipe.

A replay that has read the whole log holds every statement's versions and every pair's pending
events in memory; a child forked then inherits all of it for nothing, where a process started
afresh would have to read and decode the log again (``fold_process``), which on PostgreSQL
competes with the server for the second core. Forking is only safe while this process runs one
thread: a lock another thread holds at the fork stays held in the child forever. So ``may_fork``
is asked each time, and a caller that is told no does the work itself.

The child runs only the work it is given, which must not touch anything the parent uses (a
connection above all: its socket is shared, so a statement sent from the child would cut into
the parent's). It writes the pickled result and leaves by ``os._exit``, so nothing the two
share (connections, files, buffers) is closed or flushed twice, and no finaliser runs. If the
work raises, the child sends what it raised, as one line, and the parent says it in its log:
a caller told of a failure does the work itself, and raises the same error if it is one, so
the full traceback is shown once, by the process that goes on.
"""

import contextlib
import logging
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import IO, Generic, TypeVar, cast

log = logging.getLogger(__name__)

Result = TypeVar("Result")

KEPT_UNTIL_EXIT: list[object] = []
"""What a process that leaves by ``os._exit`` (a forked child, the second fold process of
``fold_process``) leaves here stays alive until it leaves, and is never freed object by
object: the kernel takes the memory back at once. Nothing is left here in any other process."""


def may_fork() -> bool:
    """Whether a fork is safe here: the platform has it and this process runs one thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Forked(Generic[Result]):
    """``work`` running in a forked child from construction until ``result``."""

    def __init__(self, work: Callable[[], Result], *, name: str) -> None:
        """Fork and start ``work`` in the child; ``name`` says what it does, in the log.
        Raises ``OSError`` if no child can be made."""
        self.name = name
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            raise
        if pid == 0:
            os.close(read)
            _child(work, write)
        os.close(write)
        self._pid: int | None = pid
        self._delivered = False
        self._pipe: IO[bytes] = os.fdopen(read, "rb")

    def result(self, *, passing: tuple[type[BaseException], ...] = ()) -> Result | None:
        """What ``work`` returned, once the child sends it; None if the child failed, which
        this says in the log, with the error it raised (one line: a caller that does the work
        itself then raises the same error, if it is one, with its traceback). An error of a
        type in ``passing`` is raised here instead, as if the work had run in this process:
        errors that doing the work again would only meet again.

        A result that arrives whole is the child's last act, so this returns at once, without
        waiting for the child to end: the kernel takes apart a child that held a replay's
        memory in 0.06 to 0.11 s, and ``close`` reaps it later, or a later ``Forked`` does."""
        raised, reason = None, "no result"
        try:
            value = pickle.load(self._pipe)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            value, reason = None, repr(error)
        if isinstance(value, _Raised):
            value, raised = None, value
        elif value is not None:
            self._delivered = True
            return cast(Result, value)
        status = self._reap()
        if raised is not None and isinstance(raised.error, passing):
            raise raised.error
        if raised is not None:
            reason = f"raised {raised.summary}"
        elif status != 0:
            reason = f"exit status {status}"
        log.warning("the forked process that %s failed (%s)", self.name, reason)
        return None

    def close(self) -> None:
        """End the child if it still runs (the caller failed before taking its result), and
        reap it; a child that has sent its result is reaped once it has ended by itself."""
        if self._pid is not None:
            if self._delivered:
                _LEAVING.append(self._pid)
                self._pid = None
            else:
                with contextlib.suppress(ProcessLookupError):  # it has just ended by itself
                    os.kill(self._pid, signal.SIGKILL)
                self._reap()
        _reap_the_departed()
        self._pipe.close()

    def _reap(self) -> int:
        if self._pid is None:
            return 0
        _pid, status = os.waitpid(self._pid, 0)
        self._pid = None
        return os.waitstatus_to_exitcode(status)


_LEAVING: list[int] = []
"""Children that have sent their result and may still be ending; reaped without waiting."""


def _reap_the_departed() -> None:
    """Reap those of ``_LEAVING`` that have ended; the rest stay listed."""
    for pid in list(_LEAVING):
        with contextlib.suppress(ChildProcessError):  # reaped already by someone else
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                continue
        _LEAVING.remove(pid)


class _Raised:
    """What a child sends when its work raised: the error as one line for the parent's log,
    and the error itself if it makes the trip (for ``result``'s ``passing``)."""

    def __init__(self, summary: str, error: BaseException | None) -> None:
        self.summary = summary
        self.error = error


def _raised(error: BaseException) -> _Raised:
    lines = "".join(traceback.format_exception_only(error)).strip().splitlines()
    sendable: BaseException | None = error
    try:
        pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # any error that would not arrive whole stays here, said in one line
        sendable = None
    return _Raised(lines[0] if lines else type(error).__name__, sendable)


def _child(work: Callable[[], object], pipe: int) -> None:
    """The child's whole life: run ``work``, send its result (or what it raised), leave without
    cleaning up."""
    code = 1
    try:
        try:
            result: object = work()
            code = 0
        except BaseException as error:  # anything at all: the parent must hear of it, never hang
            result = _raised(error)
        _send(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), pipe)
    except BaseException:  # the result would not pickle, or the pipe is gone
        code = 1
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
    finally:
        os._exit(code)


def _send(message: bytes, pipe: int) -> None:
    view = memoryview(message)
    while view:
        view = view[os.write(pipe, view) :]
