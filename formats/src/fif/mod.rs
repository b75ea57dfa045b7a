//! MNE FIF reader: raw files (`*_raw.fif`, `*-raw.fif`) and event files (`*-eve.fif`).
//!
//! FIF (Elekta/Neuromag "Functional Image File Format") is MNE-Python's native format. A file
//! is a stream of big-endian tags nested into blocks; this reader follows what
//! `mne.io.read_raw_fif` reads for continuous data:
//!
//! * the measurement info: channel count, sampling rate, one channel definition per channel
//!   (name, kind, calibration `cal`, `range`, unit and unit multiplier; long names from the
//!   extended channel info blocks), line frequency, filters, measurement date, bad channels;
//! * the raw data block (`FIFFB_RAW_DATA`, else `FIFFB_CONTINUOUS_DATA`): the optional first
//!   sample number and initial skip, then the data buffers (float32, float64, int32, int16,
//!   16-bit packed) concatenated in order, each value multiplied by its channel's
//!   `range × cal` as MNE does. Data skips inside the data are filled with zeros and reported
//!   as `BAD_ACQ_SKIP` annotations, as MNE does;
//! * the annotations block written by MNE (onsets, durations, descriptions, their time origin).
//!
//! Values are in the unit the channel declares (`V` for EEG), as MNE returns them. MNE ignores
//! the unit multiplier when it scales data; this reader does the same to the values and puts
//! the multiplier into the unit text instead (`unit_mul` = -3 with volts gives `mV`), so the
//! numbers are MNE's and the unit says what they mean. Annotation onsets count from the first
//! sample of the data (MNE's `raw.first_samp`), not from the measurement start; MNE keeps them
//! to the microsecond, this reader in full precision. The measurement date is UTC; the
//! recording's start time is that date plus `first_samp / rate`, the time of the first
//! stored sample.
//!
//! Refused, with an error that says so: gzip-compressed files (`.fif.gz`: decompress first),
//! split recordings (a file that continues in another one), MaxShield data
//! (`FIFFB_IAS_RAW_DATA`, which MNE also refuses by default), complex-valued buffers, files
//! with more than one measurement, and data skips whose zeros would exceed
//! [`MAX_SKIP_FACTOR`] times the stored samples (a bound on what a few bytes can make this
//! reader allocate).
//!
//! [`read_recording`] also looks for MNE events kept beside the raw file (`x_raw.fif` →
//! `x-eve.fif`, `x-raw.fif` → `x-eve.fif`) and adds them as annotations labelled with the
//! event code in decimal, at `(sample − first_samp) / rate` seconds, duration 0: event files
//! hold absolute sample numbers, which include `first_samp`.

mod annotations;
mod data;
mod info;
mod tree;

use std::path::{Path, PathBuf};

use crate::error::{FileError, FormatProblem, file_name};
use crate::recording::{Annotation, ChannelInfo, ChannelKind, Recording, StartTime};

pub use data::MAX_SKIP_FACTOR;

use tree::{
    FIFF_REF_FILE_NAME, FIFF_REF_FILE_NUM, FIFF_REF_ROLE, FIFFB_CONTINUOUS_DATA,
    FIFFB_IAS_RAW_DATA, FIFFB_MEAS, FIFFB_MNE_EVENTS, FIFFB_RAW_DATA, FIFFB_REF, Tree,
};

