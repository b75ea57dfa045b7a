//! BrainVision (Brain Products) reader: a text header (`.vhdr`), an optional marker file
//! (`.vmrk`) and a binary data file (`.eeg`).
//!
//! The header is ini-like: a version line (`Brain Vision Data Exchange Header File Version
//! 1.0` or `BrainVision Data Exchange Header File Version 2.0`, with the spellings MNE
//! accepts), then sections such as `[Common Infos]`, `[Binary Infos]` and `[Channel Infos]`
//! holding `key=value` lines; `;` and `#` start comments; keys and section names are matched
//! without regard to case (NeurOne writes `[Common infos]`); everything from a `[Comment]`
//! section on is free text. The text is decoded as the `Codepage` entry says: `ANSI` is
//! Windows-1252, anything else UTF-8, falling back to Latin-1 when the bytes are not UTF-8
//! (the rule MNE applies).
//!
//! Read: `DataFormat=BINARY` with `BinaryFormat` `INT_16`, `INT_32` or `IEEE_FLOAT_32`,
//! `DataOrientation` `MULTIPLEXED` (sample-major) or `VECTORIZED` (channel-major), little-endian
//! (or big-endian when `UseBigEndianOrder=YES`), `NumberOfChannels`, `SamplingInterval` in µs,
//! and one `Ch<n>=<name>,<reference>,<resolution>,<unit>` line per channel (a missing resolution
//! is 1, a missing unit µV; `\1` in a name stands for a comma). Refused with an error naming
//! the value: ASCII data, other binary formats and frequency-domain data.
//!
//! The number of samples comes from the size of the data file, as in MNE; `DataPoints` is kept
//! but not trusted (Analyzer exports can disagree with their own data).
//!
//! Markers (`Mk<n>=<type>,<description>,<position>,<points>,<channel>[,<date>]`) become
//! annotations the way MNE makes them: labelled `<type>/<description>`, onset
//! `(position − 1) / rate`, duration `points / rate`, sorted by onset then duration; the first
//! marker is dropped when it is a `New Segment` (it only carries the start time). The first
//! `New Segment` marker with a 20-digit date (`YYYYMMDDhhmmssuuuuuu`) gives the start time
//! (all zeros means none). As in MNE, the annotations are cropped to the data: markers that
//! start after its end are dropped and durations that run past it are shortened
//! ([`BrainVisionFile::markers`] keeps every marker as written). MNE also rounds onsets to
//! whole microseconds on the way; this reader does not.

use std::path::{Path, PathBuf};

use crate::error::{FileError, FormatProblem, file_name};
use crate::recording::{Annotation, ChannelInfo, ChannelKind, Recording, StartTime};

/// What is wrong in a BrainVision header, marker or data file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BrainVisionProblem {
    /// The first line is not a BrainVision header version line.
    #[error(
        "not a BrainVision header: the first line is {found:?}, expected \"Brain Vision Data \
         Exchange Header File Version 1.0\" or \"BrainVision Data Exchange Header File Version \
         2.0\""
    )]
    NotBrainVision {
        /// The first line (shortened).
        found: String,
    },
    /// A section the reader needs is absent.
    #[error("the header has no [{section}] section")]
    MissingSection {
        /// The section name.
        section: &'static str,
    },
    /// A required entry is absent from its section.
    #[error("[{section}] (line {line}) has no {key} entry")]
    MissingKey {
        /// The section name.
        section: &'static str,
        /// The key that is missing.
        key: &'static str,
        /// 1-based line of the section header.
        line: usize,
    },
    /// A section appears twice.
    #[error("line {line}: [{section}] appears a second time")]
    DuplicateSection {
        /// The section name.
        section: &'static str,
        /// 1-based line of the second section header.
        line: usize,
    },
    /// An entry is given twice in one section.
    #[error("line {line}: {key} is given a second time in [{section}]")]
    DuplicateKey {
        /// The section name.
        section: &'static str,
        /// The key as written.
        key: String,
        /// 1-based line of the second entry.
        line: usize,
    },
    /// A line in a section the reader needs is not `key=value`.
    #[error("line {line}: expected key=value, found {text:?}")]
    NotKeyValue {
        /// 1-based line number.
        line: usize,
        /// The line (shortened).
        text: String,
    },
    /// An entry's value cannot be used.
    #[error("line {line}: {key}={value:?} is unusable: {reason}")]
    BadValue {
        /// 1-based line number.
        line: usize,
        /// The key as written.
        key: String,
        /// The value (shortened).
        value: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// An entry names a variant of the format this reader does not read.
    #[error("line {line}: {key}={value} is not supported; this reader reads {supported}")]
    Unsupported {
        /// 1-based line number.
        line: usize,
        /// The key.
        key: &'static str,
        /// The value (shortened).
        value: String,
        /// What is read instead.
        supported: &'static str,
    },
    /// `NumberOfChannels` differs from the number of `Ch<n>` lines.
    #[error(
        "line {line}: NumberOfChannels is {declared} but [Channel Infos] describes {found} \
         channels"
    )]
    ChannelCountMismatch {
        /// 1-based line of the `NumberOfChannels` entry.
        line: usize,
        /// `NumberOfChannels`.
        declared: usize,
        /// `Ch<n>` lines found.
        found: usize,
    },
    /// A `Ch<n>` line has a number outside `1..=NumberOfChannels` or one already used.
    #[error("line {line}: channel number {number} is {reason} (NumberOfChannels is {declared})")]
    BadChannelNumber {
        /// 1-based line number.
        line: usize,
        /// The number after `Ch`.
        number: usize,
        /// `NumberOfChannels`.
        declared: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Neither the data file the header names nor the one with the header's stem exists.
    #[error(
        "line {line}: data file {referenced:?} (DataFile) does not exist, nor does {fallback:?}"
    )]
    MissingDataFile {
        /// 1-based line of the `DataFile` entry.
        line: usize,
        /// The name the header gives.
        referenced: String,
        /// The same-stem file that was tried instead.
        fallback: String,
    },
    /// The data file does not hold a whole number of samples of every channel.
    #[error(
        "data size {bytes} bytes is not a multiple of the {frame_bytes}-byte frame \
         ({channels} channels × {sample_bytes} bytes); {remainder} bytes are left over"
    )]
    DataSizeMismatch {
        /// Size of the data file.
        bytes: u64,
        /// Bytes per sample of all channels.
        frame_bytes: u64,
        /// Number of channels.
        channels: usize,
        /// Bytes per sample of one channel.
        sample_bytes: usize,
        /// Bytes after the last whole frame.
        remainder: u64,
    },
    /// A `Mk<n>` line cannot be read.
    #[error("line {line}: marker {key} is unusable: {reason}")]
    BadMarker {
        /// 1-based line number.
        line: usize,
        /// The key as written (`Mk3`).
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl FormatProblem for BrainVisionProblem {
    const FORMAT: &'static str = "BrainVision";
}

/// Errors reading BrainVision files. For header and marker problems the offset is that of
/// the offending line; for data problems it is inside the data file, which the error names.
pub type BrainVisionError = FileError<BrainVisionProblem>;

/// Sample encoding of the data file (`[Binary Infos] BinaryFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryFormat {
    /// `INT_16`: signed 16-bit integers.
    Int16,
    /// `INT_32`: signed 32-bit integers.
    Int32,
    /// `IEEE_FLOAT_32`: 32-bit floats.
    Float32,
}

