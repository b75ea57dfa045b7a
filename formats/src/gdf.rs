//! GDF (General Data Format for biosignals) reader, versions 1.x and 2.x.
//!
//! A GDF file is a fixed 256-byte header, one 256-byte block per channel (stored field by
//! field: all labels, then all transducers, ...), in 2.x an optional tag-length-value
//! "header 3", the data records, and an optional event table after the data. All numbers are
//! little-endian. The reader keeps every header field it understands, each channel's stored
//! values (as `f64`) and the event table.
//!
//! Physical values use the linear map of the header, computed the way MNE computes it:
//! `cal = (physical_max − physical_min) / (digital_max − digital_min)`,
//! `physical = digital · cal + (physical_min − digital_min · cal)`, with a range of zero (or a
//! non-finite digital range) replaced by 1 as MNE does. That is algebraically
//! `(digital − digital_min) · (physical_max − physical_min) / (digital_max − digital_min) +
//! physical_min`; the order of operations is MNE's so that values agree to the last bit.
//!
//! Events become [`Annotation`]s labelled with the decimal type code (`"33025"`), as MNE labels
//! them, with onsets in seconds from the first sample. Positions are counted at the event
//! table's own sample rate when it is stored (MNE always uses the data rate; the two agree when
//! the table's rate is unset or equal). Events of mode-1 tables have no duration and get 0
//! (MNE reports one sample). Like MNE, [`GdfFile::to_recording`] drops events that lie outside
//! the data and clips those that extend past either end; [`GdfFile::event_table`] keeps all.

use std::path::Path;

use crate::error::{FileError, FormatProblem, file_name};
use crate::recording::{Annotation, ChannelInfo, ChannelKind, Recording, StartTime};

/// Size of the fixed header and of each channel's header, in bytes.
const BLOCK_BYTES: usize = 256;

/// First version (in hundredths) that uses the 2.x layout; MNE's boundary (`number < 1.9`).
const V2_FROM: u16 = 190;

/// First version whose event table stores the count in 3 bytes and the rate as float32.
const EVENT_TABLE_V2_FROM: u16 = 194;

/// First version that stores the record duration as a float64 instead of a fraction.
const DURATION_F64_FROM: u16 = 221;

/// First version after which bytes 254..256 hold the time-zone offset in minutes.
const TIMEZONE_AFTER: u16 = 240;

/// A problem found in the contents of a GDF file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GdfProblem {
    /// The version field is not `GDF 1.xx` or `GDF 2.xx`.
    #[error("not a GDF 1.x or 2.x file: version field is {found:?}")]
    BadVersion {
        /// The version field, lossily decoded.
        found: String,
    },
    /// The file ends inside a structure.
    #[error("truncated {what}: needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes left in the file from the structure's start.
        available: u64,
    },
    /// The header length field is negative (GDF 1.x stores it as a signed number).
    #[error("header length field is {value}, which is negative")]
    NegativeHeaderLength {
        /// The value found.
        value: i64,
    },
    /// The channel count does not fit in the header the header length field declares.
    #[error(
        "channel count {count} is out of range: the {header_bytes}-byte header holds at most \
         {max_channels} channel headers"
    )]
    ChannelCountOutOfRange {
        /// The channel count found.
        count: u64,
        /// The header length declared.
        header_bytes: u64,
        /// How many channel headers that length holds.
        max_channels: u64,
    },
    /// The record duration is zero, negative or not a number.
    #[error("data record duration {value} is not a positive number of seconds")]
    BadRecordDuration {
        /// The duration as written (`numerator/denominator` or a number).
        value: String,
    },
    /// A channel's data type code is not one this reader decodes.
    #[error(
        "channel {channel} has unsupported data type code {code}; supported: 1-8 (integers), \
         16 (float32), 17 (float64), 279 (int24), 535 (uint24)"
    )]
    UnsupportedDataType {
        /// The 0-based channel index.
        channel: usize,
        /// The code found.
        code: u32,
    },
    /// The number of data records is negative and not the "unknown" marker -1.
    #[error("number of data records is {value}; only -1 (unknown) or a count is valid")]
    NegativeRecordCount {
        /// The value found.
        value: i64,
    },
    /// The data records are larger or more numerous than the file can hold.
    #[error(
        "number of data records {records} is out of range: records of {record_bytes} bytes \
         need {needed} bytes but only {available} remain after the header"
    )]
    RecordCountOutOfRange {
        /// Records announced in the header.
        records: u64,
        /// Bytes per record.
        record_bytes: u64,
        /// Bytes those records need (saturated at `u64::MAX`).
        needed: u64,
        /// Data bytes after the header.
        available: u64,
    },
    /// The event table mode is not 1 (position, type), 3 (also channel, duration) or one of
    /// those with the time-stamp flag 4.
    #[error("event table mode {mode} is not supported; only 1 and 3 (optionally | 4) are")]
    UnsupportedEventMode {
        /// The mode byte found.
        mode: u8,
    },
}

impl FormatProblem for GdfProblem {
    const FORMAT: &'static str = "GDF";
}

/// Errors reading a GDF file.
pub type GdfError = FileError<GdfProblem>;

/// How the header states the duration of one data record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordDuration {
    /// GDF 1.x and 2.x before 2.21: `numerator_s / denominator` seconds.
    Rational {
        /// Numerator in seconds. A stored 0 is read as 1, as MNE does (and warns).
        numerator_s: u32,
        /// Denominator.
        denominator: u32,
    },
    /// GDF 2.21 and later: a float64 number of seconds.
    Seconds(f64),
}

