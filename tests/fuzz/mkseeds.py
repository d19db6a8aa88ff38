#!/usr/bin/env python3
"""tests/fuzz/mkseeds.py OUTDIR [TARGET...]: the seed corpora of the fuzz
targets, written to OUTDIR/<target>/, and a dictionary for each, OUTDIR/
<target>.dict.

The seeds of fuzz-<source> are tests/fixtures/<source>/ in the input format
of README.md here (headers, an empty line, the body), with the headers that
the integration tests send and credentials that pass (the FUZZ_* of
fuzz.h, read from it): HMAC signatures over the body, tokens, Basic and
Bearer, and for the sources that take one a Standard Webhooks signature at
FUZZ_NOW.  fuzz-evidence's are evidence bodies written here, one of every
built-in type and of each kind of property, single and batched;
fuzz-config's are examples/*.yaml and configurations written here.  Each
target's also has tests/fuzz/regress/<target>/*, the inputs that once made
it fail, so that every run tries them again.  The
dictionaries hold the fixtures' JSON keys and the string literals that the
code under test compares against.

The output is the same on every run: nothing random, no clock.
"""
import base64
import glob
import hashlib
import hmac
import json
import os
import re
import sys
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FX = os.path.join(TOP, "tests", "fixtures")


def defines():
    """The #define FUZZ_* of fuzz.h."""
    d = {}
    with open(os.path.join(HERE, "fuzz.h"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r'#define\s+(FUZZ_\w+)\s+("(?:[^"\\]|\\.)*"|\d+)',
                         line)
            if m:
                v = m.group(2)
                d[m.group(1)] = json.loads(v) if v.startswith('"') else int(v)
    return d


D = defines()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def hook(headers, body):
    """One input: the headers, an empty line, the body."""
    return b"".join(f"{k}: {v}\n".encode() for k, v in headers) + b"\n" + body


def hmac_hex(body):
    return hmac.new(D["FUZZ_SECRET"].encode(), body, hashlib.sha256).hexdigest()


def stdwh(body, wid="msg_seed"):
    """Standard Webhooks headers that verify at FUZZ_NOW."""
    key = base64.b64decode(D["FUZZ_WHSEC"][len("whsec_"):])
    ts = str(D["FUZZ_NOW"])
    mac = hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256)
    return [("webhook-id", wid), ("webhook-timestamp", ts),
            ("webhook-signature", "v1," + base64.b64encode(mac.digest()).decode())]


def bearer():
    return ("Authorization", "Bearer " + D["FUZZ_BEARER"])


def basic():
    up = f"{D['FUZZ_USER']}:{D['FUZZ_PASSWORD']}".encode()
    return ("Authorization", "Basic " + base64.b64encode(up).decode())


def headers_file(path, subst=None):
    hs = []
    for line in read(path).decode().splitlines():
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        v = v.strip()
        for a, b in (subst or {}).items():
            v = v.replace(a, b)
        hs.append((k.strip(), v))
    return hs


def name(path):
    return os.path.splitext(os.path.basename(path))[0]


def did(s):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "milepost-fuzz/" + s))


def seeds_github():
    for p in sorted(glob.glob(os.path.join(FX, "github", "*.json"))):
        body = read(p)
        event = name(p).split("-")[0]
        yield name(p), hook([
            ("X-GitHub-Event", event), ("X-GitHub-Delivery", did(p)),
            ("X-Hub-Signature-256", "sha256=" + hmac_hex(body)),
            ("Content-Type", "application/json"),
            ("User-Agent", "GitHub-Hookshot/fuzz")], body)


def seeds_gitlab():
    for p in sorted(glob.glob(os.path.join(FX, "gitlab", "*.json"))):
        body = read(p)
        hs = headers_file(p[:-5] + ".headers", {"@TOKEN@": D["FUZZ_TOKEN"]})
        yield name(p), hook(hs, body)
        if name(p) in ("push", "pipeline-success"):
            signed = [h for h in hs if h[0] != "X-Gitlab-Token"]
            yield name(p) + "-signed", hook(signed + stdwh(body), body)


def seeds_jenkins():
    hs = headers_file(os.path.join(FX, "jenkins", "headers"))
    for p in sorted(glob.glob(os.path.join(FX, "jenkins", "*.json"))):
        body = read(p)
        yield name(p), hook(hs + [basic()], body)
        if name(p) == "started":
            yield name(p) + "-bearer", hook(hs + [bearer()], body)


