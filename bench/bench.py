"""Benchmark driver: moves the same data through every peer against local S3 servers.

Run it through bench/run.sh, which installs the peers and servers first and passes the paths
in environment variables (BENCH_S3TRANSFER, BENCH_WEED, BENCH_S3S_FS, BENCH_VENV_PYTHON).
docs/benchmarks.md explains what is measured and how to read the table.

Shape of a run: start each server on 127.0.0.1, upload the fixtures once (a big file and a
directory of small files), then for each repetition, workload and peer (peers interleaved, in
an order rotated every repetition, so that a noisy machine hurts all of them alike) run the
peer as one child process and record its wall time, CPU time and peak RSS (wait4), the
server's CPU time (/proc), and whether the data arrived intact.
"""

import argparse
import atexit
import ctypes
import datetime
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MIB = 1024 * 1024
GIB = 1024 * MIB

ACCESS_KEY = "bench-ak"
SECRET_KEY = "bench-sk"
REGION = "us-east-1"
BUCKET = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GNU_TIME = "/usr/bin/time"

DOCS = os.path.join(REPO, "docs", "benchmarks.md")

# Workloads: name -> (operation the peers implement, is it the many-small-files one).
WORKLOADS = {
    "upload 1 file": ("upload", False),
    "download 1 file": ("download", False),
    "upload stdin": ("upload-stdin", False),
    "upload many": ("upload-dir", True),
    "download many": ("download-dir", True),
}
PEERS = ["s3transfer-rs", "boto3-default", "boto3-16x16MiB", "crt", "awscli", "rclone"]
# This repository's CLI with another checksum setting than its default (CRC32 sent on
# uploads, the stored checksum checked on downloads): what each algorithm costs. Only run
# when named with --peers (see docs/benchmarks.md, "Checksum cost").
VARIANT_PEERS = {
    # The same CLI on its second backend, aws-sdk-s3 (feature `aws-sdk`, in `cli`).
    "s3transfer-rs-aws-sdk": ["--backend", "aws-sdk"],

    "s3transfer-rs-nochecksum": ["--request-checksum-calculation", "when_required",
                                 "--response-checksum-validation", "when_required"],
    "s3transfer-rs-crc32c": ["--checksum-algorithm", "CRC32C"],
    "s3transfer-rs-crc64nvme": ["--checksum-algorithm", "CRC64NVME"],
    "s3transfer-rs-sha1": ["--checksum-algorithm", "SHA1"],
    "s3transfer-rs-sha256": ["--checksum-algorithm", "SHA256"],
}
# The test suite's self-signed CA and the server certificate it signed for 127.0.0.1
# (tests/data/tls): with --tls, SeaweedFS serves S3 over HTTPS with them and every peer is
# given the CA, never told to skip verification.
TLS_DIR = os.path.join(REPO, "tests", "data", "tls")
TLS_CA = os.path.join(TLS_DIR, "ca.pem")
BASELINE = "boto3-default"
# What a peer cannot do at all, and why (shown in the table instead of figures).
UNSUPPORTED = {
    ("crt", "upload-stdin"): "s3transfer.crt calls tell() on the body: stdin is not seekable",
}
SERVERS = ["seaweedfs", "s3s-fs"]


# ---------------------------------------------------------------------------------------------
# Child processes: every server and peer dies with the driver.

_children = set()  # Popen objects still to kill at exit
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """preexec_fn: SIGKILL this child if the driver dies, even by SIGKILL (no clean-up runs)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(cmd, **kwargs):
    """Popen in its own session: a Ctrl-C on the terminal reaches only the driver, whose clean-up
    then kills every child, servers last (each peer is killed as soon as its run ends)."""
    proc = subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
    _children.add(proc)
    return proc


def kill(proc):
    """SIGKILL the process group of proc and reap it (nothing here needs a graceful stop)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.returncode is None:
        try:
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, ChildProcessError):
            pass
    _children.discard(proc)


def kill_all():
    for proc in list(_children):
        kill(proc)


