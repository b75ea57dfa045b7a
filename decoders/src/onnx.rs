//! ONNX Runtime: finding and loading the shared library.
//!
//! neuroloop loads `libonnxruntime.so` at run time (the `ort` crate's `load-dynamic` mode), so
//! the binary builds without it and says clearly what to do when it is missing. The library is
//! looked for, in order:
//! 1. the file named by `NEUROLOOP_ORT_LIB`, then by `ORT_DYLIB_PATH` (ort's own variable);
//! 2. `.deps/onnxruntime/lib/libonnxruntime.so` in any folder above the executable (where
//!    `scripts/setup.sh` puts it in a checkout);
//! 3. the same path in the source tree the binary was built from;
//! 4. the system library folders.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The ONNX Runtime release the project is built and tested against.
pub const ORT_VERSION: &str = "1.31.1";

/// Library file name on this platform.
pub const LIBRARY_NAME: &str = "libonnxruntime.so";

/// Problems loading ONNX Runtime; each says how to fix it.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RuntimeError {
    /// No candidate file exists.
    #[error(
        "ONNX Runtime ({LIBRARY_NAME}, version {ORT_VERSION}) was not found (looked in: {searched}); \
         run scripts/setup.sh to fetch it into .deps/onnxruntime, or set NEUROLOOP_ORT_LIB to the library's path"
    )]
    NotFound {
        /// Every path tried.
        searched: String,
    },
    /// A file was found but could not be loaded.
    #[error(
        "ONNX Runtime at {path} could not be loaded: {reason}; install version {ORT_VERSION} \
         (scripts/setup.sh does) or point NEUROLOOP_ORT_LIB at a working copy"
    )]
    LoadFailed {
        /// The file tried.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
}

/// A loaded runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeInfo {
    /// Where the library was loaded from.
    pub path: PathBuf,
    /// The runtime's build description (version, commit).
    pub build_info: String,
}

fn candidates(env: &dyn Fn(&str) -> Option<String>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for var in ["NEUROLOOP_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(p) = env(var).filter(|p| !p.is_empty()) {
            out.push(PathBuf::from(p));
        }
    }
    let local = Path::new(".deps/onnxruntime/lib").join(LIBRARY_NAME);
    if let Some(exe) = exe {
        for dir in exe.ancestors().skip(1) {
            out.push(dir.join(&local));
        }
    }
    out.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(&local),
    );
    for dir in ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"] {
        out.push(Path::new(dir).join(LIBRARY_NAME));
    }
    out
}

/// Finds the library (see the module documentation for the order) using the given
/// environment lookup and executable path.
pub fn locate_with(
    env: &dyn Fn(&str) -> Option<String>,
    exe: Option<&Path>,
) -> Result<PathBuf, RuntimeError> {
    let all = candidates(env, exe);
    // An explicitly named file that does not exist is an error, not something to skip past:
    // the user asked for that library.
    for var in ["NEUROLOOP_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(p) = env(var).filter(|p| !p.is_empty())
            && !Path::new(&p).is_file()
        {
            return Err(RuntimeError::LoadFailed {
                path: PathBuf::from(&p),
                reason: format!("{var} names a file that does not exist"),
            });
        }
    }
    all.iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| RuntimeError::NotFound {
            searched: all
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Finds the library from the process environment and executable path.
pub fn locate() -> Result<PathBuf, RuntimeError> {
    let exe = std::env::current_exe().ok();
    locate_with(&|k| std::env::var(k).ok(), exe.as_deref())
}

static RUNTIME: OnceLock<Result<RuntimeInfo, RuntimeError>> = OnceLock::new();
static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();

/// Loads ONNX Runtime once per process and returns where it came from. Later calls return
/// the first outcome.
pub fn init() -> Result<RuntimeInfo, RuntimeError> {
    RUNTIME
        .get_or_init(|| {
            let path = locate()?;
            let load_failed = |reason: String| RuntimeError::LoadFailed {
                path: path.clone(),
                reason,
            };
            let builder = ort::init_from(&path).map_err(|e| load_failed(e.to_string()))?;
            let env = builder
                .with_name("neuroloop")
                .build()
                .map_err(|e| load_failed(e.to_string()))?;
            // ort keeps only a weak reference to the environment; it lives as long as this.
            let _ = ENVIRONMENT.set(env);
            Ok(RuntimeInfo {
                build_info: ort::info().to_string(),
                path: path.clone(),
            })
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_file_that_does_not_exist_is_reported_with_its_variable() {
        let env = |k: &str| {
            (k == "NEUROLOOP_ORT_LIB").then(|| "/nonexistent/libonnxruntime.so".to_string())
        };
        let err = locate_with(&env, None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/libonnxruntime.so"), "{text}");
        assert!(text.contains("NEUROLOOP_ORT_LIB"), "{text}");
    }

    #[test]
    fn missing_library_names_the_fix() {
        let err = RuntimeError::NotFound {
            searched: "a, b".into(),
        };
        let text = err.to_string();
        assert!(text.contains("scripts/setup.sh") && text.contains("NEUROLOOP_ORT_LIB"));
    }

    #[test]
    fn the_copy_next_to_a_checkout_is_found() {
        let dir = std::env::temp_dir().join(format!("nl-ort-{}", std::process::id()));
        let lib_dir = dir.join(".deps/onnxruntime/lib");
        std::fs::create_dir_all(&lib_dir).unwrap();
        std::fs::write(lib_dir.join(LIBRARY_NAME), b"").unwrap();
        let exe = dir.join("target/release/neuroloop");
        let found = locate_with(&|_| None, Some(&exe)).unwrap();
        assert_eq!(found, lib_dir.join(LIBRARY_NAME));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runtime_loads_from_the_project_copy() {
        match locate() {
            Ok(_) => {
                let info = init().expect("ONNX Runtime should load");
                assert!(
                    info.build_info.contains("ORT Build Info"),
                    "{}",
                    info.build_info
                );
                // The project pins ONNX Runtime 1.31 (the API level the `ort` bindings target).
                let real = std::fs::canonicalize(&info.path).unwrap();
                let file = real.file_name().unwrap().to_string_lossy().into_owned();
                assert!(file.contains("1.31"), "loaded {file}");
            }
            Err(e) => {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: ONNX Runtime not installed here ({e})"
                );
            }
        }
    }
}