def seeds_pagerduty():
    for p in sorted(glob.glob(os.path.join(FX, "pagerduty", "*.json"))):
        body = read(p)
        hs = headers_file(p[:-5] + ".headers")
        yield name(p), hook(hs + [("X-PagerDuty-Signature", "v1=" +
                                   hmac_hex(body))], body)


def seeds_alertmanager():
    for p in sorted(glob.glob(os.path.join(FX, "alertmanager", "*.json"))):
        body = read(p)
        hs = [("Content-Type", "application/json"),
              ("User-Agent", "Alertmanager/0.28.1")]
        yield name(p), hook(hs + [bearer()], body)
        if name(p) == "firing":
            yield name(p) + "-basic", hook(hs + [basic()], body)


def seeds_argocd():
    for p in sorted(glob.glob(os.path.join(FX, "argocd", "on-*.json"))):
        body = read(p)
        hs = [("Content-Type", "application/json"),
              ("User-Agent", "Go-http-client/1.1")]
        yield name(p), hook(hs + [bearer()], body)
        if name(p) == "on-deployed":
            yield name(p) + "-basic", hook(hs + [basic()], body)
            yield name(p) + "-signed", hook(hs + stdwh(body), body)


def ce_headers(doc):
    """The ce-* headers of a binary-mode delivery, as hooks-cdevents.sh."""
    ctx = doc["context"]
    enc = lambda v: urllib.parse.quote(v, safe="/:@?&=+$,;!~*'()#[]")
    return [(f"ce-{k}", enc(v)) for k, v in (
        ("specversion", "1.0"), ("id", ctx["id"]), ("source", ctx["source"]),
        ("type", ctx["type"]), ("time", ctx["timestamp"]),
        ("subject", doc["subject"]["id"]))]


def seeds_cdevents():
    for p in sorted(glob.glob(os.path.join(FX, "cdevents", "*.json"))):
        body = read(p)
        doc = json.loads(body)
        hs = ce_headers(doc) + [("Content-Type", "application/json")]
        yield name(p), hook(hs + [bearer()], body)
        if name(p).startswith("pipelinerun.finished"):
            yield name(p) + "-plain", hook([("Content-Type",
                                             "application/json"), bearer()],
                                           body)
            yield name(p) + "-signed", hook(hs + stdwh(body), body)
    for p in sorted(glob.glob(os.path.join(FX, "cdevents", "structured",
                                           "*.json"))):
        yield "structured-" + name(p), hook([
            ("Content-Type", "application/cloudevents+json; charset=UTF-8"),
            bearer()], read(p))


def js(o):
    return json.dumps(o, ensure_ascii=False).encode()


EVIDENCE = [
    {"type": "BuildStartedEvent", "subject": "b-17",
     "properties": {"buildId": "b-17", "service": "shop"}},
    {"type": "BuildCompleted", "subject": "b-17",
     "time": "2025-07-03T10:08:20Z",
     "properties": {"buildStatus": "success", "duration": "420s",
                    "exitCode": 0},
     "links": {"commit": "9fceb02\u2026", "branch": "main",
               "repo": "acme/shop"}},
    {"id": "b-18.done", "type": "BuildCompleted",
     "properties": {"buildStatus": "failure", "duration": "PT8M20S",
                    "exitCode": "2"}},
    {"type": "CommitPushed", "subject": "9fceb02",
     "properties": {"sha": "9fceb02", "ref": "refs/heads/main",
                    "message": "Fix\n\nMilestone: M-42\nABC-123",
                    "author": "Ada", "authorTime": "2025-07-03T12:08:20+02:00",
                    "milestones": ["M-42"], "issueKeys": "ABC-123",
                    "forced": "false", "tool": "git"},
     "links": {"commit": "9fceb02", "milestone": "M-42"}},
    {"type": "PipelineStarted", "subject": "p-1",
     "properties": {"pipelineId": "p-1", "kind": "pipeline", "name": "ci"}},
    {"type": "PipelineCompleted", "subject": "p-1",
     "properties": {"pipelineId": "p-1", "status": "success",
                    "duration": 61.5, "kind": "job"}},
    {"type": "DeploymentSucceeded", "subject": "d-1",
     "properties": {"deploymentId": "d-1", "environment": "prod",
                    "duration": "1h2m3.5s"}},
    {"type": "DeploymentHealth", "subject": "d-1",
     "properties": {"deploymentId": "d-1", "health": "Degraded"}},
    {"type": "IncidentOpened", "subject": "i-1",
     "properties": {"incidentId": "i-1", "title": "down", "urgency": "high"}},
    {"type": "AlertFiring", "subject": "a@2025",
     "properties": {"alertname": "Down", "startsAt": "2025-07-03T10:08:20.5Z"}},
    {"type": "ReleasePublished", "subject": "v1.2.3",
     "properties": {"tag": "v1.2.3", "prerelease": True}},
    {"type": "FuzzAll", "subject": "all",
     "properties": {"text": "t", "choice": "low", "flag": True, "count": 7,
                    "ratio": 0.25, "pct": "12.5%", "wait": "8m20s",
                    "at": "2025-07-03T10:08:20Z", "tags": ["a", "b"],
                    "counts": [1, "2"], "ratios": [1.5, "2e3"],
                    "pcts": [100, "0%"], "waits": ["1d", 3, "250ms", "P1W"],
                    "ats": ["2025-02-28T23:59:60Z"]}},
    {"type": "FuzzAll", "properties": {"choice": "1", "count": -9e18,
                                        "ratio": "-1e-3", "wait": "PT1.5H"}},
    {"type": "FuzzRequired", "properties": {"need": "x", "flags": [True]}},
]


