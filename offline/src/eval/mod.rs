//! Offline evaluation of decoders on recorded data sets, with the field's metrics, beside
//! reference implementations' numbers on the same protocol:
//!
//! - [`ssvep`]: `neuroloop eval ssvep --kalunga DIR`, training-free SSVEP (CCA, FBCCA);
//! - [`mi`]: `neuroloop eval mi --eegmmidb DIR`, motor imagery (CSP-LDA, TS-LR, MDM, FBCSP);
//! - [`mi_subjects`]: the same over several subjects, the nested-CV `auto` method and
//!   calibration-light leave-one-subject-out scores;
//! - [`spindles`]: `neuroloop eval spindles --dreams DIR`, causal sleep-spindle detection;
//! - [`so_phase`]: `neuroloop eval so-phase --data DIR`, slow-oscillation phase targeting.

pub mod chance;
pub mod mi;
pub mod mi_subjects;
pub mod so_phase;
pub mod spindle_curve;
pub mod spindles;
pub mod ssvep;

pub use ssvep::*;

use std::path::Path;

use serde::Serialize;

use crate::error::{OfflineError, Result};

/// Creates the folder of a feature dump.
pub(crate) fn create_dump_folder(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|source| OfflineError::CreateDumpFolder {
        path: out.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path`.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| OfflineError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// The `index.json` of a feature dump.
pub(crate) fn dump_index_json(index: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(index).map_err(|source| OfflineError::Json {
        what: "cannot encode the feature dump's index.json",
        source,
    })
}
