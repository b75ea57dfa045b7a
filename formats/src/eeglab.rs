//! EEGLAB dataset reader: `.set` files (a MATLAB MAT-file holding the `EEG` structure), with
//! the samples either inside the `.set` or in a companion `.fdt` file of float32 values.
//!
//! What is read mirrors MNE's `mne.io.read_raw_eeglab`:
//!
//! * the dataset is the variable `EEG` (a 1×1 struct; a field `EEG` inside it is followed once
//!   more, as MNE does), or, when there is no `EEG` variable, the top-level variables are its
//!   fields (the layout of `pop_saveset` in newer EEGLAB versions);
//! * `data` is either a file name, whose `.fdt` file sits next to the `.set` (when that name is
//!   not found, the `.set` name with the extension `.fdt` is tried, as MNE does), or a numeric
//!   `nbchan × pnts` matrix. Both hold the samples in MATLAB's column-major order, so the `.fdt`
//!   file is sample-major: the `nbchan` channel values of sample 0, then those of sample 1, …
//!   (MNE reads it with `reshape(n_channels, -1, order="F")`);
//! * samples are in microvolts (EEGLAB stores no unit; MNE scales by 1e-6 to volts), so every
//!   channel has unit `uV`;
//! * channel labels come from `chanlocs.labels` (MNE's `EEG 000`, `EEG 001`, … when `chanlocs`
//!   is empty), channel kinds from `chanlocs.type` when it names one;
//! * events become annotations labelled with `str(event.type)` as MNE writes it (a number
//!   stored as an integer gives `1`, one stored as a double `1.0`), onset
//!   `(latency − 1) / srate` (EEGLAB latencies count samples from 1) and duration
//!   `duration / srate`. Events with a NaN latency are dropped, the rest are sorted by onset
//!   and cropped to the data as MNE's `Raw.set_annotations` does.
//!
//! Only continuous datasets are read: `trials` must be 1.
//!
//! Where this reader is stricter than MNE: a `.fdt` file whose size is not exactly
//! `nbchan × pnts × 4` bytes is refused (MNE reads the beginning of a longer one), and so is a
//! `chanlocs` whose length differs from `nbchan`. Where it is more lenient: a dataset without
//! `nbchan` or `pnts` but with an embedded matrix takes them from the matrix (MNE assumes 1).
//!
//! # Why this file has its own MAT-file reader
//!
//! The crates on crates.io were evaluated for reading the MAT-file: `matfile` 0.5 and its fork
//! `matlab-mat` 0.1 read numeric arrays only (no structs, cells or char arrays); `mat5` 0.1 reads
//! dense and sparse numeric arrays only; `matio-rs` binds the C library matio, which would have
//! to be installed on every machine. `matrw` 0.1.4 (MIT/Apache, pure Rust, maintained in 2026)
//! reads structs, cells, char arrays and compressed variables, but it breaks two rules every
//! reader here keeps: it panics on a damaged compressed variable (`read_to_end(..).unwrap()` in
//! its zlib step), and its binrw parser reserves the element size a file declares before
//! reading it (`Vec::reserve_exact(n)` for byte data), so a 100-byte file can ask for 4 GiB.
//! The module below therefore reads the small subset of MAT-file level 5 (MATLAB 5 to 7) that
//! EEGLAB writes: numeric, char, struct and cell arrays, either byte order, and compressed
//! variables, which are inflated with the `miniz_oxide` crate (pure Rust, also used by `flate2`).
//! Every size is checked against the bytes that remain before anything is allocated.
//!
//! MAT-files of version 7.3 are HDF5 containers; they are refused with an error that says how to
//! re-save them.

use std::path::{Path, PathBuf};

use crate::error::{FileError, FormatProblem, file_name};
use crate::recording::{Annotation, ChannelInfo, ChannelKind, Recording};

use mat::{Numeric, Value};

/// Unit of EEGLAB samples. EEGLAB keeps no unit; its data are microvolts by convention, and MNE
/// reads them that way.
pub const EEGLAB_UNIT: &str = "uV";

/// Deepest nesting of MAT arrays (cells in structs in cells …) that is read. EEGLAB nests a
/// few levels; the limit keeps a hostile file from exhausting the stack.
pub const MAX_NESTING_DEPTH: usize = 32;

