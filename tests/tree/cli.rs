//! `sync`, `cp --recursive` and `mv` from the command line against s3s-fs: per-object
//! lines as the AWS CLI prints them, dry runs, filters in the order typed, --delete,
//! the object flags, refused keys as warnings with exit code 2, and `--json` lines.

use std::path::Path;

use s3transfer::S3Api;
use s3transfer::client::{HeadObjectRequest, PutObjectRequest, RequestBody};

use super::{bucket, path_str, run, run_ok, server, stdout};

/// Write a file an hour old: a file written in the second of its upload is newer than
/// its object (S3 keeps whole seconds) and a sync would rightly send it once more.
fn write(root: &Path, relative: &str, data: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(hour_ago).unwrap();
}

fn keys(bucket: &str) -> Vec<String> {
    let out = run_ok(&["ls", "--recursive", &format!("s3://{bucket}/")]);
    stdout(&out)
        .lines()
        .map(|line| line.rsplit(' ').next().unwrap().to_owned())
        .collect()
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn sync_prints_each_upload_and_a_second_sync_moves_nothing() {
    let b = bucket("sync");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "sub/b.txt", b"bb");
    let src = path_str(dir.path());
    let dst = format!("s3://{b}/p");
    let first = run_ok(&["sync", src, &dst]);
    assert_eq!(
        sorted_lines(&stdout(&first)),
        [
            format!("upload: {src}/a.txt to s3://{b}/p/a.txt"),
            format!("upload: {src}/sub/b.txt to s3://{b}/p/sub/b.txt"),
        ]
    );
    let second = run_ok(&["sync", src, &dst]);
    assert_eq!(stdout(&second), "", "nothing to do the second time");

    // And down: files come back, then nothing.
    let back = tempfile::tempdir().unwrap();
    let down = run_ok(&["sync", &dst, path_str(back.path())]);
    assert_eq!(stdout(&down).lines().count(), 2);
    assert!(stdout(&down).contains(&format!("download: s3://{b}/p/a.txt to ")));
    assert_eq!(std::fs::read(back.path().join("sub/b.txt")).unwrap(), b"bb");
    assert_eq!(stdout(&run_ok(&["sync", &dst, path_str(back.path())])), "");
}

#[test]
fn dryrun_prints_what_would_happen_and_changes_nothing() {
    let b = bucket("dryrun");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", b"a");
    let src = path_str(dir.path());
    let out = run_ok(&["sync", "--dryrun", src, &format!("s3://{b}/")]);
    assert_eq!(
        stdout(&out),
        format!("(dryrun) upload: {src}/a to s3://{b}/a\n")
    );
    assert!(keys(&b).is_empty());
    let out = run_ok(&["cp", "--recursive", "--dryrun", src, &format!("s3://{b}/x")]);
    assert_eq!(
        stdout(&out),
        format!("(dryrun) upload: {src}/a to s3://{b}/x/a\n")
    );
    let out = run_ok(&[
        "cp",
        "--dryrun",
        &format!("{src}/a"),
        &format!("s3://{b}/single"),
    ]);
    assert!(
        stdout(&out).starts_with("(dryrun) upload: "),
        "{}",
        stdout(&out)
    );
    assert!(keys(&b).is_empty());
}

#[test]
fn filters_apply_in_the_order_typed() {
    let b = bucket("filters");
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.txt", "b.jpg", "logs/c.txt"] {
        write(dir.path(), name, b"x");
    }
    let src = path_str(dir.path());
    run_ok(&[
        "sync",
        "-q",
        "--exclude",
        "*",
        "--include",
        "*.txt",
        "--exclude",
        "logs/*",
        src,
        &format!("s3://{b}/one"),
    ]);
    run_ok(&[
        "sync",
        "-q",
        "--include",
        "*.txt",
        "--exclude",
        "*",
        src,
        &format!("s3://{b}/two"),
    ]);
    assert_eq!(keys(&b), ["one/a.txt"]);
}

#[test]
fn sync_delete_removes_what_the_source_lacks_within_the_filters() {
    let b = bucket("delete");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "keep.txt", b"k");
    write(dir.path(), "gone.txt", b"g");
    write(dir.path(), "logs/old.log", b"l");
    let src = path_str(dir.path());
    let dst = format!("s3://{b}/");
    run_ok(&["sync", "-q", src, &dst]);
    std::fs::remove_file(dir.path().join("gone.txt")).unwrap();
    std::fs::remove_file(dir.path().join("logs/old.log")).unwrap();
    let out = run_ok(&["sync", "--delete", "--exclude", "logs/*", src, &dst]);
    assert_eq!(stdout(&out), format!("delete: s3://{b}/gone.txt\n"));
    assert_eq!(keys(&b), ["keep.txt", "logs/old.log"]);
}

