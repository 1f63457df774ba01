//! Differential tests through `redis-cli`: every script in
//! `server/tests/scripts/*.txt` is fed on stdin to one `redis-cli`
//! invocation against a fresh picket-server and against a fresh Debian
//! `redis-server` (7.0.15), once in RESP2 and once in RESP3 (`redis-cli -3`),
//! and the two outputs must be identical line by line.
//!
//! Adding a family means adding a file: every `*.txt` in the directory is
//! picked up, each file gets a fresh server pair (no FLUSHALL between
//! scripts), and the test reports every failing file at once.
//!
//! Script format (one command per line, as typed at the `redis-cli` prompt):
//! - blank lines and lines starting with `#` are ignored;
//! - `#! resp: 2` or `#! resp: 3` limits a script to one protocol (default: both);
//! - `#! server-args: --directive value ...` adds start-up arguments to both servers;
//! - `#! no-markers` turns off the per-command markers (see below);
//! - `#! known-difference: <reason>` marks a script that documents a known
//!   difference from Redis: it must still differ (its diff is printed but
//!   does not fail the test), and the test fails once it stops differing,
//!   so the note is removed when picket is fixed.
//!
//! Before each command the runner sends `ECHO "@@<line>"`, so the output
//! falls into one block per script line and a mismatch is shown as
//! "line N: <command>" with both replies. Inside MULTI the markers are
//! queued like any command, which is harmless: both servers see the same.
//! Avoid nondeterministic replies (CLIENT ID, TIME, RANDOMKEY, TTL of a
//! fresh key is fine); the client id inside a HELLO reply is masked.
//! Avoid the words redis-cli handles itself (`quit`, `exit`, `help`,
//! `clear`, `connect`) and lines starting with a number (a repeat count).
//!
//! Run one script only with `CLI_DIFF_ONLY=strings cargo test -p picket-server --test cli_diff`.

mod common;
use common::*;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one redis-cli run may take before it counts as hung.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// One parsed script file.
struct Script {
    name: String,
    /// (1-based line number in the file, command text)
    lines: Vec<(usize, String)>,
    resp: Vec<u8>,
    server_args: Vec<String>,
    markers: bool,
    known_difference: Option<String>,
}