/// The fixed part of the header.
#[derive(Debug, Clone, PartialEq)]
pub struct GdfHeader {
    /// The version as written after `GDF `, e.g. `1.25`.
    pub version: String,
    /// The version in hundredths (125 for 1.25), used to pick the layout.
    pub version_hundredths: u16,
    /// Patient identification (trailing blanks and NULs removed).
    pub patient: String,
    /// Recording identification (trailing blanks and NULs removed).
    pub recording: String,
    /// Header length in bytes: fixed header, channel headers and (2.x) header 3.
    pub header_bytes: usize,
    /// Number of data records. A stored -1 (unknown) is replaced by the number of complete
    /// records in the file; see [`GdfHeader::record_count_was_unknown`].
    pub record_count: u64,
    /// True when the header said -1 (recording not closed).
    pub record_count_was_unknown: bool,
    /// Duration of one data record as stored.
    pub record_duration: RecordDuration,
    /// Duration of one data record in seconds.
    pub record_duration_s: f64,
    /// Number of channels.
    pub channel_count: usize,
    /// Time-zone offset of the start time in minutes (GDF 2.40 and later), as stored.
    pub timezone_offset_min: Option<i16>,
}

impl GdfHeader {
    /// True for the 2.x layout (version 1.90 and later, MNE's boundary).
    pub fn is_v2(&self) -> bool {
        self.version_hundredths >= V2_FROM
    }
}

/// The sample data types of GDF (`GDFTYP` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GdfDataType {
    /// Code 1.
    Int8,
    /// Code 2.
    Uint8,
    /// Code 3.
    Int16,
    /// Code 4.
    Uint16,
    /// Code 5.
    Int32,
    /// Code 6.
    Uint32,
    /// Code 7 (values beyond 2^53 lose precision as `f64`).
    Int64,
    /// Code 8 (values beyond 2^53 lose precision as `f64`).
    Uint64,
    /// Code 16.
    Float32,
    /// Code 17.
    Float64,
    /// Code 279 (`255 + 24`): signed 24-bit, 3 bytes.
    Int24,
    /// Code 535 (`511 + 24`): unsigned 24-bit, 3 bytes.
    Uint24,
}

impl GdfDataType {
    /// The type of a `GDFTYP` code, `None` for codes this reader does not decode.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::Int8,
            2 => Self::Uint8,
            3 => Self::Int16,
            4 => Self::Uint16,
            5 => Self::Int32,
            6 => Self::Uint32,
            7 => Self::Int64,
            8 => Self::Uint64,
            16 => Self::Float32,
            17 => Self::Float64,
            279 => Self::Int24,
            535 => Self::Uint24,
            _ => return None,
        })
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            Self::Int8 | Self::Uint8 => 1,
            Self::Int16 | Self::Uint16 => 2,
            Self::Int24 | Self::Uint24 => 3,
            Self::Int32 | Self::Uint32 | Self::Float32 => 4,
            Self::Int64 | Self::Uint64 | Self::Float64 => 8,
        }
    }

    /// Decodes one little-endian sample; `bytes` has exactly [`GdfDataType::bytes`] bytes.
    fn decode(self, bytes: &[u8]) -> f64 {
        let mut wide = [0u8; 8];
        let n = bytes.len().min(8);
        wide[..n].copy_from_slice(&bytes[..n]);
        let [b0, b1, b2, b3, ..] = wide;
        match self {
            Self::Int8 => f64::from(b0 as i8),
            Self::Uint8 => f64::from(b0),
            Self::Int16 => f64::from(i16::from_le_bytes([b0, b1])),
            Self::Uint16 => f64::from(u16::from_le_bytes([b0, b1])),
            // Sign-extend bit 23 by placing the three bytes at the top of an i32.
            Self::Int24 => f64::from(i32::from_le_bytes([0, b0, b1, b2]) >> 8),
            Self::Uint24 => f64::from(u32::from_le_bytes([b0, b1, b2, 0])),
            Self::Int32 => f64::from(i32::from_le_bytes([b0, b1, b2, b3])),
            Self::Uint32 => f64::from(u32::from_le_bytes([b0, b1, b2, b3])),
            Self::Float32 => f64::from(f32::from_le_bytes([b0, b1, b2, b3])),
            Self::Int64 => i64::from_le_bytes(wide) as f64,
            Self::Uint64 => u64::from_le_bytes(wide) as f64,
            Self::Float64 => f64::from_le_bytes(wide),
        }
    }
}

/// The filter settings of a GDF 2.x channel, in Hz as stored (NaN or 0 when not set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GdfFilters {
    /// Low-pass cut-off.
    pub lowpass_hz: f32,
    /// High-pass cut-off.
    pub highpass_hz: f32,
    /// Notch frequency.
    pub notch_hz: f32,
}

/// One channel: its header fields and stored values.
#[derive(Debug, Clone, PartialEq)]
pub struct GdfChannel {
    /// Position in the file header.
    pub index: usize,
    /// Label: text up to the first NUL, surrounding blanks removed (as MNE reads it).
    pub label: String,
    /// Transducer type (e.g. `EEG: Ag-AgCl electrodes`).
    pub transducer: String,
    /// Unit: GDF 1.x text; GDF 2.x from the unit code (`uV`, `mV`, `V`, ...), else the
    /// obsolete text field. Microvolts are written `uV`; empty when unknown or dimensionless.
    pub physical_dimension: String,
    /// GDF 2.x unit code (ISO/IEEE 11073-10101, e.g. 4275 for µV); `None` in 1.x.
    pub physical_dimension_code: Option<u16>,
    /// Physical value of `digital_min`.
    pub physical_min: f64,
    /// Physical value of `digital_max`.
    pub physical_max: f64,
    /// Smallest digital value (int64 in 1.x, float64 in 2.x).
    pub digital_min: f64,
    /// Largest digital value.
    pub digital_max: f64,
    /// GDF 1.x prefiltering text; empty in 2.x, which stores [`GdfChannel::filters`].
    pub prefiltering: String,
    /// GDF 2.x low-pass, high-pass and notch settings.
    pub filters: Option<GdfFilters>,
    /// GDF 2.x electrode position (x, y, z).
    pub position_xyz: Option<[f32; 3]>,
    /// Samples in each data record (0 for a channel without regular samples).
    pub samples_per_record: usize,
    /// Stored data type.
    pub data_type: GdfDataType,
    /// Sampling rate in Hz (`samples_per_record / record duration`).
    pub sample_rate_hz: f64,
    /// What the channel measures: from the transducer text when it names a kind
    /// (`EEG: ...`, `ECG ...`), else from the label.
    pub kind: ChannelKind,
    /// Stored values of all records in order, converted to `f64`.
    pub digital: Vec<f64>,
}