def seeds_evidence():
    for i, e in enumerate(EVIDENCE):
        yield f"single-{i:02d}", js(e)
    yield "batch", js({"evidence": EVIDENCE[:6]})
    yield "batch-one", js({"evidence": [EVIDENCE[-1]]})
    yield "batch-bad", js({"evidence": [EVIDENCE[0], {"type": "Nope"}]})


def fuzz_config():
    """The configuration fuzz_init builds, as YAML text."""
    return f"""listen: "127.0.0.1:8780"
ledger: "sqlite:fuzz.db"
agent_secret: ["{D['FUZZ_WHSEC']}", "whsec_c2Vjb25k"]
tokens:
  - {{ token: "fuzz-reader-token-0123456789", role: reader }}
  - {{ token: "fuzz-client-token-0123456789", role: client, tenant: acme }}
limits: {{ max_body: 2MiB, max_headers: 64k, timeout: 1m, queue_max: 100, batch_max: 10 }}
evidence_types:
  FuzzAll:
    description: every kind
    properties:
      text: {{ type: text }}
      choice: {{ type: enum, options: [low, high, 1, true] }}
      wait: {{ type: timespan, required: true }}
      ats: {{ type: timestamp, list: true }}
sources:
  github: {{ secret: ["{D['FUZZ_SECRET']}", "another-secret"] }}
  gitlab: {{ token: "{D['FUZZ_TOKEN']}", signing_secret: "{D['FUZZ_WHSEC']}" }}
  jenkins: {{ basic: [{{ username: {D['FUZZ_USER']}, password: "{D['FUZZ_PASSWORD']}" }}], bearer: "{D['FUZZ_BEARER']}" }}
  argocd: {{ bearer: "{D['FUZZ_BEARER']}", signing_secret: ["{D['FUZZ_WHSEC']}"] }}
""".encode()


CONFIGS = [
    b"",
    b"{}\n",
    b'{"listen": "0.0.0.0:1", "limits": {"max_body": 1048576}}\n',
    b"base: &b { type: text }\nevidence_types:\n  T:\n    properties:\n"
    b"      a: *b\n      c: *b\n",
    b"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
    b"claim_types:\n  C:\n    properties:\n      done: { type: boolean, required: true }\n"
    b"      n: { type: integer }\n"
    b"    created_by: { evidence: BuildStartedEvent, set: { done: false } }\n"
    b"    revised_by:\n      - { evidence: BuildCompleted, set: { done: true, n: $exitCode } }\n",
    b"tokens:\n  - { token: \"client-token-0123456789\", role: client, tenant: acme, "
    b"name: portal, rate: 600/min, burst: 5 }\n"
    b"rate: { per_token: 10/s, burst: 20 }\n"
    b"redaction:\n  client: { remove: [properties.ticket, \"**.notes\", \"links.*author*\"] }\n"
    b"  reader: { builtin: false, remove: [basis] }\n",
]


