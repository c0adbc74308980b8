#!/usr/bin/env python3
"""List the crate's public items, one path per line, from rustdoc's JSON output.

Usage: scripts/public-api.sh [--methods]   (builds the JSON with the nightly toolchain)
       scripts/public_api.py target/doc/s3transfer.json [--methods]

Walks from the crate root through public modules and `pub use` re-exports (globs
included), so an item reachable by two paths is listed twice: that is what the list
is for. With --methods, inherent methods and associated items are listed too.
"""
import json
import sys

def main():
    path = sys.argv[1]
    with_methods = "--methods" in sys.argv
    doc = json.load(open(path))
    index = doc["index"]
    root = doc["root"]
    out = set()

    def kind_of(item):
        inner = item.get("inner", {})
        return next(iter(inner)) if isinstance(inner, dict) and inner else "?"

    def walk(item_id, prefix, seen):
        item = index.get(str(item_id))
        if item is None or (item_id, prefix) in seen:
            return
        seen.add((item_id, prefix))
        kind = kind_of(item)
        if kind == "module":
            for child in item["inner"]["module"]["items"]:
                visit(child, prefix, seen)
        elif kind in ("struct", "enum", "trait", "union") and with_methods:
            inner = item["inner"][kind]
            for impl_id in inner.get("impls", []):
                impl = index.get(str(impl_id))
                if impl is None:
                    continue
                imp = impl["inner"].get("impl", {})
                if imp.get("trait") is not None or imp.get("is_synthetic") or imp.get("blanket_impl"):
                    continue
                for m in imp.get("items", []):
                    mi = index.get(str(m))
                    if mi and mi.get("visibility") == "public":
                        out.add(f"{prefix} :: {mi['name']} ({kind_of(mi)})")
            if kind == "trait":
                for m in inner.get("items", []):
                    mi = index.get(str(m))
                    if mi:
                        out.add(f"{prefix} :: {mi['name']} (trait item)")

    def visit(child_id, prefix, seen):
        item = index.get(str(child_id))
        if item is None:
            return
        kind = kind_of(item)
        if kind == "use":
            use = item["inner"]["use"]
            if item.get("visibility") != "public":
                return
            target = use.get("id")
            if target is None:
                return
            if use.get("is_glob"):
                target_item = index.get(str(target))
                if target_item and kind_of(target_item) == "module":
                    for c in target_item["inner"]["module"]["items"]:
                        visit(c, prefix, seen)
                return
            target_item = index.get(str(target))
            if target_item is None:
                out.add(f"{prefix}::{use['name']} (external)")
                return
            name = use["name"]
            p = f"{prefix}::{name}"
            out.add(f"{p} ({kind_of(target_item)})")
            walk(target, p, seen)
            return
        if item.get("visibility") != "public" or item.get("name") is None:
            return
        if kind == "impl":
            return
        p = f"{prefix}::{item['name']}"
        out.add(f"{p} ({kind})")
        walk(child_id, p, seen)

    root_item = index[str(root)]
    walk(root, root_item["name"], set())
    for line in sorted(out):
        print(line)

if __name__ == "__main__":
    main()
