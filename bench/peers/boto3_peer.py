"""boto3 + s3transfer's classic TransferManager: what a Python user gets from upload_file,
download_file and upload_fileobj, and what `aws s3 cp` runs underneath.

With no options it uses boto3's default TransferConfig (10 threads, 8 MiB parts, 8 MiB
threshold). --threads/--part-size give the tuned variant; the connection pool is then
widened to match, as boto3's documentation advises (otherwise threads wait for sockets).

Many files go through one TransferManager, all submitted at once, as `aws s3 cp --recursive`
does: a loop of upload_file calls would be one file at a time and unfairly slow.
"""


import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from s3transfer.manager import TransferManager

from common import parser, submit

MIB = 1024 * 1024


def main():
    p = parser(__doc__)
    p.add_argument("--threads", type=int, help="max_concurrency (default: boto3's, 10)")
    p.add_argument("--part-size", type=int, help="multipart chunk size and threshold, MiB")
    args = p.parse_args()

    config_kwargs = {}
    client_config = None
    if args.threads:
        config_kwargs["max_concurrency"] = args.threads
        client_config = Config(max_pool_connections=args.threads)
    if args.part_size:
        config_kwargs["multipart_chunksize"] = args.part_size * MIB
        config_kwargs["multipart_threshold"] = args.part_size * MIB
    client = boto3.session.Session().client(
        "s3", endpoint_url=args.endpoint_url, config=client_config
    )
    # TransferManager directly, not client.upload_file: boto3's wrapper may switch to the CRT
    # client by itself, which ignores endpoint_url (see docs/benchmarks.md).
    with TransferManager(client, TransferConfig(**config_kwargs)) as manager:
        futures = submit(manager, client, args.op, args.src, args.dst)
        for future in futures:
            future.result()


if __name__ == "__main__":
    main()