impl BinaryFormat {
    /// Bytes per sample of one channel.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            BinaryFormat::Int16 => 2,
            BinaryFormat::Int32 | BinaryFormat::Float32 => 4,
        }
    }

    /// The name the header uses (`INT_16`, `INT_32`, `IEEE_FLOAT_32`).
    pub fn name(self) -> &'static str {
        match self {
            BinaryFormat::Int16 => "INT_16",
            BinaryFormat::Int32 => "INT_32",
            BinaryFormat::Float32 => "IEEE_FLOAT_32",
        }
    }

    fn from_name(text: &str) -> Option<Self> {
        [Self::Int16, Self::Int32, Self::Float32]
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(text))
    }
}

/// Order of the samples in the data file (`DataOrientation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataOrientation {
    /// `MULTIPLEXED`: all channels of sample 1, then all channels of sample 2, …
    Multiplexed,
    /// `VECTORIZED`: all samples of channel 1, then all samples of channel 2, …
    Vectorized,
}

/// One `Ch<n>` line of `[Channel Infos]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainVisionChannel {
    /// Channel name, `\1` turned back into commas.
    pub name: String,
    /// Reference channel name (often empty), `\1` turned back into commas.
    pub reference: String,
    /// Physical units per stored value (1 when the line gives none).
    pub resolution: f64,
    /// Unit as written (`µV` when the line gives none, as the format defines).
    pub unit: String,
}

/// Channel names MNE treats as EOG by default (`read_raw_brainvision(eog=…)`).
const MNE_EOG_NAMES: [&str; 3] = ["HEOGL", "HEOGR", "VEOGb"];

impl BrainVisionChannel {
    /// The unit in ASCII: a leading `µ` (micro sign or Greek mu) becomes `u`, so microvolts
    /// are `uV`; the stray `Â` of a UTF-8 `µ` read as Latin-1 is dropped, as MNE does.
    pub fn unit_ascii(&self) -> String {
        let cleaned: String = self.unit.trim().chars().filter(|&c| c != 'Â').collect();
        match cleaned.strip_prefix(['µ', 'μ']) {
            Some(rest) => format!("u{rest}"),
            None => cleaned,
        }
    }

    /// Whether the unit is a voltage (`V`, `mV`, `uV`, `nV`).
    pub fn is_voltage(&self) -> bool {
        matches!(self.unit_ascii().as_str(), "V" | "mV" | "uV" | "nV")
    }

    /// What the channel measures. The format does not say, so MNE's rules come first (a unit
    /// other than a voltage makes a misc channel; `HEOGL`, `HEOGR`, `VEOGb` are EOG), then the
    /// label ([`ChannelKind::from_label`]: `ECG`, `EOG1`, `EMG`, …).
    pub fn kind(&self) -> ChannelKind {
        if !self.is_voltage() {
            ChannelKind::Misc
        } else if MNE_EOG_NAMES.contains(&self.name.as_str()) {
            ChannelKind::Eog
        } else {
            ChannelKind::from_label(&self.name)
        }
    }
}

/// What a `.vhdr` header says.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainVisionHeader {
    /// Format version from the first line: 1 or 2.
    pub version: u8,
    /// The `Codepage` entry, if any.
    pub codepage: Option<String>,
    /// The `DataFile` entry as written.
    pub data_file: String,
    /// 1-based line of the `DataFile` entry (for messages about the data file).
    pub data_file_line: usize,
    /// Byte offset of the `DataFile` line.
    pub data_file_offset: u64,
    /// The `MarkerFile` entry, if any.
    pub marker_file: Option<String>,
    /// Sample order in the data file.
    pub orientation: DataOrientation,
    /// Sample encoding in the data file.
    pub binary_format: BinaryFormat,
    /// `UseBigEndianOrder=YES`.
    pub big_endian: bool,
    /// The `DataPoints` entry, if any (informational: the data size decides).
    pub data_points: Option<u64>,
    /// `SamplingInterval`: microseconds between samples.
    pub sampling_interval_us: f64,
    /// One entry per channel, in channel-number order (`NumberOfChannels` of them).
    pub channels: Vec<BrainVisionChannel>,
}

