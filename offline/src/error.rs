//! The crate's error type.
//!
//! Every message says what is wrong and what to do about it. A variant that wraps an error of
//! another crate with the step that failed (reading a calibration recording, fitting a method
//! on one fold, ...) includes the wrapped error's message in its own and also returns it as its
//! [`source`](std::error::Error::source), as the other neuroloop libraries do; print the chain
//! leaving out causes already contained in the message before them.

use std::path::PathBuf;

use neuroloop_decoders::DecoderError;
use neuroloop_decoders::mi::{MiError, MiMethod};
use neuroloop_decoders::onnx::ModelError;
use neuroloop_dsp::DspError;

/// Result of the offline work.
pub type Result<T> = std::result::Result<T, OfflineError>;

/// Everything that can go wrong evaluating decoders on recorded data sets or fitting
/// calibration models from recordings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// A calibration recording could not be read.
    #[error("reading calibration recording {}: {source}", path.display())]
    ReadCalibration {
        /// The recording.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: Box<neuroloop_formats::Error>,
    },
    /// A recording of a data set could not be read.
    #[error("reading {}: {source}", path.display())]
    ReadRecording {
        /// The recording.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: Box<neuroloop_formats::Error>,
    },
    /// A data-set file (NPY array, events CSV, DREAMS text) could not be read; the message
    /// names the file.
    #[error(transparent)]
    Format(Box<neuroloop_formats::Error>),
    /// Trials could not be cut from a recording.
    #[error("cutting trials from {}: {source}", path.display())]
    CutTrials {
        /// The recording.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<OfflineError>,
    },
    /// A folder could not be listed.
    #[error("cannot list {}: {hint}: {source}", path.display())]
    ListFolder {
        /// The folder.
        path: PathBuf,
        /// Which folder to pass instead.
        hint: &'static str,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The folder a feature dump goes to could not be created.
    #[error("cannot create the dump folder {}: {source}", path.display())]
    CreateDumpFolder {
        /// The folder.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a text file of values is not a number.
    #[error(
        "{} line {line}: `{text}` is not a number; the file must hold one value per line: {source}",
        path.display()
    )]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line's text.
        text: String,
        /// The parser's error.
        #[source]
        source: std::num::ParseFloatError,
    },
    /// JSON could not be read or written.
    #[error("{what}: {source}")]
    Json {
        /// What was read or written, and what to do.
        what: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A motor-imagery method could not be fitted on one cross-validation fold.
    #[error("fitting {} on fold {fold}: {source}", method.name())]
    FitFold {
        /// The method.
        method: MiMethod,
        /// The fold left out.
        fold: usize,
        /// Why.
        #[source]
        source: MiError,
    },
    /// An SSVEP method could not be fitted on one session.
    #[error("fitting {method} on {session}: {source}")]
    FitSession {
        /// The method's name.
        method: &'static str,
        /// The session.
        session: String,
        /// Why.
        #[source]
        source: DecoderError,
    },
    /// None of the motor-imagery methods asked for could be fitted on the calibration trials;
    /// the first one's error.
    #[error("no method could be fitted; {}: {source}", method.name())]
    NoMethodFitted {
        /// The first method tried.
        method: MiMethod,
        /// Why it could not be fitted.
        #[source]
        source: Box<OfflineError>,
    },
    /// Fitting, loading or applying a motor-imagery model failed.
    #[error(transparent)]
    Mi(#[from] MiError),
    /// A decoder rejected its configuration or its data.
    #[error(transparent)]
    Decoder(#[from] DecoderError),
    /// A model or its card could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A filter rejected its configuration.
    #[error(transparent)]
    Dsp(#[from] DspError),
    /// The recordings or the data set do not hold what the work needs; the message names the
    /// problem and the fix.
    #[error("{what}")]
    Data {
        /// What is wrong and what to do.
        what: String,
    },
    /// What was asked cannot be done (nothing to fit, an excerpt that is not there, ...); the
    /// message says what to ask instead.
    #[error("{what}")]
    Request {
        /// What is wrong and what to do.
        what: String,
    },
}

impl OfflineError {
    /// A [`OfflineError::Data`] error.
    pub(crate) fn data(what: impl Into<String>) -> Self {
        OfflineError::Data { what: what.into() }
    }

    /// A [`OfflineError::Request`] error.
    pub(crate) fn request(what: impl Into<String>) -> Self {
        OfflineError::Request { what: what.into() }
    }
}

impl From<neuroloop_formats::Error> for OfflineError {
    fn from(e: neuroloop_formats::Error) -> Self {
        OfflineError::Format(Box::new(e))
    }
}

impl From<neuroloop_formats::NpyError> for OfflineError {
    fn from(e: neuroloop_formats::NpyError) -> Self {
        neuroloop_formats::Error::from(e).into()
    }
}

impl From<neuroloop_formats::TextError> for OfflineError {
    fn from(e: neuroloop_formats::TextError) -> Self {
        neuroloop_formats::Error::from(e).into()
    }
}
