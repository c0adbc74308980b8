//! The `s3transfer` binary (feature `cli`) end to end: the built executable against the
//! in-process S3 server, checking bytes, output and exit codes.

#[path = "cli/aws_chain.rs"]
mod aws_chain;
#[path = "cli/aws_sdk_backend.rs"]
mod aws_sdk_backend;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;
#[path = "common/http_recorder.rs"]
mod http_recorder;
#[path = "cli/resume.rs"]
mod resume;
#[path = "common/s3s_server.rs"]
mod s3s_server;
#[path = "common/seaweed.rs"]
mod seaweed;
#[path = "tree/cli.rs"]
mod tree_cli;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultProxy, Match, Rule};
use s3s_server::LocalS3;
use s3transfer::S3Api;
use s3transfer::checksum::checksum;
use s3transfer::client::HeadObjectRequest;
use s3transfer::{ChecksumAlgorithm, S3ErrorKind};

const MIB: usize = 1024 * 1024;

fn server() -> &'static LocalS3 {
    LocalS3::shared()
}

/// A fresh bucket for one test.
fn bucket(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "cli-{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    server().create_bucket(&name);
    name
}

/// Reproducible incompressible bytes (xorshift64*).
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The binary pointed at the server, credentials in the environment as a user would
/// set them, nothing inherited that could redirect it.
fn cli(secret: &str) -> Command {
    cli_to(&server().endpoint(), secret)
}

/// [`cli`] pointed at `endpoint` (a proxy in front of the server).
fn cli_to(endpoint: &str, secret: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3transfer"));
    command
        .env("AWS_ACCESS_KEY_ID", server().access_key())
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        // The chain must never ask a real instance metadata service.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REQUEST_CHECKSUM_CALCULATION")
        .env_remove("AWS_RESPONSE_CHECKSUM_VALIDATION")
        .env_remove("S3TRANSFER_RESUMABLE")
        .env_remove("S3TRANSFER_BACKEND")
        // Upload journals go to a directory of this test process, not the user's.
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join(format!("s3transfer-cli-state-{}", std::process::id())),
        )
        .arg("--endpoint-url")
        .arg(endpoint);
    command
}

/// The binary pointed at the shared SeaweedFS, which (unlike s3s-fs) lists open
/// multipart uploads.
fn cli_seaweed() -> Command {
    let weed = seaweed::SeaweedFs::shared();
    let mut command = cli_to(&weed.endpoint(), weed.secret_key());
    command
        .env("AWS_ACCESS_KEY_ID", weed.access_key())
        .env("AWS_REGION", weed.region());
    command
}

/// Run with `args`, feeding `stdin`, and return the output.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = cli(server().secret_key())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn s3transfer");
    let mut input = child.stdin.take().expect("stdin");
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&bytes));
    let output = child.wait_with_output().expect("wait for s3transfer");
    writer.join().expect("writer").expect("write stdin");
    output
}

fn run(args: &[&str]) -> Output {
    run_with_stdin(args, &[])
}

fn run_ok(args: &[&str]) -> Output {
    let output = run(args);
    assert_ok(&output, args);
    output
}

fn assert_ok(output: &Output, args: &[&str]) {
    assert!(
        output.status.success(),
        "s3transfer {args:?} failed ({:?}): {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {:?}",
            stdout(output)
        )
    })
}

