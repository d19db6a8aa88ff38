#!/usr/bin/env python3
"""pg-sql.py: the few SQLite spellings the integration scripts' sqlite3
queries use, respelled for PostgreSQL (tests only; tests/it/lib.sh pipes
a script's `sqlite3 "$T/ledger.db" SQL` through this, then psql, when the
suite runs on PostgreSQL).  SQL on stdin, SQL on stdout.

  x'00ff'              -> '\\x00ff'::bytea   (a blob literal)
  WHERE 1              -> WHERE true
  SELECT count(*), x … ORDER BY y  -> SELECT count(*), min(x) …
  FROM (SELECT …)      -> FROM (SELECT …) AS _qN   (PostgreSQL 15 wants one)

The functions (group_concat, json_extract, json_type, hex) and the
sqlite_master view are defined in the script's database by lib.sh.
"""
import re
import sys

sql = sys.stdin.read()


def items(s):
    """Split a select list at its top-level commas."""
    out, depth, quote, cur = [], 0, None, ""
    for c in s:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += c
    return out + [cur]


def bare_min(st):
    """count(*), a, b FROM … -> count(*), min(a), min(b) FROM …"""
    m = re.match(r"(\s*SELECT\s+)(.*?)(\s+FROM\b.*)$", st, re.I | re.S)
    if m is None:
        return st
    cols = items(m.group(2))
    if not re.match(r"\s*count\(\*\)\s*$", cols[0], re.I):
        return st
    cols = [cols[0]] + ["min(%s)" % c.strip() for c in cols[1:]]
    return m.group(1) + ", ".join(cols) + m.group(3)


# SQLite orders an aggregate's single row by anything, and takes bare
# columns beside count(*) from any row: drop the ORDER BY, take min().
stmts = []
for st in sql.split(";"):
    if re.match(r"\s*SELECT\s+(count|group_concat|max|min|sum|total)\s*\(",
                st, re.I) and not re.search(r"\bGROUP\s+BY\b", st, re.I):
        st = re.sub(r"\s+ORDER\s+BY\s+[\w., ]+\s*$", "", st, flags=re.I)
        st = bare_min(st)
    stmts.append(st)
sql = ";".join(stmts)


def toplevel(s):
    """s with everything in quotes or parentheses blanked (same length)."""
    out, depth, quote = [], 0, None
    for c in s:
        if quote:
            out.append(" ")
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
            out.append(" ")
        elif c == "(":
            depth += 1
            out.append(" ")
        elif c == ")":
            depth -= 1
            out.append(" ")
        else:
            out.append(c if depth == 0 else " ")
    return "".join(out)


def bool_int(st):
    """A comparison as the one column: SQLite prints 1/0, PostgreSQL t/f."""
    m = re.match(r"\s*SELECT\s+", st, re.I)
    if m is None:
        return st
    top = toplevel(st)
    f = re.search(r"\bFROM\b", top[m.end():], re.I)
    end = m.end() + f.start() if f else len(st.rstrip())
    item, flat = st[m.end():end], top[m.end():end]
    if "," in flat or not re.search(r"<=|>=|<>|!=|<|>|=", flat):
        return st
    return st[:m.end()] + "(" + item.rstrip() + ")::int " + st[end:]


sql = ";".join(bool_int(st) for st in sql.split(";"))
sql = re.sub(r"\b[xX]'([0-9a-fA-F]*)'", r"'\\x\1'::bytea", sql)
sql = re.sub(r"\bWHERE\s+1\b(?!\s*[=<>!])", "WHERE true", sql)

KEYWORDS = {"where", "group", "order", "limit", "join", "union", "except",
            "intersect", "left", "inner", "cross", "on", "having", "window"}
PAT = re.compile(r"\bFROM\s*\(", re.I)
count = [0]


def alias(sql):
    out, i = [], 0
    while True:
        m = PAT.search(sql, i)
        if m is None:
            out.append(sql[i:])
            return "".join(out)
        out.append(sql[i:m.end()])
        depth, j, quote = 1, m.end(), None
        while j < len(sql) and depth:
            c = sql[j]
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            j += 1
        out.append(alias(sql[m.end():j - 1]) + ")")
        w = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", sql[j:])
        if w is None or w.group(1).lower() in KEYWORDS:
            count[0] += 1
            out.append(" AS _q%d" % count[0])
        i = j


sys.stdout.write(alias(sql))