/// What is wrong in an EEGLAB dataset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EeglabProblem {
    /// The `.set` file is not a MATLAB MAT-file.
    #[error("not a MATLAB MAT-file: {reason}")]
    NotMatFile {
        /// Why not.
        reason: String,
    },
    /// The `.set` file is a MATLAB v7.3 MAT-file (HDF5), which is not read.
    #[error(
        "this .set file is a MATLAB v7.3 MAT-file (an HDF5 container), which this reader does \
         not read; re-save the dataset from EEGLAB in the MATLAB v6/v7 format (tick \"Save \
         Matlab files in Matlab v6.5 format\" under File > Preferences, or call \
         pop_saveset(EEG, 'filename', NAME, 'version', '6')), or export it to EDF or BrainVision"
    )]
    MatV73,
    /// The MAT-file header announces a version other than 5.
    #[error(
        "MAT-file version 0x{version:04x} is not read; only level-5 MAT-files (MATLAB 5 to 7) are"
    )]
    UnsupportedVersion {
        /// The version field.
        version: u16,
    },
    /// A structure runs past the end of the file or of the array holding it.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// The MAT-file elements do not follow the format.
    #[error("bad MAT-file structure: {message}")]
    BadStructure {
        /// What is wrong.
        message: String,
    },
    /// A compressed variable does not inflate.
    #[error("compressed variable does not decompress: {message}")]
    BadCompression {
        /// The decompressor's status.
        message: String,
    },
    /// A problem inside a compressed variable (the offset of the error is the variable's).
    #[error("at byte {inner_offset} of the decompressed variable: {problem}")]
    InCompressed {
        /// Offset inside the decompressed bytes.
        inner_offset: u64,
        /// What is wrong there.
        problem: Box<EeglabProblem>,
    },
    /// Arrays are nested deeper than [`MAX_NESTING_DEPTH`].
    #[error("arrays are nested more than {MAX_NESTING_DEPTH} levels deep")]
    TooDeep,
    /// The MAT-file holds no EEGLAB dataset.
    #[error("not an EEGLAB dataset: {reason}")]
    NotEeglab {
        /// Why not.
        reason: String,
    },
    /// The file holds an `ALLEEG` array of several datasets.
    #[error(
        "the file holds an ALLEEG array of datasets, which is not read; save each dataset from \
         EEGLAB as its own .set file"
    )]
    AllEeg,
    /// A field the reader needs is absent.
    #[error("EEG.{field} is missing")]
    MissingField {
        /// The field name.
        field: &'static str,
    },
    /// A field holds a value that cannot be used.
    #[error("EEG.{field} is unusable: {reason}")]
    BadField {
        /// The field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The dataset is epoched (`trials` > 1).
    #[error(
        "epoched datasets are not supported: EEG.trials is {trials}, and only continuous data \
         (trials = 1) is read"
    )]
    Epoched {
        /// The number of trials.
        trials: u64,
    },
    /// The embedded data matrix does not have the shape `nbchan × pnts`.
    #[error("EEG.data is a {found} matrix but nbchan × pnts is {nbchan} × {pnts}")]
    DataShape {
        /// `EEG.nbchan`.
        nbchan: usize,
        /// `EEG.pnts`.
        pnts: usize,
        /// The dimensions found, e.g. `32 × 100`.
        found: String,
    },
    /// `chanlocs` lists a different number of channels than `nbchan`.
    #[error("EEG.chanlocs lists {chanlocs} channels but EEG.nbchan is {nbchan}")]
    ChanlocsCount {
        /// Entries in `chanlocs`.
        chanlocs: usize,
        /// `EEG.nbchan`.
        nbchan: usize,
    },
    /// The samples are in a `.fdt` file that was not given (byte-slice parsing).
    #[error("the samples are in the separate file {name:?} (EEG.data), which was not given")]
    FdtMissing {
        /// The name in `EEG.data`.
        name: String,
    },
    /// The `.fdt` file is not next to the `.set` file.
    #[error(
        "the samples are in the separate file {name:?} (EEG.data), which is not there: tried {tried}"
    )]
    FdtNotFound {
        /// The name in `EEG.data`.
        name: String,
        /// The paths tried, joined with " and ".
        tried: String,
    },
    /// `EEG.data` names an old `.dat` file.
    #[error(
        "the samples are in {name:?}, an old .dat file, which is not read; load and re-save the \
         dataset in a current EEGLAB, which writes .fdt"
    )]
    OldDatFile {
        /// The name in `EEG.data`.
        name: String,
    },
    /// `EEG.data` names a file that is not a `.fdt` file.
    #[error("EEG.data names {name:?}; only a .fdt data file is read")]
    NotFdt {
        /// The name in `EEG.data`.
        name: String,
    },
    /// The `.fdt` file size differs from `nbchan × pnts` float32 values.
    #[error(
        "the data file {name:?} holds {found} bytes but nbchan × pnts × 4 = {nbchan} × {pnts} × \
         4 = {expected} bytes"
    )]
    FdtSize {
        /// The `.fdt` name.
        name: String,
        /// Bytes in the file.
        found: u64,
        /// Bytes `nbchan × pnts` float32 values take.
        expected: u64,
        /// `EEG.nbchan`.
        nbchan: usize,
        /// `EEG.pnts`.
        pnts: usize,
    },
}

impl FormatProblem for EeglabProblem {
    const FORMAT: &'static str = "EEGLAB";
}

/// Errors reading an EEGLAB dataset. Problems with the dataset's contents carry the byte offset
/// in the `.set` file where the MAT structure breaks, or 0 when the MAT-file is sound and a
/// field's value is the problem.
pub type EeglabError = FileError<EeglabProblem>;

/// How the dataset's fields are laid out in the MAT-file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetLayout {
    /// One struct variable `EEG` (classic `pop_saveset`).
    EegVariable,
    /// Every field is its own top-level variable (newer `pop_saveset`).
    TopLevelFields,
}

/// Where the samples are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// `EEG.data` is the numeric matrix itself.
    Embedded,
    /// `EEG.data` names a companion float32 file.
    Fdt {
        /// The name stored in `EEG.data`.
        name: String,
    },
}

/// One entry of `EEG.chanlocs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EeglabChannel {
    /// `labels`.
    pub label: String,
    /// `type`, when the field exists and holds text.
    pub type_name: Option<String>,
}

/// One entry of `EEG.event`.
#[derive(Debug, Clone, PartialEq)]
pub struct EeglabEvent {
    /// `type` as MNE labels the annotation (`str(event.type)`).
    pub label: String,
    /// `latency` in samples, counting from 1 as EEGLAB does; NaN when empty.
    pub latency_samples: f64,
    /// `duration` in samples, when the field exists and is not empty.
    pub duration_samples: Option<f64>,
}

/// A continuous EEGLAB dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct EeglabFile {
    /// How the fields were stored.
    pub layout: SetLayout,
    /// `setname` (empty when absent).
    pub setname: String,
    /// `nbchan`: number of channels.
    pub nbchan: usize,
    /// `pnts`: samples per channel.
    pub pnts: usize,
    /// `srate` in Hz.
    pub srate_hz: f64,
    /// `xmin` in seconds, when present.
    pub xmin_s: Option<f64>,
    /// `chanlocs`, in channel order; empty when the dataset has none.
    pub chanlocs: Vec<EeglabChannel>,
    /// `event`, in file order.
    pub events: Vec<EeglabEvent>,
    /// Where the samples came from.
    pub data_source: DataSource,
    /// `data_uv[c][s]`: sample `s` of channel `c` in microvolts.
    pub data_uv: Vec<Vec<f64>>,
}

impl EeglabFile {
    /// Channel labels: `chanlocs.labels`, or MNE's `EEG 000`, `EEG 001`, … without chanlocs.
    pub fn channel_labels(&self) -> Vec<String> {
        if self.chanlocs.is_empty() {
            (0..self.nbchan)
                .map(|index| format!("EEG {index:03}"))
                .collect()
        } else {
            self.chanlocs.iter().map(|c| c.label.clone()).collect()
        }
    }

    /// Channel descriptions: unit `uV`, the kind from `chanlocs.type` when it names one, else
    /// from the label.
    pub fn channel_infos(&self) -> Vec<ChannelInfo> {
        let labels = self.channel_labels();
        labels
            .into_iter()
            .enumerate()
            .map(|(index, label)| {
                let declared = self
                    .chanlocs
                    .get(index)
                    .and_then(|channel| channel.type_name.as_deref())
                    .and_then(ChannelKind::from_type_name);
                ChannelInfo::new(label, EEGLAB_UNIT, self.srate_hz).with_declared_kind(declared)
            })
            .collect()
    }

    /// The events as MNE's `read_raw_eeglab` annotates them: NaN latencies dropped, onsets
    /// `(latency − 1) / srate` seconds, sorted by onset then duration, and cropped to the data
    /// span `[0, pnts / srate]` (events wholly outside it are dropped, others clipped). An
    /// empty duration counts as 0, as it does after MNE's crop.
    pub fn annotations(&self) -> Vec<Annotation> {
        let mut annotations: Vec<Annotation> = self
            .events
            .iter()
            .filter(|event| !event.latency_samples.is_nan())
            .map(|event| Annotation {
                onset_s: (event.latency_samples - 1.0) / self.srate_hz,
                duration_s: event
                    .duration_samples
                    .filter(|duration| !duration.is_nan())
                    .map_or(0.0, |duration| duration / self.srate_hz),
                label: event.label.clone(),
            })
            .collect();
        annotations.sort_by(|a, b| {
            a.onset_s
                .total_cmp(&b.onset_s)
                .then(a.duration_s.total_cmp(&b.duration_s))
        });
        let end_s = self.pnts as f64 / self.srate_hz;
        annotations
            .into_iter()
            .filter_map(|annotation| crop(annotation, end_s))
            .collect()
    }

