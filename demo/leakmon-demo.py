# SPDX-License-Identifier: MIT
# leakmon-demo.py - a small Python service with a leak, for
# `leakmond --demo-python`.
#
# It "serves requests" forever. Each request builds some scratch data that
# is dropped again (the steady part of the heap), and logs the user in: a
# Session object goes into a module-level cache that nothing ever prunes.
# That cache is the leak: a thousand Session objects per second, each
# with a dict of attributes, growing without bound - the shape of most real
# leaks in Python services (a module-level dict that only grows).
#
# leakmon names the objects by their class: "python __main__.Session".
#
#   python3 leakmon-demo.py [--rate N] [--max N]
#     --rate N   sessions added per second (default 1000)
#     --max N    stop growing after N sessions (default 2000000)
# Stops on SIGTERM or SIGINT.
import signal
import sys
import time


class Session:
    def __init__(self, sid, user):
        self.user = user
        self.attributes = {"id": sid, "last_seen": int(time.time())}


USERS = ["user%d" % i for i in range(5000)]
SESSION_CACHE = {}	# never pruned: the leak


def serve(sid):
    scratch = [str(i) for i in range(20)]	# freed again: steady
    SESSION_CACHE[sid] = Session(sid, USERS[sid % len(USERS)])
    return len(scratch)


def main():
    rate, limit = 1000, 2000000
    args = sys.argv[1:]
    while args:
        opt = args.pop(0)
        if opt in ("--rate", "--max") and args:
            value = int(args.pop(0))
            if opt == "--rate":
                rate = value
            else:
                limit = value
        else:
            sys.exit("usage: leakmon-demo.py [--rate N] [--max N]")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(0))
    sid = 0
    while True:
        for _ in range(max(rate // 10, 1)):
            if sid < limit:
                serve(sid)
                sid += 1
        time.sleep(0.1)


if __name__ == "__main__":
    main()