#[test]
fn object_flags_reach_every_object() {
    let b = bucket("flags");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "page.html", b"<p>");
    write(dir.path(), "data.bin", b"\0");
    run_ok(&[
        "cp",
        "-r",
        "-q",
        "--cache-control",
        "max-age=60",
        "--metadata",
        "team=data,run=7",
        "--content-language",
        "en",
        path_str(dir.path()),
        &format!("s3://{b}/"),
    ]);
    let head = |key: &str| {
        let mut request = HeadObjectRequest::default();
        request.bucket = b.clone();
        request.key = key.into();
        server().client().head_object(&request).unwrap()
    };
    let page = head("page.html");
    assert_eq!(
        page.attributes.content_type.as_deref(),
        Some("text/html"),
        "guessed per file"
    );
    assert_eq!(page.attributes.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(
        page.attributes.metadata.get("team").map(String::as_str),
        Some("data")
    );
    assert_eq!(
        head("data.bin")
            .attributes
            .metadata
            .get("run")
            .map(String::as_str),
        Some("7")
    );
    // --content-type wins over the guess.
    run_ok(&[
        "cp",
        "-r",
        "-q",
        "--content-type",
        "text/plain",
        path_str(dir.path()),
        &format!("s3://{b}/typed/"),
    ]);
    assert_eq!(
        head("typed/page.html").attributes.content_type.as_deref(),
        Some("text/plain")
    );
}