impl GdfChannel {
    /// The scale and offset MNE uses: `physical = digital · scale + offset`. A physical range
    /// of 0, or a digital range of 0 or not finite, is replaced by 1 as MNE does.
    pub fn scale_and_offset(&self) -> (f64, f64) {
        let mut physical_range = self.physical_max - self.physical_min;
        let mut digital_range = self.digital_max - self.digital_min;
        if !digital_range.is_finite() || digital_range == 0.0 {
            digital_range = 1.0;
        }
        if physical_range == 0.0 {
            physical_range = 1.0;
        }
        let scale = physical_range / digital_range;
        (scale, self.physical_min - self.digital_min * scale)
    }

    /// All samples in the channel's physical unit ([`GdfChannel::physical_dimension`]).
    pub fn physical(&self) -> Vec<f64> {
        let (scale, offset) = self.scale_and_offset();
        self.digital
            .iter()
            .map(|&value| value * scale + offset)
            .collect()
    }
}

/// One entry of the event table.
#[derive(Debug, Clone, PartialEq)]
pub struct GdfEvent {
    /// Position as stored: 1-based, in samples at the event table's rate.
    pub position: u32,
    /// Event type code (for example an OpenViBE stimulation code such as 33025).
    pub code: u16,
    /// Channel the event belongs to (mode 3; 0 means all channels and is the mode-1 value).
    pub channel: u16,
    /// Duration in samples (mode 3; 0 in mode 1).
    pub duration_samples: u32,
    /// Onset in seconds after the first sample, `(position − 1) / rate`; NaN when no rate is
    /// known (no channels and no event rate).
    pub onset_s: f64,
    /// Duration in seconds (0 in mode 1).
    pub duration_s: f64,
}

/// The event table after the data records.
#[derive(Debug, Clone, PartialEq)]
pub struct GdfEventTable {
    /// Byte offset of the table in the file.
    pub offset: usize,
    /// Mode: 1 (position, type) or 3 (also channel and duration), possibly with flag 4
    /// (time stamps, which are skipped).
    pub mode: u8,
    /// The sample rate stored in the table; 0 when unset (then positions count samples at
    /// the data rate).
    pub stored_sample_rate_hz: f64,
    /// The rate positions were converted with.
    pub sample_rate_hz: f64,
    /// The events in file order.
    pub events: Vec<GdfEvent>,
}

/// A parsed GDF file.
#[derive(Debug, Clone, PartialEq)]
pub struct GdfFile {
    /// Fixed header fields.
    pub header: GdfHeader,
    /// Channels in header order.
    pub channels: Vec<GdfChannel>,
    /// The event table, when the file has one.
    pub event_table: Option<GdfEventTable>,
    /// Wall-clock time of the first sample, when the header stores a valid one.
    pub start_time: Option<StartTime>,
}

impl GdfFile {
    /// The first channel whose label matches (ignoring case and surrounding blanks).
    pub fn channel(&self, label: &str) -> Option<&GdfChannel> {
        let wanted = label.trim();
        self.channels
            .iter()
            .find(|channel| channel.label.eq_ignore_ascii_case(wanted))
    }

    /// The highest channel rate in Hz, MNE's `sfreq`; 0 without channels.
    pub fn sample_rate_hz(&self) -> f64 {
        self.channels
            .iter()
            .map(|channel| channel.sample_rate_hz)
            .fold(0.0, f64::max)
    }

    /// Length of the data in seconds: records × record duration.
    pub fn duration_s(&self) -> f64 {
        self.header.record_count as f64 * self.header.record_duration_s
    }

    /// The events as annotations, the way MNE keeps them: labelled with the decimal type
    /// code, those outside `[0, duration]` dropped, those reaching past either end clipped.
    pub fn annotations(&self) -> Vec<Annotation> {
        let Some(table) = &self.event_table else {
            return Vec::new();
        };
        let end_s = self.duration_s();
        table
            .events
            .iter()
            .filter_map(|event| {
                let onset_s = event.onset_s;
                let offset_s = onset_s + event.duration_s;
                if !onset_s.is_finite()
                    || !offset_s.is_finite()
                    || onset_s > end_s
                    || offset_s < 0.0
                {
                    return None;
                }
                let start_s = onset_s.max(0.0);
                let duration_s = if start_s != onset_s || offset_s > end_s {
                    offset_s.min(end_s) - start_s
                } else {
                    event.duration_s
                };
                Some(Annotation {
                    onset_s: start_s,
                    duration_s,
                    label: event.code.to_string(),
                })
            })
            .collect()
    }

    /// Converts into the common [`Recording`]: physical values in each channel's declared
    /// unit, each channel at its own rate, events as [`GdfFile::annotations`].
    pub fn to_recording(&self) -> Recording {
        Recording {
            channels: self
                .channels
                .iter()
                .map(|channel| {
                    ChannelInfo::new(
                        channel.label.clone(),
                        channel.physical_dimension.clone(),
                        channel.sample_rate_hz,
                    )
                    .with_declared_kind(Some(channel.kind))
                })
                .collect(),
            data: self.channels.iter().map(GdfChannel::physical).collect(),
            timestamps_s: None,
            annotations: self.annotations(),
            start_time: self.start_time,
            line_freq_hz: None,
        }
    }
}

/// Parses GDF bytes.
pub fn parse(bytes: &[u8]) -> Result<GdfFile, GdfError> {
    Parser { bytes }.parse()
}

/// Reads and parses a GDF file.
pub fn read(path: impl AsRef<Path>) -> Result<GdfFile, GdfError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| GdfError::Io {
        file: file_name(path),
        source,
    })?;
    parse(&bytes).map_err(|error| error.in_file(path))
}

