//! Resumable `cp` end to end: killed with SIGKILL in the middle of a 64 MiB upload and
//! a 64 MiB download, against SeaweedFS (which lists part ETags, so stored parts can be
//! confirmed) through the fault proxy, which holds one part so the kill lands at a
//! known point and counts what each run sent; Ctrl-C under `--resumable`, `uploads ls`
//! and `uploads abort`; `--no-resume`; and journals that must not be trusted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s3transfer::resume::{ResumeToken, read_journal};

use super::fault_proxy::{Fault, FaultProxy, Match, Rule, RuleId};
use super::{MIB, assert_ok, data, seaweed, signal_and_wait};

const SIZE: usize = 64 * MIB;
/// The CLI's default part size.
const PART: usize = 8 * MIB;
const PARTS: usize = SIZE / PART;
/// The part whose request the proxy holds: parts 1..STALLED-1 are done at the kill.
const STALLED: usize = 6;

/// `s3transfer` against SeaweedFS through `proxy`, with its state directory in `state`
/// and one request at a time (so the parts before the stalled one are all done).
fn cli(proxy: &FaultProxy, state: &Path) -> Command {
    let weed = seaweed::SeaweedFs::shared();
    let mut command = super::cli_to(&proxy.endpoint(), weed.secret_key());
    command
        .env("AWS_ACCESS_KEY_ID", weed.access_key())
        .env("AWS_REGION", weed.region())
        .env("XDG_STATE_HOME", state)
        .args(["--max-concurrency", "1"]);
    command
}

fn bucket(name: &str) -> String {
    let b = format!("cli-resume-{name}-{}", std::process::id());
    seaweed::SeaweedFs::shared().create_bucket(&b);
    b
}

/// Wait until the proxy holds the stalled request (`stall` fired: its rule is spent, so
/// the rerun is not held; every part before it is stored) and `journal()` names a
/// journal holding `parts` parts, then SIGKILL `child`.
fn kill_when_journaled(
    child: &mut Child,
    proxy: &FaultProxy,
    stall: RuleId,
    journal: impl Fn() -> Option<PathBuf>,
    parts: u64,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = journal()
            .and_then(|j| read_journal(&j).ok())
            .map_or(0, |t| t.progress().0);
        if done >= parts && proxy.fired(stall) == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the journal never held {parts} parts"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "s3transfer ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = signal_and_wait(child, "KILL");
    assert!(!status.success());
}

fn upload_journal(state: &Path) -> Option<PathBuf> {
    std::fs::read_dir(state.join("s3transfer/uploads"))
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
}

fn counted(proxy: &FaultProxy, from: usize, what: &Match) -> usize {
    proxy.exchanges()[from..]
        .iter()
        .filter(|e| what.matches_exchange(e))
        .count()
}

#[test]
fn a_killed_upload_is_continued_by_the_rerun_sending_only_the_missing_parts() {
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("up");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let body = data(SIZE, 21);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &body).unwrap();
    let dst = format!("s3://{b}/big.bin");
    let proxy = FaultProxy::start(&weed.endpoint());
    let stall = proxy.add(Rule::new(
        Match::upload_part().target_contains(&format!("partNumber={STALLED}")),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(300),
        },
    ));
    let mut child = cli(&proxy, &state)
        .args(["cp", "-q"])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when_journaled(&mut child, &proxy, stall, || upload_journal(&state), 1);
    let journal = upload_journal(&state).unwrap();
    let token = read_journal(&journal).unwrap();
    let done = token.bytes_done();
    // Journal writes are coalesced, so it may lag the parts stored by a few: those are
    // sent again, nothing else.
    let journaled = token.progress().0 as usize;
    // One request at a time and part STALLED held: parts before it are stored, and the
    // journal lags them by at most two (see resume/journal.rs).
    assert!(
        (STALLED - 3..STALLED).contains(&journaled),
        "{journaled} parts journaled"
    );
    assert_eq!(done, (journaled * PART) as u64);
    assert_eq!(
        weed.list_multipart_uploads(&b).len(),
        1,
        "the killed upload is open"
    );
    let first_run = proxy.exchanges().len();
    let parts_first = counted(&proxy, 0, &Match::upload_part());

    let rerun = cli(&proxy, &state)
        .arg("cp")
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();

    assert_ok(&rerun, &["cp (rerun)"]);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    let expected = format!("resuming: {journaled} of {PARTS} parts already uploaded");
    assert!(stderr.contains(&expected), "{stderr}");
    let parts_rerun = counted(&proxy, first_run, &Match::upload_part());
    let missing = SIZE as u64 - done;
    let sent = (parts_rerun * PART) as u64;
    assert!(sent >= missing, "every part the journal lacks is sent");
    // The bound, against what the store held at the kill (parts before the
    // held one): at most the missing bytes plus two parts.
    let missing_at_store = (SIZE - (STALLED - 1) * PART) as u64;
    assert!(
        sent <= missing_at_store + 2 * PART as u64,
        "the rerun sent {sent} bytes for {missing_at_store} missing at the store"
    );
    eprintln!(
        "upload figures: first run {parts_first} UploadParts (killed), rerun {parts_rerun} \
         UploadParts = {sent} bytes; a fresh run sends {PARTS} = {SIZE} bytes"
    );
    assert_eq!(weed.get_object(&b, "big.bin"), body, "byte-exact");
    assert!(
        !journal.exists(),
        "the completed upload's journal is removed"
    );
    assert_eq!(weed.list_multipart_uploads(&b), [], "nothing left open");
}