impl BrainVisionHeader {
    /// Sampling rate in Hz, `1e6 / SamplingInterval`.
    pub fn sample_rate_hz(&self) -> f64 {
        1e6 / self.sampling_interval_us
    }
}

/// One `Mk<n>` line of the marker file's `[Marker Infos]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainVisionMarker {
    /// The number after `Mk`.
    pub number: u64,
    /// Marker type (`Stimulus`, `Response`, `New Segment`, …), `\1` turned into commas.
    pub marker_type: String,
    /// Description (`S  1`, …), `\1` turned into commas.
    pub description: String,
    /// Position in samples, 1-based.
    pub position: i64,
    /// Length in samples (0 when absent or not a number, as MNE reads it).
    pub points: u64,
    /// Channel number, 0 for all channels; `None` when absent or not a number.
    pub channel: Option<i64>,
    /// The date field (`YYYYMMDDhhmmssuuuuuu`) when present and not empty.
    pub date: Option<String>,
}

impl BrainVisionMarker {
    /// The annotation label MNE gives the marker: `<type>/<description>`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.marker_type, self.description)
    }

    /// Onset in seconds from the first sample: `(position − 1) / rate`.
    pub fn onset_s(&self, sample_rate_hz: f64) -> f64 {
        self.position.saturating_sub(1) as f64 / sample_rate_hz
    }

    /// Duration in seconds: `points / rate`.
    pub fn duration_s(&self, sample_rate_hz: f64) -> f64 {
        self.points as f64 / sample_rate_hz
    }
}

/// A BrainVision recording: header, markers and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainVisionFile {
    /// The header.
    pub header: BrainVisionHeader,
    /// Markers in file order (empty without a marker file).
    pub markers: Vec<BrainVisionMarker>,
    /// `raw[c]` holds channel `c`'s values as stored (exact in `f64`), before the resolution
    /// is applied.
    pub raw: Vec<Vec<f64>>,
    /// Wall clock of the first sample, from the first dated `New Segment` marker.
    pub start_time: Option<StartTime>,
    /// The data file read, when read from a path.
    pub data_path: Option<PathBuf>,
    /// The marker file read, when read from a path and one was found.
    pub marker_path: Option<PathBuf>,
}

impl BrainVisionFile {
    /// Samples per channel.
    pub fn sample_count(&self) -> usize {
        self.raw.first().map_or(0, Vec::len)
    }

    /// Channel `channel` in its declared unit (stored value × resolution).
    pub fn physical(&self, channel: usize) -> Option<Vec<f64>> {
        let resolution = self.header.channels.get(channel)?.resolution;
        let raw = self.raw.get(channel)?;
        Some(raw.iter().map(|&value| value * resolution).collect())
    }

    /// The markers as MNE's annotations: without a leading `New Segment`, labelled
    /// `<type>/<description>`, cropped to the data span and sorted by onset then duration.
    pub fn annotations(&self) -> Vec<Annotation> {
        let rate_hz = self.header.sample_rate_hz();
        // MNE's end of the data, computed its way: the last sample's time plus one period.
        let end_s = (self.sample_count() as f64 - 1.0) / rate_hz + 1.0 / rate_hz;
        let skip = usize::from(
            self.markers
                .first()
                .is_some_and(|marker| marker.marker_type == NEW_SEGMENT),
        );
        let mut annotations: Vec<Annotation> = self
            .markers
            .iter()
            .skip(skip)
            .filter_map(|marker| {
                let annotation = Annotation {
                    onset_s: marker.onset_s(rate_hz),
                    duration_s: marker.duration_s(rate_hz),
                    label: marker.label(),
                };
                crop(annotation, end_s)
            })
            .collect();
        // MNE's Annotations sort by (onset, duration) and keep file order among equals.
        annotations.sort_by(|a, b| {
            a.onset_s
                .total_cmp(&b.onset_s)
                .then(a.duration_s.total_cmp(&b.duration_s))
        });
        annotations
    }

    /// Converts into the common [`Recording`]: values in each channel's declared unit
    /// ([`BrainVisionChannel::unit_ascii`]), annotations as [`BrainVisionFile::annotations`].
    pub fn to_recording(&self) -> Recording {
        let rate_hz = self.header.sample_rate_hz();
        let channels = self
            .header
            .channels
            .iter()
            .map(|channel| ChannelInfo {
                kind: channel.kind(),
                ..ChannelInfo::new(channel.name.clone(), channel.unit_ascii(), rate_hz)
            })
            .collect();
        let data = (0..self.raw.len())
            .filter_map(|channel| self.physical(channel))
            .collect();
        Recording {
            channels,
            data,
            timestamps_s: None,
            annotations: self.annotations(),
            start_time: self.start_time,
            line_freq_hz: None,
        }
    }
}

/// MNE's `Annotations.crop(0, end_s)`: drops an annotation that starts after the end or ends
/// before the start, and clips one that reaches past either.
fn crop(mut annotation: Annotation, end_s: f64) -> Option<Annotation> {
    let offset_s = annotation.onset_s + annotation.duration_s;
    if annotation.onset_s > end_s || offset_s < 0.0 {
        return None;
    }
    if annotation.onset_s < 0.0 || offset_s > end_s {
        annotation.onset_s = annotation.onset_s.max(0.0);
        annotation.duration_s = offset_s.min(end_s) - annotation.onset_s;
    }
    Some(annotation)
}

/// The marker type that opens a segment and carries its date.
const NEW_SEGMENT: &str = "New Segment";

