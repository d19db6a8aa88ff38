#!/usr/bin/env python3
"""push-latency.py URL SECRET RATE SECONDS SINKLOG: send signed
BuildStartedEvent evidence (each a new BuildLifecycle claim) at RATE per
second for SECONDS, over 8 keep-alive connections, note when each 2xx
arrived, then match the sink's log (tests/it/sink.py) by claim id and
print the percentiles of (sink received - 2xx) in milliseconds."""
import base64, hashlib, hmac, http.client, json, sys, threading, time, os
url, secret, rate, secs, log = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
key = base64.b64decode(secret[len("whsec_"):])
host, port = url.split("//")[1].split(":")
acked, lock, errors = {}, threading.Lock(), [0]
NT = 8
prefix = os.urandom(4).hex()

def worker(k):
    c = http.client.HTTPConnection(host, int(port))
    per = rate / NT
    t0 = time.time()
    n = 0
    while True:
        due = t0 + n / per
        now = time.time()
        if due - t0 >= secs:
            break
        if due > now:
            time.sleep(due - now)
        subj = "lat-%s-%d-%d" % (prefix, k, n)
        body = json.dumps({"type": "BuildStartedEvent", "subject": subj,
                           "properties": {"buildId": subj}})
        mid = "msg_" + subj
        ts = str(int(time.time()))
        sig = base64.b64encode(hmac.new(key, ("%s.%s.%s" % (mid, ts, body)).encode(), hashlib.sha256).digest()).decode()
        c.request("POST", "/v1/evidence", body, {"Content-Type": "application/json", "webhook-id": mid,
                  "webhook-timestamp": ts, "webhook-signature": "v1," + sig})
        r = c.getresponse()
        r.read()
        t = time.time()
        with lock:
            if r.status == 202:
                acked[subj] = t
            else:
                errors[0] += 1
        n += 1

ths = [threading.Thread(target=worker, args=(k,)) for k in range(NT)]
start = time.time()
for t in ths: t.start()
for t in ths: t.join()
sent_secs = time.time() - start
time.sleep(2)
got = {}
for line in open(log):
    r = json.loads(line)
    try:
        got.setdefault(json.loads(r["body"])["data"]["id"], r["t"])
    except Exception:
        pass
lat = sorted((got[s] - t) * 1000 for s, t in acked.items() if s in got)
missing = sum(1 for s in acked if s not in got)
def pct(p): return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")
print("sent %d in %.1fs (%.0f/s), errors %d, pushes matched %d, missing %d" % (
    len(acked), sent_secs, len(acked) / sent_secs, errors[0], len(lat), missing))
print("latency_ms p50 %.2f p95 %.2f p99 %.2f max %.2f" % (pct(50), pct(95), pct(99), lat[-1] if lat else float("nan")))