#[test]
fn a_killed_download_is_continued_by_the_rerun_fetching_only_the_missing_ranges() {
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("down");
    let body = data(SIZE, 22);
    weed.put_object(&b, "big.bin", &body);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let dest = dir.path().join("big.bin");
    let journal = dir.path().join(".big.bin.s3resume");
    let src = format!("s3://{b}/big.bin");
    let proxy = FaultProxy::start(&weed.endpoint());
    let stall = proxy.add(Rule::new(
        Match::get_object().header_contains("range", &format!("bytes={}-", (STALLED - 1) * PART)),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(300),
        },
    ));
    let mut child = cli(&proxy, &state)
        .args(["cp", "-q", &src])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let j = journal.clone();
    kill_when_journaled(&mut child, &proxy, stall, move || Some(j.clone()), 1);
    let token = read_journal(&journal).unwrap();
    let done = token.bytes_done();
    let journaled = token.progress().0 as usize;
    assert!(
        (STALLED - 3..STALLED).contains(&journaled),
        "{journaled} ranges journaled"
    );
    assert_eq!(done, (journaled * PART) as u64);
    let temp = match &token {
        ResumeToken::Download(t) => t.temp_path.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        temp.exists() && !dest.exists(),
        "the partial file waits beside the destination"
    );
    let first_run = proxy.exchanges().len();
    let gets_first = counted(&proxy, 0, &Match::get_object());

    let rerun = cli(&proxy, &state)
        .args(["cp", &src])
        .arg(&dest)
        .output()
        .unwrap();
    assert_ok(&rerun, &["cp (rerun)"]);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    let expected = format!("resuming: {journaled} of {PARTS} parts already downloaded");
    assert!(stderr.contains(&expected), "{stderr}");
    let gets_rerun = counted(&proxy, first_run, &Match::get_object());
    let missing = SIZE as u64 - done;
    let received = (gets_rerun * PART) as u64;
    assert!(
        received >= missing,
        "every range the journal lacks is fetched"
    );
    let missing_on_disk = (SIZE - (STALLED - 1) * PART) as u64;
    assert!(
        received <= missing_on_disk + 2 * PART as u64,
        "the rerun fetched up to {received} bytes for {missing_on_disk} missing on disk"
    );
    eprintln!(
        "download figures: first run {gets_first} GETs (killed), rerun {gets_rerun} GETs = \
         at most {received} bytes; a fresh run makes {PARTS} GETs = {SIZE} bytes"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body, "byte-exact");
    assert!(
        !journal.exists() && !temp.exists(),
        "no journal or partial file left"
    );
}