#[test]
fn a_refused_key_is_a_warning_exit_2_and_the_rest_is_written() {
    let b = bucket("refused");
    let client = server().client();
    for key in ["p/ok.txt", "p/C:evil"] {
        let mut put = PutObjectRequest::default();
        put.bucket = b.clone();
        put.key = key.into();
        client
            .put_object(&put, &mut RequestBody::new(&b"x"[..]))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let out = run(&["cp", "--recursive", &format!("s3://{b}/p"), path_str(&dest)]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warning: Skipping file s3://{b}/p/C:evil.")),
        "{stderr}"
    );
    assert_eq!(std::fs::read(dest.join("ok.txt")).unwrap(), b"x");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
}

#[test]
fn json_prints_one_line_per_object_then_the_summary() {
    let b = bucket("jsonl");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", b"a");
    write(dir.path(), "b", b"b");
    let out = run_ok(&[
        "sync",
        "--json",
        path_str(dir.path()),
        &format!("s3://{b}/"),
    ]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines[..2] {
        assert_eq!(line["action"], "upload");
        assert_eq!(line["status"], "ok");
    }
    assert_eq!(lines[2]["files"], 2);
    assert_eq!(lines[2]["exit_code"], 0);
}

#[test]
fn mv_moves_a_tree_and_a_single_file() {
    let b = bucket("mv");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/a", b"a");
    write(dir.path(), "t/sub/b", b"b");
    write(dir.path(), "single", b"s");
    let out = run_ok(&[
        "mv",
        "--recursive",
        path_str(&dir.path().join("t")),
        &format!("s3://{b}/t"),
    ]);
    assert!(stdout(&out).contains("move: "), "{}", stdout(&out));
    assert!(!dir.path().join("t/a").exists() && !dir.path().join("t/sub/b").exists());
    run_ok(&[
        "mv",
        "-q",
        path_str(&dir.path().join("single")),
        &format!("s3://{b}/single"),
    ]);
    assert!(!dir.path().join("single").exists());
    assert_eq!(keys(&b), ["single", "t/a", "t/sub/b"]);
    // And within S3: the sources go.
    run_ok(&[
        "mv",
        "-r",
        "-q",
        &format!("s3://{b}/t"),
        &format!("s3://{b}/moved"),
    ]);
    assert_eq!(keys(&b), ["moved/a", "moved/sub/b", "single"]);
}

/// The CLI in a real terminal: a 120x20 tmux pane. Returns the screen once the
/// command has exited (the shell writes its exit code to a file; the test waits for
/// that file, then captures the pane).
fn run_in_tmux(args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("tmux.sock");
    let done = dir.path().join("done");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let command = format!(
        "env AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION=us-east-1 {} --endpoint-url {} {}; echo $? > {}.tmp; mv {}.tmp {}; sleep 600",
        server().access_key(),
        server().secret_key(),
        quote(env!("CARGO_BIN_EXE_s3transfer")),
        server().endpoint(),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
        quote(path_str(&done)),
        quote(path_str(&done)),
        quote(path_str(&done)),
    );
    let tmux = |extra: &[&str]| {
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(extra)
            .env_remove("TMUX")
            .output()
            .expect("tmux is needed for the terminal test (apt-get install tmux)");
        assert!(out.status.success(), "tmux {extra:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "20",
        "sh",
        "-c",
        &command,
    ]);
    let started = std::time::Instant::now();
    while !done.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the command did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let code: i32 = std::fs::read_to_string(&done)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let screen = tmux(&["capture-pane", "-p", "-t", "0"]);
    let _ = tmux(&["kill-server"]);
    (code, screen)
}

/// What a progress bar's line looks like: the bar's brackets and an ETA.
fn is_bar_line(line: &str) -> bool {
    line.contains("ETA") || line.contains("] ") && line.contains("files")
}

#[test]
fn progress_leaves_no_stale_bar_in_a_real_terminal() {
    let b = bucket("tty");
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4 {
        write(
            dir.path(),
            &format!("f{i}.bin"),
            &super::data(3 * 1024 * 1024, i),
        );
    }
    // Slowed down so the bars are drawn for a while (12 MiB at 8 MiB/s).
    let limit = ["--max-bandwidth", "8MB/s"];
    let one = path_str(&dir.path().join("f0.bin")).to_owned();
    let (code, screen) = run_in_tmux(&[limit[0], limit[1], "cp", &one, &format!("s3://{b}/one")]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.lines().any(is_bar_line),
        "a bar was left on screen:\n{screen}"
    );
    assert!(screen.contains("upload: "), "{screen}");

    let (code, screen) = run_in_tmux(&[
        limit[0],
        limit[1],
        "cp",
        "-r",
        path_str(dir.path()),
        &format!("s3://{b}/tree"),
    ]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.lines().any(is_bar_line),
        "a bar was left on screen:\n{screen}"
    );
    let uploads: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("upload: "))
        .collect();
    assert_eq!(uploads.len(), 4, "{screen}");
}

#[test]
fn ctrl_c_during_a_sync_exits_7_and_leaves_no_partial_file() {
    let b = bucket("sync-int");
    let src = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write(
            src.path(),
            &format!("f{i}"),
            &super::data(4 * 1024 * 1024, 20 + i),
        );
    }
    run_ok(&["sync", "-q", path_str(src.path()), &format!("s3://{b}/")]);
    let dest = tempfile::tempdir().unwrap();
    // 2 MiB/s: 12 MiB would take 6 s, far longer than it takes to interrupt it.
    let mut child = super::cli(server().secret_key())
        .args([
            "--max-bandwidth",
            "2MB/s",
            "sync",
            &format!("s3://{b}/"),
            path_str(dest.path()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bytes are landing once a temporary file exists in the destination.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_dir(dest.path()).unwrap().count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sync never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = super::signal_and_wait(&mut child, "INT");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(7), "stderr: {stderr}");
    assert!(
        !stderr.contains("failed"),
        "a cancelled transfer reported as a failure: {stderr}"
    );
    // Whatever is there is whole: no temporary file, no truncated one.
    for entry in std::fs::read_dir(dest.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(src.path().join(&name)).unwrap(),
            "{name} is partial"
        );
    }
}

#[test]
#[cfg(unix)]
fn sync_delete_after_a_walk_error_deletes_nothing_and_warns_for_each() {
    let b = bucket("walkerror");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "c.txt", b"c");
    let src = path_str(dir.path());
    let dst = format!("s3://{b}/p");
    run_ok(&["sync", "-q", src, &dst]);
    std::fs::remove_file(dir.path().join("c.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("b-broken")).unwrap();
    let out = run(&["sync", "--delete", src, &dst]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!stdout(&out).contains("delete:"), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warning: not deleting s3://{b}/p/c.txt: ")),
        "{stderr}"
    );
    assert_eq!(keys(&b), ["p/a.txt", "p/c.txt"]);
}

#[test]
fn a_sync_into_its_own_prefix_is_refused_before_anything_is_copied() {
    let b = bucket("overlap");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "x.txt", b"x");
    run_ok(&["sync", "-q", path_str(dir.path()), &format!("s3://{b}/a")]);
    for (from, to) in [("a", "a/sub"), ("a/", "")] {
        for command in [
            &["sync"][..],
            &["cp", "--recursive"],
            &["mv", "--recursive"],
        ] {
            let mut args = command.to_vec();
            let (from, to) = (format!("s3://{b}/{from}"), format!("s3://{b}/{to}"));
            args.extend([from.as_str(), to.as_str()]);
            let out = run(&args);
            assert!(!out.status.success(), "{args:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("overlap"), "{args:?}: {stderr}");
        }
    }
    assert_eq!(keys(&b), ["a/x.txt"]);
}

#[test]
fn single_cp_mv_and_rm_print_the_aws_cli_line_on_stdout_when_done() {
    let b = bucket("single-lines");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    let file = dir.path().join("a.txt");
    let src = path_str(&file);
    let key = format!("s3://{b}/a.txt");
    let out = run_ok(&["cp", src, &key]);
    assert_eq!(stdout(&out), format!("upload: {src} to {key}\n"));
    let copy = format!("s3://{b}/c.txt");
    let out = run_ok(&["cp", &key, &copy]);
    assert_eq!(stdout(&out), format!("copy: {key} to {copy}\n"));
    let back = dir.path().join("back.txt");
    let out = run_ok(&["cp", &key, path_str(&back)]);
    assert_eq!(
        stdout(&out),
        format!("download: {key} to {}\n", back.display())
    );

    let moved = format!("s3://{b}/m.txt");
    let out = run_ok(&["mv", "--dryrun", &copy, &moved]);
    assert_eq!(stdout(&out), format!("(dryrun) move: {copy} to {moved}\n"));
    let out = run_ok(&["mv", &copy, &moved]);
    assert_eq!(stdout(&out), format!("move: {copy} to {moved}\n"));
    assert_eq!(keys(&b), ["a.txt", "m.txt"]);

    let out = run_ok(&["rm", "--dryrun", &moved]);
    assert_eq!(stdout(&out), format!("(dryrun) delete: {moved}\n"));
    assert_eq!(keys(&b), ["a.txt", "m.txt"]);
    let out = run_ok(&["rm", &moved]);
    assert_eq!(stdout(&out), format!("delete: {moved}\n"));
    assert_eq!(keys(&b), ["a.txt"]);
}

#[test]
fn a_failed_single_transfer_says_so_as_the_aws_cli_on_stderr() {
    let b = bucket("single-failed");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("never.txt");
    let missing = format!("s3://{b}/no-such-key");
    let out = run(&["cp", &missing, path_str(&target)]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(stdout(&out), "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("download failed: {missing} to {} ", target.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!target.exists());
}

#[test]
fn rm_recursive_prints_each_delete_and_honours_the_filters_and_dryrun() {
    let b = bucket("rm-tree");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "b.log", b"b");
    write(dir.path(), "sub/c.txt", b"c");
    run_ok(&[
        "cp",
        "-r",
        "-q",
        path_str(dir.path()),
        &format!("s3://{b}/p"),
    ]);
    run_ok(&[
        "cp",
        "-q",
        &format!("{}/a.txt", path_str(dir.path())),
        &format!("s3://{b}/keep"),
    ]);
    let prefix = format!("s3://{b}/p");
    let out = run_ok(&[
        "rm",
        "--recursive",
        "--dryrun",
        "--exclude",
        "*.log",
        &prefix,
    ]);
    assert_eq!(
        sorted_lines(&stdout(&out)),
        [
            format!("(dryrun) delete: s3://{b}/p/a.txt"),
            format!("(dryrun) delete: s3://{b}/p/sub/c.txt"),
        ]
    );
    assert_eq!(keys(&b), ["keep", "p/a.txt", "p/b.log", "p/sub/c.txt"]);
    let out = run_ok(&["rm", "--recursive", "--exclude", "*.log", &prefix]);
    assert_eq!(
        sorted_lines(&stdout(&out)),
        [
            format!("delete: s3://{b}/p/a.txt"),
            format!("delete: s3://{b}/p/sub/c.txt"),
        ]
    );
    assert_eq!(keys(&b), ["keep", "p/b.log"]);
}

#[test]
fn ls_prints_one_level_with_prefixes_and_json_as_one_document() {
    let b = bucket("ls-level");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "sub/c.txt", b"c");
    run_ok(&[
        "cp",
        "-r",
        "-q",
        path_str(dir.path()),
        &format!("s3://{b}/"),
    ]);
    let out = run_ok(&["ls", &format!("s3://{b}/")]);
    let lines: Vec<String> = stdout(&out)
        .lines()
        .map(|line| line.trim_start().to_owned())
        .collect();
    // As `aws s3 ls`: the page's prefixes, then its objects.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "PRE sub/");
    assert!(lines[1].ends_with(" 1 a.txt"), "{lines:?}");
    // Names relative to the prefix listed; --recursive prints keys.
    write(dir.path(), "sub/deeper/d.txt", b"d");
    run_ok(&[
        "cp",
        "-r",
        "-q",
        path_str(dir.path()),
        &format!("s3://{b}/"),
    ]);
    let out = run_ok(&["ls", &format!("s3://{b}/sub/")]);
    let lines: Vec<String> = stdout(&out)
        .lines()
        .map(|line| line.trim_start().to_owned())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "PRE deeper/");
    assert!(lines[1].ends_with(" 1 c.txt"), "{lines:?}");
    let out = run_ok(&["ls", "--recursive", &format!("s3://{b}/sub/")]);
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .map(|line| line.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["sub/c.txt", "sub/deeper/d.txt"]);
    let out = run_ok(&["--json", "ls", &format!("s3://{b}/")]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["objects"][0]["key"], "a.txt");
    assert_eq!(doc["prefixes"], serde_json::json!(["sub/"]));
}

#[test]
fn case_conflict_takes_the_aws_cli_values_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "cp",
        "-r",
        "--case-conflict",
        "sometimes",
        "s3://any-bucket/p",
        path_str(dir.path()),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error, warn, skip, ignore"), "{stderr}");
}

