//! The binary as an operator runs it: check-config, serve with a bad config, signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::harness::{PATIENCE, expect_clean_exit, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_floorwatch");

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

#[test]
fn check_config_accepts_the_shipped_example() {
    let out = Command::new(BIN)
        .args(["check-config", concat!(env!("CARGO_MANIFEST_DIR"), "/config/floorwatch.toml")])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn check_config_reports_file_line_and_key_of_each_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases: &[(&str, &[&str])] = &[
        ("[server]\nlisten = \"nowhere\"\n", &["bad.toml:2:1: server.listen"]),
        ("[ingest]\nmax_frame_bytes = \"big\"\n", &["bad.toml:2:", "ingest.max_frame_bytes"]),
        (
            "[floor]\ntimezone = \"Mars\"\n\n[windows]\nrolling_secs = [7]\n",
            &["bad.toml:2:1: floor.timezone", "bad.toml:5:17: windows.rolling_secs[0]"],
        ),
        ("[[queues]]\nid = \"q\"\nsl_targt = 0.8\n", &["bad.toml:3:", "sl_targt"]),
        ("this is = = not toml\n", &["bad.toml:1:", "invalid TOML"]),
    ];
    for (text, needles) in cases {
        let p = write(&dir, "bad.toml", text);
        let out = Command::new(BIN).arg("check-config").arg(&p).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        for n in *needles {
            assert!(err.contains(n), "{text}\n--- stderr lacks {n:?}:\n{err}");
        }
    }
    let out = Command::new(BIN).args(["check-config", "/no/such/file.toml"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read file"));
}

/// A file with six mistakes of every sort (a line that is no TOML, an unknown key,
/// a value of the wrong type, three that the checks refuse) is reported whole in
/// one run: six lines, each at its own line:column. It used to take three runs.
#[test]
fn check_config_lists_six_mistakes_in_one_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = "[server]\nlisten = \"nowhere\"\nlisten_port = 3\n\n[ingest]\nmax_frame_bytes = \"big\"\n\n\
                [floor]\ntimezone = \"Mars\"\nbroken = = 1\n\n[[queues]]\nid = \"q\"\nsl_target = 80\n";
    let p = write(&dir, "six.toml", text);
    let out = Command::new(BIN).arg("check-config").arg(&p).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let places: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split("six.toml:").nth(1))
        .map(|rest| rest.split(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(places, ["2:1", "3:1", "6:19", "9:1", "10:10", "14:1"], "{err}");
    let mut unique = places.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6, "each error at its own place: {err}");
}

#[test]
fn serve_refuses_a_bad_config_the_same_way() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(&dir, "bad.toml", "[queue_defaults]\nsl_target = 80\n");
    let out = Command::new(BIN).arg("serve").arg("--config").arg(&p).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:2:1: queue_defaults.sl_target"));
}

/// Starts `floorwatch serve` on an ephemeral port, reads the address it logs.
pub fn spawn_serve(args: &[&str]) -> (std::process::Child, std::net::SocketAddr) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn floorwatch serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("addr=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx.recv_timeout(PATIENCE).expect("daemon logs its address");
    (child, addr.parse().expect("a socket address"))
}

#[tokio::test]
async fn sigterm_stops_the_daemon_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().to_string_lossy().into_owned();
    let (mut child, addr) = spawn_serve(&["--data-dir", &data]);
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    expect_clean_exit(&mut child, "daemon after SIGTERM").await;
}