/// What is wrong in a FIF file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FifProblem {
    /// The file does not start with a FIF file id tag.
    #[error(
        "not a FIF file: it does not start with a file id tag (kind 100, type 31, 20 bytes); \
         first bytes {found:02x?}"
    )]
    NotFif {
        /// The first (up to 16) bytes.
        found: Vec<u8>,
    },
    /// The file is gzip-compressed.
    #[error("gzip-compressed FIF (.fif.gz): decompress it first (for example with gunzip)")]
    Compressed,
    /// The file id tag is not followed by a directory pointer tag.
    #[error("not a FIF file: no directory pointer tag (kind 101) after the file id")]
    NoDirectoryPointer,
    /// The file ends inside a structure.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A tag's data size is negative or runs past the end of the file.
    #[error(
        "tag of kind {kind} declares {size} data bytes but only {available} remain in the file"
    )]
    TagBeyondFile {
        /// The tag kind.
        kind: i32,
        /// The declared data size.
        size: i64,
        /// Bytes left after the tag header.
        available: u64,
    },
    /// A tag's `next` field points backwards or past the end of the file.
    #[error(
        "tag of kind {kind} says the next tag is at byte {next}, which is not after it in the file"
    )]
    BadNextPointer {
        /// The tag kind.
        kind: i32,
        /// The `next` field.
        next: i64,
    },
    /// A tag's type or contents cannot be used for its kind.
    #[error("{name} (kind {kind}) {message}")]
    BadTag {
        /// The tag kind.
        kind: i32,
        /// The kind's name, or `tag`.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Something the reader needs is not in the file.
    #[error("no {what}")]
    Missing {
        /// What is missing.
        what: &'static str,
    },
    /// The file uses a feature this reader does not read.
    #[error("not supported: {what}")]
    Unsupported {
        /// The feature.
        what: String,
    },
    /// The file is an MNE events file, not a raw file.
    #[error("this is an events file: replay the raw file beside it")]
    EventsFile,
    /// The sampling rate is not a positive finite number.
    #[error("sampling rate (FIFF_SFREQ) is {value}; it must be positive")]
    BadSampleRate {
        /// The rate found.
        value: f64,
    },
    /// The channel count differs from the number of channel definitions.
    #[error("FIFF_NCHAN says {nchan} channels but the file defines {definitions}")]
    ChannelCountMismatch {
        /// `FIFF_NCHAN`.
        nchan: i64,
        /// Number of `FIFF_CH_INFO` tags.
        definitions: usize,
    },
    /// A data buffer does not hold a whole number of samples.
    #[error(
        "data buffer of {size} bytes does not hold whole samples of {nchan} channels × \
         {bytes_per_value} bytes"
    )]
    BufferSizeMismatch {
        /// Buffer size in bytes.
        size: u64,
        /// Number of channels.
        nchan: usize,
        /// Bytes per value of the buffer's type.
        bytes_per_value: usize,
    },
    /// Data skips would add more zeros than allowed.
    #[error(
        "data skips add {zeros} zero samples per channel, more than {MAX_SKIP_FACTOR} times \
         the {stored} stored samples; refusing to fill that much"
    )]
    SkipTooLong {
        /// Zero samples the skips ask for.
        zeros: u64,
        /// Samples stored in buffers.
        stored: u64,
    },
    /// The annotation arrays have different lengths.
    #[error("annotations block has {onsets} onsets, {ends} ends and {descriptions} descriptions")]
    BadAnnotations {
        /// Number of onsets.
        onsets: usize,
        /// Number of ends (onset + duration).
        ends: usize,
        /// Number of descriptions.
        descriptions: usize,
    },
    /// An event list does not hold whole triplets.
    #[error("event list holds {values} values, not a multiple of 3 (sample, previous, code)")]
    BadEventList {
        /// Number of int32 values.
        values: usize,
    },
    /// An event has a negative sample number.
    #[error("event {index} has negative sample number {sample}")]
    NegativeEventSample {
        /// 0-based event index.
        index: usize,
        /// The sample number.
        sample: i64,
    },
}

impl FormatProblem for FifProblem {
    const FORMAT: &'static str = "FIF";
}

/// Errors reading FIF files.
pub type FifError = FileError<FifProblem>;

/// The sample type of the data buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FifDataType {
    /// `FIFFT_FLOAT`, big-endian float32 (MNE's default `single`).
    Float32,
    /// `FIFFT_DOUBLE`, big-endian float64.
    Float64,
    /// `FIFFT_INT`, big-endian int32.
    Int32,
    /// `FIFFT_SHORT`, big-endian int16.
    Int16,
    /// `FIFFT_DAU_PACK16`, 16-bit values read as int16 (as MNE does).
    DauPack16,
}

impl FifDataType {
    /// Bytes per stored value.
    pub fn bytes_per_value(self) -> usize {
        match self {
            Self::Int16 | Self::DauPack16 => 2,
            Self::Float32 | Self::Int32 => 4,
            Self::Float64 => 8,
        }
    }

