#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""webhook_receiver.py - a real HTTP receiver for leakmon's webhook tests.

Listens on 127.0.0.1 (a free port unless --port is given; the port is
written to --port-file), logs every POST as one JSON line to --log:

    {"n": 1, "path": "/hook", "delivery_id": "...", "event": "leak.firing",
     "signature": "sha256=...", "signature_ok": true, "body": {...},
     "status": 200, "time": 1700000000.123}

signature_ok is true only when --secret FILE is given and the
X-Leakmon-Signature header is HMAC-SHA256(secret, raw body) in hex, as a
receiver must check it; false otherwise (null when no secret is given).

Behaviour (--mode):
  ok      answer 200 (after --fail N answers of 500 first)
  hang    read the request, then never answer (a stuck receiver)
  stream  answer 200 and a body that never ends (a hostile receiver)
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--secret")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--mode", choices=["ok", "hang", "stream"], default="ok")
    args = ap.parse_args()

    secret = None
    if args.secret:
        with open(args.secret, "rb") as f:
            secret = f.read().rstrip(b"\r\n")
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            sig = self.headers.get("X-Leakmon-Signature")
            ok = None
            if secret is not None:
                want = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
                ok = sig is not None and hmac.compare_digest(sig, want)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            with lock:
                state["n"] += 1
                n = state["n"]
            status = 500 if n <= args.fail else 200
            rec = {"n": n, "path": self.path,
                   "delivery_id": self.headers.get("X-Leakmon-Delivery"),
                   "event": self.headers.get("X-Leakmon-Event"),
                   "signature": sig, "signature_ok": ok, "body": body,
                   "status": status if args.mode != "hang" else None,
                   "time": time.time()}
            with lock:
                with open(args.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if args.mode == "hang":
                time.sleep(3600)
                return
            if args.mode == "stream":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 8192
                try:
                    while True:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    return
            msg = b"ok\n" if status == 200 else b"try again\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", args.port), Handler)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