def _on_signal(signum, _frame):
    # Turn SIGTERM/SIGHUP into an exception so that every `finally` (servers, temp dirs) runs.
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------
# Measurement helpers.

def proc_tree_cpu(root_pid):
    """User+system CPU seconds of root_pid and all its live descendants (all their threads)."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        # After the command name: state, ppid, ... utime is field 14, stime 15 (1-based).
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


def run_measured(cmd, env, stdin_path, timeout):
    """Runs one peer command; returns (exit status, wall s, CPU s, peak RSS MiB, stderr tail).

    The peer runs under GNU time, which reports the peer's own user+system CPU and peak RSS
    (wait4's rusage). Not wait4 from here: a child forked from this driver would count the
    driver's own resident memory (boto3 loaded, ~50 MiB) in its ru_maxrss, even after exec.

    stdin_path, if given, is fed through a pipe by `cat`, so the peer sees a real stream that
    it cannot seek or stat for a size; cat's own CPU is not counted against the peer.
    """
    errfile = tempfile.TemporaryFile()
    usage_file = tempfile.NamedTemporaryFile(prefix="usage-", delete=False)
    usage_file.close()
    feeder = None
    stdin = subprocess.DEVNULL
    if stdin_path:
        feeder = spawn(["cat", stdin_path], stdout=subprocess.PIPE)
        stdin = feeder.stdout
    timed_out = False
    start = time.monotonic()
    proc = spawn([GNU_TIME, "--quiet", "--format=%U %S %M", f"--output={usage_file.name}"]
                 + cmd, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=errfile)
    try:
        if feeder:
            feeder.stdout.close()  # the peer holds the only read end now
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        wall = time.monotonic() - start
    finally:
        kill(proc)  # also whatever it left running in its process group
        if feeder:
            kill(feeder)
    with open(usage_file.name) as f:
        usage = f.read().split()
    os.unlink(usage_file.name)
    errfile.seek(0)
    err = errfile.read().decode(errors="replace").strip().splitlines()
    if timed_out:
        status = -9
        err.append(f"timed out after {timeout:.0f} s")
    if len(usage) != 3:  # killed: GNU time had nothing to report
        return status, wall, None, None, " | ".join(err[-3:])
    return (status, wall, float(usage[0]) + float(usage[1]), int(usage[2]) / 1024,
            " | ".join(err[-3:]))


def free_port_block(offsets):
    """A base port P such that P+o is free on 127.0.0.1 for every o in offsets."""
    for _ in range(200):
        base = random.randrange(10000, 22700)
        socks = []
        try:
            for off in offsets:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports on 127.0.0.1")


# ---------------------------------------------------------------------------------------------
# Servers.

class Server:
    """One S3 server on 127.0.0.1 with its own data directory under workdir."""

    def __init__(self, name, workdir, tls=False):
        self.name = name
        self.tls = tls
        self.data = tempfile.mkdtemp(prefix=f"{name}-", dir=workdir)
        self.proc = None
        self.endpoint = None
        self.cleanup_paths = []  # files it creates outside its data dir

    def start(self):
        deadline = time.monotonic() + 90
        self._spawn()
        client = s3_client(self.endpoint, self.tls)
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up; log: {self.log_tail()}")
            try:
                # Ready means writable: SeaweedFS answers S3 a few seconds before PUTs work.
                if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="ready", Body=b"ready")
                client.delete_object(Bucket=BUCKET, Key="ready")
                return client
            except Exception as e:  # not up yet: connection refused, 500, ...
                last = e
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after 90 s ({last}); log: {self.log_tail()}")

    def log_tail(self):
        try:
            with open(os.path.join(self.data, "server.log"), errors="replace") as f:
                return " | ".join(f.read().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def reclaim(self):
        """Frees the space of deleted objects (called between runs, outside any measurement)."""

    def stop(self):
        if self.proc:
            kill(self.proc)
        for path in self.cleanup_paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        shutil.rmtree(self.data, ignore_errors=True)


class SeaweedFs(Server):
    """SeaweedFS (`weed server`: master, volume, filer and S3 in one process), started with the
    flags of the test suite (tests/common/seaweed.rs; docs in shared test-servers notes)."""

    def _spawn(self):
        p = free_port_block([0, 1, 2, 3, 4, 10000, 10001, 10002, 10003])
        self.master = f"http://127.0.0.1:{p + 1}"
        self.endpoint = f"https://127.0.0.1:{p + 4}" if self.tls else f"http://127.0.0.1:{p}"
        d = self.data
        os.makedirs(f"{d}/log")
        identity = {"name": "bench", "credentials": [{"accessKey": ACCESS_KEY,
                                                        "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"]}
        with open(f"{d}/s3.json", "w") as f:
            json.dump({"identities": [identity]}, f)
        # SeaweedFS always creates these gRPC sockets in /tmp.
        self.cleanup_paths = [f"/tmp/seaweedfs-{svc}-grpc-{p + off}.sock" for svc, off in
                              [("s3", 10000), ("master", 10001), ("volume", 10002),
                               ("filer", 10003)]]
        cmd = [
            os.environ["BENCH_WEED"], f"-logdir={d}/log", "server",
            # Every listener on loopback, no telemetry posted to an outside host.
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={d}",
            f"-master.port={p + 1}", f"-master.port.grpc={p + 10001}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=1024", "-volume.max=1000",
            f"-volume.port={p + 2}", f"-volume.port.grpc={p + 10002}",
            "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={p + 3}", f"-filer.port.grpc={p + 10003}",
            f"-filer.localSocket={d}/filer.sock",
            "-s3", f"-s3.port={p}", f"-s3.port.grpc={p + 10000}", f"-s3.config={d}/s3.json",
            "-s3.autoCreateBucket=false", f"-s3.localSocket={d}/s3.sock",
            # Both default to fixed ports: off, so that nothing else can clash with them.
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]
        if self.tls:
            cmd += [f"-s3.port.https={p + 4}", f"-s3.cert.file={TLS_DIR}/server.pem",
                    f"-s3.key.file={TLS_DIR}/server.key"]
        env = dict(os.environ, WEED_MASTER_VOLUME_GROWTH_COPY_1="1")
        with open(f"{d}/server.log", "wb") as log:
            self.proc = spawn(cmd, cwd=d, env=env, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT)

    def reclaim(self):
        # Deleted objects keep their space until a vacuum compacts the volumes; without this a
        # full run would write tens of GiB. The master's vacuum endpoint does it synchronously.
        try:
            urllib.request.urlopen(f"{self.master}/vol/vacuum?garbageThreshold=0.0001",
                                   timeout=300).read()
        except OSError as e:
            print(f"  (seaweedfs vacuum failed: {e})", file=sys.stderr)


class S3sFs(Server):
    """s3s-fs 0.14.1: the s3s crate's file-system-backed S3 server."""

    def _spawn(self):
        if self.tls:
            raise RuntimeError("s3s-fs's server has no TLS: --tls runs on seaweedfs only")
        p = free_port_block([0])
        self.endpoint = f"http://127.0.0.1:{p}"
        store = os.path.join(self.data, "store")
        os.makedirs(store)
        cmd = [os.environ["BENCH_S3S_FS"], "--host", "127.0.0.1", "--port", str(p),
               "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, store]
        with open(f"{self.data}/server.log", "wb") as log:
            self.proc = spawn(cmd, cwd=self.data, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT)


SERVER_CLASSES = {"seaweedfs": SeaweedFs, "s3s-fs": S3sFs}


def s3_client(endpoint, tls=False):
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    ).client("s3", endpoint_url=endpoint, verify=TLS_CA if tls else None,
             config=Config(s3={"addressing_style": "path"}, max_pool_connections=16,
                           retries={"max_attempts": 10, "mode": "standard"}))


# ---------------------------------------------------------------------------------------------
# Peers: each is one command line per operation.

def peer_env(workdir, tls=False):
    """Same credentials and region for everyone, and with tls the CA (AWS_CA_BUNDLE, which
    botocore, the AWS CLI and this repository's CLI read); nothing from ~/.aws or rclone's
    own config file can change a peer's settings."""
    env = dict(os.environ)
    for var in ["AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"]:
        env.pop(var, None)  # rclone 1.60 fails when AWS_CA_BUNDLE is set
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        RCLONE_CONFIG=os.path.join(workdir, "rclone.conf"),  # absent: the remote is below
        RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other",
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=ACCESS_KEY,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=SECRET_KEY,
        RCLONE_CONFIG_BENCH_REGION=REGION, RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true",
    )
    if tls:
        env["AWS_CA_BUNDLE"] = TLS_CA
    return env