    /// One stored value from its big-endian bytes (`bytes.len()` is the type's width).
    fn decode(self, bytes: &[u8]) -> f64 {
        let mut word = [0u8; 8];
        word[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
        let [a, b, c, d, ..] = word;
        match self {
            Self::Int16 | Self::DauPack16 => f64::from(i16::from_be_bytes([a, b])),
            Self::Int32 => f64::from(i32::from_be_bytes([a, b, c, d])),
            Self::Float32 => f64::from(f32::from_be_bytes([a, b, c, d])),
            Self::Float64 => f64::from_be_bytes(word),
        }
    }
}

/// One channel definition (`fiffChInfoRec`, with the extended channel info applied).
#[derive(Debug, Clone, PartialEq)]
pub struct FifChannel {
    /// Channel name.
    pub name: String,
    /// Scanning order number.
    pub scan_no: i32,
    /// Logical channel number.
    pub logical_no: i32,
    /// Channel kind code (`FIFFV_EEG_CH` = 2, EOG 202, ECG 402, EMG 302, stimulus 3, ...).
    pub kind_code: i32,
    /// Voltage range factor (`range`); values are multiplied by `range × cal`.
    pub range: f32,
    /// Calibration factor (`cal`).
    pub cal: f32,
    /// Coil type code.
    pub coil_type: i32,
    /// Location and orientation (`loc`, 12 values).
    pub location: [f32; 12],
    /// Unit code (`FIFF_UNIT_V` = 107, `FIFF_UNIT_T` = 112, ...).
    pub unit_code: i32,
    /// Unit multiplier, a power of ten (`FIFF_UNITM_*`; 0 for none).
    pub unit_mul: i32,
    /// The kind as a [`ChannelKind`] (EEG, EOG, ECG, EMG, stimulus, respiration; else misc).
    pub kind: ChannelKind,
    /// The unit as text, with the multiplier as an SI prefix (`V`, `mV`, `T/m`; empty when
    /// unitless or unknown).
    pub unit: String,
}

impl FifChannel {
    /// Recomputes [`FifChannel::kind`] and [`FifChannel::unit`] from the codes.
    fn refresh_derived(&mut self) {
        self.kind = channel_kind(self.kind_code);
        self.unit = unit_text(self.unit_code, self.unit_mul);
    }
}

/// The [`ChannelKind`] of a FIF channel kind code.
pub fn channel_kind(kind_code: i32) -> ChannelKind {
    match kind_code {
        2 => ChannelKind::Eeg,
        202 => ChannelKind::Eog,
        402 => ChannelKind::Ecg,
        302 => ChannelKind::Emg,
        3 => ChannelKind::Stim,
        602 => ChannelKind::Resp,
        _ => ChannelKind::Misc,
    }
}

/// The unit text of a FIF unit code and multiplier: `V`, `T`, `T/m`, ... with an SI prefix
/// for the multiplier (`u` for micro); empty for no unit, unitless or unknown codes. A
/// multiplier without a prefix is written as a power of ten (`1e-5 V`).
pub fn unit_text(unit_code: i32, unit_mul: i32) -> String {
    let unit = match unit_code {
        1 => "m",
        2 => "kg",
        3 => "s",
        4 => "A",
        5 => "K",
        6 => "mol",
        7 => "rad",
        8 => "sr",
        9 => "cd",
        10 => "mol/m^3",
        101 => "Hz",
        102 => "N",
        103 => "Pa",
        104 => "J",
        105 => "W",
        106 => "C",
        107 => "V",
        108 => "F",
        109 => "Ohm",
        110 => "S",
        111 => "Wb",
        112 => "T",
        113 => "H",
        114 => "degC",
        115 => "lm",
        116 => "lx",
        117 => "V/m^2",
        118 => "s^2",
        201 => "T/m",
        202 => "Am",
        203 => "Am/m^2",
        204 => "Am/m^3",
        210 => "px",
        _ => "",
    };
    if unit.is_empty() || unit_mul == 0 {
        return unit.to_owned();
    }
    let prefix = match unit_mul {
        18 => "E",
        15 => "P",
        12 => "T",
        9 => "G",
        6 => "M",
        3 => "k",
        2 => "h",
        1 => "da",
        -1 => "d",
        -2 => "c",
        -3 => "m",
        -6 => "u",
        -9 => "n",
        -12 => "p",
        -15 => "f",
        -18 => "a",
        _ => return format!("1e{unit_mul} {unit}"),
    };
    format!("{prefix}{unit}")
}

/// A measurement date: seconds and microseconds since 1970-01-01 00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasDate {
    /// Whole seconds since the Unix epoch.
    pub seconds: i64,
    /// Microseconds to add (as stored; may exceed one second in odd files).
    pub microseconds: i64,
}