    /// Converts into the common [`Recording`], copying the samples.
    pub fn to_recording(&self) -> Recording {
        self.clone().into_recording()
    }

    /// Converts into the common [`Recording`], moving the samples.
    pub fn into_recording(self) -> Recording {
        Recording {
            channels: self.channel_infos(),
            annotations: self.annotations(),
            data: self.data_uv,
            timestamps_s: None,
            start_time: None,
            line_freq_hz: None,
        }
    }
}

/// MNE's `Annotations.crop(0, end)`: `None` when the span lies wholly outside, else the span
/// clipped to it.
fn crop(mut annotation: Annotation, end_s: f64) -> Option<Annotation> {
    let offset_s = annotation.onset_s + annotation.duration_s;
    if annotation.onset_s > end_s || offset_s < 0.0 {
        return None;
    }
    let onset_s = annotation.onset_s.max(0.0);
    let clipped_offset_s = offset_s.min(end_s);
    if onset_s != annotation.onset_s || clipped_offset_s != offset_s {
        annotation.duration_s = clipped_offset_s - onset_s;
        annotation.onset_s = onset_s;
    }
    Some(annotation)
}

/// Parses a `.set` file's bytes. `fdt` is the companion data file, needed only when `EEG.data`
/// names one (it is then an error to pass `None`); it is ignored for embedded data.
pub fn parse(set_bytes: &[u8], fdt: Option<&[u8]>) -> Result<EeglabFile, EeglabError> {
    let mut file = parse_set(set_bytes)?;
    if let DataSource::Fdt { name } = &file.data_source {
        let Some(fdt) = fdt else {
            let problem = EeglabProblem::FdtMissing { name: name.clone() };
            return Err(FileError::at(0, problem));
        };
        file.data_uv = samples_from_fdt(fdt, name, file.nbchan, file.pnts)
            .map_err(|problem| FileError::at(0, problem))?;
    }
    Ok(file)
}

/// Reads the dataset at `path` (a `.set` file), with its `.fdt` file when it has one.
pub fn read(path: impl AsRef<Path>) -> Result<EeglabFile, EeglabError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| EeglabError::Io {
        file: file_name(path),
        source,
    })?;
    let mut file = parse_set(&bytes).map_err(|error| error.in_file(path))?;
    if let DataSource::Fdt { name } = &file.data_source {
        let in_set = |problem| FileError::at(0, problem).in_file(path);
        let fdt_path = locate_fdt(path, name).map_err(in_set)?;
        let fdt = std::fs::read(&fdt_path).map_err(|source| EeglabError::Io {
            file: file_name(&fdt_path),
            source,
        })?;
        file.data_uv = samples_from_fdt(&fdt, name, file.nbchan, file.pnts).map_err(in_set)?;
    }
    Ok(file)
}

/// Reads the dataset at `path` into a [`Recording`] (unit `uV`).
pub fn read_recording(path: &Path) -> Result<Recording, EeglabError> {
    Ok(read(path)?.into_recording())
}

/// Finds the `.fdt` file as MNE's `_check_eeglab_fname` does: the name from `EEG.data` next to
/// the `.set` file, else the `.set` file's own name with the extension `.fdt` (the data file
/// was renamed along with the dataset).
fn locate_fdt(set_path: &Path, name: &str) -> Result<PathBuf, EeglabProblem> {
    let extension = Path::new(name)
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if extension == "dat" {
        return Err(EeglabProblem::OldDatFile {
            name: name.to_owned(),
        });
    }
    if extension != "fdt" {
        return Err(EeglabProblem::NotFdt {
            name: name.to_owned(),
        });
    }
    let directory = set_path.parent().unwrap_or(Path::new(""));
    let named = directory.join(name);
    if named.is_file() {
        return Ok(named);
    }
    let beside_set = set_path.with_extension("fdt");
    if beside_set.is_file() {
        return Ok(beside_set);
    }
    Err(EeglabProblem::FdtNotFound {
        name: name.to_owned(),
        tried: format!("{} and {}", named.display(), beside_set.display()),
    })
}

/// The samples of a `.fdt` file: float32 little endian, sample-major (MATLAB's column-major
/// `nbchan × pnts`), as `data[channel][sample]`.
fn samples_from_fdt(
    fdt: &[u8],
    name: &str,
    nbchan: usize,
    pnts: usize,
) -> Result<Vec<Vec<f64>>, EeglabProblem> {
    let expected = (nbchan as u64)
        .checked_mul(pnts as u64)
        .and_then(|values| values.checked_mul(4));
    if expected != Some(fdt.len() as u64) {
        return Err(EeglabProblem::FdtSize {
            name: name.to_owned(),
            found: fdt.len() as u64,
            expected: expected.unwrap_or(u64::MAX),
            nbchan,
            pnts,
        });
    }
    if nbchan == 0 {
        return Ok(Vec::new());
    }
    // The size check above bounds both allocations by the file size.
    let mut data: Vec<Vec<f64>> = (0..nbchan).map(|_| Vec::with_capacity(pnts)).collect();
    for frame in fdt.chunks_exact(4 * nbchan) {
        for (channel, bytes) in data.iter_mut().zip(frame.chunks_exact(4)) {
            channel.push(f64::from(f32::from_le_bytes([
                bytes[0], bytes[1], bytes[2], bytes[3],
            ])));
        }
    }
    Ok(data)
}

/// Parses the `.set` MAT-file into a dataset whose samples are filled in when they are
/// embedded; for a `.fdt` dataset `data_uv` is left empty.
fn parse_set(bytes: &[u8]) -> Result<EeglabFile, EeglabError> {
    let variables = mat::parse(bytes)?;
    dataset_from_variables(variables).map_err(|problem| FileError::at(0, problem))
}

/// The fields of the one dataset in the file, by name.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let index = self.0.iter().position(|(field, _)| field == name)?;
        Some(self.0.swap_remove(index).1)
    }
}

