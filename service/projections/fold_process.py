"""A share of a replay's pairs folded in a second process, beside the one that writes.

Making the segments and rectangles of each pair (the second pass of ``fold.Fold``) is pure
Python and the largest part of a rebuild; one interpreter runs it on one core. Every rule works
within one pair, so a second process can fold the same log for half of the pairs while the
first folds the other half, and then hand its rows over to be written in the first one's
transaction. It reads the log itself, through its own connection, up to the position the
replay fixed before it started: positions are given in commit order under the append lock (and
a SQLite rebuild holds the write lock), so both read exactly the same events. Both make every
statement's versions (a correction can move a statement into either share); only the first
writes them.

The process is ``python -m service.projections.fold_process``: it reads its job on standard
input, pickled, and writes its rows on standard output, marshalled: they are driver values
only (numbers, text, None, bytes), and for 290,000 rectangles ``marshal`` took 0.13 s to
write them against pickle's 0.50 s (its memo of every object costs), which the first process
spent waiting. Nothing of the caller's process
is inherited (no fork of a process with threads and open connections), and the job carries
the database's URL, so a password never shows in a process list. If the process cannot start
or fails, the caller folds the share itself and says so in the log: a rebuild is slower then,
never wrong.
"""

import gc
import logging
import marshal
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import IO, cast

from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from service.db import in_memory
from service.domain.upcasting import UpcasterRegistry
from service.projections.forked import KEPT_UNTIL_EXIT
from service.projections.shares import Share, ShareRows, Split, cut

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """What the second process folds: the log of ``url`` up to ``until``, for ``share``."""

    url: str
    until: int
    share: Share
    upcasters: UpcasterRegistry


class Helper:
    """The second process of a split replay, running from construction until ``result``."""

    def __init__(self, job: Job, others: Share) -> None:
        """Start the process on ``job``; ``others`` is the share the caller folds. Raises
        ``pickle.PicklingError`` if the job cannot be sent (an upcaster that is no module's
        function), before any process starts."""
        message = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self.share = job.share
        self.others = others
        """The share the calling process folds."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            with cast(IO[bytes], self._process.stdin) as job_input:
                job_input.write(message)
        except OSError:  # it died at once; ``result`` reports it
            pass

    def result(self) -> ShareRows | None:
        """The rows of the share, once the process has made them; None if it failed. Rows that
        arrive whole are the process's last act, so this does not wait for it to end (``close``
        reaps it)."""
        try:
            # read whole first: ``marshal.load`` reads a stream a few bytes at a time
            found, streams = marshal.loads(cast(IO[bytes], self._process.stdout).read())
            return ShareRows(found, streams)
        except (EOFError, OSError, ValueError, TypeError) as error:
            code = self._process.wait()
            reason = f"exit status {code}" if code != 0 else repr(error)
        log.warning("the second fold process failed (%s); folding its share here", reason)
        return None

    def close(self) -> None:
        """End the process if it still runs (the replay failed before taking its rows)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def start(
    connection: Connection, upcasters: UpcasterRegistry, *, until: int, split: Split
) -> Helper | None:
    """A second process folding part of the pairs, when ``split`` asks for one started afresh
    (not forked once the log is read: ``rebuild._fork_child``), the log is
    long enough for it to pay (its interpreter takes about a second to start), and another
    process can open the database (not a SQLite database in memory)."""
    if split.forked or not split.shares_out(until):
        return None
    if in_memory(connection.engine):
        return None
    url = connection.engine.url
    mine, theirs = cut(split.at)
    job = Job(url.render_as_string(hide_password=False), until, theirs, upcasters)
    try:
        helper = Helper(job, mine)
    except (OSError, pickle.PicklingError, AttributeError, TypeError) as error:
        log.warning("no second fold process (%r); folding every pair here", error)
        return None
    log.info("a second process folds the pairs of slots %d to %d", theirs.low, theirs.high - 1)
    return helper


def fold(job: Job) -> ShareRows:
    """The second process's work: the rows of the job's share (the versions aside), on
    PostgreSQL encoded for COPY here, so the process that writes them only sends them."""
    from service.db import create_db_engine
    from service.projections import rebuild

    engine = create_db_engine(job.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = rebuild.fold_here(
                connection, job.upcasters, job.share, until=job.until, kept=KEPT_UNTIL_EXIT
            )
            return rebuild.share_rows(connection, rows, rebuild.copy_types(connection))
    finally:
        engine.dispose()


def main() -> None:
    """Fold, send the rows, and leave by ``os._exit``, with the collector off throughout: the
    caller waits for this process to end, and freeing the fold's versions, timelines and
    rows one object at a time, then the interpreter's own teardown, took longer than sending
    them (as would a collection of the rows before they are sent, none of which is garbage)."""
    gc.disable()
    job = pickle.load(sys.stdin.buffer)
    rows = fold(job)
    marshal.dump((rows.rows, rows.streams), sys.stdout.buffer)
    sys.stdout.buffer.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