def rclone_env(env):
    """rclone 1.60 fails when AWS_CA_BUNDLE is set: it is given the CA by --ca-cert instead."""
    env = dict(env)
    env.pop("AWS_CA_BUNDLE", None)
    return env


def peer_command(peer, op, src, dst, endpoint):
    """The command line of peer doing op from src to dst (s3://bucket/key or local paths).
    None if the peer has no way to do op (see UNSUPPORTED)."""
    if (peer, op) in UNSUPPORTED:
        return None
    py = os.environ["BENCH_VENV_PYTHON"]
    many = op in ("upload-dir", "download-dir")
    if peer == "s3transfer-rs" or peer in VARIANT_PEERS:
        # The library's defaults (8 MiB parts and threshold, 10 requests in flight).
        cmd = [os.environ["BENCH_S3TRANSFER"], "--endpoint-url", endpoint, "--region", REGION,
               "--quiet"] + VARIANT_PEERS.get(peer, []) + ["cp"]
        return cmd + (["--recursive"] if many else []) + ["-" if op == "upload-stdin" else src,
                                                          dst]
    if peer in ("boto3-default", "boto3-16x16MiB", "crt"):
        script = "crt_peer.py" if peer == "crt" else "boto3_peer.py"
        cmd = [py, os.path.join(HERE, "peers", script), "--endpoint-url", endpoint]
        if peer == "boto3-16x16MiB":
            cmd += ["--threads", "16", "--part-size", "16"]
        return cmd + [op, src, dst]
    if peer == "awscli":
        cmd = [py, "-m", "awscli", "s3", "cp", "--endpoint-url", endpoint, "--only-show-errors",
               "--no-progress"]
        return cmd + (["--recursive"] if many else []) + ["-" if op == "upload-stdin" else src,
                                                          dst]
    if peer == "rclone":
        def remote(p):
            return "bench:" + p[len("s3://"):] if p.startswith("s3://") else p
        verb = {"upload": "copyto", "download": "copyto", "upload-stdin": "rcat",
                "upload-dir": "copy", "download-dir": "copy"}[op]
        args = [remote(dst)] if op == "upload-stdin" else [remote(src), remote(dst)]
        tls = ["--ca-cert", TLS_CA] if endpoint.startswith("https:") else []
        return ["rclone", "-q", "--s3-endpoint", endpoint] + tls + [verb] + args
    raise ValueError(peer)