/// Finds the dataset's fields the way MNE's `_check_load_mat` does.
fn eeg_fields(variables: Vec<(String, Value)>) -> Result<(SetLayout, Fields), EeglabProblem> {
    let mut top = Fields(variables);
    if top.get("ALLEEG").is_some() {
        return Err(EeglabProblem::AllEeg);
    }
    let Some(eeg) = top.take("EEG") else {
        let looks_like_eeglab = ["srate", "data", "nbchan"]
            .iter()
            .any(|name| top.get(name).is_some());
        if !looks_like_eeglab {
            return Err(EeglabProblem::NotEeglab {
                reason: "the MAT-file has neither an EEG variable nor the variables srate, data \
                         and nbchan"
                    .to_owned(),
            });
        }
        return Ok((SetLayout::TopLevelFields, top));
    };
    let mut fields = single_struct(eeg, "EEG")?;
    // MNE follows a nested `EEG.EEG` once.
    if let Some(inner) = fields.take("EEG")
        && matches!(inner, Value::Struct(_))
    {
        fields = single_struct(inner, "EEG")?;
    }
    Ok((SetLayout::EegVariable, fields))
}

/// The fields of a 1×1 struct.
fn single_struct(value: Value, field: &'static str) -> Result<Fields, EeglabProblem> {
    let Value::Struct(structure) = value else {
        return Err(EeglabProblem::NotEeglab {
            reason: format!(
                "the variable {field} is a {}, not a struct",
                value.kind_name()
            ),
        });
    };
    if structure.len != 1 {
        return Err(EeglabProblem::BadField {
            field,
            reason: format!("it is a struct array of {} datasets", structure.len),
        });
    }
    Ok(Fields(
        structure
            .fields
            .into_iter()
            .filter_map(|(name, mut values)| values.pop().map(|value| (name, value)))
            .collect(),
    ))
}

fn dataset_from_variables(variables: Vec<(String, Value)>) -> Result<EeglabFile, EeglabProblem> {
    let (layout, mut fields) = eeg_fields(variables)?;
    let trials = optional_count(&fields, "trials")?.unwrap_or(1);
    if trials > 1 {
        return Err(EeglabProblem::Epoched {
            trials: trials as u64,
        });
    }
    if trials == 0 {
        return Err(bad("trials", "it is 0"));
    }
    let srate_hz = match fields.get("srate") {
        None | Some(Value::Empty) => return Err(EeglabProblem::MissingField { field: "srate" }),
        Some(value) => scalar(value, "srate")?,
    };
    if !(srate_hz.is_finite() && srate_hz > 0.0) {
        return Err(bad(
            "srate",
            format!("{srate_hz} Hz is not a positive rate"),
        ));
    }
    let xmin_s = match fields.get("xmin") {
        None | Some(Value::Empty) => None,
        Some(value) => Some(scalar(value, "xmin")?),
    };
    let samples = samples(&mut fields)?;
    let chanlocs = chanlocs(fields.get("chanlocs"), samples.nbchan)?;
    let events = events(fields.get("event"))?;
    let setname = fields.get("setname").map(Value::text).unwrap_or_default();
    Ok(EeglabFile {
        layout,
        setname,
        nbchan: samples.nbchan,
        pnts: samples.pnts,
        srate_hz,
        xmin_s,
        chanlocs,
        events,
        data_source: samples.source,
        data_uv: samples.data_uv,
    })
}

/// The shape and source of the samples, with the samples themselves when embedded.
struct Samples {
    source: DataSource,
    data_uv: Vec<Vec<f64>>,
    nbchan: usize,
    pnts: usize,
}

/// Reads `nbchan`, `pnts` and `data` (taking the embedded matrix out of the fields).
fn samples(fields: &mut Fields) -> Result<Samples, EeglabProblem> {
    let nbchan = optional_count(fields, "nbchan")?;
    let pnts = optional_count(fields, "pnts")?;
    let samples = match fields.take("data") {
        None | Some(Value::Empty) => return Err(EeglabProblem::MissingField { field: "data" }),
        Some(Value::Char(name)) => Samples {
            source: DataSource::Fdt { name: name.text() },
            data_uv: Vec::new(),
            nbchan: nbchan.ok_or(EeglabProblem::MissingField { field: "nbchan" })?,
            pnts: pnts.ok_or(EeglabProblem::MissingField { field: "pnts" })?,
        },
        Some(Value::Numeric(numeric)) => embedded_samples(numeric, nbchan, pnts)?,
        Some(other) => {
            let reason = format!(
                "it is a {}, neither a file name nor a matrix",
                other.kind_name()
            );
            return Err(bad("data", reason));
        }
    };
    // Without samples there is nothing to read, and a count that no data bounds would let a
    // tiny file ask for any number of channels.
    if samples.nbchan == 0 || samples.pnts == 0 {
        return Err(EeglabProblem::BadField {
            field: if samples.nbchan == 0 {
                "nbchan"
            } else {
                "pnts"
            },
            reason: "it is 0: the dataset holds no samples".to_owned(),
        });
    }
    Ok(samples)
}

fn bad(field: &'static str, reason: impl Into<String>) -> EeglabProblem {
    EeglabProblem::BadField {
        field,
        reason: reason.into(),
    }
}

/// The single number a field holds.
fn scalar(value: &Value, field: &'static str) -> Result<f64, EeglabProblem> {
    match value {
        Value::Numeric(numeric) if numeric.real.len() == 1 => Ok(numeric.real[0]),
        Value::Numeric(numeric) => Err(bad(
            field,
            format!("it holds {} numbers, not one", numeric.real.len()),
        )),
        other => Err(bad(
            field,
            format!("it is a {}, not a number", other.kind_name()),
        )),
    }
}

/// A count field (`nbchan`, `pnts`, `trials`), `None` when absent or empty.
fn optional_count(fields: &Fields, field: &'static str) -> Result<Option<usize>, EeglabProblem> {
    let value = match fields.get(field) {
        None | Some(Value::Empty) => return Ok(None),
        Some(value) => scalar(value, field)?,
    };
    // 2^53: every count below is exact in an f64.
    if value.fract() != 0.0 || !(0.0..9.007_199_254_740_992e15).contains(&value) {
        return Err(bad(field, format!("{value} is not a count")));
    }
    usize::try_from(value as u64)
        .map(Some)
        .map_err(|_| bad(field, format!("{value} is too large")))
}