#[test]
fn a_single_rm_cp_or_mv_left_out_by_the_filters_does_nothing() {
    let b = bucket("single-filters");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "k.txt", b"k");
    let file = dir.path().join("k.txt");
    let key = format!("s3://{b}/dir/k.txt");
    run_ok(&["cp", "-q", path_str(&file), &key]);
    // As the AWS CLI: the patterns are rooted at the key's "directory" (s3://b/dir/),
    // so `k.txt` and `*` name the object, `dir/k.txt` does not.
    for exclude in ["k.txt", "*", "*.txt"] {
        let out = run_ok(&["rm", &key, "--exclude", exclude]);
        assert_eq!(stdout(&out), "", "--exclude {exclude}");
        let copy = format!("s3://{b}/copy.txt");
        let out = run_ok(&["cp", &key, &copy, "--exclude", exclude]);
        assert_eq!(stdout(&out), "", "--exclude {exclude}");
        let out = run_ok(&["mv", &key, &copy, "--exclude", exclude]);
        assert_eq!(stdout(&out), "", "--exclude {exclude}");
        let back = dir.path().join("back.txt");
        run_ok(&["cp", &key, path_str(&back), "--exclude", exclude]);
        assert!(!back.exists(), "--exclude {exclude}");
        run_ok(&["cp", path_str(&file), &copy, "--exclude", exclude]);
        assert_eq!(keys(&b), ["dir/k.txt"], "--exclude {exclude}");
    }
    // The last matching rule wins, and a pattern with the directory matches nothing.
    run_ok(&[
        "cp",
        "-q",
        &key,
        &format!("s3://{b}/c1"),
        "--exclude",
        "dir/k.txt",
    ]);
    run_ok(&[
        "cp",
        "-q",
        &key,
        &format!("s3://{b}/c2"),
        "--exclude",
        "*",
        "--include",
        "k.*",
    ]);
    assert_eq!(keys(&b), ["c1", "c2", "dir/k.txt"]);
    let out = run_ok(&["rm", &key, "--exclude", "*", "--include", "k.txt"]);
    assert_eq!(stdout(&out), format!("delete: {key}\n"));
    assert_eq!(keys(&b), ["c1", "c2"]);
}

