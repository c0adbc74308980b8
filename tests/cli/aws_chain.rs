//! The SDK credential and region chain end to end, in the CLI's own process (each run is
//! a child process, so its environment is its own): web identity and assume-role
//! through an STS emulator, IMDSv2 through an instance-metadata emulator, a region that
//! only a config file names. Every run clears the environment and points STS and IMDS
//! at the emulators or disables IMDS: nothing reaches 169.254.169.254 or AWS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::http_recorder::{Answer, Emulator, Seen};
use super::{MIB, bucket, data, path_str, server};

const SESSION_TOKEN: &str = "session-token-from-the-emulator";
const GOOD_WEB_TOKEN: &str = "good-web-identity-token";

/// An STS emulator: AssumeRoleWithWebIdentity (only for [`GOOD_WEB_TOKEN`]) and
/// AssumeRole, both issuing the local store's keys with a session token (s3s-fs checks
/// the signature, not the token, so the issued keys must be the store's own).
fn sts() -> Emulator {
    Emulator::start(sts_answer)
}

/// The STS emulator's answer to one request.
fn sts_answer(req: &Seen) -> Answer {
    {
        let form = req.body.clone();
        let action = if form.contains("Action=AssumeRoleWithWebIdentity") {
            "AssumeRoleWithWebIdentity"
        } else if form.contains("Action=AssumeRole") {
            "AssumeRole"
        } else {
            return (400, vec![], sts_error("InvalidAction", "unknown action"));
        };
        if action == "AssumeRoleWithWebIdentity"
            && !form.contains(&format!("WebIdentityToken={GOOD_WEB_TOKEN}"))
        {
            return (403, vec![], sts_error("AccessDenied", "not a valid token"));
        }
        let s = server();
        let body = format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <{action}Result><Credentials><AccessKeyId>{}</AccessKeyId>\
             <SecretAccessKey>{}</SecretAccessKey><SessionToken>{SESSION_TOKEN}</SessionToken>\
             <Expiration>{}</Expiration></Credentials>\
             <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/test/s</Arn>\
             <AssumedRoleId>AROATEST:s</AssumedRoleId></AssumedRoleUser></{action}Result>\
             <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>",
            s.access_key(),
            s.secret_key(),
            rfc3339(SystemTime::now() + Duration::from_secs(3600)),
        );
        (200, vec![("Content-Type", "text/xml".into())], body)
    }
}

fn sts_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    )
}

const IMDS_TOKEN: &str = "imds-session-token";

