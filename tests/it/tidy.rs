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

/// The non-test code of a source file: everything before its first `#[cfg(test)]`
/// (the tree keeps tests at the end of a file or in `tests.rs` files), without
/// `//` comments, so a doc line that names a module is not an import of it.
fn code_of(path: &Path) -> String {
    let text = read(path);
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        code.push_str(&rest[..i]);
        rest = skip_item(&rest[i + "#[cfg(test)]".len()..]);
    }
    code.push_str(rest);
    code.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// What follows the item at the start of `s`: past its `;` (`mod tests;`) or past
/// its braced body (`mod tests { … }`, a test-only `fn`).
fn skip_item(s: &str) -> &str {
    let (semi, open) = (s.find(';'), s.find('{'));
    if let Some(j) = semi
        && open.is_none_or(|o| j < o)
    {
        return &s[j + 1..];
    }
    let Some(o) = open else { return "" };
    let mut depth = 0usize;
    for (k, ch) in s[o..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &s[o + k + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

fn is_test_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("tests")
        || name.ends_with("_tests.rs")
        || p.components().any(|c| c.as_os_str() == "tests")
}

/// The top-level module a file under `src/` belongs to (`src/floor/calls.rs` → `floor`).
fn top_module(src: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("non-empty").as_os_str().to_string_lossy().into_owned();
    first.strip_suffix(".rs").map(str::to_owned).unwrap_or(first)
}

/// Which top-level modules each module's non-test code names (`crate::x`, or `x`
/// inside `use crate::{…}`).
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| !is_test_file(f.strip_prefix(&src).expect("under src")));
    let mods: BTreeSet<String> = files.iter().map(|f| top_module(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = top_module(&src, f);
        let code = code_of(f);
        let mut used = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a::X, b, c::{…}}`: the first segment of each item.
                for item in split_top_level(group) {
                    let name: String =
                        item.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    used.insert(name);
                }
            } else {
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                used.insert(name);
            }
        }
        let edges = graph.entry(from.clone()).or_default();
        edges.extend(used.into_iter().filter(|m| mods.contains(m) && *m != from));
    }
    graph
}

/// The items of a `use crate::{…}` group, split at its top-level commas.
fn split_top_level(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, ch) in group.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// Data flows one way (ARCHITECTURE.md): the modules' imports form no cycle. The
/// wiring at the top (`main`, `lib`, `cli`, `app`, and `config`, which composes
/// every owner's section) may name anything, so it is left out of the graph.
#[test]
fn the_module_graph_has_no_cycle() {
    let wiring = ["main", "lib", "cli", "app", "config"];
    let mut graph = module_graph();
    graph.retain(|m, _| !wiring.contains(&m.as_str()));
    for edges in graph.values_mut() {
        edges.retain(|m| !wiring.contains(&m.as_str()));
    }
    // Depth-first search with colours; a grey module met again closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        colour: &mut std::collections::HashMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        colour.insert(m, 1);
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            match colour.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = path.iter().position(|p| *p == next.as_str()).unwrap_or(0);
                    let mut cycle: Vec<String> = path[at..].iter().map(|s| (*s).to_owned()).collect();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, colour, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        colour.insert(m, 2);
        None
    }
    let mut colour = std::collections::HashMap::new();
    for m in graph.keys() {
        if colour.get(m.as_str()).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(m, &graph, &mut colour, &mut Vec::new())
        {
            panic!("import cycle between top-level modules: {}", cycle.join(" -> "));
        }
    }
    assert!(graph.len() > 10, "the module graph was not found ({} modules)", graph.len());
}

/// Who may not import whom: the data path's order, stated as absences.
#[test]
fn no_module_reaches_back_upstream() {
    let graph = module_graph();
    // (module, modules it must not name): the pure cores name nothing that does IO
    // or runs tasks; sources know nothing of the engine's downstream.
    let banned: [(&str, &[&str]); 4] = [
        (
            "floor",
            &["engine", "rules", "alerts", "incidents", "store", "metrics", "http", "notify", "ingest"],
        ),
        ("rules", &["engine", "alerts", "incidents", "store", "metrics", "http", "notify", "ingest"]),
        ("ingest", &["floor", "rules", "alerts", "incidents", "store", "http", "notify", "wallboard"]),
        ("engine", &["alerts", "incidents", "http", "notify", "ingest", "wallboard"]),
    ];
    for (m, not) in banned {
        let edges = graph.get(m).unwrap_or_else(|| panic!("no module {m}"));
        for n in not {
            assert!(!edges.contains(*n), "{m} imports {n}, upstream of it or outside its layer");
        }
    }
}

/// `floor/` and `rules/` (and the engine's step) are pure: no tokio, no `.await`,
/// no store, no metrics, no clock of their own (`now` is passed in). The step may
/// name `metrics::counting::Counts`, the plain data it hands the counting task.
#[test]
fn the_pure_cores_are_pure() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src.join("floor"), &mut files);
    rust_files(&src.join("rules"), &mut files);
    files.retain(|f| !is_test_file(f.strip_prefix(&src).expect("under src")));
    assert!(files.len() > 10, "the pure cores were not found");
    files.push(src.join("engine/step.rs"));
    let banned = [
        "tokio::",
        ".await",
        "crate::store",
        "crate::metrics",
        "std::thread",
        "SystemTime",
        "Instant",
        "Utc::now",
        "Local::now",
        "std::fs",
        "std::net",
    ];
    for f in files {
        let code = code_of(&f);
        let step = f.ends_with("engine/step.rs");
        for b in banned {
            if step && b == "crate::metrics" {
                let other = code.replace("crate::metrics::counting::Counts", "");
                assert!(!other.contains(b), "{} is the engine's pure step but uses {b}", f.display());
                continue;
            }
            assert!(!code.contains(b), "{} is in a pure core but uses {b}", f.display());
        }
    }
}