/// Reads the recording at `path` (see [`GdfFile::to_recording`]).
pub fn read_recording(path: &Path) -> Result<Recording, GdfError> {
    Ok(read(path)?.to_recording())
}

/// The fixed-header fields before the channel headers are read.
struct FixedHeader {
    header: GdfHeader,
    start_time: Option<StartTime>,
    /// The stored record count (-1 for unknown).
    record_count_field: i64,
}

/// Where the data records are and how large they are.
struct RecordLayout {
    header_bytes: usize,
    record_bytes: usize,
    /// Byte offset of each channel's block inside a record.
    channel_offsets: Vec<usize>,
}

struct Parser<'a> {
    bytes: &'a [u8],
}

impl Parser<'_> {
    fn truncated(&self, what: &'static str, offset: usize, needed: u64) -> GdfError {
        GdfError::at(
            offset as u64,
            GdfProblem::Truncated {
                what,
                needed,
                available: self.bytes.len().saturating_sub(offset) as u64,
            },
        )
    }

    fn array<const N: usize>(
        &self,
        offset: usize,
        what: &'static str,
    ) -> Result<[u8; N], GdfError> {
        offset
            .checked_add(N)
            .and_then(|end| self.bytes.get(offset..end))
            .and_then(|slice| <[u8; N]>::try_from(slice).ok())
            .ok_or_else(|| self.truncated(what, offset, N as u64))
    }

    fn u16(&self, offset: usize, what: &'static str) -> Result<u16, GdfError> {
        self.array(offset, what).map(u16::from_le_bytes)
    }

    fn u32(&self, offset: usize, what: &'static str) -> Result<u32, GdfError> {
        self.array(offset, what).map(u32::from_le_bytes)
    }

    fn i64(&self, offset: usize, what: &'static str) -> Result<i64, GdfError> {
        self.array(offset, what).map(i64::from_le_bytes)
    }

    fn f32(&self, offset: usize, what: &'static str) -> Result<f32, GdfError> {
        self.array(offset, what).map(f32::from_le_bytes)
    }

    fn f64(&self, offset: usize, what: &'static str) -> Result<f64, GdfError> {
        self.array(offset, what).map(f64::from_le_bytes)
    }

    /// A Latin-1 text field cut at the first NUL, with surrounding blanks removed (MNE's
    /// `_edf_str(...).strip()`).
    fn text(&self, offset: usize, length: usize, what: &'static str) -> Result<String, GdfError> {
        let raw = offset
            .checked_add(length)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or_else(|| self.truncated(what, offset, length as u64))?;
        let until_nul = raw.split(|&byte| byte == 0).next().unwrap_or_default();
        let text: String = until_nul.iter().map(|&byte| char::from(byte)).collect();
        Ok(text.trim().to_owned())
    }

    fn parse(&self) -> Result<GdfFile, GdfError> {
        let fixed = self.fixed_header()?;
        let mut header = fixed.header;
        let mut channels = self.channel_headers(&header)?;
        let layout = self.record_layout(&header, &channels)?;
        let (record_count, unknown) = self.record_count(fixed.record_count_field, &layout)?;
        header.record_count = record_count;
        header.record_count_was_unknown = unknown;
        self.read_records(&mut channels, &layout, record_count);
        let event_table = if unknown {
            // Without a record count the end of the data is a guess, so nothing after it
            // can be trusted to be an event table.
            None
        } else {
            // The record count check guarantees that this product fits in the file.
            let data_end = layout.header_bytes + record_count as usize * layout.record_bytes;
            let data_rate_hz = channels
                .iter()
                .map(|channel| channel.sample_rate_hz)
                .fold(0.0, f64::max);
            self.event_table(data_end, &header, data_rate_hz)?
        };
        Ok(GdfFile {
            header,
            channels,
            event_table,
            start_time: fixed.start_time,
        })
    }

    /// Reads the version field: `GDF ` followed by `1.xx` or `2.xx`.
    fn version(&self) -> Result<(String, u16), GdfError> {
        let field = self.bytes.get(..8).unwrap_or(self.bytes);
        let bad = || {
            GdfError::at(
                0,
                GdfProblem::BadVersion {
                    found: String::from_utf8_lossy(field).into_owned(),
                },
            )
        };
        let rest = field.strip_prefix(b"GDF ").ok_or_else(bad)?;
        let text: String = rest
            .iter()
            .take_while(|&&byte| byte != 0)
            .map(|&byte| char::from(byte))
            .collect();
        let text = text.trim().to_owned();
        let (major, minor) = text.split_once('.').ok_or_else(bad)?;
        let minor_ok = (1..=2).contains(&minor.len()) && minor.bytes().all(|b| b.is_ascii_digit());
        if !matches!(major, "1" | "2") || !minor_ok {
            return Err(bad());
        }
        let minor_value: u16 = minor.parse().map_err(|_| bad())?;
        // "2.1" means 2.10, as a decimal number would.
        let minor_hundredths = if minor.len() == 1 {
            minor_value * 10
        } else {
            minor_value
        };
        let major_value: u16 = major.parse().map_err(|_| bad())?;
        Ok((text, major_value * 100 + minor_hundredths))
    }

    fn fixed_header(&self) -> Result<FixedHeader, GdfError> {
        if self.bytes.len() < BLOCK_BYTES {
            return Err(self.truncated("fixed header", 0, BLOCK_BYTES as u64));
        }
        let (version, version_hundredths) = self.version()?;
        let is_v2 = version_hundredths >= V2_FROM;
        let (patient_bytes, recording_bytes) = if is_v2 { (66, 64) } else { (80, 80) };
        let patient = self.text(8, patient_bytes, "patient field")?;
        let recording = self.text(88, recording_bytes, "recording field")?;
        let header_bytes = self.header_bytes(is_v2)?;
        let record_count_field = self.i64(236, "number of data records")?;
        let (record_duration, record_duration_s) = self.record_duration(version_hundredths)?;
        let channel_count = if is_v2 {
            u64::from(self.u16(252, "number of channels")?)
        } else {
            u64::from(self.u32(252, "number of channels")?)
        };
        let channel_count = self.checked_channel_count(channel_count, header_bytes)?;
        let timezone_offset_min = (version_hundredths > TIMEZONE_AFTER)
            .then(|| self.array::<2>(254, "time zone").map(i16::from_le_bytes))
            .transpose()?;
        let start_time = if is_v2 {
            self.array::<8>(168, "start time")
                .map(|raw| v2_start_time(u64::from_le_bytes(raw)))?
        } else {
            v1_start_time(&self.text(168, 16, "start time")?)
        };
        Ok(FixedHeader {
            header: GdfHeader {
                version,
                version_hundredths,
                patient,
                recording,
                header_bytes,
                record_count: 0,
                record_count_was_unknown: false,
                record_duration,
                record_duration_s,
                channel_count,
                timezone_offset_min,
            },
            start_time,
            record_count_field,
        })
    }

    /// The header length (bytes in 1.x, 256-byte blocks in 2.x), checked against the file.
    fn header_bytes(&self, is_v2: bool) -> Result<usize, GdfError> {
        let declared = if is_v2 {
            u64::from(self.u16(184, "header length")?) * BLOCK_BYTES as u64
        } else {
            let value = self.i64(184, "header length")?;
            u64::try_from(value)
                .map_err(|_| GdfError::at(184, GdfProblem::NegativeHeaderLength { value }))?
        };
        match usize::try_from(declared) {
            Ok(length) if length <= self.bytes.len() => Ok(length),
            _ => Err(self.truncated(
                "channel headers",
                BLOCK_BYTES,
                declared.saturating_sub(BLOCK_BYTES as u64),
            )),
        }
    }

    /// The channel count, once the declared header is known to hold that many channel blocks.
    fn checked_channel_count(&self, count: u64, header_bytes: usize) -> Result<usize, GdfError> {
        let max_channels = (header_bytes / BLOCK_BYTES).saturating_sub(1) as u64;
        if count > max_channels {
            return Err(GdfError::at(
                252,
                GdfProblem::ChannelCountOutOfRange {
                    count,
                    header_bytes: header_bytes as u64,
                    max_channels,
                },
            ));
        }
        // Bounded by the header length, which is bounded by the file size.
        Ok(count as usize)
    }

    fn record_duration(&self, version_hundredths: u16) -> Result<(RecordDuration, f64), GdfError> {
        if version_hundredths >= DURATION_F64_FROM {
            let seconds = self.f64(244, "data record duration")?;
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(GdfError::at(
                    244,
                    GdfProblem::BadRecordDuration {
                        value: seconds.to_string(),
                    },
                ));
            }
            return Ok((RecordDuration::Seconds(seconds), seconds));
        }
        let stored_numerator = self.u32(244, "data record duration")?;
        let denominator = self.u32(248, "data record duration")?;
        if denominator == 0 {
            return Err(GdfError::at(
                248,
                GdfProblem::BadRecordDuration {
                    value: format!("{stored_numerator}/{denominator}"),
                },
            ));
        }
        // MNE replaces a zero numerator by 1 second (with a warning); do the same so that
        // rates agree with it.
        let numerator_s = stored_numerator.max(1);
        let duration = RecordDuration::Rational {
            numerator_s,
            denominator,
        };
        Ok((duration, f64::from(numerator_s) / f64::from(denominator)))
    }
}

