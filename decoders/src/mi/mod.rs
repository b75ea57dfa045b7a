//! Motor imagery: covariance-based decoders fitted from a calibration recording.
//!
//! Every method starts from the same trial (or sliding-window) covariance: the signal is
//! band-passed causally (8-30 Hz by default, as online), cut into a window, and its
//! covariance estimated with Oracle Approximating Shrinkage ([`covariance::CovEstimator`]).
//! Then:
//!
//! - `csp-lda`: common spatial patterns (generalised eigenvectors of the class means; one
//!   class against the rest for more than two classes), log-variance features, and linear
//!   discriminant analysis with Ledoit-Wolf shrinkage;
//! - `ts-lr`: projection to the tangent space at the Riemannian mean of the training
//!   covariances and L2 logistic regression (binary, or multinomial for more classes);
//! - `mdm`: minimum Riemannian distance to each class's Riemannian mean;
//! - `fbcsp-lda`: filter-bank CSP (Ang et al. 2008): the signal band-passed into nine 4-Hz
//!   bands from 4 to 40 Hz ([`model::MiProtocol::sub_bands`]; a window stacks the bands), CSP
//!   with 4 filters per band, the 8 log-variance features with the highest ANOVA F, and the
//!   shrinkage LDA.
//!
//! [`model::MiModel::fit`] fits a method (allocates, offline); the result saves to and loads
//! from JSON with its metadata; [`model::MiPredictor`] scores a window without allocating,
//! and [`decoder::MiDecoder`] runs it on a stream. [`net::MiNet`] is the neural alternative:
//! a compact CNN shipped as ONNX with its card, on the same kind of band-passed window, run by
//! the same [`decoder::MiDecoder`].

pub mod covariance;
pub mod decoder;
pub mod fit;
pub mod model;
pub mod net;
pub mod spd;

pub use decoder::{MiDecoder, MiDecoderConfig};
pub use model::{MiMethod, MiModel, MiPredictor};
pub use net::MiNet;

/// Problems fitting, loading or applying a motor-imagery model; each says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum MiError {
    /// Fewer than two classes in the training data.
    #[error(
        "the training data has {classes} class(es) with trials; a decoder needs at least two: record trials of every cue"
    )]
    TooFewClasses {
        /// Classes that have trials.
        classes: usize,
    },
    /// A class has too few trials to estimate its statistics.
    #[error(
        "class `{class}` has {trials} training trial(s); at least {needed} are needed: record a longer calibration"
    )]
    TooFewTrials {
        /// The class.
        class: String,
        /// Trials it has.
        trials: usize,
        /// Minimum.
        needed: usize,
    },
    /// Trials do not all have the same shape.
    #[error(
        "trial {index} has {len} values but (bands x) channels x samples = {expected}: every trial must be cut with the same window and filter bank"
    )]
    TrialShape {
        /// Offending trial.
        index: usize,
        /// Its length.
        len: usize,
        /// Expected length.
        expected: usize,
    },
    /// A matrix that should be symmetric positive definite is not (flat or duplicated
    /// channels, non-finite samples).
    #[error(
        "{what} is not positive definite: check for flat, duplicated or non-finite channels and remove them"
    )]
    NotPositiveDefinite {
        /// Which matrix.
        what: &'static str,
    },
    /// A model file could not be read or written.
    #[error("motor-imagery model {path}: {reason}")]
    ModelFile {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },
    /// Trials cut for another method's preprocessing (a filter bank for a single-band method
    /// or the reverse).
    #[error(
        "{method} needs {needs} trials: cut them with the protocol `MiProtocol::for_method` gives"
    )]
    ProtocolMismatch {
        /// The method fitted.
        method: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// A model's parameters do not fit together (a hand-edited or truncated file).
    #[error(
        "the motor-imagery model is inconsistent: {detail}; refit it from the calibration recording"
    )]
    BadModel {
        /// Which parameters disagree.
        detail: String,
    },
}