/// The last line of stdout as JSON: a tree's `--json` summary, after its object lines.
fn last_json(output: &Output) -> serde_json::Value {
    let text = stdout(output);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

fn exists(bucket: &str, key: &str) -> bool {
    let mut head = HeadObjectRequest::default();
    head.bucket = bucket.into();
    head.key = key.into();
    match server().client().head_object(&head) {
        Ok(_) => true,
        Err(e) if e.kind() == S3ErrorKind::NotFound => false,
        Err(e) => panic!("head {bucket}/{key}: {e}"),
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

#[test]
fn upload_and_download_a_small_file() {
    let b = bucket("single");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("small.bin");
    let bytes = data(300_000, 1);
    std::fs::write(&src, &bytes).unwrap();
    let dst = format!("s3://{b}/dir/small.bin");

    let up = run_ok(&["cp", path_str(&src), &dst]);
    // On stdout once done, as the AWS CLI prints it (and a tree's lines are).
    assert_eq!(stdout(&up), format!("upload: {} to {dst}\n", src.display()));
    assert!(!String::from_utf8_lossy(&up.stderr).contains("upload: "));

    let back = dir.path().join("back.bin");
    run_ok(&["cp", "--quiet", &dst, path_str(&back)]);
    assert_eq!(std::fs::read(&back).unwrap(), bytes);

    // Into a directory: the object's own name.
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    run_ok(&["cp", "-q", &dst, path_str(&into)]);
    assert_eq!(std::fs::read(into.join("small.bin")).unwrap(), bytes);
}

/// What the `--json` summary of a download of `src` says was validated, with `extra`
/// arguments and `env` set.
fn validated_on_download(src: &str, extra: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("back.bin");
    let mut command = cli(server().secret_key());
    command.envs(env.iter().copied());
    let output = command
        .args(["cp", "--json"])
        .args(extra)
        .args([src, path_str(&back)])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    json(&output)["validated"].clone()
}

#[test]
fn checksum_switches_decide_what_is_sent_and_checked() {
    let b = bucket("switches");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("small.bin");
    std::fs::write(&src, data(300_000, 3)).unwrap();
    let whole = serde_json::json!({"whole_object": 1, "per_part": 0, "etag": 0, "nothing": 0});
    let nothing = serde_json::json!({"whole_object": 0, "per_part": 0, "etag": 0, "nothing": 1});
    let etag = serde_json::json!({"whole_object": 0, "per_part": 0, "etag": 1, "nothing": 0});

    // By default the upload sends a CRC32 that s3s-fs keeps, and the download checks it.
    let checked = format!("s3://{b}/checked.bin");
    run_ok(&["cp", "-q", path_str(&src), &checked]);
    assert_eq!(validated_on_download(&checked, &[], &[]), whole);
    // Validation switched off, by flag and by botocore's environment variable.
    let off = ["--response-checksum-validation", "when_required"];
    assert_eq!(validated_on_download(&checked, &off, &[]), nothing);
    let env = [("AWS_RESPONSE_CHECKSUM_VALIDATION", "WHEN_REQUIRED")];
    assert_eq!(validated_on_download(&checked, &[], &env), nothing);

    // An upload that sends no checksum leaves the store nothing to return but its
    // ETag, the MD5 of the bytes, which the download (one GET) checks.
    let bare = format!("s3://{b}/bare.bin");
    let when_required = ["--request-checksum-calculation", "when_required"];
    run_ok(&[&["cp", "-q"], &when_required[..], &[path_str(&src), &bare]].concat());
    assert_eq!(validated_on_download(&bare, &[], &[]), etag);
    // ... unless the command line names an algorithm, which is then sent anyway.
    let named = format!("s3://{b}/named.bin");
    let crc32 = ["--checksum-algorithm", "CRC32"];
    run_ok(
        &[
            &["cp", "-q"],
            &when_required[..],
            &crc32[..],
            &[path_str(&src), &named],
        ]
        .concat(),
    );
    assert_eq!(validated_on_download(&named, &[], &[]), whole);

    let bad = run(&["--request-checksum-calculation", "sometimes", "ls"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn multipart_upload_and_download_with_json_summary() {
    let b = bucket("multipart");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let bytes = data(12 * MIB + 123, 2);
    std::fs::write(&src, &bytes).unwrap();
    let dst = format!("s3://{b}/big.bin");
    let sizes = [
        "--multipart-threshold",
        "5MB",
        "--multipart-chunksize",
        "5MB",
    ];

    let mut args = vec!["cp", "--json", path_str(&src), &dst];
    args.extend(sizes);
    let up = run_ok(&args);
    let summary = json(&up);
    assert_eq!(summary["command"], "cp");
    assert_eq!(summary["files"], 1);
    assert_eq!(summary["bytes"], bytes.len() as u64);
    assert_eq!(summary["parts"], 3, "5 + 5 + 2 MiB: {summary}");
    assert_eq!(summary["retries"], 0, "nothing failed: {summary}");
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["exit_code"], 0);
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);

    let back = dir.path().join("back.bin");
    let mut args = vec![
        "cp",
        "--json",
        "--max-concurrency",
        "4",
        &dst,
        path_str(&back),
    ];
    args.extend(sizes);
    let down = run_ok(&args);
    assert_eq!(json(&down)["bytes"], bytes.len() as u64);
    assert!(
        std::fs::read(&back).unwrap() == bytes,
        "downloaded bytes differ"
    );
}

#[test]
fn stdin_to_s3_and_s3_to_stdout() {
    let b = bucket("stream");
    let bytes = data(9 * MIB + 7, 3);
    let dst = format!("s3://{b}/from-stdin.bin");
    let up = run_with_stdin(&["cp", "-q", "-", &dst], &bytes);
    assert_ok(&up, &["cp", "-", &dst]);

    let down = run_ok(&["cp", "-q", &dst, "-"]);
    assert!(down.stdout == bytes, "stdout carries exactly the object");

    // With --json and data on stdout, the summary moves to stderr.
    let down = run_ok(&["cp", "--json", &dst, "-"]);
    assert!(down.stdout == bytes);
    let summary: serde_json::Value = serde_json::from_slice(&down.stderr).unwrap();
    assert_eq!(summary["bytes"], bytes.len() as u64);
}

/// Every file under `root`, relative path -> bytes.
fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Default::default();
    walk(root, root, &mut out);
    out
}

#[test]
fn recursive_directory_up_and_back() {
    let b = bucket("recursive");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (i, rel) in [
        "a.txt",
        "sub/b.bin",
        "sub/deeper/c.bin",
        "empty.txt",
        "z/big.bin",
    ]
    .iter()
    .enumerate()
    {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let len = match *rel {
            "empty.txt" => 0,
            "z/big.bin" => 9 * MIB,
            _ => 1000 * (i + 1),
        };
        std::fs::write(&path, data(len, 10 + i as u64)).unwrap();
    }
    let prefix = format!("s3://{b}/backup");
    let up = run_ok(&["cp", "--recursive", "--json", path_str(&src), &prefix]);
    // One line per object, then the summary.
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&up).lines().last().unwrap()).unwrap();
    assert_eq!(summary["files"], 5);
    assert_eq!(summary["errors"], 0);

    let listed = stdout(&run_ok(&["ls", "--recursive", &format!("s3://{b}/")]));
    for key in [
        "backup/a.txt",
        "backup/sub/deeper/c.bin",
        "backup/z/big.bin",
    ] {
        assert!(listed.contains(key), "{key} missing from {listed}");
    }
    // One level: the sub-"directories" are prefixes.
    let level = stdout(&run_ok(&["ls", &format!("s3://{b}/backup/")]));
    assert!(level.contains("PRE sub/"), "{level}");

    let back = dir.path().join("back");
    run_ok(&["cp", "-r", "-q", &prefix, path_str(&back)]);
    assert_eq!(tree(&back), tree(&src), "the tree came back byte-identical");
}

#[test]
fn s3_to_s3_copy() {
    let b = bucket("copy");
    let bytes = data(2 * MIB, 4);
    let src = format!("s3://{b}/orig.bin");
    assert_ok(&run_with_stdin(&["cp", "-q", "-", &src], &bytes), &[]);
    let copy = format!("s3://{b}/copies/");
    run_ok(&["cp", "-q", &src, &copy]);
    let down = run_ok(&["cp", "-q", &format!("s3://{b}/copies/orig.bin"), "-"]);
    assert!(down.stdout == bytes);
}

#[test]
fn rm_and_rm_recursive_leave_nothing() {
    let b = bucket("rm");
    for key in ["one", "p/two", "p/q/three"] {
        assert_ok(
            &run_with_stdin(&["cp", "-q", "-", &format!("s3://{b}/{key}")], b"x"),
            &[],
        );
    }
    let rm = run_ok(&["rm", "--json", &format!("s3://{b}/one")]);
    assert_eq!(json(&rm)["files"], 1);
    assert!(!exists(&b, "one"));
    let rm = run_ok(&["rm", "--recursive", "--json", &format!("s3://{b}/p")]);
    // One line per object, then the summary, as for every tree.
    assert_eq!(last_json(&rm)["files"], 2);
    let listed = run_ok(&["ls", "--recursive", &format!("s3://{b}")]);
    assert_eq!(stdout(&listed), "", "the bucket is empty");
}

/// ListObjectsV2 requests among what `proxy` forwarded, and whether any continued a
/// listing (named a continuation token).
fn listings(proxy: &FaultProxy) -> (usize, bool) {
    let lists: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "GET" && e.target.contains("list-type=2"))
        .collect();
    let continued = lists
        .iter()
        .any(|e| e.target.contains("continuation-token="));
    (lists.len(), continued)
}

