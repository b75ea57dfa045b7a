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

use crate::card::{MiNetConfig, SpindleNetConfig, SsvepNetConfig};

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

/// The environment [`init`] built, for sessions.
fn environment() -> Result<&'static ort::environment::Environment, RuntimeError> {
    init()?;
    ENVIRONMENT.get().ok_or_else(|| RuntimeError::LoadFailed {
        path: PathBuf::from(LIBRARY_NAME),
        reason: "the runtime loaded but its environment was not kept".to_owned(),
    })
}

/// Name and shape of a model input or output, as a card states it (`-1`: any size).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Tensor name in the graph.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<i64>,
}

impl TensorSpec {
    /// Elements of one call's tensor (dynamic dimensions count as 1).
    pub fn elements(&self) -> usize {
        self.shape.iter().map(|&d| d.max(1) as usize).product()
    }
}

/// Outputs a card records for fixed, formula-made inputs, so a copy of the model can be
/// checked without any data. The input's dimensions but the last are flattened into rows (for
/// `[1, bands, channels, samples]`, row `c` is band `c / channels`, channel `c % channels`);
/// window `k` holds, for row `c` and sample `i`,
/// `sin(0.05 (k + 1) (i + 1) (1 + row_rate c) + c) * amplitude[c]`, so with a non-zero
/// `row_rate` every row has its own frequency and a model whose output depends on which row
/// holds what (a filter bank's order, a channel layout) is checked for it too.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Golden {
    /// Amplitude per input row.
    pub amplitude: Vec<f64>,
    /// Relative frequency step from one row to the next (0: every row at the same frequency).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub row_rate: f64,
    /// The model's first output for windows 0, 1, …
    pub outputs: Vec<f64>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Golden {
    /// Input `k` of the golden set for an input of `rows` × `samples`.
    pub fn input(&self, k: usize, rows: usize, samples: usize) -> Vec<f32> {
        let mut x = vec![0.0f32; rows * samples];
        for c in 0..rows {
            let a = self.amplitude.get(c).copied().unwrap_or(1.0);
            let rate = 0.05 * (k + 1) as f64 * (1.0 + self.row_rate * c as f64);
            for i in 0..samples {
                let phase = rate * (i + 1) as f64 + c as f64;
                x[c * samples + i] = (phase.sin() * a) as f32;
            }
        }
        x
    }
}

/// A model card (`assets/models/<name>.toml`): the model file, its input and output, the
/// settings the application needs to run it, how it was trained and what it scored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Model name (the evaluation reports under it).
    pub name: String,
    /// What the model does.
    pub task: String,
    /// ONNX file, relative to the card.
    pub file: String,
    /// The single input.
    pub input: TensorSpec,
    /// The output read after each call (found in the graph by its name).
    pub output: TensorSpec,
    /// Settings of a spindle model (front end and decision rule).
    #[serde(default)]
    pub spindle: Option<SpindleNetConfig>,
    /// Settings of a motor-imagery model (its window and classes).
    #[serde(default)]
    pub mi: Option<MiNetConfig>,
    /// Settings of an SSVEP model (its sub-band windows and targets).
    #[serde(default)]
    pub ssvep: Option<SsvepNetConfig>,
    /// How the model was trained (free-form: data, command, seed, sizes).
    #[serde(default)]
    pub training: toml::Table,
    /// Held-out scores and the shipped model's own scores (free-form numbers and text).
    #[serde(default)]
    pub validation: toml::Table,
    /// Which recordings shaped the model and which it was measured on; checked when the card
    /// is read.
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// Outputs for formula-made inputs.
    #[serde(default)]
    pub golden: Option<Golden>,
    /// The card's own path (not in the file).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Which recordings shaped a model and which it was measured on (a card's `[provenance]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Every recording that influenced any choice: the weights, and the architecture,
    /// features, offsets, thresholds, regularisation and decision rule chosen for them, in
    /// any fold of any search.
    pub influenced: Vec<String>,
    /// Recordings that influenced nothing. A number the card calls held out is measured on
    /// these only; empty when the model has no such recordings.
    pub held_out: Vec<String>,
    /// How the choices were made.
    #[serde(default)]
    pub note: String,
}

