"""Shared command line of the Python peers (boto3_peer.py, crt_peer.py).

Every peer is one process doing one operation, so that the driver can measure its CPU time
and peak RSS with wait4 exactly as it does for the CLI peers:

    PEER.py [peer options] --endpoint-url URL OP SRC DST

OP is one of: upload (file -> s3://b/k), download (s3://b/k -> file), upload-stdin (stdin ->
s3://b/k), upload-dir (dir -> s3://b/prefix/), download-dir (s3://b/prefix/ -> dir).
Credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION), as for the AWS CLI.
"""

import argparse
import os
import sys

OPS = ("upload", "download", "upload-stdin", "upload-dir", "download-dir")


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--endpoint-url", required=True)
    p.add_argument("op", choices=OPS)
    p.add_argument("src")
    p.add_argument("dst")
    return p


def split_s3(uri):
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise SystemExit(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def local_files(directory):
    """(relative path with '/' separators, absolute path) of every file under directory."""
    out = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            out.append((os.path.relpath(path, directory).replace(os.sep, "/"), path))
    return sorted(out)


def list_keys(client, bucket, prefix):
    """Every key under prefix, via a botocore client (ListObjectsV2, paginated)."""
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def local_target(directory, prefix, key):
    """Where key (under prefix) lands in directory; parent directories are created."""
    path = os.path.join(directory, *key[len(prefix):].split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def submit(manager, lister, op, src, dst):
    """Start op on manager (s3transfer's TransferManager or CRTTransferManager: both take
    upload(fileobj_or_path, bucket, key) and download(bucket, key, path)); lister is a
    botocore client for listing a prefix. Returns the futures."""
    if op == "upload":
        return [manager.upload(src, *split_s3(dst))]
    if op == "upload-stdin":
        return [manager.upload(sys.stdin.buffer, *split_s3(dst))]
    if op == "download":
        return [manager.download(*split_s3(src), dst)]
    if op == "upload-dir":
        bucket, prefix = split_s3(dst)
        return [manager.upload(path, bucket, prefix + rel) for rel, path in local_files(src)]
    # download-dir
    bucket, prefix = split_s3(src)
    return [
        manager.download(bucket, key, local_target(dst, prefix, key))
        for key in list_keys(lister, bucket, prefix)
    ]