# ---------------------------------------------------------------------------------------------
# The benchmark.

class Fixtures:
    """The local data (made once, random bytes) and its checksums."""

    def __init__(self, workdir, big_bytes, small_count, small_bytes):
        self.big = os.path.join(workdir, "big.bin")
        self.small_dir = os.path.join(workdir, "small")
        self.big_bytes, self.small_count, self.small_bytes = big_bytes, small_count, small_bytes
        with open(self.big, "wb") as f:
            for _ in range(big_bytes // MIB):
                f.write(os.urandom(MIB))
        self.big_sha = sha256_file(self.big)
        os.makedirs(self.small_dir)
        self.small_sha = {}
        for i in range(small_count):
            name = f"f{i:05d}.bin"
            data = os.urandom(small_bytes)
            with open(os.path.join(self.small_dir, name), "wb") as f:
                f.write(data)
            self.small_sha[name] = hashlib.sha256(data).hexdigest()

    def upload_to(self, client):
        """The objects every download reads: fixture/big.bin and fixture/small/*."""
        client.upload_file(self.big, BUCKET, "fixture/big.bin",
                           Config=TransferConfig(max_concurrency=4))
        for name in self.small_sha:
            with open(os.path.join(self.small_dir, name), "rb") as f:
                client.put_object(Bucket=BUCKET, Key=f"fixture/small/{name}", Body=f)


def delete_prefix(client, prefix):
    keys = [{"Key": o["Key"]}
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                          Prefix=prefix)
            for o in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys[i:i + 1000], "Quiet": True})


