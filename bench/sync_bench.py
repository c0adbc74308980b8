"""Sync workload: a seeded tree of 10,000 files (1 KiB to 4 MiB, log-uniform sizes) synced
to SeaweedFS, then synced again after 1% of the files changed, by this repository's CLI,
the AWS CLI v1 (`aws s3 sync`) and rclone (`rclone sync`): wall time, client CPU and peak
RSS of each run, and whether the bucket then holds exactly the tree (every object's MD5
ETag against the local file).

Run it through `bench/run.sh --sync [options]` (which installs the peers and the servers
first); `--files N` and `--max-kib K` make a smaller tree. Peak RSS flat in the number of
files is shown by a second s3transfer-rs row on a tenth of the tree.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the servers, the peers' environment and the measurement)

KIB = 1024
PEERS = ["s3transfer-rs", "awscli", "rclone"]


def make_tree(root, files, min_kib, max_kib, seed):
    """files files under 100 directories, sizes log-uniform in [min_kib, max_kib] KiB."""
    rng = random.Random(seed)
    total = 0
    for i in range(files):
        size = int(math.exp(rng.uniform(math.log(min_kib * KIB), math.log(max_kib * KIB))))
        path = os.path.join(root, f"d{i % 100:02d}", f"f{i:05d}.bin")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        # An hour old: S3 keeps whole seconds, so a file written in the second of its
        # upload is newer than its object and every peer would send it again.
        old = time.time() - 3600
        os.utime(path, (old, old))
        total += size
    return total


def change_one_percent(root, files, offset, seed):
    """Rewrites every 100th file (starting at offset) with new bytes of the same size."""
    rng = random.Random(seed + offset)
    changed = []
    for i in range(offset % 100, files, 100):
        path = os.path.join(root, f"d{i % 100:02d}", f"f{i:05d}.bin")
        size = os.path.getsize(path)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        changed.append(path)
    return changed


def command(peer, src, dst, endpoint):
    py = os.environ["BENCH_VENV_PYTHON"]
    if peer.startswith("s3transfer-rs"):
        return [os.environ["BENCH_S3TRANSFER"], "--endpoint-url", endpoint, "--region",
                bench.REGION, "--quiet", "sync", src, dst]
    if peer == "awscli":
        return [py, "-m", "awscli", "s3", "sync", "--endpoint-url", endpoint,
                "--only-show-errors", "--no-progress", src, dst]
    if peer == "rclone":
        return ["rclone", "-q", "--s3-endpoint", endpoint, "sync", src,
                "bench:" + dst[len("s3://"):]]
    raise ValueError(peer)


def verify(client, prefix, root, subset=None):
    """Whether the objects under prefix are exactly the files under root (names and MD5s)."""
    local = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if subset and not rel.startswith(subset):
                continue
            with open(path, "rb") as f:
                local[rel] = hashlib.md5(f.read()).hexdigest()
    remote = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bench.BUCKET,
                                                                 Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            # s3s-fs lists no ETags: there each object's own HEAD gives it.
            etag = obj.get("ETag") or client.head_object(Bucket=bench.BUCKET,
                                                         Key=obj["Key"])["ETag"]
            remote[obj["Key"][len(prefix) + 1:]] = etag.strip('"')
    if remote == local:
        return "ok"
    missing = len(set(local) - set(remote))
    wrong = sum(1 for k in local if k in remote and remote[k] != local[k])
    extra = len(set(remote) - set(local))
    return f"MISMATCH: {missing} missing, {wrong} wrong, {extra} extra"


def measured(peer, src, dst, server, env, timeout):
    # Dirty pages left by the tree's creation or the previous run are written back now,
    # not during this run, where their writeback would take CPU and disk from whichever
    # peer happened to run next.
    os.sync()
    before = bench.proc_tree_cpu(server.proc.pid)
    status, wall, cpu, rss, err = bench.run_measured(command(peer, src, dst, server.endpoint),
                                                     env, None, timeout)
    server_cpu = bench.proc_tree_cpu(server.proc.pid) - before
    return {"status": status, "wall_s": wall, "cpu_s": cpu, "rss_mib": rss, "stderr": err,
            "server_cpu_s": server_cpu}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--min-kib", type=int, default=1)
    p.add_argument("--max-kib", type=int, default=4096)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--server", default="seaweedfs", choices=sorted(bench.SERVER_CLASSES),
                   help="the store (default seaweedfs, the issue's; s3s-fs is far lighter on "
                   "the CPU the client shares with it)")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--workdir", help="where the tree and the server's data go (default: "
                   "a new directory in $TMPDIR)")
    p.add_argument("--results", default=os.path.join(bench.HERE, "results"))
    args = p.parse_args()
    bench.atexit.register(bench.kill_all)
    workdir = tempfile.mkdtemp(prefix="s3transfer-sync-bench-", dir=args.workdir)
    rows = []
    try:
        tree = os.path.join(workdir, "tree")
        started = time.monotonic()
        total = make_tree(tree, args.files, args.min_kib, args.max_kib, args.seed)
        print(f"tree: {args.files} files, {total / bench.MIB:.0f} MiB, made in "
              f"{time.monotonic() - started:.0f} s, in {tree}", flush=True)
        server = bench.SERVER_CLASSES[args.server](args.server, workdir)
        client = server.start()
        env = bench.peer_env(workdir)
        for n, peer in enumerate(args.peers.split(",")):
            prefix = f"sync-{peer}"
            dst = f"s3://{bench.BUCKET}/{prefix}"
            first = measured(peer, tree, dst, server, env, args.timeout)
            changed = change_one_percent(tree, args.files, n + 1, args.seed)
            again = measured(peer, tree, dst, server, env, args.timeout)
            check = verify(client, prefix, tree)
            for phase, run in [("first sync", first), ("re-sync, 1% changed", again)]:
                row = dict(run, peer=peer, phase=phase, files=args.files, check=check,
                           changed=len(changed))
                rows.append(row)
                print(f"{peer:16} {phase:22} wall {run['wall_s']:7.2f} s  cpu "
                      f"{run['cpu_s'] or 0:7.2f} s  rss {run['rss_mib'] or 0:7.1f} MiB  server cpu "
                      f"{run['server_cpu_s']:7.2f} s  "
                      f"exit {run['status']}  {check}"
                      + (f"  {run['stderr']}" if run["status"] else ""), flush=True)
            if peer == "s3transfer-rs":
                # Peak RSS against the number of files: the same tool on a tenth of the tree.
                tenth = os.path.join(workdir, "tenth")
                os.makedirs(tenth)
                for d in range(10):
                    os.symlink(os.path.join(tree, f"d{d:02d}"), os.path.join(tenth, f"d{d:02d}"))
                small = measured(peer, tenth, f"s3://{bench.BUCKET}/sync-tenth", server, env,
                                 args.timeout)
                small_check = verify(client, "sync-tenth", tree, subset=tuple(
                    f"d{d:02d}" for d in range(10)))
                rows.append(dict(small, peer="s3transfer-rs (a tenth of the tree)",
                                 phase="first sync", files=args.files // 10, check=small_check,
                                 changed=0))
                print(f"{'s3transfer-rs/10':16} {'first sync':22} wall {small['wall_s']:7.2f} s"
                      f"  cpu {small['cpu_s'] or 0:7.2f} s  rss {small['rss_mib'] or 0:7.1f} MiB"
                      f"  {small_check}", flush=True)
            server.reclaim()
        server.stop()
    finally:
        bench.kill_all()
        shutil.rmtree(workdir, ignore_errors=True)
    table = ["| peer | phase | files | wall s | files/s | client CPU s | peak RSS MiB | "
             "server CPU s | check |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        moved = r["files"] if r["phase"] == "first sync" else r["files"]
        table.append(f"| {r['peer']} | {r['phase']} | {r['files']} | {r['wall_s']:.2f} | "
                     f"{moved / r['wall_s']:.0f} | {r['cpu_s'] or 0:.2f} | "
                     f"{r['rss_mib'] or 0:.1f} | {r['server_cpu_s']:.2f} | {r['check']} |")
    text = "\n".join(table) + "\n"
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "sync-latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, "sync-latest.json"), "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1)
    print("\n" + text)
    return 1 if any(r["status"] or r["check"] != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