/// Offsets, relative to the start of the channel headers, of the per-channel fields. Each
/// field is stored for all channels in turn, so a field of channel `k` is at
/// `start · channel_count + width · k`.
struct FieldStarts {
    label: usize,
    transducer: usize,
    dimension: usize,
    physical_min: usize,
    physical_max: usize,
    digital_min: usize,
    digital_max: usize,
    samples_per_record: usize,
    data_type: usize,
}

const FIELDS: FieldStarts = FieldStarts {
    label: 0,
    transducer: 16,
    dimension: 96,
    physical_min: 104,
    physical_max: 112,
    digital_min: 120,
    digital_max: 128,
    samples_per_record: 216,
    data_type: 220,
};

impl Parser<'_> {
    fn channel_headers(&self, header: &GdfHeader) -> Result<Vec<GdfChannel>, GdfError> {
        (0..header.channel_count)
            .map(|index| self.channel_header(header, index))
            .collect()
    }

    fn channel_header(&self, header: &GdfHeader, k: usize) -> Result<GdfChannel, GdfError> {
        let ns = header.channel_count;
        // The checked channel count guarantees that every field below lies in the header.
        let at = |start: usize, width: usize| BLOCK_BYTES + start * ns + width * k;
        let is_v2 = header.is_v2();
        let label = self.text(at(FIELDS.label, 16), 16, "channel label")?;
        let transducer = self.text(at(FIELDS.transducer, 80), 80, "transducer")?;
        let type_offset = at(FIELDS.data_type, 4);
        let code = self.u32(type_offset, "data type")?;
        let data_type = GdfDataType::from_code(code).ok_or_else(|| {
            GdfError::at(
                type_offset as u64,
                GdfProblem::UnsupportedDataType { channel: k, code },
            )
        })?;
        let samples_per_record =
            self.u32(at(FIELDS.samples_per_record, 4), "samples per record")?;
        let (digital_min, digital_max) = if is_v2 {
            (
                self.f64(at(FIELDS.digital_min, 8), "digital minimum")?,
                self.f64(at(FIELDS.digital_max, 8), "digital maximum")?,
            )
        } else {
            // GDF 1.x stores the digital range as int64; as f64 it is what MNE computes with.
            (
                self.i64(at(FIELDS.digital_min, 8), "digital minimum")? as f64,
                self.i64(at(FIELDS.digital_max, 8), "digital maximum")? as f64,
            )
        };
        let mut channel = GdfChannel {
            index: k,
            kind: kind_of(&transducer, &label),
            label,
            transducer,
            physical_dimension: String::new(),
            physical_dimension_code: None,
            physical_min: self.f64(at(FIELDS.physical_min, 8), "physical minimum")?,
            physical_max: self.f64(at(FIELDS.physical_max, 8), "physical maximum")?,
            digital_min,
            digital_max,
            prefiltering: String::new(),
            filters: None,
            position_xyz: None,
            samples_per_record: samples_per_record as usize,
            data_type,
            sample_rate_hz: sample_rate_hz(samples_per_record, header.record_duration),
            digital: Vec::new(),
        };
        if is_v2 {
            self.v2_channel_fields(&mut channel, &at)?;
        } else {
            let dimension = self.text(at(FIELDS.dimension, 8), 8, "unit")?;
            channel.physical_dimension = normalise_unit(&dimension);
            channel.prefiltering = self.text(at(136, 80), 80, "prefiltering")?;
        }
        Ok(channel)
    }

    /// The fields only GDF 2.x has: unit code, filters and electrode position.
    fn v2_channel_fields(
        &self,
        channel: &mut GdfChannel,
        at: &dyn Fn(usize, usize) -> usize,
    ) -> Result<(), GdfError> {
        let code = self.u16(at(102, 2), "unit code")?;
        let text = self.text(at(FIELDS.dimension, 6), 6, "unit")?;
        channel.physical_dimension_code = Some(code);
        // The code is authoritative in 2.x; the 6-byte text is obsolete but often filled in,
        // so it is the fallback for codes this reader does not know.
        channel.physical_dimension = unit_from_code(code).unwrap_or_else(|| normalise_unit(&text));
        channel.filters = Some(GdfFilters {
            lowpass_hz: self.f32(at(204, 4), "low-pass")?,
            highpass_hz: self.f32(at(208, 4), "high-pass")?,
            notch_hz: self.f32(at(212, 4), "notch")?,
        });
        let xyz = at(224, 12);
        channel.position_xyz = Some([
            self.f32(xyz, "electrode position")?,
            self.f32(xyz + 4, "electrode position")?,
            self.f32(xyz + 8, "electrode position")?,
        ]);
        Ok(())
    }

    fn record_layout(
        &self,
        header: &GdfHeader,
        channels: &[GdfChannel],
    ) -> Result<RecordLayout, GdfError> {
        let mut channel_offsets = Vec::with_capacity(channels.len());
        let mut record_bytes: u64 = 0;
        for channel in channels {
            channel_offsets.push(record_bytes as usize);
            let bytes = channel.samples_per_record as u64 * channel.data_type.bytes() as u64;
            record_bytes = record_bytes.saturating_add(bytes);
        }
        let available = (self.bytes.len() - header.header_bytes) as u64;
        // A record larger than the data part fits only if there are no records; the record
        // count check below reports that case, so only an unrepresentable size fails here.
        let record_bytes = usize::try_from(record_bytes).map_err(|_| {
            GdfError::at(
                236,
                GdfProblem::RecordCountOutOfRange {
                    records: 1,
                    record_bytes,
                    needed: record_bytes,
                    available,
                },
            )
        })?;
        Ok(RecordLayout {
            header_bytes: header.header_bytes,
            record_bytes,
            channel_offsets,
        })
    }

    /// The number of records to read, and whether the header said -1 (unknown).
    fn record_count(&self, field: i64, layout: &RecordLayout) -> Result<(u64, bool), GdfError> {
        let available = (self.bytes.len() - layout.header_bytes) as u64;
        let record_bytes = layout.record_bytes as u64;
        if field == -1 {
            let complete = available.checked_div(record_bytes).unwrap_or(0);
            return Ok((complete, true));
        }
        let records = u64::try_from(field)
            .map_err(|_| GdfError::at(236, GdfProblem::NegativeRecordCount { value: field }))?;
        let needed = records.saturating_mul(record_bytes);
        if needed > available {
            return Err(GdfError::at(
                236,
                GdfProblem::RecordCountOutOfRange {
                    records,
                    record_bytes,
                    needed,
                    available,
                },
            ));
        }
        Ok((records, false))
    }

    /// Decodes every channel's values. The record count has been checked against the file,
    /// so every record lies inside it and the vectors are bounded by the file size.
    fn read_records(&self, channels: &mut [GdfChannel], layout: &RecordLayout, records: u64) {
        let records = records as usize;
        for (channel, &channel_offset) in channels.iter_mut().zip(&layout.channel_offsets) {
            let width = channel.data_type.bytes();
            let block_bytes = channel.samples_per_record * width;
            if block_bytes == 0 {
                continue;
            }
            channel.digital = Vec::with_capacity(records * channel.samples_per_record);
            for record in 0..records {
                let start = layout.header_bytes + record * layout.record_bytes + channel_offset;
                let block = self
                    .bytes
                    .get(start..start + block_bytes)
                    .unwrap_or_default();
                channel.digital.extend(
                    block
                        .chunks_exact(width)
                        .map(|sample| channel.data_type.decode(sample)),
                );
            }
        }
    }

    /// Reads the event table at `offset` (the end of the data), if the file goes on there.
    fn event_table(
        &self,
        offset: usize,
        header: &GdfHeader,
        data_rate_hz: f64,
    ) -> Result<Option<GdfEventTable>, GdfError> {
        if offset >= self.bytes.len() {
            return Ok(None);
        }
        let head: [u8; 8] = self.array(offset, "event table header")?;
        let mode = head[0];
        if !matches!(mode, 1 | 3 | 5 | 7) {
            return Err(GdfError::at(
                offset as u64,
                GdfProblem::UnsupportedEventMode { mode },
            ));
        }
        let (count, stored_rate_hz) = if header.version_hundredths < EVENT_TABLE_V2_FROM {
            let rate = u32::from_le_bytes([head[1], head[2], head[3], 0]);
            let count = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            (u64::from(count), f64::from(rate))
        } else {
            let count = u32::from_le_bytes([head[1], head[2], head[3], 0]);
            let rate = f32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            (u64::from(count), f64::from(rate))
        };
        let entry_bytes: u64 =
            6 + if mode & 2 != 0 { 6 } else { 0 } + if mode & 4 != 0 { 8 } else { 0 };
        let needed = 8 + count * entry_bytes;
        if needed > (self.bytes.len() - offset) as u64 {
            return Err(self.truncated("event table", offset, needed));
        }
        // When the table leaves its rate unset, positions count samples at the data rate.
        let rate_hz = if stored_rate_hz.is_finite() && stored_rate_hz > 0.0 {
            stored_rate_hz
        } else {
            data_rate_hz
        };
        let events = self.events(offset + 8, count as usize, mode, rate_hz);
        Ok(Some(GdfEventTable {
            offset,
            mode,
            stored_sample_rate_hz: stored_rate_hz,
            sample_rate_hz: rate_hz,
            events,
        }))
    }

    /// The events of a table whose size has been checked: positions, then types, then (mode
    /// 3) channels and durations, each as one array.
    fn events(&self, start: usize, count: usize, mode: u8, rate_hz: f64) -> Vec<GdfEvent> {
        let word = |offset: usize, width: usize| -> u32 {
            let mut raw = [0u8; 4];
            if let Some(slice) = self.bytes.get(offset..offset + width) {
                raw[..width].copy_from_slice(slice);
            }
            u32::from_le_bytes(raw)
        };
        let seconds = |samples: f64| {
            if rate_hz > 0.0 {
                samples / rate_hz
            } else {
                f64::NAN
            }
        };
        (0..count)
            .map(|i| {
                let position = word(start + 4 * i, 4);
                let code = word(start + 4 * count + 2 * i, 2) as u16;
                let (channel, duration_samples) = if mode & 2 != 0 {
                    let channel = word(start + 6 * count + 2 * i, 2) as u16;
                    (channel, word(start + 8 * count + 4 * i, 4))
                } else {
                    (0, 0)
                };
                GdfEvent {
                    position,
                    code,
                    channel,
                    duration_samples,
                    // Positions are 1-based.
                    onset_s: seconds(f64::from(position) - 1.0),
                    duration_s: if mode & 2 != 0 {
                        seconds(f64::from(duration_samples))
                    } else {
                        0.0
                    },
                }
            })
            .collect()
    }
}