/// On SeaweedFS, not s3s-fs: `rm --recursive` deletes while it lists, as S3 allows and
/// the AWS CLI's does, and s3s-fs reads each file's metadata after reading the
/// directory, so a key deleted in between fails its whole ListObjectsV2 with a 500.
#[test]
fn ls_and_rm_recursive_page_through_more_than_1000_keys() {
    const KEYS: usize = 1_003;
    let weed = seaweed::SeaweedFs::shared();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let b = format!(
        "cli-many-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    weed.create_bucket(&b);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("many/{i:04}")).collect();
    std::thread::scope(|scope| {
        for chunk in keys.chunks(256) {
            let b = &b;
            scope.spawn(move || {
                for key in chunk {
                    weed.put_object(b, key, b"x");
                }
            });
        }
    });
    weed.put_object(&b, "other", b"y");
    // Through a proxy that only counts: the listing must take more than one page.
    let proxy = FaultProxy::start(&weed.endpoint());
    let through_proxy = || {
        let mut command = cli_to(&proxy.endpoint(), weed.secret_key());
        command
            .env("AWS_ACCESS_KEY_ID", weed.access_key())
            .env("AWS_REGION", weed.region());
        command
    };
    let ls = |prefix: &str| {
        let out = through_proxy()
            .args(["ls", "--recursive", &format!("s3://{b}/{prefix}")])
            .output()
            .unwrap();
        assert_ok(&out, &["ls"]);
        stdout(&out)
            .lines()
            .map(|line| line.rsplit(' ').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ls("many/"), keys, "every key, once, in order");
    let (pages, continued) = listings(&proxy);
    assert!(pages >= 2 && continued, "{pages} listing requests");

    let rm = through_proxy()
        .args(["rm", "--recursive", "--json", &format!("s3://{b}/many/")])
        .output()
        .unwrap();
    assert_ok(&rm, &["rm"]);
    assert_eq!(last_json(&rm)["files"], KEYS);
    let (pages_after, continued) = listings(&proxy);
    assert!(
        pages_after >= pages + 2 && continued,
        "{pages_after} listing requests"
    );
    assert_eq!(ls(""), ["other"], "only the key outside the prefix is left");
}

#[test]
fn missing_key_exits_3_and_creates_no_file() {
    let b = bucket("missing");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("never.bin");
    let output = run(&["cp", &format!("s3://{b}/no-such-key"), path_str(&target)]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A missing local source is "not found" too.
    let output = run(&["cp", path_str(&target), &format!("s3://{b}/k")]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    // And so is a missing bucket for ls.
    let output = run(&["ls", "s3://no-such-bucket-cli/"]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["cp", "only-one"][..],
        &["cp", "a", "b"],
        &["frobnicate"],
        &["cp", "--multipart-chunksize", "8 parsecs", "-", "s3://b/k"],
        &["rm", "local-file"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
}

#[test]
fn wrong_secret_exits_4() {
    let b = bucket("denied");
    let output = cli("not-the-secret")
        .args(["cp", "-", &format!("s3://{b}/k")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    let output = cli("not-the-secret")
        .args(["ls", &format!("s3://{b}")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
}

#[test]
fn ctrl_c_cancels_a_stream_upload_exits_7_and_leaves_no_object() {
    // Against SeaweedFS, whose upload list shows that the multipart upload was started
    // and then aborted (s3s-fs cannot list uploads).
    let weed = seaweed::SeaweedFs::shared();
    let b = format!("cli-ctrlc-{}", std::process::id());
    weed.create_bucket(&b);
    let mut child = cli_seaweed()
        .args(["cp", "-", &format!("s3://{b}/endless.bin")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Zeros until the child stops reading (EPIPE once it has exited), at most 4 GiB.
    let written = Arc::new(AtomicU64::new(0));
    let mut input = child.stdin.take().unwrap();
    let counter = written.clone();
    let writer = std::thread::spawn(move || {
        let chunk = vec![0u8; MIB];
        while counter.load(Ordering::Relaxed) < 4 << 30 {
            if input.write_all(&chunk).is_err() {
                break;
            }
            counter.fetch_add(MIB as u64, Ordering::Relaxed);
        }
    });
    // Until the store lists the multipart upload as open.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open = weed.list_multipart_uploads(&b);
        if open.iter().any(|(key, _)| key == "endless.bin") {
            break;
        }
        assert!(Instant::now() < deadline, "no multipart upload was started");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = signal_and_wait(&mut child, "INT");
    writer.join().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(7), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        weed.list_multipart_uploads(&b),
        [],
        "the cancelled upload was aborted"
    );
    let listed = cli_seaweed()
        .args(["ls", "--recursive", &format!("s3://{b}")])
        .output()
        .unwrap();
    assert_ok(&listed, &["ls"]);
    assert_eq!(stdout(&listed), "", "the cancelled upload left no object");
}

#[test]
fn profile_from_the_shared_credentials_file_wins_over_the_environment() {
    let b = bucket("profile");
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n\
             [cli-test]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server().access_key(),
            server().secret_key()
        ),
    )
    .unwrap();
    // The environment's secret is wrong: only the profile's keys can succeed.
    let output = cli("not-the-secret")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .args(["--profile", "cli-test", "ls", &format!("s3://{b}")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn unreachable_endpoint_exhausts_retries_with_exit_6() {
    // A port nothing listens on: every attempt is refused, a retryable failure.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_s3transfer"))
        .env("AWS_ACCESS_KEY_ID", server().access_key())
        .env("AWS_SECRET_ACCESS_KEY", server().secret_key())
        .env_remove("AWS_PROFILE")
        .args(["--attempts", "2", "--endpoint-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["cp", "-", "s3://bucket/key"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{output:?}");
}

/// Send `signal` (a `kill` name: INT, TERM) to `child` and wait for it to exit.
fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "s3transfer did not stop after SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_cancels_a_download_exits_7_and_leaves_no_file() {
    signal_cancels_a_download("INT");
}

#[test]
fn sigterm_cancels_a_download_exits_7_and_leaves_no_file() {
    signal_cancels_a_download("TERM");
}

fn signal_cancels_a_download(signal: &str) {
    let b = bucket(&format!("sig{}-down", signal.to_lowercase()));
    let src = format!("s3://{b}/big.bin");
    assert_ok(
        &run_with_stdin(&["cp", "-q", "-", &src], &data(16 * MIB, 5)),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big.bin");
    // 2 MiB/s: the download would take 8 s, far longer than it takes to interrupt it.
    let mut child = cli(server().secret_key())
        .args(["--max-bandwidth", "2MB/s", "cp", &src, path_str(&target)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress: the temporary file beside the target exists, so bytes are landing.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(dir.path()).unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "the download never started");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = signal_and_wait(&mut child, signal);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(7), "stderr: {stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "partial files left: {left:?}");
}

#[test]
fn checksum_algorithm_option_is_sent_and_the_summary_says_what_was_validated() {
    let b = bucket("checksum");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("small.bin");
    let bytes = data(100_000, 31);
    std::fs::write(&src, &bytes).unwrap();
    let dst = format!("s3://{b}/small.bin");
    let up = run_ok(&[
        "cp",
        "--json",
        "--checksum-algorithm",
        "sha256",
        path_str(&src),
        &dst,
    ]);
    assert_eq!(
        json(&up)["validated"],
        serde_json::json!({"whole_object": 1, "per_part": 0, "etag": 0, "nothing": 0})
    );
    let mut head = HeadObjectRequest::default();
    head.bucket = b.clone();
    head.key = "small.bin".into();
    head.checksum_mode = true;
    let stored = server().client().head_object(&head).unwrap().checksums;
    assert_eq!(
        stored.sha256,
        Some(checksum(ChecksumAlgorithm::Sha256, &bytes).to_base64())
    );

    let back = dir.path().join("back.bin");
    let down = run_ok(&["cp", "--json", &dst, path_str(&back)]);
    assert_eq!(json(&down)["validated"]["whole_object"], 1);
    assert!(std::fs::read(&back).unwrap() == bytes);

    let bad = run(&["cp", "--checksum-algorithm", "MD5", path_str(&src), &dst]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_download_corrupted_in_flight_exits_5_and_leaves_no_file() {
    let b = bucket("corrupt");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("obj.bin");
    std::fs::write(&src, data(200_000, 32)).unwrap();
    let url = format!("s3://{b}/obj.bin");
    run_ok(&["cp", path_str(&src), &url]);

    let proxy = FaultProxy::start(&server().endpoint());
    let rule = proxy.add(Rule::new(
        Match::get_object(),
        Fault::CorruptResponseBody(4242),
    ));
    let dest = dir.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let target = dest.join("obj.bin");
    let output = cli_to(&proxy.endpoint(), server().secret_key())
        .args(["cp", "--json", &url, path_str(&target)])
        .output()
        .expect("run s3transfer");
    assert_eq!(output.status.code(), Some(5), "{output:?}");
    assert_eq!(json(&output)["exit_code"], 5);
    assert_eq!(proxy.fired(rule), 1);
    let left: Vec<_> = std::fs::read_dir(&dest).unwrap().collect();
    assert!(left.is_empty(), "files left: {left:?}");
}

#[test]
fn debug_output_tells_what_happened_and_never_a_credential() {
    let b = bucket("debug");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("obj.bin");
    std::fs::write(&src, data(200_000, 33)).unwrap();
    let url = format!("s3://{b}/obj.bin");
    // One throttled PutObject and one body cut short on the way back, so the output
    // has a retry and a resumed body to tell about.
    let proxy = FaultProxy::start(&server().endpoint());
    let throttled = proxy.add(Rule::new(Match::put_object(), Fault::SlowDown).times(1));
    let cut = proxy.add(Rule::new(Match::get_object(), Fault::ShortBody(50_000)).times(1));
    let secret = server().secret_key();
    let mut outputs = Vec::new();
    for args in [
        vec!["--debug", "cp", path_str(&src), url.as_str()],
        vec![
            "--debug",
            "cp",
            url.as_str(),
            path_str(&dir.path().join("back.bin")),
        ],
    ] {
        let output = cli_to(&proxy.endpoint(), secret)
            .args(&args)
            .output()
            .expect("run s3transfer");
        assert!(output.status.success(), "{args:?}: {output:?}");
        outputs.push(output);
    }
    assert_eq!(proxy.fired(throttled), 1);
    assert_eq!(proxy.fired(cut), 1);
    let stderr: String = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    for event in [
        "transfer started",
        "request",
        "retrying",
        "resuming a body",
        "transfer finished",
    ] {
        assert!(
            stderr.contains(event),
            "no {event:?} in the debug output:\n{stderr}"
        );
    }
    let everything: String = outputs
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    assert!(
        !everything.contains(secret),
        "the secret key appears in the output"
    );

    // A refused request: the error names the access key's failure, never the secret.
    let wrong = "wrong-secret-0123456789";
    let refused = cli("wrong-secret-0123456789")
        .args([
            "--debug",
            "cp",
            path_str(&src),
            &format!("s3://{b}/refused.bin"),
        ])
        .output()
        .expect("run s3transfer");
    assert!(!refused.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !all.contains(wrong),
        "a rejected secret appears in the output:\n{all}"
    );
}
