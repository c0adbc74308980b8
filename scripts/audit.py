#!/usr/bin/env python3
"""Offline RustSec check of the crates the default and `cli` builds link.

    scripts/audit.py [DB]              # DB defaults to ../shared/advisory-db
    scripts/audit.py [DB] --lock FILE  # the same check on another lock file
    scripts/audit.py [DB] --self-test  # fails on a lock with rustls 0.20.9 added,
                                       # passes on ours

The linked set comes from `cargo tree -e normal` (no dev- or build-dependencies, the
features each build really turns on), not from the whole Cargo.lock, which also holds
what only the tests use. A vulnerability fails the check (exit 1) unless its id is in
`.cargo/audit.toml` `[advisories] ignore`, each entry with a comment above it that
starts with the one package version it covers and says why that code is unreachable
(`# ring 0.16.20: ...`); an entry without one fails, and so does the same advisory on
any other version. Informational advisories
(unmaintained, unsound, notice) are listed and do not fail. Withdrawn ones are skipped.

Why not cargo-audit: it reads the same database and ignore file, but installing it costs
CI minutes of compiling on two cores; this needs only python3 (3.11, for tomllib).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOT_PACKAGE = "s3transfer"
# The builds CI ships: the library with default features, and the command-line tool.
BUILDS = [[], ["--features", "cli"]]


# --- versions ---------------------------------------------------------------------------

def parse_version(text):
    """(major, minor, patch, pre) with pre a tuple sorting releases after prereleases."""
    core, _, pre = text.strip().partition("-")
    core = core.partition("+")[0]
    parts = [int(p) for p in core.split(".")]
    while len(parts) < 3:
        parts.append(0)
    if pre:
        ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
        return (*parts[:3], (0, ids))
    return (*parts[:3], (1, ()))


def comparator_matches(comp, version):
    comp = comp.strip()
    if comp in ("*", ""):
        return True
    m = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?\s*([0-9][0-9A-Za-z.\-+*]*)", comp)
    if not m:
        raise ValueError(f"unsupported version requirement {comp!r}")
    op, text = m.group(1) or "^", m.group(2)
    text = re.sub(r"\.\*$", "", text)
    given = len(text.partition("-")[0].split("."))
    bound = parse_version(text)
    if op == ">=":
        return version >= bound
    if op == ">":
        return version > bound
    if op == "<=":
        return version <= bound
    if op == "<":
        return version < bound
    major, minor, patch = bound[:3]
    if op == "=":
        return version[: given] == bound[: given] if given < 3 else version == bound
    if op == "~":
        upper = (major + 1, 0, 0) if given == 1 else (major, minor + 1, 0)
    elif major > 0 or given == 1:
        upper = (major + 1, 0, 0)
    elif minor > 0 or given == 2:
        upper = (0, minor + 1, 0)
    else:
        upper = (0, 0, patch + 1)
    return bound <= version < (*upper, (0, ()))


def req_matches(req, version):
    """A cargo-style requirement: comma-separated comparators, all must hold."""
    return all(comparator_matches(c, version) for c in req.split(","))


# --- the advisory database --------------------------------------------------------------

def load_advisories(db):
    crates = Path(db) / "crates"
    if not crates.is_dir():
        sys.exit(f"audit: no advisory database at {db} (expected {crates}/)")
    by_package = {}
    for path in sorted(crates.glob("*/RUSTSEC-*.md")):
        text = path.read_text(encoding="utf-8")
        m = re.search(r"```toml\n(.*?)\n```", text, re.S)
        if not m:
            continue
        front = tomllib.loads(m.group(1))
        advisory = front.get("advisory", {})
        if advisory.get("withdrawn"):
            continue
        versions = front.get("versions", {})
        by_package.setdefault(advisory["package"], []).append(
            {
                "id": advisory["id"],
                "informational": advisory.get("informational"),
                "title": next(
                    (l[2:].strip() for l in text[m.end():].splitlines() if l.startswith("# ")),
                    "",
                ),
                "ok": versions.get("patched", []) + versions.get("unaffected", []),
            }
        )
    return by_package


def affected(advisory, version_text):
    version = parse_version(version_text)
    return not any(req_matches(r, version) for r in advisory["ok"])


# --- the ignore list --------------------------------------------------------------------

def load_ignores(path):
    """{id: (name, version)} of the ignore list, and the ids whose comment is missing or
    does not start with the package and version it covers (`# ring 0.16.20: why`). An
    ignore covers that one version only: the same advisory on a version our own code
    uses must still fail."""
    if not path.exists():
        return {}, []
    text = path.read_text(encoding="utf-8")
    listed = tomllib.loads(text).get("advisories", {}).get("ignore", [])
    scoped, bad = {}, []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        m = re.match(r'\s*"(RUSTSEC-\d{4}-\d{4})"', line)
        if not m:
            continue
        start = n
        while start > 0 and lines[start - 1].strip().startswith("#"):
            start -= 1
        head = re.match(r"\s*#\s*([A-Za-z0-9_-]+) v?(\d[^\s:,]*)[:,]", lines[start]) \
            if start < n else None
        if head:
            scoped[m.group(1)] = (head.group(1), head.group(2))
        else:
            bad.append(m.group(1))
    bad.extend(i for i in listed if i not in scoped and i not in bad)
    return scoped, bad


# --- what the builds link ---------------------------------------------------------------

def cargo_linked(project):
    """(name, version) of every package the builds link on this machine's target."""
    linked = set()
    for features in BUILDS:
        out = subprocess.run(
            ["cargo", "tree", "--locked", "-e", "normal",
             "--prefix", "none", "-f", "{p}", *features],
            cwd=project, check=True, capture_output=True, text=True,
        ).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1].startswith("v"):
                linked.add((parts[0], parts[1][1:]))
    return linked