/// A channel's rate: samples per record over the record duration (for a fraction, in MNE's
/// order `samples · denominator / numerator`).
fn sample_rate_hz(samples_per_record: u32, duration: RecordDuration) -> f64 {
    match duration {
        RecordDuration::Rational {
            numerator_s,
            denominator,
        } => f64::from(samples_per_record) * f64::from(denominator) / f64::from(numerator_s),
        RecordDuration::Seconds(seconds) => f64::from(samples_per_record) / seconds,
    }
}

/// The kind the transducer text names in its first word (`EEG: Ag-AgCl electrodes`), else
/// the kind the label names. GDF 2.x has no separate sensor-type field; the transducer text
/// is where writers such as BioSig put it.
fn kind_of(transducer: &str, label: &str) -> ChannelKind {
    let first_word = transducer
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '-')
        .find(|word| !word.is_empty())
        .unwrap_or("");
    ChannelKind::from_type_name(first_word).unwrap_or_else(|| ChannelKind::from_label(label))
}

/// Writes microvolts as `uV` whatever the file uses (`µV` in Latin-1 or UTF-8, Greek mu).
fn normalise_unit(text: &str) -> String {
    let text = text.trim();
    for prefix in ["µ", "μ", "Âµ"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return format!("u{rest}");
        }
    }
    text.to_owned()
}