#[test]
fn ctrl_c_under_resumable_pauses_and_uploads_ls_and_abort_see_what_it_left() {
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("pause");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let body = data(3 * PART, 23);
    let src = dir.path().join("paused.bin");
    std::fs::write(&src, &body).unwrap();
    let dst = format!("s3://{b}/paused.bin");
    let proxy = FaultProxy::start(&weed.endpoint());
    // Part 2's first attempt is held, then dropped: the Ctrl-C lands while it is held,
    // and the pause waits for the part (retried) to end.
    let stall = proxy.add(Rule::new(
        Match::upload_part().target_contains("partNumber=2"),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(3),
        },
    ));
    let mut child = cli(&proxy, &state)
        .args(["--resumable", "cp", "-q"])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while proxy.fired(stall) == 0 || upload_journal(&state).is_none() {
        assert!(Instant::now() < deadline, "part 2 never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = signal_and_wait(&mut child, "INT");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("paused") && stderr.contains("run the same command again"),
        "{stderr}"
    );
    let journal = upload_journal(&state).expect("a paused upload keeps its journal");
    let token = read_journal(&journal).unwrap();
    let upload_id = token.as_upload().unwrap().upload_id.clone();
    assert!(token.progress().0 >= 1);

    let direct = |args: &[&str]| {
        let mut command = super::cli_seaweed();
        command.env("XDG_STATE_HOME", &state).args(args);
        let out = command.output().unwrap();
        assert_ok(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = direct(&["uploads", "ls", &format!("s3://{b}/")]);
    assert!(
        listed.contains(&upload_id) && listed.contains(&dst),
        "{listed}"
    );
    let kept = direct(&[
        "uploads",
        "abort",
        &format!("s3://{b}/"),
        "--older-than",
        "7d",
    ]);
    assert_eq!(
        kept, "",
        "an upload started just now is not older than 7 days"
    );
    assert!(journal.exists());
    let aborted = direct(&["uploads", "abort", &format!("s3://{b}/")]);
    assert!(aborted.contains(&upload_id), "{aborted}");
    assert_eq!(weed.list_multipart_uploads(&b), [], "aborted");
    assert!(!journal.exists(), "the aborted upload's journal is removed");
    assert_eq!(direct(&["uploads", "ls", &format!("s3://{b}/")]), "");
}

#[test]
fn no_resume_aborts_the_interrupted_upload_and_starts_afresh() {
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("fresh");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let body = data(3 * PART, 24);
    let src = dir.path().join("fresh.bin");
    std::fs::write(&src, &body).unwrap();
    let dst = format!("s3://{b}/fresh.bin");
    let proxy = FaultProxy::start(&weed.endpoint());
    let stall = proxy.add(Rule::new(
        Match::upload_part().target_contains("partNumber=2"),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(300),
        },
    ));
    let mut child = cli(&proxy, &state)
        .args(["cp", "-q"])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when_journaled(&mut child, &proxy, stall, || upload_journal(&state), 1);
    let killed = read_journal(&upload_journal(&state).unwrap()).unwrap();
    let old_id = killed.as_upload().unwrap().upload_id.clone();
    let first_run = proxy.exchanges().len();

    let rerun = cli(&proxy, &state)
        .args(["--no-resume", "cp"])
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert_ok(&rerun, &["cp --no-resume"]);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(!stderr.contains("resuming"), "{stderr}");
    assert_eq!(
        counted(&proxy, first_run, &Match::upload_part()),
        3,
        "every part again"
    );
    assert!(
        proxy.exchanges()[first_run..]
            .iter()
            .any(|e| e.method == "DELETE" && e.target.contains(&old_id)),
        "the interrupted upload is aborted"
    );
    assert_eq!(weed.get_object(&b, "fresh.bin"), body);
    assert_eq!(weed.list_multipart_uploads(&b), []);
    assert!(upload_journal(&state).is_none());
}

/// `--no-resume` whose abort of the interrupted upload fails: the journal, the only
/// record of that upload, is kept aside, the upload is still open, and the CLI says so.
#[test]
fn no_resume_whose_abort_fails_keeps_the_journal_aside_and_says_the_upload_is_open() {
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("orphan");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let body = data(3 * PART, 25);
    let src = dir.path().join("orphan.bin");
    std::fs::write(&src, &body).unwrap();
    let dst = format!("s3://{b}/orphan.bin");
    let proxy = FaultProxy::start(&weed.endpoint());
    let stall = proxy.add(Rule::new(
        Match::upload_part().target_contains("partNumber=2"),
        Fault::Stall {
            after_body_bytes: None,
            duration: Duration::from_secs(300),
        },
    ));
    let mut child = cli(&proxy, &state)
        .args(["cp", "-q"])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when_journaled(&mut child, &proxy, stall, || upload_journal(&state), 1);
    let journal = upload_journal(&state).unwrap();
    let old_id = read_journal(&journal)
        .unwrap()
        .as_upload()
        .unwrap()
        .upload_id
        .clone();
    proxy.add(Rule::new(
        Match::abort_multipart_upload(),
        Fault::InternalError,
    ));
    let rerun = cli(&proxy, &state)
        .args(["--attempts", "1", "--no-resume", "cp"])
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert_ok(&rerun, &["cp --no-resume"]);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(stderr.contains("could not be aborted"), "{stderr}");
    assert!(stderr.contains(&old_id), "{stderr}");
    assert_eq!(weed.get_object(&b, "orphan.bin"), body);
    let mut aside = journal.into_os_string();
    aside.push(".unaborted");
    let kept = read_journal(Path::new(&aside)).unwrap();
    assert_eq!(kept.as_upload().unwrap().upload_id, old_id);
    let open = weed.list_multipart_uploads(&b);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(format!("{open:?}").contains(&old_id), "{open:?}");
}

#[test]
fn an_unusable_or_foreign_journal_is_set_aside_and_the_copy_starts_afresh() {
    let b = super::bucket("journals");
    let body = data(2 * MIB, 25);
    let src = format!("s3://{b}/obj.bin");
    assert_ok(&super::run_with_stdin(&["cp", "-q", "-", &src], &body), &[]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("obj.bin");
    let journal = dir.path().join(".obj.bin.s3resume");
    let aside = dir.path().join(".obj.bin.s3resume.unusable");

    // Cut short, as a crash in the middle of a write by another tool could leave it.
    std::fs::write(&journal, "{\"format\": \"s3transfer-resume\", \"vers").unwrap();
    let out = super::run(&["cp", &src, dest.to_str().unwrap()]);
    assert_ok(&out, &["cp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("starting afresh") && stderr.contains("not a usable"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(aside.exists() && !journal.exists());

    // A journal of another object to the same file: never continued, never overwritten
    // unseen.
    std::fs::remove_file(&aside).unwrap();
    let foreign = serde_json::json!({
        "format": "s3transfer-resume", "version": 1, "kind": "download",
        "bucket": "another-bucket", "key": "another-key", "etag": "\"e\"", "size": 10,
        "destination": dest, "temp_path": dir.path().join(".obj.bin.0.s3tmp"),
        "part_size": 10, "ranges": [],
    });
    std::fs::write(&journal, foreign.to_string()).unwrap();
    let out = super::run(&["cp", &src, dest.to_str().unwrap()]);
    assert_ok(&out, &["cp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is for download of s3://another-bucket/another-key"),
        "{stderr}"
    );
    assert!(aside.exists() && !journal.exists());
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn ctrl_c_under_resumable_stops_a_recursive_mv_and_keeps_the_sources_not_moved() {
    use std::io::Read;
    let b = super::bucket("resumable-mv");
    for name in ["a.bin", "b.bin", "c.bin"] {
        let dst = format!("s3://{b}/dir/{name}");
        assert_ok(
            &super::run_with_stdin(&["cp", "-q", "-", &dst], &data(4 * MIB, 25)),
            &[],
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // 2 MiB/s: the 12 MiB would take 6 s, far longer than it takes to interrupt.
    let mut child = super::cli(super::server().secret_key())
        .env("XDG_STATE_HOME", &state)
        .args([
            "--resumable",
            "--max-bandwidth",
            "2MB/s",
            "mv",
            "--recursive",
        ])
        .arg(format!("s3://{b}/dir/"))
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&out).unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "the mv never started");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = signal_and_wait(&mut child, "INT");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "stopped: {stderr}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.starts_with('.')),
        "no partial file or journal: {left:?}"
    );
    let listed = super::run_ok(&["ls", &format!("s3://{b}/dir/")]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    for name in ["a.bin", "b.bin", "c.bin"] {
        assert!(
            left.iter().any(|n| n == name) || listed.contains(name),
            "{name} is neither moved nor kept: {left:?} / {listed}"
        );
    }
    assert!(left.len() < 3, "Ctrl-C stopped the mv before it finished");
}

#[test]
fn uploads_abort_exact_aborts_only_the_upload_to_that_key() {
    use rusoto_s3::S3 as _;
    let weed = seaweed::SeaweedFs::shared();
    let b = bucket("exact");
    for key in ["big.bin", "big.bin.bak"] {
        let request = rusoto_s3::CreateMultipartUploadRequest {
            bucket: b.clone(),
            key: key.into(),
            ..Default::default()
        };
        weed.block_on(weed.client().create_multipart_upload(request))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let args = ["uploads", "abort", "--exact", &format!("s3://{b}/big.bin")];
    let out = super::cli_seaweed()
        .env("XDG_STATE_HOME", dir.path())
        .args(args)
        .output()
        .unwrap();
    assert_ok(&out, &args);
    let left: Vec<String> = weed
        .list_multipart_uploads(&b)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        left,
        ["big.bin.bak"],
        "only the exact key's upload is aborted"
    );
}