def lock_linked(lock_path, linked_names):
    """The packages of `lock_path` reachable from the root package through packages whose
    names the builds link: what the lock would put into them. A dev-only crate has a name
    no build links, so it is never entered."""
    lock = tomllib.loads(Path(lock_path).read_text(encoding="utf-8"))
    packages = lock.get("package", [])
    by_name = {}
    for p in packages:
        by_name.setdefault(p["name"], []).append(p)

    def find(ref):
        name, _, rest = ref.partition(" ")
        version = rest.split(" ")[0] if rest else None
        for p in by_name.get(name, []):
            if version is None or p["version"] == version:
                return p
        sys.exit(f"audit: {lock_path}: dependency {ref!r} has no [[package]] entry")

    root = next((p for p in packages if p["name"] == ROOT_PACKAGE), None)
    if root is None:
        sys.exit(f"audit: {lock_path}: no {ROOT_PACKAGE} package")
    seen, stack = set(), [root]
    while stack:
        p = stack.pop()
        key = (p["name"], p["version"])
        if key in seen:
            continue
        seen.add(key)
        for ref in p.get("dependencies", []):
            if ref.partition(" ")[0] in linked_names:
                stack.append(find(ref))
    return seen


# --- the premise of the ignore list ------------------------------------------------------

# rusoto_core's own connector (hyper-rustls 0.23, rustls 0.20, ring 0.16, HTTP/2 on) is
# built only by these; .cargo/audit.toml ignores its advisories because nothing here
# calls them.
OWN_CONNECTOR = re.compile(
    r"\b(HttpClient::new(_with_config)?|Client::shared|S3Client::new)\s*\("
)


