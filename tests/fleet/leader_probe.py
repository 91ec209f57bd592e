"""A process that campaigns for the scheduler leadership and says when it wins or loses it.

``python -m tests.fleet.leader_probe URL``; prints ``started``, then ``leader`` / ``follower``.
"""

import sys
import time

from service.leadership import AdvisoryLockLeader


def main(url: str) -> None:
    def changed(leading: bool) -> None:
        print("leader" if leading else "follower", flush=True)

    leader = AdvisoryLockLeader(url, retry_seconds=0.2, check_seconds=0.2, on_change=changed)
    leader.start()
    print("started", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