fn parse_script(path: &Path) -> Script {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = Script {
        name,
        lines: Vec::new(),
        resp: vec![2, 3],
        server_args: Vec::new(),
        markers: true,
        known_difference: None,
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(d) = line.strip_prefix("#!") {
            let d = d.trim();
            if let Some(v) = d.strip_prefix("resp:") {
                s.resp = v
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
            } else if let Some(v) = d.strip_prefix("server-args:") {
                s.server_args = split_args(v);
            } else if let Some(v) = d.strip_prefix("known-difference:") {
                s.known_difference = Some(v.trim().to_string());
            } else if d == "no-markers" {
                s.markers = false;
            } else {
                panic!("{}:{}: unknown directive {line:?}", path.display(), i + 1);
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        s.lines.push((i + 1, line.to_string()));
    }
    s
}

/// Splits directive arguments on whitespace, honouring "double quotes".
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut have = false;
    for ch in s.chars() {
        match ch {
            '"' => {
                in_q = !in_q;
                have = true;
            }
            c if c.is_whitespace() && !in_q => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// The text piped into redis-cli.
fn cli_input(s: &Script) -> String {
    let mut out = String::new();
    for (n, l) in &s.lines {
        if s.markers {
            out.push_str(&format!("ECHO \"@@{n}\"\n"));
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Runs redis-cli against `port` with `input` on stdin; returns stdout plus
/// any stderr lines (prefixed), or a description of a hang.
fn run_cli(port: u16, resp: u8, input: &str) -> String {
    let mut cmd = Command::new("redis-cli");
    cmd.arg("--no-raw")
        .arg("-h")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string());
    if resp == 3 {
        cmd.arg("-3");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run redis-cli (install redis-tools: apt-get install -y redis-tools): {e}"
            )
        });
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let t = Instant::now();
    let mut hung = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t.elapsed() > CLI_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                hung = true;
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait redis-cli: {e}"),
        }
    }
    let _ = writer.join();
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    let mut s = String::from_utf8_lossy(&out).into_owned();
    for l in String::from_utf8_lossy(&err).lines() {
        s.push_str(&format!("stderr: {l}\n"));
    }
    if hung {
        s.push_str(&format!("<redis-cli killed after {CLI_TIMEOUT:?}>\n"));
    }
    s
}

/// Output split into blocks: (script line number or 0 for the preamble, lines).
type Blocks = Vec<(usize, Vec<String>)>;

fn split_blocks(out: &str, markers: bool) -> Blocks {
    let mut blocks: Blocks = vec![(0, Vec::new())];
    for l in out.lines() {
        if markers {
            if let Some(n) = l
                .strip_prefix("\"@@")
                .and_then(|r| r.strip_suffix('"'))
                .and_then(|r| r.parse::<usize>().ok())
            {
                blocks.push((n, Vec::new()));
                continue;
            }
        }
        if let Some(b) = blocks.last_mut() {
            b.1.push(l.to_string());
        }
    }
    blocks
}

/// Masks what legitimately differs between two servers: the client id in
/// a HELLO reply (both the RESP3 map form and the RESP2 flat form).
fn normalize(blocks: &mut Blocks, script: &Script) {
    for (n, lines) in blocks.iter_mut() {
        let cmd = script
            .lines
            .iter()
            .find(|(ln, _)| ln == n)
            .map(|(_, c)| c.as_str())
            .unwrap_or("");
        let is_hello = cmd
            .split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("hello"));
        if !is_hello {
            continue;
        }
        let mut prev_is_id = false;
        for l in lines.iter_mut() {
            if let Some(pos) = l.find("\"id\" => (integer) ") {
                l.truncate(pos);
                l.push_str("\"id\" => (integer) <id>");
            } else if prev_is_id {
                if let Some(pos) = l.find("(integer) ") {
                    l.truncate(pos);
                    l.push_str("(integer) <id>");
                }
            }
            prev_is_id = l.trim_end().ends_with(") \"id\"");
        }
    }
}

/// Longest-common-subsequence line diff, for when block structure differs.
/// Lines are aligned on their text without redis-cli's `N) ` numbering,
/// so one inserted array element does not mark every later line changed.
fn line_diff(a: &[String], b: &[String]) -> String {
    let (n, m) = (a.len(), b.len());
    let ka: Vec<&str> = a.iter().map(|l| unnumbered(l)).collect();
    let kb: Vec<&str> = b.iter().map(|l| unnumbered(l)).collect();
    let mut dp = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            dp[i][j] = if ka[i] == kb[j] {
                dp[i + 1][j + 1] + 1
            } else {
                dp[i + 1][j].max(dp[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < n || j < m {
        if i < n && j < m && ka[i] == kb[j] {
            out.push_str(&format!("    {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || dp[i][j + 1] >= dp[i + 1][j]) {
            out.push_str(&format!("  + {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("  - {}\n", a[i]));
            i += 1;
        }
    }
    out
}

/// A redis-cli output line without its leading `N) ` element number.
fn unnumbered(l: &str) -> &str {
    let t = l.trim_start();
    let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && t[digits..].starts_with(") ") {
        &t[digits + 2..]
    } else {
        l
    }
}

/// Keeps the changed lines of a `line_diff` and `ctx` lines around them.
fn trim_context(diff: &str, ctx: usize) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let changed: Vec<bool> = lines.iter().map(|l| !l.starts_with("    ")).collect();
    let mut out = String::new();
    let mut skipped = false;
    for (i, l) in lines.iter().enumerate() {
        let near = (i.saturating_sub(ctx)..=(i + ctx).min(lines.len() - 1)).any(|j| changed[j]);
        if near {
            out.push_str(l);
            out.push('\n');
            skipped = false;
        } else if !skipped {
            out.push_str("    ...\n");
            skipped = true;
        }
    }
    out
}

/// Compares redis (expected) with picket (got); returns a readable report
/// of the differences, or None when identical.
fn compare(script: &Script, resp: u8, expected: &str, got: &str) -> Option<String> {
    let mut e = split_blocks(expected, script.markers);
    let mut g = split_blocks(got, script.markers);
    normalize(&mut e, script);
    normalize(&mut g, script);
    if e == g {
        return None;
    }
    let mut rep = format!(
        "=== {}.txt (RESP{resp}): picket differs from redis-server\n",
        script.name
    );
    let same_shape = e.len() == g.len() && e.iter().zip(&g).all(|(a, b)| a.0 == b.0);
    if same_shape {
        let mut shown = 0;
        for ((n, el), (_, gl)) in e.iter().zip(&g) {
            if el == gl {
                continue;
            }
            shown += 1;
            if shown > 30 {
                rep.push_str("  ... (more differences not shown)\n");
                break;
            }
            let cmd = script
                .lines
                .iter()
                .find(|(ln, _)| ln == n)
                .map(|(_, c)| c.as_str())
                .unwrap_or("<start>");
            if el.len() <= 8 && gl.len() <= 8 {
                rep.push_str(&format!("--- line {n}: {cmd}\n  redis:\n"));
                for l in el {
                    rep.push_str(&format!("    {l}\n"));
                }
                rep.push_str("  picket:\n");
                for l in gl {
                    rep.push_str(&format!("    {l}\n"));
                }
            } else {
                // long replies: only what differs, with a line of context
                rep.push_str(&format!("--- line {n}: {cmd} ('-' redis, '+' picket)\n"));
                rep.push_str(&trim_context(&line_diff(el, gl), 1));
            }
        }
    } else {
        rep.push_str("(output structure differs; line diff, '-' redis, '+' picket)\n");
        let flat = |b: &Blocks| -> Vec<String> {
            let mut v = Vec::new();
            for (n, ls) in b {
                if *n > 0 {
                    let cmd = script
                        .lines
                        .iter()
                        .find(|(ln, _)| ln == n)
                        .map(|(_, c)| c.as_str())
                        .unwrap_or("");
                    v.push(format!("## line {n}: {cmd}"));
                }
                v.extend(ls.iter().cloned());
            }
            v
        };
        rep.push_str(&line_diff(&flat(&e), &flat(&g)));
    }
    Some(rep)
}

fn redis_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("redis-cli")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Runs one script in every protocol it asks for; returns the failure reports.
fn run_script(script: &Script) -> Vec<String> {
    let input = cli_input(script);
    let args: Vec<&str> = script.server_args.iter().map(|s| s.as_str()).collect();
    let mut fails = Vec::new();
    for &resp in &script.resp {
        // a fresh pair per protocol, so the RESP3 run does not see RESP2's keys
        let redis = Server::start_redis(&args);
        let picket = Server::start(&args);
        let expected = run_cli(redis.port, resp, &input);
        let got = run_cli(picket.port, resp, &input);
        if let Some(r) = compare(script, resp, &expected, &got) {
            fails.push(r);
        }
        if let Ok(Some(st)) = picket.child_status() {
            fails.push(format!(
                "=== {}.txt (RESP{resp}): picket-server exited during the script: {st}\n",
                script.name
            ));
        }
    }
    fails
}

/// Exit status of a server that died, if it did.
trait ChildStatus {
    fn child_status(self) -> std::io::Result<Option<std::process::ExitStatus>>;
}

impl ChildStatus for Server {
    fn child_status(mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }
}

fn script_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("scripts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_script_gives_the_same_redis_cli_output_as_redis_server() {
    assert!(
        redis_available(),
        "cli_diff needs Debian's redis-server and redis-cli 7.0.15 on PATH: \
         apt-get install -y redis-server redis-tools (.ci/run and scripts/test.sh do this)"
    );
    let only = std::env::var("CLI_DIFF_ONLY").ok();
    let files: Vec<PathBuf> = script_files()
        .into_iter()
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s.to_string_lossy() == o))
        })
        .collect();
    assert!(
        !files.is_empty(),
        "no scripts found (CLI_DIFF_ONLY={only:?})"
    );
    let scripts: Vec<Script> = files.iter().map(|p| parse_script(p)).collect();
    // a few scripts at a time: each one runs two servers
    let mut reports = Vec::new();
    for chunk in scripts.chunks(3) {
        let results: Vec<(String, Vec<String>)> = std::thread::scope(|sc| {
            let hs: Vec<_> = chunk
                .iter()
                .map(|s| sc.spawn(move || (s.name.clone(), run_script(s))))
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| ("?".into(), vec!["runner panicked".into()]))
                })
                .collect()
        });
        for ((name, fails), script) in results.into_iter().zip(chunk) {
            match (&script.known_difference, fails.is_empty()) {
                (None, true) => eprintln!("cli_diff: {name}.txt ok"),
                (None, false) => {
                    eprintln!("cli_diff: {name}.txt FAILED");
                    reports.extend(fails);
                }
                (Some(why), false) => {
                    eprintln!(
                        "cli_diff: {name}.txt differs as documented (known difference: {why}):\n{}",
                        fails.join("\n")
                    );
                }
                (Some(why), true) => {
                    eprintln!("cli_diff: {name}.txt FAILED: no longer differs");
                    reports.push(format!(
                        "=== {name}.txt is marked `#! known-difference: {why}` but picket now matches redis-server: remove the directive\n"
                    ));
                }
            }
        }
    }
    if !reports.is_empty() {
        panic!(
            "{} script run(s) differ from redis-server:\n\n{}",
            reports.len(),
            reports.join("\n")
        );
    }
}