/// The unit of a GDF 2.x (ISO/IEEE 11073-10101) unit code: the upper 11 bits name the unit,
/// the lower 5 bits its decimal prefix. `None` for code 0 (unspecified) and units this
/// reader does not know; dimensionless (512) is the empty string.
pub fn unit_from_code(code: u16) -> Option<String> {
    const PREFIXES: [&str; 26] = [
        "", "da", "h", "k", "M", "G", "T", "P", "E", "Z", "Y", "", "", "", "", "", "d", "c", "m",
        "u", "n", "p", "f", "a", "z", "y",
    ];
    let prefix_code = usize::from(code & 0x1F);
    let unit = match code & !0x1F {
        512 if prefix_code == 0 => return Some(String::new()),
        544 if prefix_code == 0 => return Some("%".to_owned()),
        2176 => "s",
        4256 => "V",
        4288 => "Ohm",
        6048 if prefix_code == 0 => return Some("degC".to_owned()),
        8288 => "S",
        _ => return None,
    };
    // Codes 11 to 15 are reserved prefixes.
    if (11..=15).contains(&prefix_code) || prefix_code >= PREFIXES.len() {
        return None;
    }
    Some(format!("{}{unit}", PREFIXES[prefix_code]))
}

/// GDF 1.x start time: `YYYYMMDDhhmmsscc` (cc in hundredths of a second). Blank hundredths
/// read as 00, as MNE does; anything else unreadable gives `None`.
fn v1_start_time(text: &str) -> Option<StartTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 14 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let field = text.get(range)?;
        if field.bytes().all(|b| b.is_ascii_digit()) {
            field.parse().ok()
        } else {
            None
        }
    };
    let hundredths = match text.get(14..16) {
        None | Some("  ") => 0,
        Some(_) => number(14..16)?,
    };
    let time = StartTime {
        year: u16::try_from(number(0..4)?).ok()?,
        month: u8::try_from(number(4..6)?).ok()?,
        day: u8::try_from(number(6..8)?).ok()?,
        hour: u8::try_from(number(8..10)?).ok()?,
        minute: u8::try_from(number(10..12)?).ok()?,
        second: u8::try_from(number(12..14)?).ok()?,
        nanosecond: hundredths * 10_000_000,
    };
    is_valid(&time).then_some(time)
}

fn is_valid(time: &StartTime) -> bool {
    (1..=12).contains(&time.month)
        && (1..=31).contains(&time.day)
        && time.hour < 24
        && time.minute < 60
        && time.second < 60
}

