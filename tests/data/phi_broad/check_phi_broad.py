#!/usr/bin/env python3
"""check_phi_broad.py - validate the phi_broad draws (standard library only).

    python check_phi_broad.py [FILE ...]      (default: both draws next to this script)

Checks every record: JSON object per line, unique ids, text[start:end] == span text, spans never
start/end with whitespace, no two spans (phi and keep together) overlap, span lists in text order,
valid types/subtypes/kinds; and per file: size under 3 MB, every PHI type >= 60 spans, NAME >= 1500,
every layout >= 25 reports.  Exits 1 on any violation, printing each.
"""
import json
import os
import sys
from collections import Counter

PHI_TYPES = ["NAME", "DATE", "TIME", "AGE", "ID", "PHONE", "FAX", "EMAIL", "URL", "IP", "ADDRESS",
             "ZIP", "CITY", "STATE", "HOSPITAL", "DEVICE"]
NAME_SUB = {"PATIENT", "DOCTOR", "STAFF", "FAMILY", "USERNAME"}
ID_SUB = {"MRN", "SSN", "ACCOUNT", "ACCESSION", "HEALTHPLAN", "MEDICARE", "LICENSE", "VEHICLE", "JOB",
          "OTHER"}
KEEP_KINDS = {"EPONYM", "MEASUREMENT", "ANATOMY", "LEVEL", "TERM", "DRUG"}
MIN_TYPE, MIN_NAME, MIN_LAYOUT, MAX_BYTES = 60, 1500, 25, 3_000_000


def check_file(path):
    errs = []
    ids = set()
    tcount, lcount = Counter(), Counter()
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) >= MAX_BYTES:
        errs.append("%s: %d bytes (>= 3 MB)" % (path, len(raw)))
    if b"\r" in raw:
        errs.append("%s: contains CR characters" % path)
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for ln, line in enumerate(lines, 1):
        where = "%s:%d" % (os.path.basename(path), ln)
        try:
            r = json.loads(line)
        except ValueError as e:
            errs.append("%s: bad JSON (%s)" % (where, e))
            continue
        for k in ("id", "text", "phi", "keep", "layout", "origin"):
            if k not in r:
                errs.append("%s: missing key %s" % (where, k))
        if not isinstance(r.get("text"), str):
            continue
        rid, text = r.get("id"), r["text"]
        if rid in ids:
            errs.append("%s: duplicate id %s" % (where, rid))
        ids.add(rid)
        lcount[r.get("layout")] += 1
        spans = []
        for kind, lst in (("phi", r.get("phi", [])), ("keep", r.get("keep", []))):
            starts = [s.get("start", -1) for s in lst]
            if starts != sorted(starts):
                errs.append("%s %s: %s spans not in text order" % (where, rid, kind))
            for s in lst:
                st, en, tx = s.get("start"), s.get("end"), s.get("text")
                if not (isinstance(st, int) and isinstance(en, int) and 0 <= st < en <= len(text)):
                    errs.append("%s %s: bad offsets %r" % (where, rid, s))
                    continue
                if text[st:en] != tx:
                    errs.append("%s %s: text mismatch %r != %r" % (where, rid, text[st:en], tx))
                if tx != tx.strip():
                    errs.append("%s %s: span has edge whitespace %r" % (where, rid, tx))
                if kind == "phi":
                    t, sub = s.get("type"), s.get("subtype")
                    if t not in PHI_TYPES:
                        errs.append("%s %s: unknown type %r" % (where, rid, t))
                    if not isinstance(sub, str) or not sub:
                        errs.append("%s %s: missing subtype %r" % (where, rid, s))
                    if t == "NAME" and sub not in NAME_SUB:
                        errs.append("%s %s: bad NAME subtype %r" % (where, rid, sub))
                    if t == "ID" and sub not in ID_SUB:
                        errs.append("%s %s: bad ID subtype %r" % (where, rid, sub))
                    tcount[t] += 1
                elif s.get("kind") not in KEEP_KINDS:
                    errs.append("%s %s: unknown keep kind %r" % (where, rid, s.get("kind")))
                spans.append((st, en, kind, tx))
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            if b[0] < a[1]:
                errs.append("%s %s: overlapping spans %r / %r" % (where, rid, a, b))
    for t in PHI_TYPES:
        if tcount[t] < MIN_TYPE:
            errs.append("%s: type %s has %d spans (< %d)" % (path, t, tcount[t], MIN_TYPE))
    if tcount["NAME"] < MIN_NAME:
        errs.append("%s: NAME has %d spans (< %d)" % (path, tcount["NAME"], MIN_NAME))
    for lay, c in sorted(lcount.items(), key=lambda kv: str(kv[0])):
        if c < MIN_LAYOUT:
            errs.append("%s: layout %s has %d reports (< %d)" % (path, lay, c, MIN_LAYOUT))
    print("%s: %d records, %d PHI spans, %d layouts, %d bytes, %d problems"
          % (os.path.basename(path), len(lines), sum(tcount.values()), len(lcount), len(raw), len(errs)))
    return errs


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    files = argv or [os.path.join(here, f) for f in ("phi_broad_dev.jsonl", "phi_broad_holdout.jsonl")]
    errs = []
    for f in files:
        errs += check_file(f)
    for e in errs[:200]:
        print(e, file=sys.stderr)
    if len(errs) > 200:
        print("... %d more" % (len(errs) - 200), file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