/// Parses header, data and (optional) marker bytes already in memory.
pub fn parse(
    header: &[u8],
    data: &[u8],
    markers: Option<&[u8]>,
) -> Result<BrainVisionFile, BrainVisionError> {
    let header = parse_header(header)?;
    let raw = decode_data(&header, data)?;
    let markers = markers.map(parse_markers).transpose()?.unwrap_or_default();
    Ok(assemble(header, raw, markers))
}

/// Reads the recording whose header is at `path`, with its data file and marker file.
///
/// The data and marker files are looked up next to the header under the names it gives;
/// when such a file does not exist but one with the header's stem does (`rec.eeg`,
/// `rec.vmrk` beside `rec.vhdr`, typical after renaming), that one is used, as MNE does for
/// the marker file. A missing marker file means no markers, not an error.
pub fn read(path: impl AsRef<Path>) -> Result<BrainVisionFile, BrainVisionError> {
    let path = path.as_ref();
    let header = parse_header(&read_bytes(path)?).map_err(|error| error.in_file(path))?;
    let data_path = match locate(path, &header.data_file, "eeg") {
        Ok(found) => found,
        Err(fallback) => {
            let problem = BrainVisionProblem::MissingDataFile {
                line: header.data_file_line,
                referenced: header.data_file.clone(),
                fallback: file_name(&fallback),
            };
            return Err(FileError::at(header.data_file_offset, problem).in_file(path));
        }
    };
    let raw = decode_data(&header, &read_bytes(&data_path)?)
        .map_err(|error| error.in_file(&data_path))?;
    let marker_path = header
        .marker_file
        .as_deref()
        .and_then(|marker_file| locate(path, marker_file, "vmrk").ok());
    let markers = match &marker_path {
        Some(marker_path) => {
            parse_markers(&read_bytes(marker_path)?).map_err(|error| error.in_file(marker_path))?
        }
        None => Vec::new(),
    };
    let mut file = assemble(header, raw, markers);
    file.data_path = Some(data_path);
    file.marker_path = marker_path;
    Ok(file)
}

/// Reads the recording whose header is at `path` into a [`Recording`].
pub fn read_recording(path: &Path) -> Result<Recording, BrainVisionError> {
    Ok(read(path)?.to_recording())
}

fn assemble(
    header: BrainVisionHeader,
    raw: Vec<Vec<f64>>,
    markers: Vec<BrainVisionMarker>,
) -> BrainVisionFile {
    BrainVisionFile {
        start_time: start_time(&markers),
        header,
        markers,
        raw,
        data_path: None,
        marker_path: None,
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, BrainVisionError> {
    std::fs::read(path).map_err(|source| BrainVisionError::Io {
        file: file_name(path),
        source,
    })
}

/// The file `referenced` next to the header, else the header's stem with `extension`; the
/// error carries that fallback path.
fn locate(header_path: &Path, referenced: &str, extension: &str) -> Result<PathBuf, PathBuf> {
    let folder = header_path.parent().unwrap_or_else(|| Path::new(""));
    let named = folder.join(referenced);
    if !referenced.is_empty() && named.is_file() {
        return Ok(named);
    }
    let fallback = header_path.with_extension(extension);
    if fallback.is_file() {
        Ok(fallback)
    } else {
        Err(fallback)
    }
}

// ---------------------------------------------------------------------------------------------
// Header

/// Parses the bytes of a `.vhdr` header.
pub fn parse_header(bytes: &[u8]) -> Result<BrainVisionHeader, BrainVisionError> {
    let text = Text::new(bytes);
    let version = header_version(&text)?;
    let sections = text.sections(&[COMMON, BINARY, CHANNELS]);
    let common = required_section(&sections, COMMON)?;
    let (orientation, binary_format, big_endian) = data_layout(common, &sections)?;
    let data_file = common.required("DataFile")?;
    let channel_count_entry = common.required("NumberOfChannels")?;
    let channel_count: usize = channel_count_entry.parse("not a whole number")?;
    if channel_count == 0 {
        return Err(channel_count_entry.bad_value("there must be at least one channel"));
    }
    let sampling_interval_us = sampling_interval_us(common)?;
    let data_points = match common.optional("DataPoints")? {
        Some(entry) => Some(entry.parse("not a whole number")?),
        None => None,
    };
    let channel_section = required_section(&sections, CHANNELS)?;
    let channels = channels(channel_section, channel_count, channel_count_entry)?;
    Ok(BrainVisionHeader {
        version,
        codepage: common
            .optional("Codepage")?
            .map(|entry| entry.value.clone()),
        data_file: data_file.value.clone(),
        data_file_line: data_file.line,
        data_file_offset: data_file.offset,
        marker_file: common
            .optional("MarkerFile")?
            .map(|entry| entry.value.clone()),
        orientation,
        binary_format,
        big_endian,
        data_points,
        sampling_interval_us,
        channels,
    })
}

const COMMON: &str = "Common Infos";
const BINARY: &str = "Binary Infos";
const CHANNELS: &str = "Channel Infos";

fn header_version(text: &Text<'_>) -> Result<u8, BrainVisionError> {
    let first = text.lines().next().map(|line| text.decode(line.bytes));
    let first = first.unwrap_or_default();
    announced_version(&first, "Header").ok_or_else(|| {
        FileError::at(
            0,
            BrainVisionProblem::NotBrainVision {
                found: excerpt(&first),
            },
        )
    })
}

/// The version a first line announces, following MNE's pattern `Brain ?Vision( Core|
/// V-Amp)? Data( Exchange)? <kind> File,? Version [12].0` anywhere in the line.
fn announced_version(line: &str, kind: &str) -> Option<u8> {
    line.match_indices("Brain").find_map(|(start, _)| {
        let rest = &line[start + "Brain".len()..];
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let rest = rest.strip_prefix("Vision")?;
        let rest = strip_any(rest, &[" Core", " V-Amp"]);
        let rest = rest.strip_prefix(" Data")?;
        let rest = strip_any(rest, &[" Exchange"]);
        let rest = rest.strip_prefix(' ')?.strip_prefix(kind)?;
        let rest = rest.strip_prefix(" File")?;
        let rest = rest.strip_prefix(',').unwrap_or(rest);
        let rest = rest.strip_prefix(" Version ")?;
        match rest.get(..3)? {
            "1.0" => Some(1),
            "2.0" => Some(2),
            _ => None,
        }
    })
}

fn strip_any<'a>(text: &'a str, prefixes: &[&str]) -> &'a str {
    prefixes
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .unwrap_or(text)
}

