//! The workspace's layers, checked from `cargo metadata` and the sources: crates depend only on
//! crates of lower layers, no GUI or command-line crate is in the dependency tree of a crate
//! below the `neuroloop` binary crate, only the binary crate uses `anyhow`, and the modules of
//! the runtime and binary crates import each other without cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use neuroloop_tests::repo_root;
use serde_json::Value;

/// Layer of each workspace crate: a crate may depend on crates of lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("neuroloop-dsp", 0),
    ("neuroloop-formats", 0),
    ("neuroloop-acquisition", 1),
    ("neuroloop-decoders", 1),
    ("neuroloop-stimuli", 1),
    ("neuroloop-runtime", 2),
    ("neuroloop-offline", 2),
    ("neuroloop", 3),
];

/// Crates only the binary crate may have in its dependency tree.
const APP_ONLY: &[&str] = &[
    "egui",
    "eframe",
    "egui_plot",
    "egui_kittest",
    "winit",
    "wgpu",
    "glow",
    "clap",
    "anyhow",
];

/// `cargo metadata` of the workspace.
fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Package id → name.
fn package_names(meta: &Value) -> BTreeMap<String, String> {
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Package id → ids of its dependencies of the given kind (`None`: normal, `Some("dev")`).
fn dependency_graph(meta: &Value, kind: Option<&str>) -> BTreeMap<String, Vec<String>> {
    meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].as_str() == kind)
                })
                .map(|d| d["pkg"].as_str().unwrap().to_string())
                .collect();
            (n["id"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// Names of every package the `roots` depend on, directly or not (normal dependencies).
fn closure(
    roots: &[String],
    deps: &BTreeMap<String, Vec<String>>,
    names: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = roots.iter().cloned().collect();
    let mut todo = roots.to_vec();
    while let Some(next) = todo.pop() {
        for d in deps.get(&next).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen.iter().map(|d| names[d].clone()).collect()
}

/// What building `id` compiles: its normal dependencies, and with `tests` also those its
/// tests add (dev-dependencies), each with their normal dependencies.
fn built_with(
    id: &str,
    tests: bool,
    normal: &BTreeMap<String, Vec<String>>,
    dev: &BTreeMap<String, Vec<String>>,
    names: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut roots: Vec<String> = normal.get(id).cloned().unwrap_or_default();
    if tests {
        roots.extend(dev.get(id).cloned().unwrap_or_default());
    }
    closure(&roots, normal, names)
}

#[test]
fn crates_depend_only_downwards_and_keep_gui_and_cli_in_the_binary() {
    let meta = metadata();
    let names = package_names(&meta);
    let (normal, dev) = (
        dependency_graph(&meta, None),
        dependency_graph(&meta, Some("dev")),
    );
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut problems = Vec::new();
    for (id, name) in &names {
        let Some(&own) = layer.get(name.as_str()) else {
            continue;
        };
        for d in normal.get(id).into_iter().flatten() {
            let dep = names[d].as_str();
            if let Some(&theirs) = layer.get(dep)
                && theirs >= own
            {
                problems.push(format!(
                    "{name} (layer {own}) depends on {dep} (layer {theirs})"
                ));
            }
        }
        if name == "neuroloop" {
            continue;
        }
        // A library builds without the binary's crates, and so do the runtime's and the
        // offline crate's own tests (the lower crates' benches use criterion, whose command
        // line is clap: that is theirs).
        let with_tests = matches!(name.as_str(), "neuroloop-runtime" | "neuroloop-offline");
        let tree = built_with(id, with_tests, &normal, &dev, &names);
        for banned in APP_ONLY.iter().chain(&["neuroloop"]) {
            if tree.contains(*banned) {
                problems.push(format!("{name} has {banned} in its dependency tree"));
            }
        }
    }
    // The check sees what it should: the binary does have the GUI and the CLI.
    let app = names
        .iter()
        .find(|(_, n)| *n == "neuroloop")
        .map(|(id, _)| built_with(id, false, &normal, &dev, &names))
        .expect("the binary crate is in the workspace");
    assert!(app.contains("eframe") && app.contains("clap"), "{app:?}");
    // The workspace's integration tests build without the GUI or the binary.
    let tests = names
        .iter()
        .find(|(_, n)| *n == "neuroloop-tests")
        .map(|(id, _)| built_with(id, true, &normal, &dev, &names))
        .expect("the tests crate is in the workspace");
    for banned in ["egui", "eframe", "winit", "wgpu", "clap", "neuroloop"] {
        if tests.contains(banned) {
            problems.push(format!(
                "neuroloop-tests has {banned} in its dependency tree"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

/// The top-level module of a source file of a crate (`src/session/start.rs` → `session`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Top-level module → the other top-level modules its files name as `crate::module`.
fn module_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let from = top_module(src, &path);
            let text = std::fs::read_to_string(&path).unwrap();
            // Tests may import anything; only what the crate is built from counts.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let targets = graph.entry(from.clone()).or_default();
            // Comments and doc links name modules without importing them.
            let lines = code.lines().filter(|l| !l.trim_start().starts_with("//"));
            for line in lines {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let known = src.join(format!("{name}.rs")).exists() || src.join(&name).is_dir();
                    if known && name != from {
                        targets.insert(name);
                    }
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_of_the_runtime_and_the_binary_import_each_other_without_cycles() {
    for krate in ["runtime", "app"] {
        let src = repo_root().join(krate).join("src");
        let graph = module_imports(&src);
        assert!(graph.len() > 5, "{krate}: {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{krate}: modules import each other in a circle: {}",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_cycle_check_finds_a_circle_and_only_a_circle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).into()).or_default().insert((*b).into());
            g.entry((*b).into()).or_default();
        }
        g
    };
    let line = graph(&[("cli", "session"), ("session", "worker"), ("cli", "worker")]);
    assert_eq!(find_cycle(&line), None);
    let circle = graph(&[("cli", "start"), ("start", "bench"), ("bench", "cli")]);
    let found = find_cycle(&circle).expect("a cycle");
    assert_eq!(found.first(), found.last());
    assert_eq!(found.len(), 4, "{found:?}");
}