#[test]
fn the_runner_itself_masks_hello_ids_and_reports_differences() {
    let script = Script {
        name: "self".into(),
        lines: vec![(1, "HELLO 3".into()), (2, "GET k".into())],
        resp: vec![2],
        server_args: vec![],
        markers: true,
        known_difference: None,
    };
    let a = "\"@@1\"\n1# \"server\" => \"redis\"\n4# \"id\" => (integer) 3\n\"@@2\"\n(nil)\n";
    let b = "\"@@1\"\n1# \"server\" => \"redis\"\n4# \"id\" => (integer) 9\n\"@@2\"\n(nil)\n";
    assert!(compare(&script, 2, a, b).is_none());
    let c = "\"@@1\"\n1# \"server\" => \"redis\"\n4# \"id\" => (integer) 9\n\"@@2\"\n\"x\"\n";
    let rep = compare(&script, 2, a, c).expect("must differ");
    assert!(rep.contains("line 2: GET k"), "{rep}");
    let flat_a = "\"@@1\"\n 7) \"id\"\n 8) (integer) 3\n";
    let flat_b = "\"@@1\"\n 7) \"id\"\n 8) (integer) 5\n";
    assert!(compare(&script, 2, flat_a, flat_b).is_none());
    assert_eq!(
        split_args("--a \"\" --b \"x y\""),
        vec!["--a", "", "--b", "x y"]
    );
}
