# SPDX-License-Identifier: MIT
# py_sessions.py - a Python service with a session cache that only grows.
#
#   python3 py_sessions.py N [MORE]
#
# Module `app` (made at run time, so its classes are app.Session and
# app.Registry.Item, as in a service's own package) keeps N Session objects,
# each holding a str and a dict, in a module-level list, and N // 10
# Registry.Item objects. Prints, like the C test targets:
#   expect python app.Session N BYTES
#   expect python app.Registry.Item K BYTES
#   info KEY VALUE
#   ready
# then waits. BYTES is N blocks of sys.getsizeof rounded up to 16, which is
# the block on 3.9-3.12; 3.13 keeps an instance's attribute values after
# it, in the same block, so its blocks are larger. On SIGUSR1 it adds MORE
# sessions (default N) and prints "grown TOTAL"; on SIGUSR2 it adds MORE
# sessions every second (a leak).
import os
import signal
import sys
import time
import types

APP_SOURCE = '''
class Session:
    def __init__(self, i):
        self.name = "session-%08d" % i
        self.data = {"id": i}

class Registry:
    class Item:
        def __init__(self, i):
            self.i = i

SESSIONS = []
ITEMS = []

def grow(n):
    base = len(SESSIONS)
    for i in range(base, base + n):
        SESSIONS.append(Session(i))
'''

app = types.ModuleType("app")
sys.modules["app"] = app
exec(APP_SOURCE, app.__dict__)

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
more = int(sys.argv[2]) if len(sys.argv) > 2 else n
app.grow(n)
app.ITEMS.extend(app.Registry.Item(i) for i in range(n // 10))

# An instance with a managed __dict__ is 56 bytes with its GC header and
# dict pre-header (sys.getsizeof), so one 64-byte pymalloc block.
block = (sys.getsizeof(app.SESSIONS[0]) + 15) // 16 * 16
item_block = (sys.getsizeof(app.ITEMS[0]) + 15) // 16 * 16 if app.ITEMS else 64
print("expect python app.Session %d %d" % (n, n * block))
print("expect python app.Registry.Item %d %d" % (n // 10, n // 10 * item_block))
print("info sessions %d" % n)
print("info session_block %d" % block)
print("info session_addr 0x%x" % id(app.SESSIONS[0]))
print("info session_name_addr 0x%x" % id(app.SESSIONS[0].name))
print("info version %d.%d" % sys.version_info[:2])
print("info pid %d" % os.getpid())
print("ready", flush=True)

leaking = False


def on_usr1(signum, frame):
    app.grow(more)
    print("grown %d" % len(app.SESSIONS), flush=True)


def on_usr2(signum, frame):
    global leaking
    leaking = True


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
while True:
    time.sleep(1)
    if leaking:
        app.grow(more)
        print("grown %d" % len(app.SESSIONS), flush=True)