/// Splits an embedded `nbchan × pnts` matrix (column-major) into channels. Missing counts
/// are taken from the matrix.
fn embedded_samples(
    numeric: Numeric,
    nbchan: Option<usize>,
    pnts: Option<usize>,
) -> Result<Samples, EeglabProblem> {
    let Numeric {
        mut dims,
        real,
        complex,
        ..
    } = numeric;
    if complex {
        return Err(bad("data", "it holds complex numbers"));
    }
    while dims.len() > 2 && dims.last() == Some(&1) {
        dims.pop();
    }
    let rows = dims.first().copied().unwrap_or(0);
    let columns = dims.get(1).copied().unwrap_or(1);
    let nbchan = nbchan.unwrap_or(rows);
    let pnts = pnts.unwrap_or(columns);
    if dims.len() > 2 || rows != nbchan || columns != pnts {
        let found = dims
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" × ");
        return Err(EeglabProblem::DataShape {
            nbchan,
            pnts,
            found,
        });
    }
    if nbchan == 0 || pnts == 0 {
        // Rejected by the caller; allocating `nbchan` empty channels first could be unbounded.
        return Ok(Samples {
            source: DataSource::Embedded,
            data_uv: Vec::new(),
            nbchan,
            pnts,
        });
    }
    // `real` holds nbchan × pnts values (the MAT reader checked it against the dimensions), so
    // the allocations are bounded by the file size.
    let mut data_uv: Vec<Vec<f64>> = (0..nbchan).map(|_| Vec::with_capacity(pnts)).collect();
    for frame in real.chunks_exact(nbchan) {
        for (channel, &value) in data_uv.iter_mut().zip(frame) {
            channel.push(value);
        }
    }
    Ok(Samples {
        source: DataSource::Embedded,
        data_uv,
        nbchan,
        pnts,
    })
}

/// `EEG.chanlocs`: labels and types, one entry per channel (empty when the dataset has none).
fn chanlocs(value: Option<&Value>, nbchan: usize) -> Result<Vec<EeglabChannel>, EeglabProblem> {
    let structure = match value {
        None | Some(Value::Empty) => return Ok(Vec::new()),
        Some(Value::Struct(structure)) => structure,
        Some(other) => {
            let reason = format!("it is a {}, not a struct array", other.kind_name());
            return Err(bad("chanlocs", reason));
        }
    };
    if structure.len == 0 {
        return Ok(Vec::new());
    }
    if structure.len != nbchan {
        return Err(EeglabProblem::ChanlocsCount {
            chanlocs: structure.len,
            nbchan,
        });
    }
    // Every entry of a field is a parsed array, so `len` is bounded by the file size here.
    let Some(labels) = structure.field("labels") else {
        return Err(bad("chanlocs", "it has no labels field"));
    };
    let types = structure.field("type");
    Ok(labels
        .iter()
        .enumerate()
        .map(|(index, label)| EeglabChannel {
            label: match label {
                Value::Empty => format!("EEG {index:03}"),
                other => other.text(),
            },
            type_name: types
                .and_then(|types| types.get(index))
                .and_then(|value| match value {
                    Value::Char(text) => Some(text.text()),
                    _ => None,
                }),
        })
        .collect())
}

/// `EEG.event`: type, latency and duration of each event.
fn events(value: Option<&Value>) -> Result<Vec<EeglabEvent>, EeglabProblem> {
    let structure = match value {
        None | Some(Value::Empty) => return Ok(Vec::new()),
        Some(Value::Struct(structure)) => structure,
        Some(other) => {
            let reason = format!("it is a {}, not a struct array", other.kind_name());
            return Err(bad("event", reason));
        }
    };
    if structure.len == 0 {
        return Ok(Vec::new());
    }
    let Some(latencies) = structure.field("latency") else {
        return Err(bad("event", "it has no latency field"));
    };
    let types = structure.field("type");
    let durations = structure.field("duration");
    latencies
        .iter()
        .enumerate()
        .map(|(index, latency)| {
            let latency_samples = match latency {
                Value::Empty => f64::NAN,
                other => scalar(other, "event")?,
            };
            let duration_samples = match durations.and_then(|durations| durations.get(index)) {
                None | Some(Value::Empty) => None,
                Some(other) => Some(scalar(other, "event")?),
            };
            let label = types
                .and_then(|types| types.get(index))
                .map(Value::python_str)
                .unwrap_or_default();
            Ok(EeglabEvent {
                label,
                latency_samples,
                duration_samples,
            })
        })
        .collect()
}

/// Formats a float as Python's `repr` does (`1.0`, `0.5`, `1e-05`, `nan`), which is how MNE
/// turns a numeric event type into a label.
fn python_float_repr(value: f64, single: bool) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        // Shortest round-trip digits in exponent form; Python pads the exponent to two digits.
        let text = if single {
            format!("{:e}", value as f32)
        } else {
            format!("{value:e}")
        };
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let text = if single {
        format!("{}", value as f32)
    } else {
        format!("{value}")
    };
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A minimal reader for level-5 MAT-files (MATLAB 5 to 7): the arrays EEGLAB writes.
mod mat {
    use super::{EeglabError, EeglabProblem, FileError, MAX_NESTING_DEPTH, python_float_repr};

    const HEADER_BYTES: usize = 128;
    const TAG_BYTES: usize = 8;

    // Data element types (MAT-file format, table 1-1).
    const MI_INT8: u32 = 1;
    const MI_UINT8: u32 = 2;
    const MI_INT16: u32 = 3;
    const MI_UINT16: u32 = 4;
    const MI_INT32: u32 = 5;
    const MI_UINT32: u32 = 6;
    const MI_SINGLE: u32 = 7;
    const MI_DOUBLE: u32 = 9;
    const MI_INT64: u32 = 12;
    const MI_UINT64: u32 = 13;
    const MI_MATRIX: u32 = 14;
    const MI_COMPRESSED: u32 = 15;
    const MI_UTF8: u32 = 16;
    const MI_UTF16: u32 = 17;
    const MI_UTF32: u32 = 18;

    // Array classes (table 1-3).
    const MX_CELL: u8 = 1;
    const MX_STRUCT: u8 = 2;
    const MX_CHAR: u8 = 4;
    const MX_DOUBLE: u8 = 6;
    const MX_UINT64: u8 = 15;

    const FLAG_COMPLEX: u32 = 0x0800;