impl Provenance {
    /// Checks that no recording is both influencing and held out, that some recording
    /// influenced the model, and that neither list names a recording twice; the error says
    /// which recording and what to change.
    pub fn check(&self) -> Result<(), String> {
        if self.influenced.is_empty() {
            return Err("[provenance] influenced is empty: list every recording the training or any choice of the model looked at".into());
        }
        for (list, name) in [
            (&self.influenced, "influenced"),
            (&self.held_out, "held_out"),
        ] {
            for (i, r) in list.iter().enumerate() {
                if list[..i].contains(r) {
                    return Err(format!(
                        "[provenance] {name} lists \"{r}\" twice: list each recording once"
                    ));
                }
            }
        }
        if let Some(r) = self.held_out.iter().find(|r| self.influenced.contains(r)) {
            return Err(format!(
                "[provenance] lists \"{r}\" both as influenced and as held_out: a recording that influenced any choice is not held out; remove it from held_out (and re-measure the held-out numbers without it)"
            ));
        }
        Ok(())
    }
}

/// Problems with a model or its card; each names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The card cannot be read or parsed.
    #[error(
        "model card {path}: {reason}; pass a card written by the project's training scripts (assets/models/*.toml)"
    )]
    Card {
        /// The card.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// ONNX Runtime is missing.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The ONNX file failed to load.
    #[error(
        "ONNX model {path} could not be loaded: {reason}; re-export it with the training script named in its card"
    )]
    Load {
        /// The ONNX file.
        path: PathBuf,
        /// ONNX Runtime's message.
        reason: String,
    },
    /// The graph does not have the input or output the card states.
    #[error(
        "ONNX model {path}: its {what} is {actual} but its card says {expected}; the card and the model do not belong together: retrain (the script writes both) or fix the card"
    )]
    Shape {
        /// The ONNX file.
        path: PathBuf,
        /// `input` or `output`.
        what: &'static str,
        /// What the graph has.
        actual: String,
        /// What the card says.
        expected: String,
    },
    /// Running the model failed.
    #[error("ONNX model {name} failed to run: {reason}")]
    Run {
        /// Model name.
        name: String,
        /// ONNX Runtime's message.
        reason: String,
    },
}

impl ModelCard {
    /// Reads a card.
    pub fn read(path: &Path) -> Result<ModelCard, ModelError> {
        let card_err = |reason: String| ModelError::Card {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| card_err(e.to_string()))?;
        let mut card: ModelCard = toml::from_str(&text).map_err(|e| card_err(e.to_string()))?;
        if let Some(p) = &card.provenance {
            p.check().map_err(card_err)?;
        }
        card.path = path.to_path_buf();
        Ok(card)
    }

    /// Reads the card `file` (e.g. [`SPINDLE_NET_CARD`]) from [`shipped_models_dir`].
    pub fn shipped(file: &str) -> Result<ModelCard, ModelError> {
        Self::read(&shipped_models_dir().join(file))
    }

    /// The ONNX file's path (the card's `file`, relative to the card).
    pub fn model_path(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.file)
    }

    /// A number from the validation table, looked up by a dotted path (`shipped.f1_scorer1`).
    pub fn validation_number(&self, key: &str) -> Option<f64> {
        let mut parts = key.split('.');
        let mut value = self.validation.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        value
            .as_float()
            .or_else(|| value.as_integer().map(|i| i as f64))
    }
}

/// Card of the shipped neural spindle detector, in [`shipped_models_dir`].
pub const SPINDLE_NET_CARD: &str = "spindle-net.toml";

