#!/usr/bin/env python3
"""sink.py: a loopback HTTP sink for the outbox tests, recording what it
receives.

usage: sink.py DIR
  DIR/port      written once listening (an ephemeral port on 127.0.0.1)
  DIR/log       one JSON line per request: t (seconds, float), method,
                path, headers (lower-cased names), body (text)
  DIR/plan      optional; each request consumes its first line:
                "200", "503", "503 2" (status, Retry-After), "410",
                "hang" (never answer), "hold" (answer 200 once DIR/release
                exists, at most 60 s later); when empty or absent: 200
  DIR/objects   with SINK_MERGE=1: a merge-patch store; GET returns the
                object with an ETag, PATCH applies RFC 7396 when If-Match
                matches (412 otherwise)
"""
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

D = sys.argv[1]
LOCK = threading.Lock()
OBJECTS = {}


def take_plan():
    p = os.path.join(D, "plan")
    with LOCK:
        try:
            lines = open(p).read().splitlines()
        except FileNotFoundError:
            return "200"
        if not lines:
            return "200"
        with open(p, "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        return lines[0].strip() or "200"


def merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    target = dict(target)
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge(target.get(k), v)
    return target


def etag(obj):
    return '"%s"' % hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        rec = {"t": time.time(), "method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body}
        with LOCK:
            with open(os.path.join(D, "log"), "a") as f:
                f.write(json.dumps(rec) + "\n")
        plan = take_plan().split()
        if plan[0] == "hang":
            time.sleep(3600)
            return
        if plan[0] == "hold":
            for _ in range(1200):
                if os.path.exists(os.path.join(D, "release")):
                    break
                time.sleep(0.05)
            plan = ["200"]
        code = int(plan[0])
        out, hdrs = b"", {}
        if os.environ.get("SINK_MERGE") and code == 200:
            with LOCK:
                cur = OBJECTS.get(self.path)
                if self.command == "GET":
                    if cur is None:
                        code = 404
                    else:
                        out = json.dumps(cur).encode()
                        hdrs["ETag"] = etag(cur)
                elif self.command == "PATCH":
                    im = self.headers.get("If-Match")
                    if im is not None and (cur is None or im != etag(cur)):
                        code = 412
                    else:
                        cur = merge(cur, json.loads(body))
                        OBJECTS[self.path] = cur
                        hdrs["ETag"] = etag(cur)
                        json.dump(OBJECTS, open(os.path.join(D, "objects"), "w"))
        if len(plan) > 1:
            hdrs["Retry-After"] = plan[1]
        self.send_response(code)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PATCH = do_PUT = handle_one


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(os.path.join(D, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(D, "port.tmp"), os.path.join(D, "port"))
srv.serve_forever()