/// GDF 2.x start time: days since 0000-01-00 (MATLAB's `datenum`) in units of 2^-32 day;
/// 0 means not stored. MNE computes `datetime(1, 1, 1) + timedelta(days = t / 2^32 − 367)`.
fn v2_start_time(stored: u64) -> Option<StartTime> {
    if stored == 0 {
        return None;
    }
    // Day 367 of datenum is 0001-01-01; 719_162 days separate 0001-01-01 from 1970-01-01.
    let days_since_0001 = i64::try_from(stored >> 32).ok()? - 367;
    if days_since_0001 < 0 {
        return None;
    }
    let day_nanoseconds: u128 = 86_400 * 1_000_000_000;
    let fraction = u128::from(stored & 0xFFFF_FFFF);
    // Rounded to the nearest nanosecond; a fraction just below a whole day rounds to the
    // last nanosecond of the day rather than into the next one.
    let nanoseconds_of_day =
        ((fraction * day_nanoseconds + (1 << 31)) >> 32).min(day_nanoseconds - 1);
    let (year, month, day) = civil_from_days(days_since_0001 - 719_162);
    let seconds_of_day = (nanoseconds_of_day / 1_000_000_000) as u32;
    Some(StartTime {
        year: u16::try_from(year).ok()?,
        month,
        day,
        hour: (seconds_of_day / 3600) as u8,
        minute: (seconds_of_day / 60 % 60) as u8,
        second: (seconds_of_day % 60) as u8,
        nanosecond: (nanoseconds_of_day % 1_000_000_000) as u32,
    })
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_name_their_units() {
        assert_eq!(unit_from_code(4275).as_deref(), Some("uV"));
        assert_eq!(unit_from_code(4256).as_deref(), Some("V"));
        assert_eq!(unit_from_code(4274).as_deref(), Some("mV"));
        assert_eq!(unit_from_code(4276).as_deref(), Some("nV"));
        assert_eq!(unit_from_code(512).as_deref(), Some(""));
        assert_eq!(unit_from_code(544).as_deref(), Some("%"));
        assert_eq!(unit_from_code(4288 + 3).as_deref(), Some("kOhm"));
        assert_eq!(unit_from_code(0), None);
        assert_eq!(unit_from_code(4256 + 12), None);
    }

    #[test]
    fn microvolts_are_written_uv() {
        assert_eq!(normalise_unit("µV"), "uV");
        assert_eq!(normalise_unit("μV "), "uV");
        assert_eq!(normalise_unit("uV"), "uV");
        assert_eq!(normalise_unit("mV"), "mV");
    }

    #[test]
    fn twenty_four_bit_samples_are_sign_extended() {
        assert_eq!(GdfDataType::Int24.decode(&[0xFF, 0xFF, 0xFF]), -1.0);
        assert_eq!(GdfDataType::Int24.decode(&[0x00, 0x00, 0x80]), -8_388_608.0);
        assert_eq!(GdfDataType::Int24.decode(&[0xFF, 0xFF, 0x7F]), 8_388_607.0);
        assert_eq!(
            GdfDataType::Uint24.decode(&[0xFF, 0xFF, 0xFF]),
            16_777_215.0
        );
        assert_eq!(GdfDataType::Int8.decode(&[0x80]), -128.0);
        assert_eq!(GdfDataType::Uint64.decode(&[1, 0, 0, 0, 0, 0, 0, 0]), 1.0);
    }

    #[test]
    fn v1_start_time_is_read_with_hundredths() {
        let time = v1_start_time("2012070619021650").unwrap();
        assert_eq!(
            (
                time.year,
                time.month,
                time.day,
                time.hour,
                time.minute,
                time.second
            ),
            (2012, 7, 6, 19, 2, 16)
        );
        assert_eq!(time.nanosecond, 500_000_000);
        assert_eq!(v1_start_time("20120706190216  ").unwrap().nanosecond, 0);
        assert_eq!(v1_start_time(""), None);
        assert_eq!(v1_start_time("20121306190216  "), None);
    }

    #[test]
    fn v2_start_time_matches_datenum() {
        // datenum(2012, 7, 6, 19, 2, 16) = 735056 + (19·3600 + 2·60 + 16) / 86400. One step
        // of the stored fraction is 2^-32 day (20 µs), so the time read back is within 20 µs.
        let seconds_of_day = 19.0 * 3600.0 + 2.0 * 60.0 + 16.0;
        let fraction = (seconds_of_day / 86_400.0 * 4_294_967_296.0_f64).round() as u64;
        let time = v2_start_time((735_056u64 << 32) + fraction).unwrap();
        assert_eq!((time.year, time.month, time.day), (2012, 7, 6));
        let read_back = f64::from(time.hour) * 3600.0
            + f64::from(time.minute) * 60.0
            + f64::from(time.second)
            + f64::from(time.nanosecond) * 1e-9;
        assert!((read_back - seconds_of_day).abs() < 20e-6, "{time:?}");
        let epoch = v2_start_time(719_529u64 << 32).unwrap();
        assert_eq!(
            (
                epoch.year,
                epoch.month,
                epoch.day,
                epoch.hour,
                epoch.nanosecond
            ),
            (1970, 1, 1, 0, 0)
        );
        let leap_day = v2_start_time((739_311u64 << 32) + (1 << 31)).unwrap();
        assert_eq!(
            (leap_day.year, leap_day.month, leap_day.day, leap_day.hour),
            (2024, 2, 29, 12)
        );
        assert_eq!(v2_start_time(0), None);
        assert_eq!(v2_start_time(1 << 32), None);
    }

    #[test]
    fn transducer_names_the_kind_before_the_label() {
        assert_eq!(kind_of("EEG: Ag-AgCl electrodes", "ECG"), ChannelKind::Eeg);
        assert_eq!(kind_of("ECG electrode", "Ch1"), ChannelKind::Ecg);
        assert_eq!(kind_of("", "ECG"), ChannelKind::Ecg);
        assert_eq!(kind_of("Ag/AgCl", "Oz"), ChannelKind::Eeg);
    }
}
