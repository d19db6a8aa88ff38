#!/usr/bin/env python3
"""action-run.py: run a composite action.yml's steps the way the GitHub
runner does, for tests/it/action-github.sh.

    action-run.py ACTION_DIR CACHE_ROOT [INPUT=VALUE ...]

- Each `run:` step is a file run with `bash --noprofile --norc -eo pipefail`
  (the runner's `shell: bash`), in the working directory, with the job's
  environment, the step's `env:` (its ${{ }} expressions evaluated), and
  fresh GITHUB_OUTPUT and GITHUB_PATH files; their lines become the step's
  outputs and are put in front of PATH for the later steps.
- `if:` is evaluated (steps.*.outputs.*, inputs.*, runner.*, ==, !=, &&,
  ||, !, (), string literals, success(), always()); no `if:` means
  success().  A failing step fails the action with its status, and later
  steps without always() are skipped.
- `uses: actions/cache/restore@v4` copies CACHE_ROOT/<key>/ to `path`
  (cache-hit true) if it exists; `actions/cache/save@v4` copies `path` to
  CACHE_ROOT/<key>/.  Each cache call is logged to CACHE_ROOT/log.
Exits with the failing step's status, else 0; prints the action's outputs
as `output NAME=VALUE` on stderr.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml


def evaluate(expr, ctx):
    """An Actions expression, as Python: the few operators action.yml uses."""
    toks = re.findall(r"'(?:[^']|'')*'|==|!=|&&|\|\||!|\(|\)|[A-Za-z_][\w.-]*(?:\(\))?", expr)
    if "".join(toks).replace(" ", "") != expr.replace(" ", ""):
        raise ValueError("unsupported expression: " + expr)
    out = []
    for t in toks:
        if t.startswith("'"):
            out.append(repr(t[1:-1].replace("''", "'")))
        elif t == "&&":
            out.append(" and ")
        elif t == "||":
            out.append(" or ")
        elif t == "!":
            out.append(" not ")
        elif t in ("==", "!=", "(", ")"):
            out.append(t)
        elif t in ("success()", "always()", "failure()"):
            out.append(repr({"success()": not ctx["failed"], "always()": True,
                             "failure()": ctx["failed"]}[t]))
        elif t in ("true", "false"):
            out.append(repr(t == "true"))
        else:
            out.append(repr(lookup(t, ctx)))
    return eval("".join(out), {"__builtins__": {}})


def lookup(path, ctx):
    parts = path.split(".")
    v = ctx
    for p in parts:
        v = v.get(p, "") if isinstance(v, dict) else ""
    return v


def substitute(s, ctx):
    def one(m):
        v = evaluate(m.group(1).strip(), ctx)
        if v is True or v is False:
            return "true" if v else "false"
        return str(v)
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(s))


def truthy(v):
    return v not in ("", False, None, 0, "false")


def main():
    action_dir, cache_root = sys.argv[1], sys.argv[2]
    action = yaml.safe_load(open(os.path.join(action_dir, "action.yml")))
    inputs = {}
    for name, spec in action.get("inputs", {}).items():
        inputs[name] = str(spec.get("default", ""))
    for a in sys.argv[3:]:
        k, _, v = a.partition("=")
        inputs[k] = v
    env = dict(os.environ)
    env["GITHUB_ACTION_PATH"] = action_dir
    env.setdefault("RUNNER_TEMP", tempfile.mkdtemp())
    ctx = {"inputs": inputs, "steps": {}, "failed": False,
           "runner": {"os": env.get("RUNNER_OS", "Linux"),
                      "arch": env.get("RUNNER_ARCH", "X64")},
           "github": {}, "env": env}
    status = 0
    log = open(os.path.join(cache_root, "log"), "a")
    for i, step in enumerate(action["runs"]["steps"]):
        cond = step.get("if", "success()")
        cond = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", str(cond).strip())
        if "success()" not in cond and "always()" not in cond and "failure()" not in cond:
            cond = "success() && (" + cond + ")"
        if not truthy(evaluate(cond, ctx)):
            continue
        sid = step.get("id", "__step%d" % i)
        outputs = {}
        if "uses" in step:
            w = {k: substitute(v, ctx) for k, v in step.get("with", {}).items()}
            key, path = w["key"], w["path"]
            slot = os.path.join(cache_root, key)
            if step["uses"].startswith("actions/cache/restore@"):
                hit = os.path.isdir(slot)
                if hit:
                    shutil.rmtree(path, ignore_errors=True)
                    shutil.copytree(slot, path, symlinks=True)
                outputs["cache-hit"] = "true" if hit else "false"
                log.write("restore %s %s\n" % (key, "hit" if hit else "miss"))
            elif step["uses"].startswith("actions/cache/save@"):
                shutil.rmtree(slot, ignore_errors=True)
                shutil.copytree(path, slot, symlinks=True)
                log.write("save %s\n" % key)
            else:
                raise SystemExit("unsupported uses: " + step["uses"])
            log.flush()
        else:
            senv = dict(env)
            for k, v in step.get("env", {}).items():
                senv[k] = substitute(v, ctx)
            fd, script = tempfile.mkstemp(suffix=".sh", dir=env["RUNNER_TEMP"])
            os.write(fd, substitute(step["run"], ctx).encode())
            os.close(fd)
            ofile = script + ".out"
            pfile = script + ".path"
            open(ofile, "w").close()
            open(pfile, "w").close()
            senv["GITHUB_OUTPUT"] = ofile
            senv["GITHUB_PATH"] = pfile
            rc = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                                 env=senv)
            for line in open(ofile):
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    outputs[k] = v
            for line in open(pfile):
                if line.strip():
                    env["PATH"] = line.strip() + os.pathsep + env["PATH"]
            if rc != 0:
                ctx["failed"] = True
                status = status or rc
                print("action-run: step %r failed with status %d" %
                      (step.get("name", sid), rc), file=sys.stderr)
        ctx["steps"][sid] = {"outputs": outputs}
    for name, spec in action.get("outputs", {}).items():
        print("output %s=%s" % (name, substitute(spec["value"], ctx)), file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