def check_upload(client, prefix, fx, many):
    """Uploads are checked by listing (count and sizes): cheap, and a truncated or missing
    object shows. Downloads, below, are checked byte for byte."""
    sizes = [o["Size"]
             for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                           Prefix=prefix)
             for o in page.get("Contents", [])]
    want = [fx.small_bytes] * fx.small_count if many else [fx.big_bytes]
    if sorted(sizes) != want:
        return f"listing shows {len(sizes)} objects, {sum(sizes)} bytes"
    return None


def check_download(target, fx, many):
    if not many:
        if not os.path.isfile(target):
            return "no file"
        return None if sha256_file(target) == fx.big_sha else "sha256 mismatch"
    got = {}
    for root, _dirs, files in os.walk(target):
        for name in files:
            got[name] = sha256_file(os.path.join(root, name))
    if got != fx.small_sha:
        bad = sum(1 for n, h in fx.small_sha.items() if got.get(n) != h)
        return f"{bad} of {fx.small_count} files missing or differing (sha256)"
    return None


def one_run(server, client, fx, peer, workload, rep, workdir, env, timeout):
    op, many = WORKLOADS[workload]
    slug = f"{peer}-r{rep}"
    local = os.path.join(workdir, "out", slug)
    os.makedirs(os.path.dirname(local), exist_ok=True)
    up_prefix = f"up/{slug}/"
    stdin_path = None
    if op == "upload":
        src, dst = fx.big, f"s3://{BUCKET}/{up_prefix}big.bin"
    elif op == "upload-stdin":
        src, dst, stdin_path = "-", f"s3://{BUCKET}/{up_prefix}big.bin", fx.big
    elif op == "upload-dir":
        src, dst = fx.small_dir, f"s3://{BUCKET}/{up_prefix}"
    elif op == "download":
        src, dst = f"s3://{BUCKET}/fixture/big.bin", local
    else:
        src, dst = f"s3://{BUCKET}/fixture/small/", local
    nbytes = fx.small_count * fx.small_bytes if many else fx.big_bytes
    record = {"server": server.name, "workload": workload, "peer": peer, "rep": rep,
              "bytes": nbytes, "files": fx.small_count if many else 1}
    cmd = peer_command(peer, op, src, dst, server.endpoint)
    record["command"] = cmd
    if cmd is None:
        record.update(na=UNSUPPORTED[(peer, op)], error=None)
        return record
    cpu_before = proc_tree_cpu(server.proc.pid)
    status, wall, cpu, rss, err = run_measured(
        cmd, rclone_env(env) if peer == "rclone" else env, stdin_path, timeout)
    server_cpu = proc_tree_cpu(server.proc.pid) - cpu_before
    record.update(wall=wall, cpu=cpu, rss_mib=rss, server_cpu=server_cpu, status=status)
    if status != 0:
        record["error"] = f"exit {status}: {err}" if err else f"exit {status}"
    else:
        try:
            record["error"] = (check_upload(client, up_prefix, fx, many) if op.startswith("upload")
                               else check_download(local, fx, many))
        except Exception as e:  # a listing that fails is a failed run, not a crashed benchmark
            record["error"] = f"check failed: {e}"
    # Clean up outside the measurement: the next run starts from the same state.
    shutil.rmtree(local, ignore_errors=True)
    if os.path.exists(local):
        os.unlink(local)
    if op.startswith("upload"):
        delete_prefix(client, up_prefix)
        server.reclaim()
    return record


