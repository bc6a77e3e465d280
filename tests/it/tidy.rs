//! Checks of the project's own habits, run with the suite: the map in
//! ARCHITECTURE.md names every module, no test is skipped or expects a panic, the
//! README's test command is what CI runs, and every metric the README documents is
//! defined in the code.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn architecture_names_every_top_level_module() {
    let arch = read(&root().join("ARCHITECTURE.md"));
    for entry in std::fs::read_dir(root().join("src")).expect("src").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `src/x/` beside `src/x.rs` only holds x's children (its tests): x.rs is the module.
        if entry.path().is_dir() && root().join("src").join(format!("{name}.rs")).exists() {
            continue;
        }
        let shown = if entry.path().is_dir() { format!("`src/{name}/`") } else { format!("`src/{name}`") };
        assert!(arch.contains(&shown), "ARCHITECTURE.md does not mention {shown}");
    }
}

#[test]
fn no_test_is_ignored_or_expects_a_panic() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    rust_files(&root().join("benches"), &mut files);
    let banned = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    for f in files {
        let text = read(&f);
        for b in banned {
            assert!(!text.contains(b), "{} contains {b}]: fix the test instead", f.display());
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read(&root().join("README.md"));
    assert!(readme.contains("./scripts/test"), "README names the test command");
    assert!(readme.contains("cargo run --release -- demo"), "README names the demo command");
    let ci = read(&root().join(".ci/run"));
    assert!(ci.lines().any(|l| l.trim() == "exec ./scripts/test"), ".ci/run must run exactly ./scripts/test");
}

#[test]
fn every_documented_metric_is_defined() {
    let readme = read(&root().join("README.md"));
    let mut code = String::new();
    let mut files = Vec::new();
    rust_files(&root().join("src/metrics"), &mut files);
    // Ingest's own counters are defined with it (so metrics need not know ingest).
    files.push(root().join("src/ingest/metrics.rs"));
    for f in files {
        code.push_str(&read(&f));
    }
    let mut seen = 0;
    for line in readme.lines().filter(|l| l.starts_with("| `floorwatch_")) {
        let first_cell = line.split('|').nth(1).unwrap_or("");
        for name in first_cell.split('`').skip(1).step_by(2) {
            assert!(
                code.contains(&format!("\"{name}\"")),
                "README documents {name}, which neither src/metrics nor src/ingest/metrics.rs defines"
            );
            seen += 1;
        }
    }
    assert!(seen > 20, "README metrics table not found ({seen})");
}
