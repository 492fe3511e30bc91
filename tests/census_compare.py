#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""census_compare.py TARGET_OUT CENSUS_JSON [CENSUS_JSON...]

Compare a test target's own account of what it allocated ("expect KIND NAME
COUNT BYTES" lines) with `leakmon stat --json` output: every expected type
must be present with exactly that count and byte total. With several census
files, they must also be identical to each other (types and totals).
Exit 0 when all match; print every difference otherwise.
"""
import json
import sys


def expectations(path):
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[0] == "expect":
            kind, name = f[1], " ".join(f[2:-2])
            out[(kind, name)] = (int(f[-2]), int(f[-1]))
    return out


def census_types(doc):
    return {(t["kind"], t["name"]): (t["count"], t["bytes"]) for t in doc["types"]}


def main():
    want = expectations(sys.argv[1])
    docs = [json.load(open(p)) for p in sys.argv[2:]]
    errors = []
    if not want:
        errors.append("the target printed no expect lines")
    got = census_types(docs[0])
    for key, (count, nbytes) in sorted(want.items()):
        if key not in got:
            close = [k for k in got if k[1].lower() == key[1].lower() or key[1] in k[1]]
            errors.append("%s %s: expected %d / %d bytes, missing from the census%s" %
                          (key[0], key[1], count, nbytes,
                           " (similar: %s)" % close if close else ""))
        elif got[key] != (count, nbytes):
            errors.append("%s %s: expected count %d bytes %d, census says count %d bytes %d" %
                          (key[0], key[1], count, nbytes, got[key][0], got[key][1]))
    for i, doc in enumerate(docs[1:], 1):
        if census_types(doc) != got:
            a, b = census_types(docs[0]), census_types(doc)
            diff = sorted(set(a.items()) ^ set(b.items()))[:10]
            errors.append("census %d differs from census 0 in types: %s" % (i, diff))
        if doc["totals"] != docs[0]["totals"] and \
           {k: v for k, v in doc["totals"].items() if k != "rss_bytes"} != \
           {k: v for k, v in docs[0]["totals"].items() if k != "rss_bytes"}:
            errors.append("census %d totals %s differ from census 0 totals %s" %
                          (i, doc["totals"], docs[0]["totals"]))
    for e in errors:
        print("MISMATCH:", e)
    print("compared %d expected types against %d census(es): %s" %
          (len(want), len(docs), "ok" if not errors else "%d mismatches" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
