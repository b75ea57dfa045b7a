//! EEG file formats for neuroloop: XDF read/write, EDF/EDF+/BDF read, and the CSV/NPY layouts of public data sets.
//!
//! Every reader parses from a byte slice (`parse`) or a path (`read`) and returns a
//! format-specific struct that keeps everything the file says; each of those converts into the
//! common [`Recording`] (channels with labels, units and rates, per-channel samples,
//! annotations, start time). Damaged input produces an error naming the file, the byte offset
//! and the problem; no input makes a reader panic or allocate more than the input's size
//! justifies.

pub mod annotation_csv;
pub mod brainvision;
pub mod dreams;
pub mod edf;
pub mod eeglab;
pub mod error;
pub mod fif;
pub mod gdf;
pub mod muse;
pub mod npy;
pub mod recording;
pub mod sample_events;
mod text;
pub mod xdf;

pub use error::{
    EdfError, EdfProblem, FileError, FormatProblem, IN_MEMORY, NpyError, NpyProblem, TextError,
    TextProblem, XdfError, XdfProblem, XdfWriteError,
};
pub use recording::{Annotation, ChannelInfo, ChannelKind, Recording, StartTime};

use std::path::Path;

/// Any error from this crate, for callers that read several formats through one path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An XDF read error.
    #[error(transparent)]
    Xdf(#[from] XdfError),
    /// An XDF write error.
    #[error(transparent)]
    XdfWrite(#[from] XdfWriteError),
    /// An EDF/BDF read error.
    #[error(transparent)]
    Edf(#[from] EdfError),
    /// An NPY read error.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// A BrainVision read error.
    #[error(transparent)]
    BrainVision(#[from] brainvision::BrainVisionError),
    /// A GDF read error.
    #[error(transparent)]
    Gdf(#[from] gdf::GdfError),
    /// An EEGLAB read error.
    #[error(transparent)]
    Eeglab(#[from] eeglab::EeglabError),
    /// An MNE FIF read error.
    #[error(transparent)]
    Fif(#[from] fif::FifError),
    /// A CSV or DREAMS text error.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The file cannot be turned into a [`Recording`] as asked.
    #[error("{file}: {problem}")]
    Unsupported {
        /// The file name.
        file: String,
        /// What cannot be done.
        problem: String,
    },
}

/// The extensions [`read_recording`] reads, as a user would type them.
pub const EXTENSIONS: [&str; 8] = [
    ".xdf", ".edf", ".bdf", ".vhdr", ".gdf", ".set", ".fif", ".npy",
];

/// Reads any supported file into a [`Recording`], choosing the reader by extension:
/// `.xdf` (the EEG stream, else the largest numeric stream, with string streams as
/// annotations), `.edf`/`.bdf` (all ordinary signals with annotations), `.vhdr`
/// (BrainVision, with its `.vmrk` markers), `.gdf` (with its event table), `.set` (EEGLAB,
/// data inside or in the `.fdt` beside it), `.fif` (MNE raw, with a `-eve.fif` beside it as
/// events) and `.npy` (rows are samples, columns channels; the rate is unknown and set to
/// 0). Layouts that need more context (DREAMS text, Muse CSV, event tables) have their own
/// readers.
pub fn read_recording(path: impl AsRef<Path>) -> Result<Recording, Error> {
    let path = path.as_ref();
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "xdf" => xdf::read(path)?
            .to_default_recording()
            .ok_or_else(|| Error::Unsupported {
                file: error::file_name(path),
                problem: "the file has no numeric stream".to_owned(),
            }),
        "edf" | "bdf" => Ok(edf::read(path)?.to_recording()),
        "vhdr" => Ok(brainvision::read_recording(path)?),
        "gdf" => Ok(gdf::read_recording(path)?),
        "set" => Ok(eeglab::read_recording(path)?),
        "fif" => Ok(fif::read_recording(path)?),
        "npy" => Ok(npy::read(path)?.to_recording(0.0, &[], "")),
        other => Err(Error::Unsupported {
            file: error::file_name(path),
            problem: format!(
                "no reader for extension {other:?}; convert it to one of {}",
                EXTENSIONS.join(", ")
            ),
        }),
    }
}