def run_server(name, args, fx, workdir, env, records):
    server = SERVER_CLASSES[name](name, workdir, args.tls)
    try:
        t0 = time.monotonic()
        client = server.start()
        print(f"[{name}] ready at {server.endpoint} in {time.monotonic() - t0:.1f} s; "
              "uploading fixtures", flush=True)
        fx.upload_to(client)
        timeout = 120 + fx.big_bytes / MIB  # at least 1 MiB/s: beyond that it is stuck
        for rep in range(1, args.reps + 1):
            for workload in args.workloads:
                # Rotate the peer order every repetition: no peer always runs first or last.
                shift = (rep - 1) % len(args.peers)
                for peer in args.peers[shift:] + args.peers[:shift]:
                    r = one_run(server, client, fx, peer, workload, rep, workdir, env, timeout)
                    records.append(r)
                    what = (f"n/a: {r['na']}" if "na" in r else
                            f"{r['bytes'] / MIB / r['wall']:8.1f} MiB/s  cpu "
                            f"{fmt(r['cpu'], '6.2f')} s  rss {fmt(r['rss_mib'], '6.1f')} MiB  "
                            f"server cpu {r['server_cpu']:6.2f} s  {r['error'] or 'ok'}")
                    print(f"[{name}] rep {rep} {workload:<16} {peer:<15} {what}", flush=True)
    except Exception as e:
        # A server that cannot start or dies is reported; the other server still runs.
        print(f"[{name}] FAILED: {e}", file=sys.stderr, flush=True)
        records.append({"server": name, "fatal": str(e)})
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Report.

def versions(args):
    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception as e:
            return f"unknown ({e})"
    py = os.environ["BENCH_VENV_PYTHON"]
    commit = out(["git", "-C", REPO, "describe", "--always", "--dirty"])
    v = {"s3transfer-rs (this repo)": f"{out([os.environ['BENCH_S3TRANSFER'], '--version'])} "
                                      f"at {commit}",
         "python": platform.python_version()}
    for mod in ["boto3", "botocore", "s3transfer", "awscrt"]:
        v[mod] = out([py, "-c", f"import {mod}; print({mod}.__version__)"])
    v["awscli"] = out([py, "-m", "awscli", "--version"])
    v["rclone"] = out(["rclone", "version"])
    if "seaweedfs" in args.servers:
        v["seaweedfs"] = out([os.environ["BENCH_WEED"], "version"])
    if "s3s-fs" in args.servers:
        v["s3s-fs"] = out([os.environ["BENCH_S3S_FS"], "--version"])
    return v


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": round(mem_kib / 1024 ** 2, 1),
            "kernel": platform.release(), "os": platform.platform()}


def median_or_none(values):
    return statistics.median(values) if values else None


def ratio(value, reference):
    if value is None or not reference:
        return None
    return value / reference


