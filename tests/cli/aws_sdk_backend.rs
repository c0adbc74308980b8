//! `--backend aws-sdk` (and `S3TRANSFER_BACKEND`): the commands run on the aws-sdk-s3
//! backend as they do on rusoto.

use super::{bucket, cli, data, path_str, run_ok, server, stdout};

#[test]
fn cp_up_and_down_ls_and_rm_work_on_the_aws_sdk_backend() {
    let b = bucket("sdk-cli");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let bytes = data(6 * 1024 * 1024 + 17, 9);
    std::fs::write(&src, &bytes).unwrap();
    let dst = format!("s3://{b}/dir/big.bin");
    let sdk = ["--backend", "aws-sdk"];
    let sizes = [
        "--multipart-threshold",
        "5MB",
        "--multipart-chunksize",
        "5MB",
    ];

    let mut up = vec!["cp", "--quiet", path_str(&src), &dst];
    up.extend(sdk);
    up.extend(sizes);
    run_ok(&up);

    let back = dir.path().join("back.bin");
    let mut down = vec!["cp", "--quiet", &dst, path_str(&back)];
    down.extend(sdk);
    down.extend(sizes);
    run_ok(&down);
    assert_eq!(std::fs::read(&back).unwrap(), bytes);

    let listed = stdout(&run_ok(&[
        "ls",
        "--backend",
        "aws-sdk",
        &format!("s3://{b}/dir/"),
    ]));
    assert!(listed.contains("big.bin"), "{listed}");
    let buckets = stdout(&run_ok(&["ls", "--backend", "aws-sdk"]));
    assert!(buckets.contains(&b), "{buckets}");

    // The environment variable picks the backend too.
    let output = cli(server().secret_key())
        .env("S3TRANSFER_BACKEND", "aws-sdk")
        .args(["rm", "--quiet", &dst])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = stdout(&run_ok(&["ls", &format!("s3://{b}/dir/")]));
    assert!(!listed.contains("big.bin"), "{listed}");
}

#[test]
fn an_unknown_backend_is_a_usage_error() {
    let output = cli(server().secret_key())
        .args(["ls", "--backend", "boto"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("aws-sdk"),
        "the choices are named"
    );
}
