#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""receiver_log.py - the deliveries tests/webhook_receiver.py accepted.

  receiver_log.py LOG EVENT KIND NAME [--target T] [--lead] [--first]
                  [--print record|body|delivery_id]

Prints, one line each, the deliveries in LOG (the receiver's --log) that the
receiver answered with 200 and whose signature it verified, whose payload is
the event EVENT (leak.firing, leak.resolved) of target T (any target without
--target) and names the type KIND NAME: as its lead ("type") or, unless
--lead, among the incident's "types". What is printed: the log's record as
one JSON line (the default), the payload alone, or the delivery id the
request carried. --first stops at the first one. Exit status 0 if one was
found, 1 if none (a LOG not yet written holds none).
"""
import argparse
import json
import sys


def records(log):
    """The log's records; a last line not yet ended is still being written."""
    try:
        text = open(log).read()
    except OSError:
        return []
    return [json.loads(line) for line in text.split('\n')[:-1]]


def names_type(body, kind, name, lead_only):
    named = [body.get('type') or {}]
    if not lead_only:
        named += body.get('types') or []
    return any(t.get('kind') == kind and t.get('name') == name for t in named)


def accepted(r, args):
    b = r.get('body') or {}
    return (r.get('status') == 200 and r.get('signature_ok')
            and b.get('event') == args.event
            and (args.target is None or b.get('target') == args.target)
            and names_type(b, args.kind, args.name, args.lead))


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('log')
    ap.add_argument('event')
    ap.add_argument('kind')
    ap.add_argument('name')
    ap.add_argument('--target')
    ap.add_argument('--lead', action='store_true')
    ap.add_argument('--first', action='store_true')
    ap.add_argument('--print', dest='what', choices=['record', 'body', 'delivery_id'],
                    default='record')
    args = ap.parse_args()
    found = 0
    for r in records(args.log):
        if not accepted(r, args):
            continue
        found += 1
        if args.what == 'record':
            print(json.dumps(r))
        elif args.what == 'body':
            print(json.dumps(r['body']))
        else:
            print(r['delivery_id'])
        if args.first:
            break
    return 0 if found else 1


sys.exit(main())