def summarize(records, args):
    """One row per (server, workload, peer) with medians over the successful repetitions."""
    rows = []
    for server in args.servers:
        for workload in args.workloads:
            group = {}
            for peer in args.peers:
                runs = [r for r in records if r.get("server") == server and
                        r.get("workload") == workload and r.get("peer") == peer]
                na = [r["na"] for r in runs if "na" in r]
                runs = [r for r in runs if "na" not in r]
                ok = [r for r in runs if not r["error"]]
                gib = runs[0]["bytes"] / GIB if runs else 1
                group[peer] = {
                    "server": server, "workload": workload, "peer": peer,
                    "runs": len(runs), "ok": len(ok),
                    "mib_s_all": [r["bytes"] / MIB / r["wall"] for r in ok],
                    "mib_s": median_or_none([r["bytes"] / MIB / r["wall"] for r in ok]),
                    "files_s": median_or_none([r["files"] / r["wall"] for r in ok]),
                    "cpu_per_gib": median_or_none([r["cpu"] / gib for r in ok]),
                    "rss_mib": max((r["rss_mib"] for r in ok), default=None),
                    "server_cpu_per_gib": median_or_none([r["server_cpu"] / gib for r in ok]),
                    "errors": sorted({r["error"] for r in runs if r["error"]}),
                    "many": WORKLOADS[workload][1], "na": na[0] if na else None,
                }
            for row in group.values():
                for ref, key in [(BASELINE, "x_boto3"), ("crt", "x_crt")]:
                    row[key] = ratio(row["mib_s"], group.get(ref, {}).get("mib_s"))
                row["cpu_vs_crt"] = ratio(row["cpu_per_gib"],
                                          group.get("crt", {}).get("cpu_per_gib"))
                rows.append(row)
    return rows


def fmt(value, spec, suffix=""):
    return "–" if value is None else format(value, spec) + suffix


def markdown(rows, meta):
    lines = [] if meta["mode"] == "full" else [
        f"> **Not the official figures:** a {meta['mode']}-mode run, on sizes where process "
        "start-up weighs in. Run `bench/run.sh --write-docs` for those.", ""]
    lines += [
        f"Run: {meta['date']}, mode **{meta['mode']}** (big file {meta['big_mib']} MiB, "
        f"{meta['small_count']} small files of {meta['small_kib']} KiB, {meta['reps']} "
        f"repetitions), wall time {meta['wall_s'] / 60:.1f} min, data in {meta['workdir_fs']}"
        + ("; S3 over **HTTPS** (the test CA given to every peer)." if meta.get("tls")
           else "; S3 over plain HTTP."),
        "",
        f"Machine: {meta['machine']['cpus']} CPUs ({meta['machine']['cpu_model']}), "
        f"{meta['machine']['ram_gib']} GiB RAM, kernel {meta['machine']['kernel']}; client "
        "and server share it.",
        "",
        "Versions: " + "; ".join(f"{k} `{v}`" for k, v in meta["versions"].items()) + ".",
        "",
        "| server | workload | peer | MiB/s (median) | runs MiB/s | files/s | × boto3 default "
        "| × CRT | client CPU s/GiB | CPU ÷ CRT | peak RSS MiB | server CPU s/GiB | check |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r["na"]:
            lines.append(f"| {r['server']} | {r['workload']} | {r['peer']} | n/a |||||||||"
                         f" {r['na']} |")
            continue
        if r["runs"] == 0:
            continue
        check = "ok" if not r["errors"] else (
            f"{r['runs'] - r['ok']}/{r['runs']} failed: " + "; ".join(r["errors"])[:300]
            .replace("|", "/"))
        lines.append(
            f"| {r['server']} | {r['workload']} | {r['peer']} | {fmt(r['mib_s'], '.1f')} | "
            f"{' / '.join(format(v, '.0f') for v in r['mib_s_all']) or '–'} | "
            f"{fmt(r['files_s'], '.0f') if r['many'] else ''} | {fmt(r['x_boto3'], '.2f', '×')} | "
            f"{fmt(r['x_crt'], '.2f', '×')} | {fmt(r['cpu_per_gib'], '.2f')} | "
            f"{fmt(r['cpu_vs_crt'], '.2f')} | {fmt(r['rss_mib'], '.0f')} | "
            f"{fmt(r['server_cpu_per_gib'], '.2f')} | {check} |")
    return "\n".join(lines) + "\n"


def write_docs(table_md, section):
    with open(DOCS) as f:
        text = f.read()
    start_mark, end_mark = f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"
    start, end = text.index(start_mark) + len(start_mark), text.index(end_mark)
    with open(DOCS, "w") as f:
        f.write(text[:start] + "\n" + table_md + text[end:])


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="64 MiB big file and 200 small files instead of 1 GiB and 1000")
    p.add_argument("--big-mib", type=int, help="size of the big file in MiB (overrides mode)")
    p.add_argument("--small-count", type=int, help="number of small files (overrides mode)")
    p.add_argument("--small-kib", type=int, default=64, help="size of each small file, KiB")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--tls", action="store_true",
                   help="S3 over HTTPS (seaweedfs only), every peer given the test CA")
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated, among: " + ", ".join(WORKLOADS))
    p.add_argument("--workdir", help="where data files and server data go (default: a new "
                   "directory in /dev/shm when it has room, else in $TMPDIR)")
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    p.add_argument("--write-docs", action="store_true",
                   help=f"replace the results section of {os.path.relpath(DOCS, REPO)}")
    p.add_argument("--docs-section", default="results",
                   help="which section --write-docs replaces: the one between "
                        "<!-- bench:NAME:start --> and <!-- bench:NAME:end -->")
    args = p.parse_args()
    args.mode = "custom" if args.big_mib or args.small_count else (
        "quick" if args.quick else "full")
    args.big_mib = args.big_mib or (64 if args.quick else 1024)
    args.small_count = args.small_count or (200 if args.quick else 1000)
    for attr, known in [("servers", SERVERS), ("peers", PEERS + list(VARIANT_PEERS)),
                        ("workloads", list(WORKLOADS))]:
        chosen = [x.strip() for x in getattr(args, attr).split(",") if x.strip()]
        unknown = [x for x in chosen if x not in known]
        if unknown:
            p.error(f"unknown {attr}: {', '.join(unknown)} (known: {', '.join(known)})")
        setattr(args, attr, chosen)
    return args


