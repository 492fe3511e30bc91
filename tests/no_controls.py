#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""no_controls.py FILE - exit 0 if FILE is UTF-8 text without raw control
characters: no C0 control but newline (so no escape, no tab, no carriage
return), no DEL, no C1 control (U+0080..U+009F). Otherwise say where the
first offending byte is, with the bytes around it, and exit 1.

What leakmon prints of a target's names must pass: a terminal, a log or a
JSON consumer must not be steered by bytes a target chose (tests/init.sh's
assert_no_controls).
"""
import sys


def control(c):
    return (ord(c) < 0x20 and c != '\n') or 0x7f <= ord(c) <= 0x9f


def report(path, data, offset, what):
    around = data[max(0, offset - 24):offset + 24]
    sys.exit('%s: %s at byte offset %d, among %r' % (path, what, offset, around))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    data = open(path, 'rb').read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        report(path, data, e.start, 'a byte that is not UTF-8 (0x%02x)' % data[e.start])
    for i, c in enumerate(text):
        if control(c):
            report(path, data, len(text[:i].encode('utf-8')), 'control character U+%04X' % ord(c))


main()
