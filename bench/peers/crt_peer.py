"""The AWS Common Runtime S3 client (awscrt) through s3transfer's `crt` module, with its
defaults (8 MiB parts, throughput target chosen by the CRT, one event-loop thread per core).

Built by hand because boto3's own switch (TransferConfig(preferred_transfer_client='crt'))
ignores endpoint_url and would send every request to AWS over TLS. Here the botocore
serializer carries the local endpoint and path-style addressing, and the CRT client is told
to speak plain HTTP (use_ssl=False) unless the endpoint is https, where it trusts the CA bundle
of AWS_CA_BUNDLE (the driver's --tls); it connects to the host:port of each serialized request.

Files are passed by name, so the CRT reads and writes them itself (its fast path); stdin is
passed as a file object of unknown length.
"""


import os

import botocore.session
from botocore.config import Config
from s3transfer.crt import (
    BotocoreCRTCredentialsWrapper,
    BotocoreCRTRequestSerializer,
    CRTTransferManager,
    create_s3_crt_client,
)

from common import parser, submit


def main():
    args = parser(__doc__).parse_args()
    session = botocore.session.Session()
    region = session.get_config_variable("region") or "us-east-1"
    client_kwargs = {
        "endpoint_url": args.endpoint_url,
        "region_name": region,
        "config": Config(s3={"addressing_style": "path"}),
    }
    serializer = BotocoreCRTRequestSerializer(session, dict(client_kwargs))
    credentials = BotocoreCRTCredentialsWrapper(session.get_credentials())
    tls = args.endpoint_url.startswith("https:")
    crt_client = create_s3_crt_client(
        region, credentials.to_crt_credentials_provider(), use_ssl=tls,
        verify=os.environ.get("AWS_CA_BUNDLE") if tls else None,
    )
    # A plain botocore client only to list the keys of a prefix (the CRT manager cannot list).
    lister = session.create_client("s3", **client_kwargs)
    with CRTTransferManager(crt_client, serializer) as manager:
        futures = submit(manager, lister, args.op, args.src, args.dst)
        for future in futures:
            future.result()


if __name__ == "__main__":
    main()