#[test]
fn only_show_errors_silences_a_single_transfer_but_not_its_failure() {
    let b = bucket("single-quiet");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    let key = format!("s3://{b}/a.txt");
    let out = run_ok(&[
        "cp",
        "--only-show-errors",
        path_str(&dir.path().join("a.txt")),
        &key,
    ]);
    assert_eq!(stdout(&out), "");
    let out = run_ok(&["mv", "--only-show-errors", &key, &format!("s3://{b}/b.txt")]);
    assert_eq!(stdout(&out), "");
    let out = run_ok(&["rm", "--only-show-errors", &format!("s3://{b}/b.txt")]);
    assert_eq!(stdout(&out), "");
    assert!(keys(&b).is_empty());
    let target = dir.path().join("never.txt");
    let out = run(&["cp", "--only-show-errors", &key, path_str(&target)]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("download failed: "), "{stderr}");
}

#[test]
fn mv_onto_itself_is_refused_before_anything_is_copied_or_deleted() {
    let b = bucket("mv-itself");
    let dir = tempfile::tempdir().unwrap();
    // Above the multipart threshold: a multipart copy onto itself is allowed by S3,
    // and the delete after it would remove the only copy.
    let big = vec![7u8; 6 * 1024 * 1024];
    write(dir.path(), "big", &big);
    let key = format!("s3://{b}/d/big");
    run_ok(&["cp", "-q", path_str(&dir.path().join("big")), &key]);
    for dst in [key.clone(), format!("s3://{b}/d/")] {
        for dryrun in [false, true] {
            let mut args = vec!["--multipart-threshold", "5MB", "mv", &key, &dst];
            if dryrun {
                args.push("--dryrun");
            }
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let expected = format!("Cannot mv a file onto itself: '{key}' - '{dst}'");
            assert!(stderr.contains(&expected), "{args:?}: {stderr}");
            assert_eq!(stdout(&out), "");
        }
    }
    for (from, to) in [("d", "d"), ("d/", "d"), ("d", "d/")] {
        let (from, to) = (format!("s3://{b}/{from}"), format!("s3://{b}/{to}"));
        let out = run(&["mv", "--recursive", &from, &to]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Cannot mv a file onto itself"), "{stderr}");
    }
    let back = dir.path().join("back");
    run_ok(&["cp", "-q", &key, path_str(&back)]);
    assert_eq!(std::fs::read(&back).unwrap(), big);
}

/// `mv --recursive` of two keys that differ only by case: on a case-insensitive file
/// system they would be written to one file and both sources deleted. The first key's
/// GET is held (a stall at the proxy) so the second is decided while it is in flight.
#[test]
fn mv_recursive_leaves_a_key_differing_only_by_case_in_place_with_the_warning() {
    use super::fault_proxy::{Fault, FaultProxy, Match, Rule};
    let b = bucket("mv-case");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "A.txt", b"upper");
    write(dir.path(), "a.txt", b"lower");
    run_ok(&[
        "cp",
        "-r",
        "-q",
        path_str(dir.path()),
        &format!("s3://{b}/p"),
    ]);
    let proxy = FaultProxy::start(&server().endpoint());
    proxy.add(
        Rule::new(
            Match::get_object().target_contains("/p/A.txt"),
            Fault::Stall {
                after_body_bytes: None,
                duration: std::time::Duration::from_secs(5),
            },
        )
        .times(1),
    );
    let dest = tempfile::tempdir().unwrap();
    let out = super::cli_to(&proxy.endpoint(), server().secret_key())
        .args(["mv", "-r", &format!("s3://{b}/p"), path_str(dest.path())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("differs only by case"), "{stderr}");
    assert_eq!(keys(&b), ["p/a.txt"], "the second key is not moved");
    assert_eq!(std::fs::read(dest.path().join("A.txt")).unwrap(), b"upper");
    assert!(!dest.path().join("a.txt").exists());
}

#[test]
fn ls_json_is_one_valid_document_even_when_the_listing_fails() {
    use super::fault_proxy::{Fault, FaultProxy, Match, Rule};
    let b = bucket("ls-json-fail");
    let proxy = FaultProxy::start(&server().endpoint());
    proxy.add(Rule::new(
        Match::any().method("GET").target_contains("list-type=2"),
        Fault::InternalError,
    ));
    let out = super::cli_to(&proxy.endpoint(), server().secret_key())
        .args(["--json", "--attempts", "1", "ls", &format!("s3://{b}/")])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", stdout(&out)));
    assert_eq!(doc["objects"], serde_json::json!([]));
    assert!(doc["error"].is_string(), "{doc}");
}