def seeds_config():
    for p in sorted(glob.glob(os.path.join(TOP, "examples", "*.yaml"))):
        yield name(p), read(p)
    yield "fuzz", fuzz_config()
    for i, c in enumerate(CONFIGS):
        yield f"snippet-{i:02d}", c


# The dictionaries.

def json_words(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            out.add(json.dumps(k, ensure_ascii=False))
            json_words(v, out)
    elif isinstance(o, list):
        for v in o:
            json_words(v, out)
    elif isinstance(o, str) and 0 < len(o) <= 24:
        out.add(json.dumps(o, ensure_ascii=False))


def c_literals(paths, out):
    """Short string literals that the C code compares with or looks up."""
    for p in paths:
        text = read(p).decode("utf-8", "replace")
        for m in re.finditer(r'"((?:[^"\\\n]|\\.){1,40})"', text):
            s = m.group(1)
            if "%" in s or "\\" in s or s.startswith(" "):
                continue
            out.add(s)
            for part in s.split("."):
                if part:
                    out.add(json.dumps(part))


def dict_text(words):
    lines = []
    for w in sorted(words):
        b = w.encode("utf-8")
        esc = "".join(chr(c) if 0x20 <= c < 0x7f and c not in (0x22, 0x5c)
                      else "\\" + chr(c) if c in (0x22, 0x5c)
                      else f"\\x{c:02x}" for c in b)
        lines.append(f'"{esc}"')
    return "\n".join(lines) + "\n"


# JSON that breaks assumptions, for every dictionary.
GENERIC = {"\\u0000", "\\ud800", "\\\"", "1e999", "-0", "1e-400",
           "9223372036854775808", "18446744073709551616", "null", "true",
           "false", "[]", "{}", "\"\"", ":", ","}


def words_for(target):
    words = set(GENERIC)
    if target in ("derive", "mergepatch", "retry", "query"):
        return words
    if target in ("spool", "prop", "envfile", "postreceive"):
        c_literals([os.path.join(TOP, "agent", f) for f in (
            "spool.c", "cmd-emit.c", "cmd-flush.c", "cmd-git.c")], words)
        return words
    if target == "urltemplate":
        words |= {"{type}", "{id}", "{link:", "{prop:", "}", "://", "/",
                  "?", "#", "&", "=", "%", "..", "."}
        return words
    if target in ("evidence", "config"):
        c_literals([os.path.join(TOP, "common", f) for f in (
            "record/evidence.c", "record/types.c", "derive/claims.c",
            "derive/computed.c", "config/config.c", "util/timespan.c",
            "access/redact.c", "util/rate.c")], words)
        if target == "evidence":
            for e in EVIDENCE:
                json_words(e, words)
        return words
    c_literals([os.path.join(TOP, "plugins", target, target + ".c"),
                os.path.join(TOP, "plugins", "source.c")], words)
    for p in glob.glob(os.path.join(FX, target, "**", "*.json"),
                       recursive=True):
        try:
            json_words(json.loads(read(p)), words)
        except ValueError:
            pass
    return words



def seeds_derive():
    """Programs for fuzz_derive.c: byte pairs (op, operand); an op byte with
    its high bit set ends the transaction.  op % 14 picks the evidence (0
    DeploymentStarted, 1 Succeeded, 2 Failed, 3 Health, 4 TestRun, 5
    Override, 6 IncidentOpened, 7 IncidentResolved, 8-9 CommitPushed, 10
    BuildStartedEvent, 11 BuildCompleted, 12 DeploymentStalled, 13
    MilestoneClock); the operand's bits pick the service, environment,
    revision and tenant (see fdr_evidence)."""
    def op(code, flags=0, end=False):
        lo, hi = (128, 256) if end else (0, 128)
        for a in range(lo, hi):
            if a % 14 == code and (a & 0x70) == (flags & 0x70):
                return a
        for a in range(lo, hi):
            if a % 14 == code:
                return a
        raise ValueError(code)
    shop_prod = 0x00            # service shop, production, revision 0
    shop_stg = 0x04             # shop, staging
    cart_prod = 0x01
    stories = {
        "deploy-verify": [(op(8, 0x20), shop_prod), (op(0), shop_prod),
                          (op(1), shop_prod), (op(4), shop_prod),
                          (op(3, 0x00, True), shop_prod)],
        "incident-rollback": [(op(0), shop_prod), (op(1, 0, True), shop_prod),
                              (op(6, 0x10), shop_prod), (op(0), 0x08),
                              (op(1), 0x08), (op(7, 0, True), shop_prod)],
        "dependency-blocked": [(op(0), cart_prod), (op(1), cart_prod),
                               (op(4, 0, True), cart_prod), (op(0), shop_prod),
                               (op(1), shop_prod), (op(4, 0, True), shop_prod)],
        "override-stall": [(op(0), shop_stg), (op(12, 0, True), shop_stg),
                           (op(5, 0x30), shop_stg), (op(5, 0x40, True), shop_prod)],
        "builds": [(op(10), 0x01), (op(11, 0x30), 0x01), (op(10), 0x02),
                   (op(11, 0x10, True), 0x02), (op(13, 0x10, True), 0)],
    }
    for name, prog in stories.items():
        yield name, bytes(b for pair in prog for b in pair)


def seeds_mergepatch():
    """Pairs of JSON documents a NUL b, as fuzz_mergepatch.c reads them."""
    pairs = [
        ({"state": "deployed", "progress": 10}, {"state": "verified", "progress": 10}),
        ({"a": {"b": 1, "c": [1, 2]}}, {"a": {"c": [2]}, "d": "x"}),
        ({}, {"title": "Checkout v2", "due": "2025-08-31"}),
        ({"x": 1}, {}),
        ([1, 2], {"y": True}),
        ({"n": None}, {"n": 1}),
    ]
    for i, (a, b) in enumerate(pairs):
        yield f"pair-{i}", (json.dumps(a) + "\0" + json.dumps(b)).encode()


def seeds_retry():
    for i, v in enumerate(["120", "0", " 5", "99999", "-1", "soon",
                           "Wed, 21 Oct 2015 07:28:00 GMT",
                           "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "3600\r", ""]):
        yield f"value-{i}", v.encode()


def seeds_query():
    for i, q in enumerate(["limit=10", "limit=0&after=5", "after=abc",
                           "as_of=2025-08-01T00:00:00Z&limit=1000",
                           "from=2025-07-01T00:00:00.123456Z&to=2025-08-01",
                           "service=shop&environment=production&state=failed",
                           "limit=99999999999999999999", "%zz=1", "a&&b=&=c"]):
        yield f"query-{i}", q.encode()

def seeds_spool():
    """Bodies as the agent spools them: an id line first (it names the
    file), then the body; emit's evidence, git's batches, files a person
    or a crash could leave."""
    ev = {"id": "ev-7c1d", "type": "BuildCompleted", "subject": "b-17",
          "time": "2025-07-03T10:08:20Z",
          "properties": {"buildStatus": "success", "duration": "420s"},
          "links": {"commit": "9fceb02", "branch": "main"}}
    batch = {"evidence": [dict(ev, id="acme/shop@" + "a" * 40),
                          dict(ev, id="acme/shop@" + "b" * 40)]}
    for i, body in enumerate([
            js(ev), js(batch), js(dict(ev, id="ev with space")),
            js(dict(ev, id="")), js({"evidence": []}),
            js({"evidence": [{"type": "X"}]}), b"{\"id\": 5}",
            b"", b"{", b"[1, 2]", b"ev-1\n" + js(ev),
            js(dict(ev, id="../../etc/passwd")),
            js(dict(ev, id="x" * 300)), js(dict(ev, id="\u00e9t\u00e9"))]):
        yield f"body-{i:02d}", body


def seeds_prop():
    """milepost emit's property arguments."""
    for i, a in enumerate([
            "buildStatus=success", "duration=420s", "n:=3", "ok:=true",
            "tags:=[\"a\",\"b\"]", "x:=null", "o:={\"k\":{\"v\":[1,2.5]}}",
            "e=", "e:=", "=v", ":=3", "a=b=c", "a:b=c", "u:=\"\\u00e9\"",
            "f:=1.5e3", "bad:=[1,", "two:=1 2", "nan:=NaN", "big:=1e999",
            "neg:=-0", "deep:=[[[[[[[[[[1]]]]]]]]]]", "noeq"]):
        yield f"arg-{i:02d}", a.encode()


def seeds_envfile():
    """milepost.env files, as install-hook writes them and people edit."""
    base = ("MILEPOST_URL=http://127.0.0.1:8780\n"
            f"MILEPOST_SECRET={D['FUZZ_WHSEC']}\n")
    for i, t in enumerate([
            base, "# written by milepost git install-hook\n" + base,
            base.replace("\n", "\r\n"), "  MILEPOST_SPOOL = /var/spool\n",
            "MILEPOST_TIMEOUT=30\nMILEPOST_TOKEN=tok\n",
            "MILEPOST_URL=first\nMILEPOST_URL=second\n",
            "NOPE=1\nMILEPOST_URL\n\n\t# c\nMILEPOST_SPOOL=\n",
            "MILEPOST_URL=a=b # not a comment\t \n", "MILEPOST_TOKEN=x"]):
        yield f"env-{i:02d}", t.encode()


def seeds_postreceive():
    """git's post-receive input: "<old> <new> <ref>" lines."""
    z, a, b = "0" * 40, "a" * 40, "1234567890abcdef" * 2 + "12345678"
    for i, t in enumerate([
            f"{z} {a} refs/heads/main\n",
            f"{a} {b} refs/heads/main\n{z} {b} refs/tags/v1.0\n",
            f"{a} {z} refs/heads/gone\n", f"{a} {b} refs/heads/x\r\n",
            f"{a} {b} refs/heads/no-newline", f"{a} {b}\n",
            f"{a.upper()} {b} refs/heads/upper\n", f"{a} {b} a b\n",
            f"{a} {b} refs/notes/commits\n\n\n",
            f"{a} {b} refs/heads/" + "l" * 5000 + "\n" + f"{z} {a} refs/heads/ok\n",
            "not a line\n"]):
        yield f"input-{i:02d}", t.encode()


def seeds_urltemplate():
    """URL templates as sinks: configure them, NUL, type, id, link, prop."""
    vals = ["Deployment", "shop/production", "acme/shop", "deployed"]
    for i, t in enumerate([
            "https://h.example/claims/{type}/{id}",
            "https://h.example/r/{link:repo}/s?q={link:repo}&s={prop:state}",
            "https://{link:host}/x/{id}", "{prop:s}://h/x",
            "https://h:{prop:p}/x", "https://h/x#{id}", "https://h/{nope}",
            "https://h/{unclosed", "https://h/{link:}", "http://h",
            "https://h/{prop:service}/x", "https://h/{link:a#b}",
            "https://api.opslevel.com/integrations/deploy/{id}",
            "no-scheme/{id}"]):
        for j, vs in enumerate([vals, ["..", ".", "a/b c", "%2F?#&"]]):
            yield f"tmpl-{i:02d}-{j}", "\0".join([t] + vs).encode()


GENERATORS = {
    "github": seeds_github, "gitlab": seeds_gitlab, "jenkins": seeds_jenkins,
    "pagerduty": seeds_pagerduty, "alertmanager": seeds_alertmanager,
    "argocd": seeds_argocd, "cdevents": seeds_cdevents,
    "evidence": seeds_evidence, "config": seeds_config,
    "derive": seeds_derive, "mergepatch": seeds_mergepatch,
    "retry": seeds_retry, "query": seeds_query,
    "spool": seeds_spool, "prop": seeds_prop, "envfile": seeds_envfile,
    "postreceive": seeds_postreceive, "urltemplate": seeds_urltemplate,
}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: mkseeds.py OUTDIR [TARGET...]")
    outdir = sys.argv[1]
    targets = [t[5:] if t.startswith("fuzz-") else t for t in sys.argv[2:]]
    for t in targets or sorted(GENERATORS):
        d = os.path.join(outdir, "fuzz-" + t)
        os.makedirs(d, exist_ok=True)
        if t not in GENERATORS:
            # A source without seeds here still fuzzes, from nothing.
            print(f"mkseeds: no seeds for {t}", file=sys.stderr)
        for n, data in GENERATORS.get(t, lambda: [])():
            with open(os.path.join(d, n), "wb") as f:
                f.write(data)
        for p in sorted(glob.glob(os.path.join(HERE, "regress", "fuzz-" + t,
                                               "*"))):
            with open(os.path.join(d, "regress-" + os.path.basename(p)),
                      "wb") as f:
                f.write(read(p))
        if t in GENERATORS:
            with open(os.path.join(outdir, f"fuzz-{t}.dict"), "w",
                      encoding="ascii") as f:
                f.write(dict_text(words_for(t)))


if __name__ == "__main__":
    main()