impl MeasDate {
    /// Seconds from `earlier` to `self`.
    pub fn seconds_since(self, earlier: MeasDate) -> f64 {
        // i128: the fields come from the file and their differences may not fit in i64.
        (i128::from(self.seconds) - i128::from(earlier.seconds)) as f64
            + (i128::from(self.microseconds) - i128::from(earlier.microseconds)) as f64 * 1e-6
    }

    /// The calendar date and time (UTC) `offset_ns` nanoseconds after this date, if it lies
    /// in years 0 to 65535.
    pub fn to_start_time(self, offset_ns: i128) -> Option<StartTime> {
        // The date fits easily in i128 nanoseconds; the offset may be anything.
        let total_ns = (i128::from(self.seconds) * 1_000_000_000
            + i128::from(self.microseconds) * 1_000)
            .checked_add(offset_ns)?;
        let seconds = total_ns.div_euclid(1_000_000_000);
        let nanosecond = u32::try_from(total_ns.rem_euclid(1_000_000_000)).ok()?;
        let days = i64::try_from(seconds.div_euclid(86_400)).ok()?;
        let second_of_day = seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Some(StartTime {
            year: u16::try_from(year).ok()?,
            month,
            day,
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
            nanosecond,
        })
    }
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u8;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One annotation, relative to the first sample of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct FifAnnotation {
    /// Onset in seconds after the first sample (MNE's `raw.annotations.onset - raw.first_time`).
    pub onset_s: f64,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Description.
    pub description: String,
}

/// A parsed FIF raw file.
#[derive(Debug, Clone, PartialEq)]
pub struct FifFile {
    /// Channel definitions in file order.
    pub channels: Vec<FifChannel>,
    /// Sampling rate in Hz (`FIFF_SFREQ`), shared by all channels.
    pub sample_rate_hz: f64,
    /// Mains frequency in Hz (`FIFF_LINE_FREQ`), when the file declares one.
    pub line_freq_hz: Option<f64>,
    /// Low-pass corner in Hz (`FIFF_LOWPASS`), when declared.
    pub lowpass_hz: Option<f64>,
    /// High-pass corner in Hz (`FIFF_HIGHPASS`), when declared.
    pub highpass_hz: Option<f64>,
    /// Measurement date (MNE's `info["meas_date"]`): the time of sample number 0, so the first
    /// stored sample is `first_sample / sample_rate_hz` later. From `FIFF_MEAS_DATE`, else the
    /// measurement id as MNE does; `None` when the file says "no date".
    pub meas_date: Option<MeasDate>,
    /// Sample number of the first stored sample (MNE's `raw.first_samp`).
    pub first_sample: i64,
    /// Sample type of the first data buffer (MNE's `orig_format`).
    pub data_type: FifDataType,
    /// Physical values per channel: stored value × `range` × `cal`, in the channel's unit.
    pub data: Vec<Vec<f64>>,
    /// Annotations of the file, plus one `BAD_ACQ_SKIP` per data skip, sorted by onset.
    pub annotations: Vec<FifAnnotation>,
    /// Names of the channels marked bad.
    pub bad_channels: Vec<String>,
    /// Experimenter (`FIFF_EXPERIMENTER`), when given.
    pub experimenter: Option<String>,
    /// Description (`FIFF_DESCRIPTION`), when given.
    pub description: Option<String>,
}

impl FifFile {
    /// Number of samples per channel.
    pub fn sample_count(&self) -> usize {
        self.data.first().map_or(0, Vec::len)
    }

    /// Wall-clock time (UTC) of the first stored sample: the measurement date plus
    /// `first_sample / sample_rate_hz`.
    pub fn start_time(&self) -> Option<StartTime> {
        let offset_ns = (self.first_sample as f64 / self.sample_rate_hz * 1e9).round();
        self.meas_date?.to_start_time(offset_ns as i128)
    }