    /// How numbers were stored, which decides how MNE prints them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Storage {
        Integer,
        Single,
        Double,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct Numeric {
        pub(super) dims: Vec<usize>,
        /// Real parts in column-major order.
        pub(super) real: Vec<f64>,
        pub(super) complex: bool,
        pub(super) storage: Storage,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct CharArray {
        dims: Vec<usize>,
        /// Characters in column-major order.
        chars: Vec<char>,
    }

    impl CharArray {
        /// The text; the rows of a multi-row char matrix are joined with newlines.
        pub(super) fn text(&self) -> String {
            let rows = self.dims.first().copied().unwrap_or(0);
            if rows <= 1 || !self.chars.len().is_multiple_of(rows) {
                return self.chars.iter().collect();
            }
            let columns = self.chars.len() / rows;
            (0..rows)
                .map(|row| {
                    (0..columns)
                        .map(|column| self.chars[row + column * rows])
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct StructArray {
        /// Number of elements (product of the dimensions).
        pub(super) len: usize,
        /// Each field with its value in every element (column-major); every list has `len`
        /// entries.
        pub(super) fields: Vec<(String, Vec<Value>)>,
    }

    impl StructArray {
        pub(super) fn field(&self, name: &str) -> Option<&[Value]> {
            self.fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, values)| values.as_slice())
        }
    }

    /// One MATLAB array.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Value {
        /// `[]` written as an array element of no bytes.
        Empty,
        Numeric(Numeric),
        Char(CharArray),
        Struct(StructArray),
        Cell(Vec<Value>),
        /// Sparse, object, function handle or opaque arrays: skipped.
        Other {
            class: u8,
        },
    }

    impl Value {
        pub(super) fn kind_name(&self) -> &'static str {
            match self {
                Value::Empty => "empty array",
                Value::Numeric(_) => "numeric array",
                Value::Char(_) => "char array",
                Value::Struct(_) => "struct array",
                Value::Cell(_) => "cell array",
                Value::Other { .. } => "array of an unsupported class",
            }
        }

        /// The text of a char array, a number as text, or nothing.
        pub(super) fn text(&self) -> String {
            match self {
                Value::Char(text) => text.text(),
                Value::Numeric(_) => self.python_str(),
                _ => String::new(),
            }
        }

        /// What Python's `str()` gives for the value as scipy's `loadmat(squeeze_me=True)`
        /// returns it: text as is, a number as its integer or float repr, several as `[a b]`.
        pub(super) fn python_str(&self) -> String {
            match self {
                Value::Char(text) => text.text(),
                Value::Numeric(numeric) => {
                    let texts: Vec<String> = numeric
                        .real
                        .iter()
                        .map(|&value| match numeric.storage {
                            Storage::Integer => format!("{}", value as i128),
                            Storage::Single => python_float_repr(value, true),
                            Storage::Double => python_float_repr(value, false),
                        })
                        .collect();
                    match texts.as_slice() {
                        [single] => single.clone(),
                        _ => format!("[{}]", texts.join(" ")),
                    }
                }
                _ => String::new(),
            }
        }
    }

    /// The variables of a MAT-file, in file order.
    pub(super) fn parse(bytes: &[u8]) -> Result<Vec<(String, Value)>, EeglabError> {
        let big_endian = check_header(bytes)?;
        let mut reader = Reader {
            bytes,
            position: HEADER_BYTES,
            end: bytes.len(),
            big_endian,
        };
        let mut variables = Vec::new();
        while reader.position < reader.end {
            let start = reader.position;
            let tag = reader.tag(false)?;
            let variable = match tag.kind {
                MI_COMPRESSED => {
                    inflate_variable(&bytes[tag.data..tag.data + tag.size], big_endian, start)?
                }
                MI_MATRIX => Reader {
                    end: tag.data + tag.size,
                    position: start,
                    ..reader
                }
                .array(0)?,
                other => {
                    let message = format!(
                        "top-level element of type {other} is neither an array (14) nor a \
                         compressed array (15)"
                    );
                    return Err(at(start, EeglabProblem::BadStructure { message }));
                }
            };
            variables.push(variable);
        }
        Ok(variables)
    }

    fn at(offset: usize, problem: EeglabProblem) -> EeglabError {
        FileError::at(offset as u64, problem)
    }

    /// Checks the 128-byte header and returns whether the file is big-endian.
    fn check_header(bytes: &[u8]) -> Result<bool, EeglabError> {
        const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
        if bytes.starts_with(b"MATLAB 7.3 MAT-file")
            || bytes.starts_with(HDF5_MAGIC)
            || bytes.get(512..520) == Some(HDF5_MAGIC)
        {
            return Err(at(0, EeglabProblem::MatV73));
        }
        let Some(header) = bytes.get(..HEADER_BYTES) else {
            if bytes.starts_with(b"MATLAB") {
                let problem = EeglabProblem::Truncated {
                    what: "MAT-file header",
                    needed: HEADER_BYTES as u64,
                    available: bytes.len() as u64,
                };
                return Err(at(0, problem));
            }
            let reason = format!(
                "{} bytes are too few for the 128-byte MAT-file header",
                bytes.len()
            );
            return Err(at(0, EeglabProblem::NotMatFile { reason }));
        };
        let big_endian = match &header[126..128] {
            b"IM" => false,
            b"MI" => true,
            other => {
                let reason = format!(
                    "the endian indicator at byte 126 is {:?}, not \"IM\" or \"MI\"; the file \
                     starts with {:?}",
                    String::from_utf8_lossy(other),
                    String::from_utf8_lossy(&header[..header.len().min(20)])
                );
                return Err(at(126, EeglabProblem::NotMatFile { reason }));
            }
        };
        let version_bytes = [header[124], header[125]];
        let version = if big_endian {
            u16::from_be_bytes(version_bytes)
        } else {
            u16::from_le_bytes(version_bytes)
        };
        match version {
            0x0100 => Ok(big_endian),
            0x0200 => Err(at(0, EeglabProblem::MatV73)),
            version => Err(at(124, EeglabProblem::UnsupportedVersion { version })),
        }
    }

    /// Inflates a compressed variable and parses the array inside it. Errors inside are
    /// reported at the compressed element's offset `start`.
    fn inflate_variable(
        compressed: &[u8],
        big_endian: bool,
        start: usize,
    ) -> Result<(String, Value), EeglabError> {
        // zlib expands at most about 1032:1, so the output stays proportional to the input;
        // the buffer grows with the output rather than being reserved from a declared size.
        let inflated =
            miniz_oxide::inflate::decompress_to_vec_zlib(compressed).map_err(|error| {
                let message = format!("{:?}", error.status);
                at(start, EeglabProblem::BadCompression { message })
            })?;
        let mut reader = Reader {
            bytes: &inflated,
            position: 0,
            end: inflated.len(),
            big_endian,
        };
        let nested = |error: EeglabError| match error {
            FileError::Malformed {
                offset, problem, ..
            } => at(
                start,
                EeglabProblem::InCompressed {
                    inner_offset: offset,
                    problem: Box::new(problem),
                },
            ),
            other => other,
        };
        let kind = reader.peek_kind().map_err(nested)?;
        if kind != MI_MATRIX {
            let message =
                format!("a compressed variable holds an element of type {kind}, not an array");
            return Err(nested(at(0, EeglabProblem::BadStructure { message })));
        }
        reader.array(0).map_err(nested)
    }

    /// An element tag: its type, the size of its data and where the data starts.
    struct Tag {
        kind: u32,
        size: usize,
        data: usize,
    }

    /// Reads elements from `bytes[position..end]`.
    #[derive(Clone, Copy)]
    struct Reader<'a> {
        bytes: &'a [u8],
        position: usize,
        end: usize,
        big_endian: bool,
    }

    impl Reader<'_> {
        fn remaining(&self) -> usize {
            self.end - self.position
        }

        fn u32_at(&self, offset: usize) -> u32 {
            let word = [
                self.bytes[offset],
                self.bytes[offset + 1],
                self.bytes[offset + 2],
                self.bytes[offset + 3],
            ];
            if self.big_endian {
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            }
        }