fn required_section<'s>(
    sections: &'s [Section],
    name: &'static str,
) -> Result<&'s Section, BrainVisionError> {
    let section = sections
        .iter()
        .find(|section| section.name == name)
        .ok_or_else(|| FileError::at(0, BrainVisionProblem::MissingSection { section: name }))?;
    section.check()?;
    Ok(section)
}

/// Data format, orientation, binary format and byte order.
fn data_layout(
    common: &Section,
    sections: &[Section],
) -> Result<(DataOrientation, BinaryFormat, bool), BrainVisionError> {
    let format = common.required("DataFormat")?;
    if !format.value.eq_ignore_ascii_case("BINARY") {
        return Err(format.unsupported("DataFormat", "BINARY data"));
    }
    if let Some(data_type) = common.optional("DataType")?
        && data_type
            .value
            .to_ascii_uppercase()
            .starts_with("FREQUENCYDOMAIN")
    {
        return Err(data_type.unsupported("DataType", "TIMEDOMAIN data"));
    }
    let orientation_entry = common.required("DataOrientation")?;
    let orientation = match orientation_entry.value.to_ascii_uppercase().as_str() {
        "MULTIPLEXED" => DataOrientation::Multiplexed,
        "VECTORIZED" => DataOrientation::Vectorized,
        _ => {
            return Err(
                orientation_entry.unsupported("DataOrientation", "MULTIPLEXED or VECTORIZED")
            );
        }
    };
    let binary = required_section(sections, BINARY)?;
    let format_entry = binary.required("BinaryFormat")?;
    let binary_format = BinaryFormat::from_name(&format_entry.value).ok_or_else(|| {
        format_entry.unsupported("BinaryFormat", "INT_16, INT_32 and IEEE_FLOAT_32")
    })?;
    let big_endian = match binary.optional("UseBigEndianOrder")? {
        None => false,
        Some(entry) if entry.value.eq_ignore_ascii_case("NO") => false,
        Some(entry) if entry.value.eq_ignore_ascii_case("YES") => true,
        Some(entry) => return Err(entry.bad_value("expected YES or NO")),
    };
    Ok((orientation, binary_format, big_endian))
}

fn sampling_interval_us(common: &Section) -> Result<f64, BrainVisionError> {
    let entry = common.required("SamplingInterval")?;
    let interval_us: f64 = entry.parse("not a number")?;
    if interval_us.is_finite() && interval_us > 0.0 && (1e6 / interval_us).is_finite() {
        Ok(interval_us)
    } else {
        Err(entry.bad_value("the sampling interval must be a positive number of microseconds"))
    }
}

/// The `Ch<n>` lines in channel-number order, once they are known to number
/// `1..=declared` exactly once each.
fn channels(
    section: &Section,
    declared: usize,
    count_entry: &Entry,
) -> Result<Vec<BrainVisionChannel>, BrainVisionError> {
    if section.entries.len() != declared {
        return Err(FileError::at(
            count_entry.offset,
            BrainVisionProblem::ChannelCountMismatch {
                line: count_entry.line,
                declared,
                found: section.entries.len(),
            },
        ));
    }
    // `declared` equals the number of lines, so this allocation is bounded by the input.
    let mut slots: Vec<Option<BrainVisionChannel>> = (0..declared).map(|_| None).collect();
    for entry in &section.entries {
        let number = numbered_key(&entry.key, "Ch")
            .ok_or_else(|| entry.bad_value("a [Channel Infos] key must be Ch<number>"))?;
        let bad_number = |reason| {
            FileError::at(
                entry.offset,
                BrainVisionProblem::BadChannelNumber {
                    line: entry.line,
                    number: usize::try_from(number).unwrap_or(usize::MAX),
                    declared,
                    reason,
                },
            )
        };
        let slot = usize::try_from(number)
            .ok()
            .and_then(|number| number.checked_sub(1))
            .and_then(|index| slots.get_mut(index))
            .ok_or_else(|| bad_number("outside 1..=NumberOfChannels"))?;
        if slot.is_some() {
            return Err(bad_number("described twice"));
        }
        *slot = Some(channel(entry)?);
    }
    // Every slot is filled: as many lines as slots, none out of range, none twice.
    Ok(slots.into_iter().flatten().collect())
}

/// One `Ch<n>=<name>,<reference>,<resolution>,<unit>` line, with the defaults the format and
/// MNE apply to missing fields.
fn channel(entry: &Entry) -> Result<BrainVisionChannel, BrainVisionError> {
    let mut fields = entry.value.split(',');
    let name = unescape(fields.next().unwrap_or(""));
    let reference = unescape(fields.next().unwrap_or(""));
    let resolution_text = fields.next().unwrap_or("").trim();
    let unit = fields
        .next()
        .map(str::trim)
        .filter(|unit| !unit.is_empty())
        .unwrap_or("µV");
    let resolution = if resolution_text.is_empty() {
        1.0
    } else {
        resolution_text
            .parse::<f64>()
            .ok()
            .filter(|resolution| resolution.is_finite())
            .ok_or_else(|| entry.bad_value("the resolution is not a finite number"))?
    };
    Ok(BrainVisionChannel {
        name,
        reference,
        resolution,
        unit: unit.to_owned(),
    })
}