    /// Converts into the common [`Recording`]: values in the channels' units (`V` for EEG, not
    /// rescaled), kinds from the channel kind codes, the annotations, and [`FifFile::start_time`].
    pub fn to_recording(&self) -> Recording {
        Recording {
            channels: self
                .channels
                .iter()
                .map(|channel| {
                    ChannelInfo::new(
                        channel.name.clone(),
                        channel.unit.clone(),
                        self.sample_rate_hz,
                    )
                    .with_declared_kind(Some(channel.kind))
                })
                .collect(),
            data: self.data.clone(),
            timestamps_s: None,
            annotations: self
                .annotations
                .iter()
                .map(|annotation| Annotation {
                    onset_s: annotation.onset_s,
                    duration_s: annotation.duration_s,
                    label: annotation.description.clone(),
                })
                .collect(),
            start_time: self.start_time(),
            line_freq_hz: self.line_freq_hz,
        }
    }
}

/// Parses the bytes of a FIF raw file.
pub fn parse(bytes: &[u8]) -> Result<FifFile, FifError> {
    let tree = Tree::build(bytes, tree::read_tags(bytes)?)?;
    let meas = measurement_block(&tree)?;
    refuse_split(bytes, &tree)?;
    let info = info::read_meas_info(bytes, &tree, meas)?;
    let raw_node = raw_data_block(&tree, meas)?;
    let raw = data::read_raw_data(bytes, &tree.nodes[raw_node], &info.channels)?;
    let first_sample_tag = first_sample_tag(bytes, &tree.nodes[raw_node])?;
    let sample_count = raw.data.first().map_or(0, Vec::len);
    let rate = info.sample_rate_hz;
    let mut annotations = match annotations::read_annotations(bytes, &tree)? {
        Some(stored) => annotations::relative_annotations(
            stored,
            info.meas_date,
            raw.first_sample,
            first_sample_tag,
            rate,
            sample_count as f64 / rate,
        ),
        None => Vec::new(),
    };
    annotations.extend(raw.skips.iter().map(|&(start, samples)| FifAnnotation {
        onset_s: start as f64 / rate,
        duration_s: samples as f64 / rate,
        description: "BAD_ACQ_SKIP".to_owned(),
    }));
    sort_annotations(&mut annotations);
    Ok(FifFile {
        channels: info.channels,
        sample_rate_hz: rate,
        line_freq_hz: info.line_freq_hz,
        lowpass_hz: info.lowpass_hz,
        highpass_hz: info.highpass_hz,
        meas_date: info.meas_date,
        first_sample: raw.first_sample,
        data_type: raw.data_type,
        data: raw.data,
        annotations,
        bad_channels: info.bad_channels,
        experimenter: info.experimenter,
        description: info.description,
    })
}

/// Sorts by onset, then duration, keeping file order otherwise (MNE's `Annotations._sort`).
fn sort_annotations(annotations: &mut [FifAnnotation]) {
    annotations.sort_by(|a, b| {
        a.onset_s
            .total_cmp(&b.onset_s)
            .then(a.duration_s.total_cmp(&b.duration_s))
    });
}

/// The `FIFF_FIRST_SAMPLE` value when it is the raw block's first tag (0 otherwise).
fn first_sample_tag(bytes: &[u8], node: &tree::Node) -> Result<i64, FifError> {
    match node.entries.first() {
        Some(tag) if tag.kind == tree::FIFF_FIRST_SAMPLE => tag.int(bytes),
        _ => Ok(0),
    }
}

/// The one measurement block; an events file (no measurement, an event block) is named as
/// such.
fn measurement_block(tree: &Tree) -> Result<usize, FifError> {
    let blocks = tree.find(0, FIFFB_MEAS);
    match blocks.as_slice() {
        [meas] => Ok(*meas),
        [] if !tree.find(0, FIFFB_MNE_EVENTS).is_empty() => {
            Err(FifError::at(0, FifProblem::EventsFile))
        }
        [] => Err(FifError::at(
            0,
            FifProblem::Missing {
                what: "measurement block (FIFFB_MEAS)",
            },
        )),
        [_, second, ..] => Err(FifError::at(
            tree.nodes[*second].pos as u64,
            FifProblem::Unsupported {
                what: "more than one measurement in the file".to_owned(),
            },
        )),
    }
}

/// The raw data block, as MNE looks for it: `FIFFB_RAW_DATA`, else `FIFFB_CONTINUOUS_DATA`.
fn raw_data_block(tree: &Tree, meas: usize) -> Result<usize, FifError> {
    let mut blocks = tree.find(meas, FIFFB_RAW_DATA);
    if blocks.is_empty() {
        blocks = tree.find(meas, FIFFB_CONTINUOUS_DATA);
    }
    let pos = tree.nodes[meas].pos as u64;
    match blocks.as_slice() {
        [raw] => Ok(*raw),
        [] if !tree.find(meas, FIFFB_IAS_RAW_DATA).is_empty() => Err(FifError::at(
            pos,
            FifProblem::Unsupported {
                what: "MaxShield data (internal active shielding); process it with \
                       SSS/tSSS first, as MNE asks"
                    .to_owned(),
            },
        )),
        [] => Err(FifError::at(
            pos,
            FifProblem::Missing {
                what: "raw data block (FIFFB_RAW_DATA or FIFFB_CONTINUOUS_DATA); epochs and \
                       evoked files are not read",
            },
        )),
        [_, second, ..] => Err(FifError::at(
            tree.nodes[*second].pos as u64,
            FifProblem::Unsupported {
                what: "more than one raw data block".to_owned(),
            },
        )),
    }
}

/// Refuses the first parts of split recordings: a reference block whose role is "next
/// file" with a file name or number. (The last part refers only back and reads alone.)
fn refuse_split(bytes: &[u8], tree: &Tree) -> Result<(), FifError> {
    const FIFFV_ROLE_NEXT_FILE: i64 = 2;
    for block in tree.find(0, FIFFB_REF) {
        let node = &tree.nodes[block];
        let is_next = match node.find(FIFF_REF_ROLE) {
            Some(tag) => tag.int(bytes)? == FIFFV_ROLE_NEXT_FILE,
            None => false,
        };
        if !is_next {
            continue;
        }
        let name = match node.find(FIFF_REF_FILE_NAME) {
            Some(tag) => Some(tag.string(bytes)?),
            None => None,
        };
        if name.is_some() || node.find(FIFF_REF_FILE_NUM).is_some() {
            let next = name.map_or_else(
                || "a numbered next part".to_owned(),
                |name| format!("{name:?}"),
            );
            return Err(FifError::at(
                node.pos as u64,
                FifProblem::Unsupported {
                    what: format!(
                        "split recording that continues in {next}; join the parts with MNE \
                         (read_raw_fif, then save with split_size large enough)"
                    ),
                },
            ));
        }
    }
    Ok(())
}

/// Splits an MNE name list (`a:b:c`, with `{COLON}` standing for `:` inside a name).
fn names_from_list(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(':')
        .map(|name| name.replace("{COLON}", ":"))
        .collect()
}

/// Reads and parses a FIF raw file (without looking for an events file beside it).
pub fn read(path: impl AsRef<Path>) -> Result<FifFile, FifError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse(&bytes).map_err(|error| error.in_file(path))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, FifError> {
    std::fs::read(path).map_err(|source| FifError::Io {
        file: file_name(path),
        source,
    })
}

/// Parses the bytes of an MNE events file: `(sample, previous value, code)` per event, with
/// absolute sample numbers (they include the raw file's `first_samp`), as `mne.read_events`.
pub fn parse_events(bytes: &[u8]) -> Result<Vec<(u64, i32, i32)>, FifError> {
    let tree = Tree::build(bytes, tree::read_tags(bytes)?)?;
    annotations::read_event_list(bytes, &tree)
}

/// Reads an MNE events file (`*-eve.fif`); see [`parse_events`].
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<(u64, i32, i32)>, FifError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_events(&bytes).map_err(|error| error.in_file(path))
}