/// The folder of the models the application ships: `assets/models` in a folder above the
/// executable (a checkout or an unpacked release), else in the source tree it was built from.
pub fn shipped_models_dir() -> PathBuf {
    let local = Path::new("assets/models");
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.join(local).is_dir() {
                return dir.join(local);
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(local)
}

/// A loaded ONNX model with preallocated input and output tensors: one window in, the first
/// output's values out. Single-threaded (one intra-op thread): it runs on the worker between
/// blocks.
///
/// [`OnnxModel::run`] calls ONNX Runtime's `Run` directly with the tensors and names made at
/// load time, so the Rust side allocates nothing per call (the `ort` crate's safe `run`
/// builds name strings and output handles each time); what ONNX Runtime does inside is its
/// own arena's business, reused from the first call on.
#[derive(Debug)]
pub struct OnnxModel {
    name: String,
    session: ort::session::Session,
    input: ort::value::Tensor<f32>,
    input_name: std::ffi::CString,
    output: ort::value::Tensor<f32>,
    output_name: std::ffi::CString,
    /// Calls of [`OnnxModel::probabilities`] the model failed.
    failures: u64,
}

fn outlets(list: &[ort::value::Outlet]) -> Vec<TensorSpec> {
    list.iter()
        .map(|o| TensorSpec {
            name: o.name().to_string(),
            shape: o
                .dtype()
                .tensor_shape()
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn shape_text(shape: &[i64]) -> String {
    format!("{shape:?}")
}

fn same_shape(actual: &[i64], expected: &[i64]) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(&a, &e)| a == e || a < 0 || e < 0)
}

impl OnnxModel {
    /// Loads the card's model and checks that its input and output are the card's.
    pub fn load(card: &ModelCard) -> Result<OnnxModel, ModelError> {
        let env = environment()?;
        let path = card.model_path();
        let load_err = |reason: String| ModelError::Load {
            path: path.clone(),
            reason,
        };
        if !path.is_file() {
            return Err(load_err("the file does not exist".to_owned()));
        }
        let session = ort::session::Session::builder(env)
            .and_then(|b| Ok(b.with_intra_threads(1)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_file(&path))
            .map_err(|e| load_err(e.to_string()))?;
        let outlet = |what: &'static str,
                      list: &[ort::value::Outlet],
                      spec: &TensorSpec|
         -> Result<(), ModelError> {
            let found = list.iter().find(|o| o.name() == spec.name);
            let shape_err = |actual: String| ModelError::Shape {
                path: path.clone(),
                what,
                actual,
                expected: format!("{} {}", spec.name, shape_text(&spec.shape)),
            };
            let Some(o) = found else {
                let names: Vec<&str> = list.iter().map(|o| o.name()).collect();
                return Err(shape_err(format!("named {names:?}")));
            };
            let shape: Vec<i64> = o
                .dtype()
                .tensor_shape()
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            if !same_shape(&shape, &spec.shape) {
                return Err(shape_err(format!("{} {}", spec.name, shape_text(&shape))));
            }
            Ok(())
        };
        outlet("input", session.inputs(), &card.input)?;
        outlet("output", session.outputs(), &card.output)?;
        let tensor = |spec: &TensorSpec| {
            let dims: Vec<usize> = spec.shape.iter().map(|&d| d.max(1) as usize).collect();
            ort::value::Tensor::<f32>::from_array((
                dims,
                vec![0.0f32; spec.elements()].into_boxed_slice(),
            ))
            .map_err(|e| load_err(e.to_string()))
        };
        let c_name = |name: &str| {
            std::ffi::CString::new(name).map_err(|_| ModelError::Card {
                path: card.path.clone(),
                reason: format!("the tensor name {name:?} holds a NUL byte"),
            })
        };
        Ok(OnnxModel {
            name: card.name.clone(),
            session,
            input: tensor(&card.input)?,
            input_name: c_name(&card.input.name)?,
            output: tensor(&card.output)?,
            output_name: c_name(&card.output.name)?,
            failures: 0,
        })
    }

    /// The graph's inputs as it declares them (name and shape; `-1` for a dynamic size).
    pub fn graph_inputs(&self) -> Vec<TensorSpec> {
        outlets(self.session.inputs())
    }

    /// The graph's outputs as it declares them.
    pub fn graph_outputs(&self) -> Vec<TensorSpec> {
        outlets(self.session.outputs())
    }

    /// Runs the model on `x` (as many values as the input holds) and returns the first
    /// output's values.
    pub fn run(&mut self, x: &[f32]) -> Result<&[f32], ModelError> {
        let run_err = |reason: String| ModelError::Run {
            name: self.name.clone(),
            reason,
        };
        let (_, data) = self.input.extract_tensor_mut();
        if x.len() != data.len() {
            return Err(run_err(format!(
                "{} input values given, the model takes {}",
                x.len(),
                data.len()
            )));
        }
        data.copy_from_slice(x);
        use ort::AsPointer as _;
        let api = ort::api();
        let input_names = [self.input_name.as_ptr()];
        let inputs = [self.input.ptr()];
        let output_names = [self.output_name.as_ptr()];
        let mut outputs = [self.output.ptr_mut()];
        // SAFETY: the session, both tensors and both names live in `self` for the whole call;
        // the arrays hold one valid pointer each, matching the lengths passed; the output
        // tensor was made with the shape and type the graph declares (checked at load), so
        // ONNX Runtime writes into it instead of allocating a new value.
        let status = unsafe {
            (api.Run)(
                self.session.ptr().cast_mut(),
                std::ptr::null(),
                input_names.as_ptr(),
                inputs.as_ptr(),
                1,
                output_names.as_ptr(),
                1,
                outputs.as_mut_ptr(),
            )
        };
        if !status.0.is_null() {
            // SAFETY: a non-null status from `Run` is a valid `OrtStatus` we own; its message
            // is a NUL-terminated string valid until the status is released, which happens
            // after the message is copied.
            let message = unsafe {
                let text = std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0))
                    .to_string_lossy()
                    .into_owned();
                (api.ReleaseStatus)(status.0);
                text
            };
            return Err(run_err(message));
        }
        Ok(self.output.extract_tensor().1)
    }

    /// Calls of [`OnnxModel::probabilities`] on finite windows that the model failed (a run
    /// error, or an output that is not a probability distribution).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Runs a classifier on `window` and writes its class probabilities into `proba`.
    /// Returns `false` when the window holds non-finite samples or the model fails or returns
    /// something that is not a probability distribution over `proba.len()` classes (negative,
    /// non-finite, or not summing to 1 within 1e-3): no decision then.
    ///
    /// No allocation on the Rust side ([`OnnxModel::run`]).
    pub fn probabilities(&mut self, window: &[f32], proba: &mut [f64]) -> bool {
        if !window.iter().all(|v| v.is_finite()) {
            return false;
        }
        let Ok(out) = self.run(window) else {
            self.failures += 1;
            return false;
        };
        if out.len() != proba.len()
            || !out.iter().all(|p| p.is_finite() && *p >= 0.0)
            || (out.iter().sum::<f32>() - 1.0).abs() > 1e-3
        {
            self.failures += 1;
            return false;
        }
        for (p, &o) in proba.iter_mut().zip(out) {
            *p = f64::from(o);
        }
        true
    }
}

impl crate::sleep::WindowModel for OnnxModel {
    fn predict(&mut self, window: &[f32]) -> Result<f32, String> {
        match self.run(window) {
            Ok(y) => y.first().copied().ok_or_else(|| "empty output".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Loads the spindle model a card describes as a ready [`crate::sleep::SpindleNet`].
pub fn load_spindle_net(card: &ModelCard) -> Result<crate::sleep::SpindleNet, ModelError> {
    let config = card.spindle.ok_or_else(|| ModelError::Card {
        path: card.path.clone(),
        reason: "it has no [spindle] table: it is not a spindle model".to_owned(),
    })?;
    let expected = [
        1,
        crate::sleep::spindle_net::NET_CHANNELS as i64,
        config.front_end.window_samples() as i64,
    ];
    if !same_shape(&card.input.shape, &expected) {
        return Err(ModelError::Card {
            path: card.path.clone(),
            reason: format!(
                "its input shape {} does not fit its front end, which makes {}",
                shape_text(&card.input.shape),
                shape_text(&expected)
            ),
        });
    }
    let model = OnnxModel::load(card)?;
    Ok(crate::sleep::SpindleNet::new(config, Box::new(model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped card says which recordings shaped it and which it was measured on, the
    /// two lists disjoint (checked when read), and names its training subjects as influencing.
    #[test]
    fn shipped_cards_keep_influencing_and_held_out_recordings_apart() {
        for file in ["mi-net.toml", "spindle-net.toml", "ssvep-net.toml"] {
            let card = ModelCard::shipped(file).unwrap();
            let p = card
                .provenance
                .as_ref()
                .unwrap_or_else(|| panic!("{file} has no [provenance]"));
            p.check().unwrap();
            assert!(!p.note.is_empty(), "{file}: say how the choices were made");
            if let Some(subjects) = card.validation.get("training_subjects") {
                for s in subjects.as_array().unwrap() {
                    let s = s.as_str().unwrap();
                    assert!(
                        p.influenced.iter().any(|r| r.contains(&format!(" {s}"))),
                        "{file}: training subject {s} is not listed as influencing"
                    );
                }
            }
        }
    }

    #[test]
    fn a_card_holding_out_an_influencing_recording_is_refused_by_name() {
        let shipped = std::fs::read_to_string(shipped_models_dir().join("mi-net.toml")).unwrap();
        let dir = std::env::temp_dir().join(format!("nl-provenance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.toml");
        let leaked = shipped.replace("held_out = []", "held_out = [\"EEGMMIDB S001R04\"]");
        assert_ne!(leaked, shipped);
        std::fs::write(&path, leaked).unwrap();
        let err = ModelCard::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("\"EEGMMIDB S001R04\" both as influenced and as held_out")
                && err.contains("remove it from held_out"),
            "{err}"
        );
        let empty = shipped.replace("influenced = [", "influenced = [] # [");
        std::fs::write(&path, empty).unwrap();
        let err = ModelCard::read(&path).unwrap_err().to_string();
        assert!(err.contains("[provenance] influenced is empty"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

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