/// `\1` is how the format writes a comma inside a comma-separated field.
fn unescape(field: &str) -> String {
    field.replace("\\1", ",")
}

/// The number of a `Ch<n>` or `Mk<n>` key (prefix matched without regard to case).
fn numbered_key(key: &str, prefix: &str) -> Option<u64> {
    let head = key.get(..prefix.len())?;
    let digits = &key[prefix.len()..];
    if !head.eq_ignore_ascii_case(prefix)
        || digits.is_empty()
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
    {
        return None;
    }
    // Absurdly long numbers saturate; they are then out of range like any other.
    Some(digits.parse().unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Markers

/// Parses the bytes of a `.vmrk` marker file: the `Mk<n>` lines of `[Marker Infos]` in file
/// order. Like MNE, the version line is not required; a file without `[Marker Infos]` has no
/// markers; lines of that section that are not `Mk<n>=…` are ignored.
pub fn parse_markers(bytes: &[u8]) -> Result<Vec<BrainVisionMarker>, BrainVisionError> {
    let text = Text::new(bytes);
    let sections = text.sections(&[MARKERS]);
    let Some(section) = sections.iter().find(|section| section.name == MARKERS) else {
        return Ok(Vec::new());
    };
    section
        .entries
        .iter()
        .filter_map(|entry| numbered_key(&entry.key, "Mk").map(|number| (number, entry)))
        .map(|(number, entry)| marker(number, entry))
        .collect()
}

const MARKERS: &str = "Marker Infos";

fn marker(number: u64, entry: &Entry) -> Result<BrainVisionMarker, BrainVisionError> {
    let bad = |reason| {
        FileError::at(
            entry.offset,
            BrainVisionProblem::BadMarker {
                line: entry.line,
                key: entry.key.clone(),
                reason,
            },
        )
    };
    let fields: Vec<&str> = entry.value.split(',').collect();
    let [marker_type, description, position, rest @ ..] = fields.as_slice() else {
        return Err(bad(
            "it needs at least a type, a description and a position",
        ));
    };
    let position = position
        .trim()
        .parse::<i64>()
        .map_err(|_| bad("the position is not a whole number"))?;
    let points = rest
        .first()
        .and_then(|points| points.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Ok(BrainVisionMarker {
        number,
        marker_type: unescape(marker_type),
        description: unescape(description),
        position,
        points,
        channel: rest.get(1).and_then(|channel| channel.trim().parse().ok()),
        date: rest
            .get(2)
            .map(|date| date.trim())
            .filter(|date| !date.is_empty())
            .map(str::to_owned),
    })
}

/// The start time from the first `New Segment` marker with a 20-digit date; `None` when that
/// date is all zeros or not a valid time (MNE's rule).
fn start_time(markers: &[BrainVisionMarker]) -> Option<StartTime> {
    let date = markers
        .iter()
        .filter(|marker| marker.marker_type == NEW_SEGMENT)
        .filter_map(|marker| marker.date.as_deref())
        .find(|date| date.len() == 20 && date.bytes().all(|byte| byte.is_ascii_digit()))?;
    parse_date(date)
}

/// Parses `YYYYMMDDhhmmssuuuuuu` (20 ASCII digits).
fn parse_date(date: &str) -> Option<StartTime> {
    let number = |range: std::ops::Range<usize>| date.get(range)?.parse::<u32>().ok();
    let year = u16::try_from(number(0..4)?).ok()?;
    let month = u8::try_from(number(4..6)?).ok()?;
    let day = u8::try_from(number(6..8)?).ok()?;
    let hour = u8::try_from(number(8..10)?).ok()?;
    let minute = u8::try_from(number(10..12)?).ok()?;
    let second = u8::try_from(number(12..14)?).ok()?;
    let microsecond = number(14..20)?;
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then_some(StartTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanosecond: microsecond * 1000,
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// Decodes the data file's bytes as the header describes them: `raw[c]` holds channel `c`'s
/// stored values. The file must hold a whole number of frames (one sample of every channel).
pub fn decode_data(
    header: &BrainVisionHeader,
    bytes: &[u8],
) -> Result<Vec<Vec<f64>>, BrainVisionError> {
    let channels = header.channels.len();
    let sample_bytes = header.binary_format.bytes_per_sample();
    let frame_bytes = channels.saturating_mul(sample_bytes);
    if frame_bytes == 0 {
        return Ok(Vec::new());
    }
    let remainder = bytes.len() % frame_bytes;
    if remainder != 0 {
        return Err(FileError::at(
            (bytes.len() - remainder) as u64,
            BrainVisionProblem::DataSizeMismatch {
                bytes: bytes.len() as u64,
                frame_bytes: frame_bytes as u64,
                channels,
                sample_bytes,
                remainder: remainder as u64,
            },
        ));
    }
    let samples = bytes.len() / frame_bytes;
    // `samples × channels` values come from as many stored samples: bounded by the input.
    let mut raw: Vec<Vec<f64>> = (0..channels).map(|_| Vec::with_capacity(samples)).collect();
    if samples == 0 {
        return Ok(raw);
    }
    let value = |sample: &[u8]| sample_value(header.binary_format, header.big_endian, sample);
    match header.orientation {
        DataOrientation::Multiplexed => {
            for frame in bytes.chunks_exact(frame_bytes) {
                for (values, sample) in raw.iter_mut().zip(frame.chunks_exact(sample_bytes)) {
                    values.push(value(sample));
                }
            }
        }
        DataOrientation::Vectorized => {
            for (values, block) in raw
                .iter_mut()
                .zip(bytes.chunks_exact(samples * sample_bytes))
            {
                values.extend(block.chunks_exact(sample_bytes).map(value));
            }
        }
    }
    Ok(raw)
}

/// One stored value; `sample` holds exactly [`BinaryFormat::bytes_per_sample`] bytes.
fn sample_value(format: BinaryFormat, big_endian: bool, sample: &[u8]) -> f64 {
    match format {
        BinaryFormat::Int16 => {
            let Ok(bytes) = <[u8; 2]>::try_from(sample) else {
                return f64::NAN;
            };
            let value = if big_endian {
                i16::from_be_bytes(bytes)
            } else {
                i16::from_le_bytes(bytes)
            };
            f64::from(value)
        }
        BinaryFormat::Int32 | BinaryFormat::Float32 => {
            let Ok(bytes) = <[u8; 4]>::try_from(sample) else {
                return f64::NAN;
            };
            let bits = if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            if format == BinaryFormat::Int32 {
                f64::from(bits.cast_signed())
            } else {
                f64::from(f32::from_bits(bits))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ini-like text

/// A header or marker file's bytes with the text encoding its `Codepage` implies.
struct Text<'a> {
    bytes: &'a [u8],
    encoding: Encoding,
}

/// One line: 1-based number, byte offset of its start, bytes without the line break (and
/// without the UTF-8 byte-order mark on the first line).
struct Line<'a> {
    number: usize,
    offset: u64,
    bytes: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    Windows1252,
}

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

impl<'a> Text<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut text = Text {
            bytes,
            encoding: Encoding::Latin1,
        };
        let ansi = text.lines().any(|line| {
            split_entry(line.bytes.trim_ascii()).is_some_and(|(key, value)| {
                key.trim_ascii().eq_ignore_ascii_case(b"Codepage")
                    && value.trim_ascii().eq_ignore_ascii_case(b"ANSI")
            })
        });
        text.encoding = if ansi {
            Encoding::Windows1252
        } else if std::str::from_utf8(bytes).is_ok() {
            Encoding::Utf8
        } else {
            // Files that are not UTF-8 are Latin-1 in practice (older Windows recorders).
            Encoding::Latin1
        };
        text
    }

    fn lines(&self) -> impl Iterator<Item = Line<'a>> + 'a {
        let mut offset = 0usize;
        self.bytes
            .split(|&byte| byte == b'\n')
            .enumerate()
            .map(move |(index, raw)| {
                let start = offset;
                offset += raw.len() + 1;
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let raw = match index {
                    0 => raw.strip_prefix(BYTE_ORDER_MARK).unwrap_or(raw),
                    _ => raw,
                };
                Line {
                    number: index + 1,
                    offset: start as u64,
                    bytes: raw,
                }
            })
    }

    fn decode(&self, bytes: &[u8]) -> String {
        match self.encoding {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&byte| char::from(byte)).collect(),
            Encoding::Windows1252 => bytes.iter().map(|&byte| windows_1252(byte)).collect(),
        }
    }

    /// The sections named in `wanted` (matched without regard to case), up to a `[Comment]`
    /// section. Other sections, and the version line before the first section, are skipped
    /// without being kept.
    fn sections(&self, wanted: &[&'static str]) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        let mut current: Option<usize> = None;
        for line in self.lines() {
            let trimmed = line.bytes.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b";") || trimmed.starts_with(b"#") {
                continue;
            }
            if let Some(name) = section_name(trimmed) {
                let name = self.decode(name);
                let name = name.trim();
                if name.eq_ignore_ascii_case("Comment") {
                    // MNE splits the header at `[Comment]`: what follows is free text.
                    break;
                }
                current = open_section(&mut sections, wanted, name, &line);
                continue;
            }
            let Some(section) = current.and_then(|index| sections.get_mut(index)) else {
                continue;
            };
            match split_entry(trimmed) {
                Some((key, value)) => section.entries.push(Entry {
                    key: self.decode(key.trim_ascii()),
                    value: self.decode(value.trim_ascii()),
                    line: line.number,
                    offset: line.offset,
                }),
                None => {
                    if section.stray.is_none() {
                        section.stray = Some((line.number, line.offset, self.decode(trimmed)));
                    }
                }
            }
        }
        sections
    }
}

/// Starts collecting a wanted section; returns its index, or `None` for a section that is not
/// wanted or was seen before (the repeat is remembered for the error).
fn open_section(
    sections: &mut Vec<Section>,
    wanted: &[&'static str],
    name: &str,
    line: &Line<'_>,
) -> Option<usize> {
    let &canonical = wanted
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(name))?;
    if let Some(existing) = sections
        .iter_mut()
        .find(|section| section.name == canonical)
    {
        existing.duplicate.get_or_insert((line.number, line.offset));
        return None;
    }
    sections.push(Section {
        name: canonical,
        line: line.number,
        offset: line.offset,
        entries: Vec::new(),
        stray: None,
        duplicate: None,
    });
    Some(sections.len() - 1)
}

/// The name inside `[…]` when the (trimmed) line is a section header.
fn section_name(trimmed: &[u8]) -> Option<&[u8]> {
    let inner = trimmed.strip_prefix(b"[")?;
    let end = inner.iter().rposition(|&byte| byte == b']')?;
    (end > 0).then(|| &inner[..end])
}

/// Splits `key=value` at the first `=` or `:`, the delimiters Python's configparser (and so
/// MNE) accepts; `None` when there is neither or the key is empty.
fn split_entry(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.iter().position(|&byte| byte == b'=' || byte == b':')?;
    let (key, value) = (&line[..at], &line[at + 1..]);
    (!key.trim_ascii().is_empty()).then_some((key, value))
}

/// Windows-1252: Latin-1 except for the printable characters in 0x80..=0x9F.
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// A `key=value` line of a wanted section.
struct Entry {
    /// Key as written, trimmed.
    key: String,
    /// Value, trimmed.
    value: String,
    line: usize,
    offset: u64,
}

impl Entry {
    fn bad_value(&self, reason: &'static str) -> BrainVisionError {
        FileError::at(
            self.offset,
            BrainVisionProblem::BadValue {
                line: self.line,
                key: self.key.clone(),
                value: excerpt(&self.value),
                reason,
            },
        )
    }

    fn unsupported(&self, key: &'static str, supported: &'static str) -> BrainVisionError {
        FileError::at(
            self.offset,
            BrainVisionProblem::Unsupported {
                line: self.line,
                key,
                value: excerpt(&self.value),
                supported,
            },
        )
    }

    fn parse<T: std::str::FromStr>(&self, reason: &'static str) -> Result<T, BrainVisionError> {
        self.value.parse().map_err(|_| self.bad_value(reason))
    }
}

/// A wanted section: its entries, the first line that is not `key=value`, and where it was
/// repeated, if it was.
struct Section {
    name: &'static str,
    line: usize,
    offset: u64,
    entries: Vec<Entry>,
    stray: Option<(usize, u64, String)>,
    duplicate: Option<(usize, u64)>,
}

impl Section {
    /// Refuses a section that is repeated or holds a line that is not `key=value`: the header
    /// would be ambiguous (configparser, and so MNE, refuses both too).
    fn check(&self) -> Result<(), BrainVisionError> {
        if let Some((line, offset)) = self.duplicate {
            let problem = BrainVisionProblem::DuplicateSection {
                section: self.name,
                line,
            };
            return Err(FileError::at(offset, problem));
        }
        if let Some((line, offset, text)) = &self.stray {
            let problem = BrainVisionProblem::NotKeyValue {
                line: *line,
                text: excerpt(text),
            };
            return Err(FileError::at(*offset, problem));
        }
        Ok(())
    }

    /// The entry for `key`, if given once; an error if given twice.
    fn optional(&self, key: &'static str) -> Result<Option<&Entry>, BrainVisionError> {
        let mut matching = self
            .entries
            .iter()
            .filter(|entry| entry.key.eq_ignore_ascii_case(key));
        let first = matching.next();
        if let Some(second) = matching.next() {
            let problem = BrainVisionProblem::DuplicateKey {
                section: self.name,
                key: second.key.clone(),
                line: second.line,
            };
            return Err(FileError::at(second.offset, problem));
        }
        Ok(first)
    }

    fn required(&self, key: &'static str) -> Result<&Entry, BrainVisionError> {
        self.optional(key)?.ok_or_else(|| {
            FileError::at(
                self.offset,
                BrainVisionProblem::MissingKey {
                    section: self.name,
                    key,
                    line: self.line,
                },
            )
        })
    }
}

/// Text for an error message: at most 80 characters.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 80;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines_mne_accepts_are_recognised() {
        for (line, version) in [
            (
                "Brain Vision Data Exchange Header File Version 1.0",
                Some(1),
            ),
            ("BrainVision Data Exchange Header File Version 2.0", Some(2)),
            (
                "Brain Vision Core Data Exchange Header File, Version 2.0",
                Some(2),
            ),
            ("BrainVision V-Amp Data Header File Version 1.0", Some(1)),
            ("Brain Vision Data Exchange Header File Version 3.0", None),
            ("Brain Vision Data Exchange Marker File Version 1.0", None),
            ("0       X X X X", None),
        ] {
            assert_eq!(announced_version(line, "Header"), version, "{line}");
        }
    }

    #[test]
    fn dates_are_read_to_the_microsecond_and_invalid_ones_ignored() {
        let start = parse_date("20180614182336000100").unwrap();
        assert_eq!(
            (
                start.year,
                start.month,
                start.day,
                start.hour,
                start.minute,
                start.second
            ),
            (2018, 6, 14, 18, 23, 36)
        );
        assert_eq!(start.nanosecond, 100_000);
        assert_eq!(parse_date("00000000000000000000"), None);
        assert_eq!(parse_date("20180230000000000000"), None);
        assert!(parse_date("20240229235959999999").is_some());
    }

    #[test]
    fn units_are_spelled_in_ascii() {
        let channel = |unit: &str| BrainVisionChannel {
            name: "Fz".to_owned(),
            reference: String::new(),
            resolution: 1.0,
            unit: unit.to_owned(),
        };
        for (unit, ascii) in [
            ("µV", "uV"),
            ("μV", "uV"),
            ("ÂµV", "uV"),
            ("uV", "uV"),
            ("nV", "nV"),
            ("mV", "mV"),
            ("V", "V"),
            ("µS", "uS"),
        ] {
            assert_eq!(channel(unit).unit_ascii(), ascii, "{unit}");
        }
        assert_eq!(channel("C").kind(), ChannelKind::Misc);
        assert_eq!(channel("µV").kind(), ChannelKind::Eeg);
    }

    #[test]
    fn windows_1252_differs_from_latin_1_only_in_the_high_controls() {
        assert_eq!(windows_1252(0x80), '€');
        assert_eq!(windows_1252(0xB5), 'µ');
        assert_eq!(windows_1252(b'A'), 'A');
    }
}