        fn truncated(&self, what: &'static str, offset: usize, needed: usize) -> EeglabError {
            let problem = EeglabProblem::Truncated {
                what,
                needed: needed as u64,
                available: self.end.saturating_sub(offset) as u64,
            };
            at(offset, problem)
        }

        fn peek_kind(&self) -> Result<u32, EeglabError> {
            if self.remaining() < TAG_BYTES {
                return Err(self.truncated("element tag", self.position, TAG_BYTES));
            }
            let first = self.u32_at(self.position);
            Ok(if first >> 16 != 0 {
                first & 0xFFFF
            } else {
                first
            })
        }

        /// Reads one element tag and moves past the element (and its padding to 8 bytes when
        /// `pad`). Small elements keep up to 4 bytes of data inside the tag.
        fn tag(&mut self, pad: bool) -> Result<Tag, EeglabError> {
            let start = self.position;
            if self.remaining() < TAG_BYTES {
                return Err(self.truncated("element tag", start, TAG_BYTES));
            }
            let first = self.u32_at(start);
            if first >> 16 != 0 {
                let size = (first >> 16) as usize;
                if size > 4 {
                    let message = format!("small data element claims {size} bytes; at most 4 fit");
                    return Err(at(start, EeglabProblem::BadStructure { message }));
                }
                self.position = start + TAG_BYTES;
                return Ok(Tag {
                    kind: first & 0xFFFF,
                    size,
                    data: start + 4,
                });
            }
            let size = self.u32_at(start + 4) as usize;
            let data = start + TAG_BYTES;
            if size > self.end - data {
                return Err(self.truncated("element data", data, size));
            }
            let mut next = data + size;
            if pad {
                next = next.next_multiple_of(8).min(self.end);
            }
            self.position = next;
            Ok(Tag {
                kind: first,
                size,
                data,
            })
        }

        /// Reads a tag that must have type `kind` (or one of `kinds`).
        fn expect(&mut self, kinds: &[u32], what: &str) -> Result<Tag, EeglabError> {
            let start = self.position;
            let tag = self.tag(true)?;
            if !kinds.contains(&tag.kind) {
                let message = format!("{what} has element type {}", tag.kind);
                return Err(at(start, EeglabProblem::BadStructure { message }));
            }
            Ok(tag)
        }

        fn data(&self, tag: &Tag) -> &[u8] {
            &self.bytes[tag.data..tag.data + tag.size]
        }

        /// One array element (miMATRIX) with its name.
        fn array(&mut self, depth: usize) -> Result<(String, Value), EeglabError> {
            let start = self.position;
            if depth > MAX_NESTING_DEPTH {
                return Err(at(start, EeglabProblem::TooDeep));
            }
            let tag = self.expect(&[MI_MATRIX], "an array")?;
            if tag.size == 0 {
                return Ok((String::new(), Value::Empty));
            }
            let mut inner = Reader {
                position: tag.data,
                end: tag.data + tag.size,
                ..*self
            };
            let flags_tag = inner.expect(&[MI_UINT32], "the array flags")?;
            if flags_tag.size < 4 {
                return Err(inner.truncated("array flags", flags_tag.data, 4));
            }
            let flags = inner.u32_at(flags_tag.data);
            let class = (flags & 0xFF) as u8;
            let complex = flags & FLAG_COMPLEX != 0;
            let dims = inner.dimensions()?;
            let name_tag = inner.expect(&[MI_INT8, MI_UINT8, MI_UTF8], "the array name")?;
            let name = String::from_utf8_lossy(inner.data(&name_tag))
                .trim_end_matches('\0')
                .to_owned();
            let count = element_count(&dims).ok_or_else(|| {
                let message = format!("array dimensions {dims:?} overflow");
                at(start, EeglabProblem::BadStructure { message })
            })?;
            let value = match class {
                MX_DOUBLE..=MX_UINT64 => Value::Numeric(inner.numeric(dims, count, complex)?),
                MX_CHAR => Value::Char(inner.chars(dims)?),
                MX_STRUCT => Value::Struct(inner.structure(count, depth)?),
                MX_CELL => Value::Cell(inner.cell(count, depth)?),
                class => Value::Other { class },
            };
            // MATLAB writes `[]` and `''` as 0×0 arrays of some class (EEGLAB's empty
            // `chanlocs` is a 0×0 uint8 matrix); they all mean "nothing here".
            let value = match value {
                Value::Numeric(_) | Value::Char(_) | Value::Cell(_) if count == 0 => Value::Empty,
                value => value,
            };
            Ok((name, value))
        }

        fn dimensions(&mut self) -> Result<Vec<usize>, EeglabError> {
            let start = self.position;
            let tag = self.expect(&[MI_INT32], "the array dimensions")?;
            if tag.size % 4 != 0 || tag.size < 8 {
                let message = format!("array dimensions take {} bytes", tag.size);
                return Err(at(start, EeglabProblem::BadStructure { message }));
            }
            (0..tag.size / 4)
                .map(|index| {
                    let dim = self.u32_at(tag.data + 4 * index) as i32;
                    usize::try_from(dim).map_err(|_| {
                        let message = format!("negative array dimension {dim}");
                        at(start, EeglabProblem::BadStructure { message })
                    })
                })
                .collect()
        }

        fn numeric(
            &mut self,
            dims: Vec<usize>,
            count: usize,
            complex: bool,
        ) -> Result<Numeric, EeglabError> {
            if self.remaining() == 0 && count == 0 {
                // Some writers leave out the data element of an empty array.
                return Ok(Numeric {
                    dims,
                    real: Vec::new(),
                    complex,
                    storage: Storage::Double,
                });
            }
            let start = self.position;
            let tag = self.tag(true)?;
            let (real, storage) = numbers(self.data(&tag), tag.kind, self.big_endian)
                .map_err(|problem| at(start, problem))?;
            if real.len() != count {
                let message = format!(
                    "array of dimensions {dims:?} needs {count} values but {} are stored",
                    real.len()
                );
                return Err(at(start, EeglabProblem::BadStructure { message }));
            }
            if complex {
                // The imaginary parts are checked for presence but not kept.
                self.tag(true)?;
            }
            Ok(Numeric {
                dims,
                real,
                complex,
                storage,
            })
        }

