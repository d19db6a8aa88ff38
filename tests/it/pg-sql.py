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
# SQLite orders an aggregate's single row by anything, and takes bare
# columns beside count(*) from any row: drop the ORDER BY, take min().
stmts = []
for st in sql.split(";"):
    if re.match(r"\s*SELECT\s+(count|group_concat|max|min|sum|total)\s*\(",
                st, re.I) and not re.search(r"\bGROUP\s+BY\b", st, re.I):
        st = re.sub(r"\s+ORDER\s+BY\s+[\w., ]+\s*$", "", st, flags=re.I)
        st = re.sub(r"^(\s*SELECT\s+count\(\*\)\s*,\s*)(\w+)(\s+FROM)",
                    r"\1min(\2)\3", st, flags=re.I)
    stmts.append(st)
sql = ";".join(stmts)
# A comparison as the one column: SQLite prints 1/0, PostgreSQL t/f.
sql = re.sub(r"^(\s*SELECT\s+)([^,;]*?(?:<=|>=|<>|!=|<|>|=)[^,;]*?)(\s+FROM\b)",
             r"\1(\2)::int\3", sql, flags=re.I)
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
