#!/usr/bin/env python3
"""Writes the "## Figures" section of examples/README.md from `dockopt verify --json`.

Run from the repository root with an engine up:
    eval "$(tests/engine/up)" && python3 examples/table.py
Each example is verified twice (Safe fixes only, then --unsafe-fixes); builds take minutes.
`--from DIR` reads the reports the verify_examples suite saved (NAME.safe.json,
NAME.unsafe.json) instead of building again.
"""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "examples" / "README.md"


def verify(example, unsafe):
    args = ["cargo", "run", "-q", "--release", "-p", "dockopt", "--", "verify", "--json", str(example)]
    if unsafe:
        args.append("--unsafe-fixes")
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"{example.name}: verify printed no JSON (exit {out.returncode}):\n{out.stderr[-2000:]}")


def mb(n):
    return f"{n / 1e6:.0f} MB" if n is not None else "?"


def secs(s):
    return f"{s:.1f} s" if isinstance(s, (int, float)) else "–"


def row(name, mode, r):
    if not r.get("changed", True):
        return f"| {name} | {mode} | no fix applies | | | | | 0 | |"
    o, f = r["original"], r["fixed"]
    change = (f["size_bytes"] - o["size_bytes"]) / o["size_bytes"] * 100 if o.get("size_bytes") else 0
    fixes = sorted({a["rule"] for a in r.get("applied_fixes", [])})
    unexpected = len(r.get("unexpected_differences", []))
    return (
        f"| {name} | {mode} | {mb(o['size_bytes'])} → {mb(f['size_bytes'])} ({change:+.0f}%) "
        f"| {o['layers']} → {f['layers']} "
        f"| {secs(o.get('rebuild_after_source_change_s'))} → {secs(f.get('rebuild_after_source_change_s'))} "
        f"| {secs(o.get('rebuild_after_manifest_change_s'))} → {secs(f.get('rebuild_after_manifest_change_s'))} "
        f"| {'yes' if o['smoke_ok'] and f['smoke_ok'] else 'NO'} | {unexpected} | {', '.join(fixes)} |"
    )


def main():
    examples = sorted(p.parent for p in (ROOT / "examples").glob("*/example.toml"))
    source = pathlib.Path(sys.argv[2]) if len(sys.argv) == 3 and sys.argv[1] == "--from" else None
    lines = [
        "## Figures",
        "",
        "Produced by `python3 examples/table.py` (`dockopt verify --json` on each example, on the",
        "local engine of tests/engine/up; base images are Debian stand-ins, so sizes differ from",
        "Docker Hub's). Before → after; rebuild times are after touching one source file or the",
        "dependency manifest.",
        "",
        "| example | fixes | size | layers | rebuild after source edit | rebuild after manifest edit | smoke | unexpected diffs | rules applied |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for example in examples:
        for mode, unsafe in (("safe", False), ("unsafe", True)):
            if source:
                report = json.loads((source / f"{example.name}.{mode}.json").read_text())
            else:
                report = verify(example, unsafe)
            lines.append(row(example.name, mode, report))
            print(lines[-1], flush=True)
    text = README.read_text()
    head = text.split("## Figures")[0].rstrip() + "\n\n"
    README.write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