        fn chars(&mut self, dims: Vec<usize>) -> Result<CharArray, EeglabError> {
            if self.remaining() == 0 {
                return Ok(CharArray {
                    dims,
                    chars: Vec::new(),
                });
            }
            let start = self.position;
            let tag = self.tag(true)?;
            let data = self.data(&tag);
            let units = |width: usize| -> Vec<u32> {
                data.chunks_exact(width)
                    .map(|unit| match (width, self.big_endian) {
                        (2, false) => u32::from(u16::from_le_bytes([unit[0], unit[1]])),
                        (2, true) => u32::from(u16::from_be_bytes([unit[0], unit[1]])),
                        (_, false) => u32::from_le_bytes([unit[0], unit[1], unit[2], unit[3]]),
                        (_, true) => u32::from_be_bytes([unit[0], unit[1], unit[2], unit[3]]),
                    })
                    .collect()
            };
            let chars: Vec<char> = match tag.kind {
                MI_UINT16 | MI_UTF16 => {
                    let units: Vec<u16> = units(2).into_iter().map(|unit| unit as u16).collect();
                    let single_row = dims.first().is_none_or(|&rows| rows <= 1);
                    if single_row {
                        char::decode_utf16(units)
                            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect()
                    } else {
                        // One code unit per matrix element keeps the column-major layout.
                        units
                            .into_iter()
                            .map(|unit| {
                                char::from_u32(u32::from(unit))
                                    .unwrap_or(char::REPLACEMENT_CHARACTER)
                            })
                            .collect()
                    }
                }
                MI_UTF32 => units(4)
                    .into_iter()
                    .map(|unit| char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
                MI_UTF8 => String::from_utf8_lossy(data).chars().collect(),
                MI_INT8 | MI_UINT8 => data.iter().map(|&byte| char::from(byte)).collect(),
                other => {
                    let message = format!("char array stored as element type {other}");
                    return Err(at(start, EeglabProblem::BadStructure { message }));
                }
            };
            Ok(CharArray { dims, chars })
        }

        fn structure(&mut self, len: usize, depth: usize) -> Result<StructArray, EeglabError> {
            let start = self.position;
            let length_tag = self.expect(&[MI_INT32], "the struct field name length")?;
            if length_tag.size < 4 {
                return Err(self.truncated("struct field name length", length_tag.data, 4));
            }
            let name_length = self.u32_at(length_tag.data) as usize;
            let names_tag = self.expect(&[MI_INT8, MI_UINT8], "the struct field names")?;
            let names_data = self.data(&names_tag);
            if names_tag.size > 0 && (name_length == 0 || names_tag.size % name_length != 0) {
                let message = format!(
                    "{} bytes of struct field names do not divide into names of {name_length} bytes",
                    names_tag.size
                );
                return Err(at(start, EeglabProblem::BadStructure { message }));
            }
            let names: Vec<String> = if names_data.is_empty() {
                Vec::new()
            } else {
                names_data
                    .chunks(name_length)
                    .map(|name| {
                        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                        String::from_utf8_lossy(&name[..end]).into_owned()
                    })
                    .collect()
            };
            // Each value is at least one 8-byte tag: check before reading `len × fields` values.
            let values = len.saturating_mul(names.len());
            if values > self.remaining() / TAG_BYTES {
                return Err(self.truncated(
                    "struct values",
                    self.position,
                    values.saturating_mul(TAG_BYTES),
                ));
            }
            let mut fields: Vec<(String, Vec<Value>)> =
                names.into_iter().map(|name| (name, Vec::new())).collect();
            // Without fields there is nothing to read, whatever `len` says.
            let elements = if fields.is_empty() { 0 } else { len };
            for _ in 0..elements {
                for (_, values) in &mut fields {
                    values.push(self.array(depth + 1)?.1);
                }
            }
            Ok(StructArray { len, fields })
        }

        fn cell(&mut self, len: usize, depth: usize) -> Result<Vec<Value>, EeglabError> {
            if len > self.remaining() / TAG_BYTES {
                let needed = len.saturating_mul(TAG_BYTES);
                return Err(self.truncated("cell elements", self.position, needed));
            }
            (0..len)
                .map(|_| self.array(depth + 1).map(|(_, value)| value))
                .collect()
        }
    }

    fn element_count(dims: &[usize]) -> Option<usize> {
        dims.iter()
            .try_fold(1usize, |count, &dim| count.checked_mul(dim))
    }

    /// Decodes numeric data of element type `kind` into f64 values.
    fn numbers(
        data: &[u8],
        kind: u32,
        big_endian: bool,
    ) -> Result<(Vec<f64>, Storage), EeglabProblem> {
        macro_rules! decode {
            ($type:ty, $storage:expr) => {{
                const WIDTH: usize = std::mem::size_of::<$type>();
                if !data.len().is_multiple_of(WIDTH) {
                    let message = format!(
                        "{} bytes of numeric data are not a whole number of {WIDTH}-byte values",
                        data.len()
                    );
                    return Err(EeglabProblem::BadStructure { message });
                }
                let values = data
                    .chunks_exact(WIDTH)
                    .map(|chunk| {
                        let mut bytes = [0u8; WIDTH];
                        bytes.copy_from_slice(chunk);
                        let value = if big_endian {
                            <$type>::from_be_bytes(bytes)
                        } else {
                            <$type>::from_le_bytes(bytes)
                        };
                        value as f64
                    })
                    .collect();
                Ok((values, $storage))
            }};
        }
        match kind {
            MI_INT8 => decode!(i8, Storage::Integer),
            MI_UINT8 => decode!(u8, Storage::Integer),
            MI_INT16 => decode!(i16, Storage::Integer),
            MI_UINT16 => decode!(u16, Storage::Integer),
            MI_INT32 => decode!(i32, Storage::Integer),
            MI_UINT32 => decode!(u32, Storage::Integer),
            MI_INT64 => decode!(i64, Storage::Integer),
            MI_UINT64 => decode!(u64, Storage::Integer),
            MI_SINGLE => decode!(f32, Storage::Single),
            MI_DOUBLE => decode!(f64, Storage::Double),
            other => Err(EeglabProblem::BadStructure {
                message: format!("numeric array stored as element type {other}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_python_repr() {
        for (value, single, expected) in [
            (1.0, false, "1.0"),
            (1.5, false, "1.5"),
            (-3.0, false, "-3.0"),
            (0.1, false, "0.1"),
            (1e-5, false, "1e-05"),
            (1.25e20, false, "1.25e+20"),
            (1e16, false, "1e+16"),
            (0.0, false, "0.0"),
            (f64::NAN, false, "nan"),
            (0.1f32 as f64, true, "0.1"),
            (2.0, true, "2.0"),
        ] {
            assert_eq!(python_float_repr(value, single), expected, "{value}");
        }
    }

    #[test]
    fn crop_drops_and_clips_like_mne() {
        let span = |onset_s, duration_s| Annotation {
            onset_s,
            duration_s,
            label: String::new(),
        };
        assert_eq!(crop(span(-1.0, 0.5), 10.0), None);
        assert_eq!(crop(span(10.5, 0.0), 10.0), None);
        assert_eq!(crop(span(-1.0, 2.0), 10.0), Some(span(0.0, 1.0)));
        assert_eq!(crop(span(9.0, 5.0), 10.0), Some(span(9.0, 1.0)));
        assert_eq!(crop(span(10.0, 0.0), 10.0), Some(span(10.0, 0.0)));
    }
}