/// The events file MNE keeps beside a raw file: `x_raw.fif` or `x-raw.fif` → `x-eve.fif`.
pub fn companion_events_path(raw_path: &Path) -> Option<PathBuf> {
    let name = raw_path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix("_raw.fif")
        .or_else(|| name.strip_suffix("-raw.fif"))?;
    Some(raw_path.with_file_name(format!("{stem}-eve.fif")))
}

/// Adds events as instantaneous annotations labelled with their code in decimal, at
/// `(sample − first_sample) / rate` seconds (event samples are absolute, as MNE writes them),
/// then sorts all annotations by onset and duration, keeping their order otherwise.
pub fn add_events(
    recording: &mut Recording,
    events: &[(u64, i32, i32)],
    first_sample: i64,
    sample_rate_hz: f64,
) {
    recording
        .annotations
        .extend(events.iter().map(|&(sample, _, code)| Annotation {
            onset_s: (i128::from(sample) - i128::from(first_sample)) as f64 / sample_rate_hz,
            duration_s: 0.0,
            label: code.to_string(),
        }));
    recording.annotations.sort_by(|a, b| {
        a.onset_s
            .total_cmp(&b.onset_s)
            .then(a.duration_s.total_cmp(&b.duration_s))
    });
}

/// Reads a FIF raw file into a [`Recording`], with the events of a companion events file
/// (see [`companion_events_path`]) as annotations when one exists. A damaged companion file
/// is an error naming it. An events file given alone is refused: replay the raw file beside it.
pub fn read_recording(path: &Path) -> Result<Recording, FifError> {
    let file = read(path)?;
    let mut recording = file.to_recording();
    if let Some(events_path) = companion_events_path(path).filter(|events| events.is_file()) {
        let events = read_events(&events_path)?;
        add_events(
            &mut recording,
            &events,
            file.first_sample,
            file.sample_rate_hz,
        );
    }
    Ok(recording)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_carry_their_multiplier_as_a_prefix() {
        assert_eq!(unit_text(107, 0), "V");
        assert_eq!(unit_text(107, -6), "uV");
        assert_eq!(unit_text(107, -3), "mV");
        assert_eq!(unit_text(112, -15), "fT");
        assert_eq!(unit_text(201, 0), "T/m");
        assert_eq!(unit_text(107, -5), "1e-5 V");
        assert_eq!(unit_text(0, -6), "");
        assert_eq!(unit_text(-1, 0), "");
        assert_eq!(unit_text(4242, 0), "");
    }

    #[test]
    fn channel_kinds_follow_the_fiff_codes() {
        let kinds = [
            (2, ChannelKind::Eeg),
            (202, ChannelKind::Eog),
            (402, ChannelKind::Ecg),
        ];
        for (code, kind) in kinds {
            assert_eq!(channel_kind(code), kind);
        }
        assert_eq!(channel_kind(302), ChannelKind::Emg);
        assert_eq!(channel_kind(3), ChannelKind::Stim);
        assert_eq!(channel_kind(602), ChannelKind::Resp);
        assert_eq!(channel_kind(502), ChannelKind::Misc);
        assert_eq!(channel_kind(1), ChannelKind::Misc);
    }

    #[test]
    fn measurement_dates_become_utc_calendar_times() {
        let date = MeasDate {
            seconds: 1_341_594_136,
            microseconds: 0,
        };
        let start = date.to_start_time(0).unwrap();
        let fields = (start.year, start.month, start.day, start.hour, start.minute);
        assert_eq!(fields, (2012, 7, 6, 17, 2));
        assert_eq!(start.second, 16);
        let leap_day = MeasDate {
            seconds: 951_782_400,
            microseconds: 1,
        };
        let start = leap_day.to_start_time(500).unwrap();
        assert_eq!((start.year, start.month, start.day), (2000, 2, 29));
        assert_eq!(start.nanosecond, 1_500);
        let before_epoch = MeasDate {
            seconds: -1,
            microseconds: 0,
        };
        let start = before_epoch.to_start_time(0).unwrap();
        assert_eq!((start.year, start.month, start.day), (1969, 12, 31));
        assert_eq!((start.hour, start.minute, start.second), (23, 59, 59));
        assert_eq!(date.to_start_time(i128::MAX), None);
        let far = MeasDate {
            seconds: i64::MAX,
            microseconds: 0,
        };
        assert_eq!(far.to_start_time(0), None);
    }

    #[test]
    fn companion_events_file_names() {
        let path = Path::new("/data/s01_raw.fif");
        assert_eq!(
            companion_events_path(path),
            Some(PathBuf::from("/data/s01-eve.fif"))
        );
        assert_eq!(
            companion_events_path(Path::new("sub-01_task-x-raw.fif")),
            Some(PathBuf::from("sub-01_task-x-eve.fif"))
        );
        assert_eq!(companion_events_path(Path::new("s01.fif")), None);
        assert_eq!(companion_events_path(Path::new("s01-eve.fif")), None);
    }

    #[test]
    fn names_lists_restore_colons() {
        assert_eq!(names_from_list("a{COLON}b:c"), ["a:b", "c"]);
        assert!(names_from_list("").is_empty());
    }
}
