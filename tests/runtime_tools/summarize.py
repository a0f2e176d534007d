#!/usr/bin/env python3
"""Summarise runtime-tools validation TAP output.

    summarize.py RESULTS_DIR [RESULTS_DIR ...] --json OUT.json --markdown OUT.md

Each RESULTS_DIR holds NAME.tap (stdout), NAME.err (stderr) and NAME.rc
(exit code) per validation program; its basename names the runtime.
"""
import argparse
import json
import os
import re
import sys

_OK = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")


def _yaml_error(lines):
    """The "error" of a YAML diagnostic block (the suite prints JSON there)."""
    body = "\n".join(lines)
    try:
        value = json.loads(body)
    except ValueError:
        m = re.search(r'"error":\s*"((?:[^"\\]|\\.)*)"', body)
        return json.loads('"%s"' % m.group(1)) if m else None
    return value.get("error") if isinstance(value, dict) else None


def parse_tap(text):
    """Count top-level TAP results; nested runtimetest output sits in YAML blocks.

    In an output without any test line (the hook programs print their verdict
    only as YAML blocks, with a "1..0" plan) each block that carries an
    "error" is counted as one failure.
    """
    passed = failed = skipped = todo = 0
    failures = []
    in_yaml = False
    block = []
    errors = []
    for line in text.splitlines():
        if not in_yaml and line.startswith("  ---"):
            in_yaml, block = True, []
            continue
        if in_yaml:
            if line.startswith("  ..."):
                in_yaml = False
                error = _yaml_error(block)
                if error:
                    errors.append(error.splitlines()[0])
            else:
                block.append(line)
            continue
        m = _OK.match(line)
        if not m:
            continue
        ok, desc = m.group(1) == "ok", m.group(3)
        directive = desc.upper()
        if "# TODO" in directive:
            todo += 1
        elif "# SKIP" in directive:
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
            failures.append(desc)
    if not (passed or failed or skipped or todo):
        failed, failures = len(errors), errors
    return {"pass": passed, "fail": failed, "skip": skipped, "todo": todo,
            "failures": failures}


def summarise_dir(path):
    out = {}
    for name in sorted(os.listdir(path)):
        if not name.endswith(".tap"):
            continue
        prog = name[:-4]
        with open(os.path.join(path, name), errors="replace") as f:
            res = parse_tap(f.read())
        rc_path = os.path.join(path, prog + ".rc")
        res["rc"] = int(open(rc_path).read().strip() or 0) if os.path.exists(rc_path) else None
        err_path = os.path.join(path, prog + ".err")
        err = open(err_path, errors="replace").read() if os.path.exists(err_path) else ""
        res["stderr_tail"] = err[-600:]
        # A program that died before printing any result counts as one failure.
        if res["rc"] not in (0, None) and res["fail"] == 0:
            res["fail"] = 1
            res["failures"].append("program exited %s: %s" % (res["rc"], err.strip().splitlines()[-1:] or ""))
        out[prog] = res
    return out


def status(r):
    if r is None:
        return "-"
    if r["fail"]:
        return "FAIL %d/%d" % (r["fail"], r["pass"] + r["fail"])
    if r["pass"] == 0 and r["skip"]:
        return "skip"
    return "ok %d" % r["pass"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args(argv)
    results = {os.path.basename(os.path.normpath(d)): summarise_dir(d) for d in a.dirs}
    runtimes = list(results)
    progs = sorted({p for r in results.values() for p in r})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    lines = ["| program | " + " | ".join(runtimes) + " |",
             "| --- | " + " | ".join("---" for _ in runtimes) + " |"]
    for p in progs:
        lines.append("| %s | %s |" % (p, " | ".join(status(results[r].get(p)) for r in runtimes)))
    totals = []
    for r in runtimes:
        t = {k: sum(v[k] for v in results[r].values()) for k in ("pass", "fail", "skip", "todo")}
        clean = sum(1 for v in results[r].values() if not v["fail"])
        totals.append("%s: %d/%d programs clean; %d passed, %d failed, %d skipped, %d todo"
                      % (r, clean, len(results[r]), t["pass"], t["fail"], t["skip"], t["todo"]))
    md = "\n".join(lines) + "\n\n" + "\n".join("- " + t for t in totals) + "\n"
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    sys.stdout.write(md)
    # Plain closing line for the first runtime.
    first = results[runtimes[0]]
    print("validation: %d passed, %d failed, %d skipped" % (
        sum(v["pass"] for v in first.values()), sum(v["fail"] for v in first.values()),
        sum(v["skip"] for v in first.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