def own_connector_calls(project):
    calls = []
    for folder in ("src", "tests", "examples", "bench"):
        for path in sorted((project / folder).rglob("*.rs")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("//")[0]
                if OWN_CONNECTOR.search(code):
                    calls.append(f"{path.relative_to(project)}:{n}: {line.strip()}")
    return calls


# --- the check --------------------------------------------------------------------------

def check(linked, db, ignore_file, out=print):
    """Print the findings; True when nothing fails."""
    advisories = load_advisories(db)
    ignores, uncommented = load_ignores(ignore_file)
    failed, ignored, notices, used = [], [], [], set()
    for name, version in sorted(linked):
        for adv in advisories.get(name, []):
            if not affected(adv, version):
                continue
            entry = f"{adv['id']}  {name} {version}  {adv['title']}"
            if adv["informational"]:
                notices.append(f"{entry}  [{adv['informational']}]")
            elif ignores.get(adv["id"]) == (name, version):
                used.add(adv["id"])
                ignored.append(entry)
            elif adv["id"] in ignores:
                failed.append(f"{entry}  (ignored only for {' '.join(ignores[adv['id']])})")
            else:
                failed.append(entry)
    out(f"audit: {len(linked)} linked packages checked against {db}")
    for title, entries in (("informational (listed, not failed)", notices),
                           ("ignored (see .cargo/audit.toml)", ignored),
                           ("VULNERABLE", failed)):
        if entries:
            out(f"{title}:")
            for e in entries:
                out(f"  {e}")
    for stale in sorted(set(ignores) - used):
        out(f"note: ignored {stale} matches nothing linked any more: drop it")
    for id_ in uncommented:
        out(f"FAIL: ignored {id_} needs a comment above it: `# NAME VERSION: why unreachable`")
    calls = own_connector_calls(ROOT)
    for call in calls:
        out(f"FAIL: builds rusoto_core's own connector, whose advisories are ignored: {call}")
    ok = not failed and not uncommented and not calls
    out("audit: " + ("ok" if ok else f"FAILED ({len(failed)} vulnerable)"))
    return ok


def self_test(db, ignore_file):
    """Ours passes; a copy of the lock with rustls 0.20.9 put into the linked set fails."""
    linked = cargo_linked(ROOT)
    names = {n for n, _ in linked}
    ours = lock_linked(ROOT / "Cargo.lock", names)
    # The lock walk is what --lock relies on: on our own lock it must find everything
    # cargo says is linked. It may find more: the lock records a dependency that only a
    # dev-dependency's features turn on (uuid's getrandom, through s3s-fs, while the
    # builds link uuid through aws-config without it), and the walk cannot see
    # features. Checking more than is linked errs on the safe side.
    missed = linked - ours
    assert not missed, f"lock walk misses what cargo tree links: {sorted(missed)}"
    assert check(ours, db, ignore_file, out=lambda _: None), "our lock fails the check"
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "Cargo.lock"
        text = (ROOT / "Cargo.lock").read_text(encoding="utf-8")
        # A direct dependency on the rustls that loops forever on network input, and no
        # ignore entry that could cover it as a direct dependency: the ignore file is
        # empty here, so every advisory of the injected crate must surface.
        root = re.search(r'(\[\[package\]\]\nname = "s3transfer"\n.*?dependencies = \[\n)',
                         text, re.S)
        assert root, "no s3transfer entry in Cargo.lock"
        text = text[: root.end()] + ' "rustls 0.20.9",\n' + text[root.end():]
        if '\nname = "rustls"\nversion = "0.20.9"' not in text:
            text += ('\n[[package]]\nname = "rustls"\nversion = "0.20.9"\n'
                     'source = "registry+https://github.com/rust-lang/crates.io-index"\n')
        bad.write_text(text, encoding="utf-8")
        empty = Path(tmp) / "audit.toml"
        empty.write_text("[advisories]\nignore = []\n", encoding="utf-8")
        injected = lock_linked(bad, names)
        assert ("rustls", "0.20.9") in injected
        lines = []
        assert not check(injected, db, empty, out=lines.append), "the injected lock passed"
        assert any("RUSTSEC-2024-0336" in l for l in lines), "\n".join(lines)
        # With our ignore list: RUSTSEC-2025-0009 is ignored for rusoto_core's ring
        # 0.16.20 only; on the ring our own connector uses (0.17.11 here, the last
        # before the fix) it must fail.
        original = (ROOT / "Cargo.lock").read_text(encoding="utf-8")
        worse = original.replace('name = "ring"\nversion = "0.17.14"', 'name = "ring"\nversion = "0.17.11"')
        worse = worse.replace('"ring 0.17.14', '"ring 0.17.11')
        bad.write_text(worse, encoding="utf-8")
        lines = []
        assert not check(lock_linked(bad, names), db, ignore_file, out=lines.append)
        assert any("RUSTSEC-2025-0009  ring 0.17.11" in l for l in lines), "\n".join(lines)
    print("audit self-test: ok (ours passes; rustls 0.20.9 injected fails; ring 0.17.11 fails)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default=str(ROOT / ".." / "shared" / "advisory-db"),
                        help="the RustSec advisory-db checkout (default: ../shared/advisory-db)")
    parser.add_argument("--lock", help="check this lock file's versions instead of ours")
    parser.add_argument("--ignore-file", default=str(ROOT / ".cargo" / "audit.toml"))
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--if-present", action="store_true",
                        help="when the database is missing, say so loudly and exit 0 "
                             "(for a CI machine without ../shared)")
    args = parser.parse_args()
    db = os.path.normpath(os.environ.get("S3TRANSFER_ADVISORY_DB", args.db))
    if args.if_present and not (Path(db) / "crates").is_dir():
        print(f"audit: SKIPPED: no advisory database at {db} "
              "(set S3TRANSFER_ADVISORY_DB or pass its path)", file=sys.stderr)
        return 0
    ignore_file = Path(args.ignore_file)
    if args.self_test:
        self_test(db, ignore_file)
        return 0
    linked = cargo_linked(ROOT)
    if args.lock:
        linked = lock_linked(args.lock, {n for n, _ in linked})
    return 0 if check(linked, db, ignore_file) else 1


if __name__ == "__main__":
    sys.exit(main())
