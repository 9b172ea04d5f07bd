#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-docs.py BUILD_DIR - after `cmake --build BUILD_DIR --target docs`:
every public name of mproc.h and mproc/version.h has a description in the
Doxygen reference (its XML output): each function, macro, typedef, enum,
enum value, struct and struct field. Doxygen's own WARN_IF_UNDOCUMENTED
misses enum values, hence this. Also every mproc_* identifier named in
README.md, CHANGELOG.md and docs/*.md exists in the public headers (or is
one of the few non-API names allowed below). Exits 1 listing what fails."""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

if len(sys.argv) != 2:
    sys.exit("usage: check-docs.py BUILD_DIR")
build = sys.argv[1]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
xmldir = os.path.join(build, "docs", "xml")
if not os.path.isdir(xmldir):
    sys.exit(f"check-docs: {xmldir} missing (build the docs target first)")


def described(el):
    text = ""
    for tag in ("briefdescription", "detaileddescription"):
        d = el.find(tag)
        if d is not None:
            text += "".join(d.itertext())
    return text.strip() != ""


bad, seen = [], 0
headers = ("mproc.h", "version.h")
for path in glob.glob(os.path.join(xmldir, "*.xml")):
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        bad.append(f"{os.path.basename(path)}: {e}")
        continue
    for cd in tree.getroot().iter("compounddef"):
        kind = cd.get("kind")
        loc = cd.find("location")
        where = os.path.basename(loc.get("file")) if loc is not None else ""
        name = cd.findtext("compoundname")
        if kind == "file" and name not in headers:
            continue
        if kind in ("struct", "union"):
            if where not in headers:
                continue
            seen += 1
            if not described(cd) and not name.startswith("mproc_mval::"):
                bad.append(f"{kind} {name}")
        elif kind != "file":
            continue
        for md in cd.iter("memberdef"):
            mname = md.findtext("name")
            mloc = md.find("location")
            if mloc is not None and os.path.basename(mloc.get("file")) not in headers:
                continue
            seen += 1
            if not described(md):
                bad.append(f"{md.get('kind')} {name}::{mname}" if kind != "file" else f"{md.get('kind')} {mname}")
            for ev in md.iter("enumvalue"):
                seen += 1
                if not described(ev):
                    bad.append(f"enum value {ev.findtext('name')} (of {mname})")

# Every error code must be among the documented enum values.
codes = re.findall(r"^ +XX\((E[A-Z]+),", open(os.path.join(root, "include", "mproc.h")).read(), re.M)
enumvalues = set()
for path in glob.glob(os.path.join(xmldir, "*.xml")):
    for ev in ET.parse(path).getroot().iter("enumvalue"):
        if described(ev):
            enumvalues.add(ev.findtext("name"))
for c in codes:
    if "MPROC_" + c not in enumvalues:
        bad.append(f"error code MPROC_{c} is not documented in the reference")

# mproc_* names used in the prose exist.
public = ""
for h in (os.path.join(root, "include", "mproc.h"), os.path.join(build, "include", "mproc", "version.h"),
          os.path.join(root, "core", "base", "testhooks.h")):
    public += open(h).read()
allowed = {"mproc_config", "mproc_docs", "mproc_pool_opts_v1"}  # a header file, a target, an example name
docs = [os.path.join(root, "README.md"), os.path.join(root, "CHANGELOG.md")] + glob.glob(os.path.join(root, "docs", "*.md"))
for d in docs:
    for ident in sorted(set(re.findall(r"\bmproc_[a-z0-9_]*[a-z0-9]\b", open(d).read()))):
        if ident.startswith("mproc__") or ident in allowed or re.search(r"\b%s\b" % ident, public):
            continue
        bad.append(f"{os.path.relpath(d, root)} names {ident}, which no public header declares")

if bad:
    print(f"check-docs: {len(bad)} problems:")
    for b in bad:
        print("  " + b)
    sys.exit(1)
print(f"check-docs: ok: {seen} public names, each with a description; {len(codes)} error codes documented; "
      f"every mproc_* name in the docs exists")