def make_workdir(args):
    # Memory-backed by default: the figures should be the clients' and servers', not a disk's.
    # Needed: the local data, the server's copy of it, one upload and one download at a time.
    need = 5 * (args.big_mib * MIB + args.small_count * args.small_kib * 1024)
    parent = args.workdir
    if parent is None and os.path.isdir("/dev/shm"):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > need:
            parent = "/dev/shm"
    return tempfile.mkdtemp(prefix="s3transfer-bench-", dir=parent)


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    atexit.register(kill_all)
    started = time.monotonic()
    workdir = make_workdir(args)
    records = []
    try:
        print(f"data in {workdir}; generating {args.big_mib} MiB + {args.small_count} × "
              f"{args.small_kib} KiB", flush=True)
        fx = Fixtures(workdir, args.big_mib * MIB, args.small_count, args.small_kib * 1024)
        env = peer_env(workdir, args.tls)
        for name in args.servers:
            run_server(name, args, fx, workdir, env, records)
    finally:
        kill_all()
        fs = subprocess.run(["df", "--output=fstype", workdir], capture_output=True,
                            text=True).stdout.split()[-1:]
        shutil.rmtree(workdir, ignore_errors=True)

    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": args.mode, "big_mib": args.big_mib,
            "small_count": args.small_count, "small_kib": args.small_kib, "reps": args.reps,
            "wall_s": time.monotonic() - started, "machine": machine(),
            "versions": versions(args), "workdir_fs": (fs or ["?"])[0], "tls": args.tls}
    rows = summarize([r for r in records if "fatal" not in r], args)
    table = markdown(rows, meta)
    fatal = [r for r in records if "fatal" in r]
    if fatal:
        table += "\n" + "\n".join(f"**{r['server']} did not run to the end:** {r['fatal']}"
                                  for r in fatal) + "\n"
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "latest.md"), "w") as f:
        f.write(table)
    with open(os.path.join(args.results, "latest.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "runs": records}, f, indent=1)
    if args.write_docs:
        write_docs(table, args.docs_section)
    print("\n" + table)
    print(f"results: {os.path.relpath(args.results, os.getcwd())}/latest.md and latest.json"
          + (f"; table written to {os.path.relpath(DOCS, os.getcwd())}" if args.write_docs
             else ""))
    return 1 if fatal or any(r.get("error") for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