/// An IMDSv2 emulator: a token from `PUT /latest/api/token` (TTL header required),
/// every GET without it refused with 401, and role credentials that expire in two
/// minutes, inside the backend's refresh margin: each signing fetches them again.
fn imds() -> Emulator {
    Emulator::start(|req| {
        if req.method == "PUT" && req.target == "/latest/api/token" {
            return match req.headers.get("x-aws-ec2-metadata-token-ttl-seconds") {
                Some(ttl) => (
                    200,
                    vec![("x-aws-ec2-metadata-token-ttl-seconds", ttl.clone())],
                    IMDS_TOKEN.to_owned(),
                ),
                None => (400, vec![], String::new()),
            };
        }
        if req
            .headers
            .get("x-aws-ec2-metadata-token")
            .map(String::as_str)
            != Some(IMDS_TOKEN)
        {
            return (401, vec![], String::new());
        }
        let s = server();
        match req.target.as_str() {
            "/latest/meta-data/iam/security-credentials/" => (200, vec![], "test-role".into()),
            "/latest/meta-data/iam/security-credentials/test-role" => (
                200,
                vec![],
                format!(
                    r#"{{"Code":"Success","LastUpdated":"{}","Type":"AWS-HMAC","AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{SESSION_TOKEN}","Expiration":"{}"}}"#,
                    rfc3339(SystemTime::now()),
                    s.access_key(),
                    s.secret_key(),
                    rfc3339(SystemTime::now() + Duration::from_secs(120)),
                ),
            ),
            _ => (404, vec![], String::new()),
        }
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, H. Hinnant's algorithm).
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The CLI with an empty environment but for `env`: no keys, no profile, no HOME; the
/// config and credentials files are `dir`'s (absent unless a test writes them), IMDS
/// disabled unless `env` points it at an emulator; the store is the local one unless
/// `env` names another `AWS_ENDPOINT_URL`.
fn bare_cli(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3transfer"));
    command
        .env_clear()
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", server().endpoint());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Upload `bytes` to `s3://b/key` and download it again with `env`, checking the bytes.
fn round_trip(dir: &Path, env: &[(&str, String)], b: &str, bytes: &[u8], extra: &[&str]) {
    let src = dir.join("src.bin");
    std::fs::write(&src, bytes).unwrap();
    let dst = format!("s3://{b}/obj.bin");
    let up = bare_cli(dir, env)
        .args(["cp", "-q", path_str(&src), &dst])
        .args(extra)
        .output()
        .unwrap();
    assert!(up.status.success(), "{up:?}");
    let back = dir.join("back.bin");
    let down = bare_cli(dir, env)
        .args(["cp", "-q", &dst, path_str(&back)])
        .output()
        .unwrap();
    assert!(down.status.success(), "{down:?}");
    assert_eq!(std::fs::read(&back).unwrap(), bytes);
}

fn web_identity_env(dir: &Path, sts: &Emulator, token: &str) -> Vec<(&'static str, String)> {
    let token_file = dir.join("web-token");
    std::fs::write(&token_file, token).unwrap();
    vec![
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            path_str(&token_file).to_owned(),
        ),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/test".to_owned(),
        ),
        ("AWS_ROLE_SESSION_NAME", "s3transfer-test".to_owned()),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]
}

#[test]
fn web_identity_credentials_from_sts_upload_and_download() {
    let sts = sts();
    let dir = tempfile::tempdir().unwrap();
    let env = web_identity_env(dir.path(), &sts, GOOD_WEB_TOKEN);
    round_trip(dir.path(), &env, &bucket("webid"), &data(200_000, 31), &[]);
    let calls = sts.seen();
    assert!(
        calls
            .iter()
            .any(|c| c.body.contains("AssumeRoleWithWebIdentity")),
        "{calls:?}"
    );
}

#[test]
fn a_refused_web_identity_token_fails_the_transfer_as_access_denied() {
    let sts = sts();
    let dir = tempfile::tempdir().unwrap();
    let env = web_identity_env(dir.path(), &sts, "forged-token");
    let src = dir.path().join("src.bin");
    std::fs::write(&src, b"x").unwrap();
    let b = bucket("badwebid");
    let out = bare_cli(dir.path(), &env)
        .args(["cp", "-q", path_str(&src), &format!("s3://{b}/k")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(!sts.seen().is_empty());
}

#[test]
fn profile_with_role_arn_and_source_profile_assumes_the_role_through_sts() {
    let sts = sts();
    let dir = tempfile::tempdir().unwrap();
    // The source profile's keys are not the store's: only the assumed role's work.
    std::fs::write(
        dir.path().join("credentials"),
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config"),
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\n\
         source_profile = base\nregion = us-east-1\n",
    )
    .unwrap();
    let env = vec![
        ("AWS_PROFILE", "dev".to_owned()),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
    ];
    round_trip(dir.path(), &env, &bucket("assume"), &data(100_000, 32), &[]);
    let calls = sts.seen();
    let assume = calls
        .iter()
        .find(|c| c.body.contains("Action=AssumeRole&") || c.body.ends_with("Action=AssumeRole"))
        .unwrap_or_else(|| panic!("no AssumeRole: {calls:?}"));
    // Signed with the source profile's key.
    assert!(
        assume.headers["authorization"].contains("Credential=AKIDBASE/"),
        "{assume:?}"
    );
}

#[test]
fn imds_v2_credentials_that_expire_are_fetched_again_during_a_transfer() {
    let imds = imds();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("AWS_EC2_METADATA_DISABLED", "false".to_owned()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let sizes = [
        "--multipart-threshold",
        "5MB",
        "--multipart-chunksize",
        "5MB",
        "--max-concurrency",
        "1",
    ];
    // Create, three parts and Complete: five signed requests in one process.
    round_trip(
        dir.path(),
        &env,
        &bucket("imds"),
        &data(12 * MIB, 33),
        &sizes,
    );
    let seen = imds.seen();
    let fetches = seen
        .iter()
        .filter(|r| r.method == "GET" && r.target.ends_with("/test-role"))
        .count();
    assert!(
        fetches >= 3,
        "credentials fetched only {fetches} times: {seen:?}"
    );
    assert!(
        seen.iter().any(|r| r.method == "PUT"),
        "no IMDSv2 token: {seen:?}"
    );
    let tokenless = seen
        .iter()
        .filter(|r| r.method == "GET" && !r.headers.contains_key("x-aws-ec2-metadata-token"))
        .count();
    assert_eq!(tokenless, 0, "IMDSv1 requests: {seen:?}");
}

/// Instance metadata never goes through a proxy, even one every other host would use:
/// here the metadata endpoint is named `localhost` (not in `NO_PROXY`), the proxy is a
/// recorder that would break any request it got, and the store is exempt by `NO_PROXY`.
#[test]
fn instance_metadata_requests_never_go_through_a_proxy() {
    for backend in ["rusoto", "aws-sdk"] {
        let imds = imds();
        let proxy = Emulator::start(|_| (502, vec![], "no".to_owned()));
        let dir = tempfile::tempdir().unwrap();
        let env = vec![
            ("AWS_EC2_METADATA_DISABLED", "false".to_owned()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://localhost:{}", imds.port),
            ),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("http_proxy", proxy.url()),
            ("NO_PROXY", "127.0.0.1".to_owned()),
            ("S3TRANSFER_BACKEND", backend.to_owned()),
        ];
        round_trip(
            dir.path(),
            &env,
            &bucket("imds-no-proxy"),
            &data(1000, 35),
            &[],
        );
        assert!(
            imds.seen().iter().any(|r| r.target.ends_with("/test-role")),
            "{backend}: credentials not from the metadata service"
        );
        assert!(
            proxy.seen().is_empty(),
            "{backend}: through the proxy: {:?}",
            proxy.seen()
        );
    }
}

#[test]
fn imds_emulator_refuses_gets_without_a_token() {
    let imds = imds();
    let mut stream = TcpStream::connect(("127.0.0.1", imds.port)).unwrap();
    stream
        .write_all(b"GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// A store that records requests and answers every listing with an empty page.
fn recording_store() -> Emulator {
    Emulator::start(|_| {
        (
            200,
            vec![("Content-Type", "application/xml".into())],
            "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>"
                .into(),
        )
    })
}

#[test]
fn region_only_in_the_config_file_signs_the_requests_and_custom_endpoints_are_path_style() {
    let store = recording_store();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config"),
        "[default]\nregion = ap-southeast-7\n",
    )
    .unwrap();
    let s = server();
    let env = vec![
        ("AWS_ACCESS_KEY_ID", s.access_key().to_owned()),
        ("AWS_SECRET_ACCESS_KEY", s.secret_key().to_owned()),
    ];
    let out = bare_cli(dir.path(), &env)
        .args([
            "--endpoint-url",
            &store.url(),
            "ls",
            "s3://some-bucket/dir/",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = store.seen();
    let list = &seen[0];
    assert!(
        list.headers["authorization"].contains("/ap-southeast-7/s3/aws4_request"),
        "{list:?}"
    );
    assert!(list.target.starts_with("/some-bucket?"), "{list:?}");
    assert!(list.target.contains("list-type=2"), "{list:?}");
    assert_eq!(list.headers["host"], format!("127.0.0.1:{}", store.port));
}

#[test]
fn no_sign_request_sends_no_authorization_and_looks_up_no_credentials() {
    let store = recording_store();
    let dir = tempfile::tempdir().unwrap();
    let out = bare_cli(dir.path(), &[("AWS_REGION", "us-east-1".to_owned())])
        .args([
            "--endpoint-url",
            &store.url(),
            "--no-sign-request",
            "ls",
            "s3://open-data/",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = store.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "{seen:?}"
    );
}

#[test]
fn http_proxy_from_the_environment_carries_the_requests() {
    let proxy = recording_store();
    let dir = tempfile::tempdir().unwrap();
    let s = server();
    let env = [
        ("AWS_ACCESS_KEY_ID", s.access_key().to_owned()),
        ("AWS_SECRET_ACCESS_KEY", s.secret_key().to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        // Only the proxy can reach this name.
        ("AWS_ENDPOINT_URL", "http://store.invalid:9000".to_owned()),
        ("http_proxy", proxy.url()),
        ("NO_PROXY", "example.com".to_owned()),
    ];
    let out = bare_cli(dir.path(), &env)
        .args(["ls", "s3://via-proxy/"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = proxy.seen();
    assert!(
        seen[0]
            .target
            .starts_with("http://store.invalid:9000/via-proxy?"),
        "{seen:?}"
    );
}

/// Behind a proxy, the credential chain's own calls go through it too: here STS is a
/// name only the proxy can reach, and so is the store; for each backend.
#[test]
fn the_credential_chains_sts_call_goes_through_the_proxy_as_the_s3_requests_do() {
    for backend in ["rusoto", "aws-sdk"] {
        // A forward proxy that is also both hosts behind it: STS's answers for
        // sts.invalid, an empty listing for the store.
        let proxy = Emulator::start(|req| {
            if req.target.starts_with("http://sts.invalid:9000") {
                sts_answer(req)
            } else {
                (
                    200,
                    vec![("Content-Type", "application/xml".into())],
                    "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>\
                     </ListBucketResult>"
                        .into(),
                )
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("web-token");
        std::fs::write(&token_file, GOOD_WEB_TOKEN).unwrap();
        let env = [
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                path_str(&token_file).to_owned(),
            ),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/test".to_owned(),
            ),
            ("AWS_ROLE_SESSION_NAME", "s3transfer-test".to_owned()),
            ("AWS_ENDPOINT_URL_STS", "http://sts.invalid:9000".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", "http://store.invalid:9000".to_owned()),
            ("http_proxy", proxy.url()),
            ("S3TRANSFER_BACKEND", backend.to_owned()),
        ];
        let out = bare_cli(dir.path(), &env)
            .args(["ls", "s3://via-proxy/"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{backend}: {out:?}");
        let seen = proxy.seen();
        let sts_call = seen
            .iter()
            .position(|r| r.target.starts_with("http://sts.invalid:9000"))
            .unwrap_or_else(|| panic!("{backend}: no STS call through the proxy: {seen:?}"));
        assert!(
            seen[sts_call].body.contains("AssumeRoleWithWebIdentity"),
            "{backend}: {seen:?}"
        );
        let listing = seen
            .iter()
            .find(|r| r.target.starts_with("http://store.invalid:9000/via-proxy"))
            .unwrap_or_else(|| panic!("{backend}: no listing through the proxy: {seen:?}"));
        // Signed with the keys STS issued, with its session token.
        assert!(
            listing.headers["authorization"].contains(server().access_key()),
            "{backend}: {listing:?}"
        );
        assert_eq!(
            listing.headers["x-amz-security-token"], SESSION_TOKEN,
            "{backend}: {listing:?}"
        );
    }
}

#[test]
fn aws_ec2_metadata_disabled_keeps_the_chain_away_from_instance_metadata() {
    let imds = imds();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let out = bare_cli(dir.path(), &env)
        .args(["ls", "s3://nothing-to-sign-with/"])
        .output()
        .unwrap();
    // No source has credentials: access denied, and the emulator was never asked.
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(imds.seen().is_empty(), "{:?}", imds.seen());
}
