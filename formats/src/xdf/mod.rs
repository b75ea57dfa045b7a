//! XDF (Extensible Data Format, the Lab Streaming Layer recording format): reader and writer.
//!
//! [`parse`] and [`read`] load a whole file into [`XdfFile`], applying clock-offset
//! correction (and optionally timestamp dejittering) the way the reference Python importer
//! does by default, so numbers agree with what other tools show for the same recording.
//! [`XdfWriter`] records incrementally and keeps the file loadable if the process dies.

mod header;
mod parse;
mod sync;
mod writer;

use std::path::Path;

pub use header::{ChannelFormat, StreamFooter, StreamHeader, XdfChannel};
pub use writer::{StreamId, WriterOptions, XdfWriter, XdfWriterSamples, utc_datetime};

use crate::error::{XdfError, file_name};
use crate::recording::{Annotation, ChannelInfo, ChannelKind, Recording};

/// The 16-byte signature every Boundary chunk carries.
pub const BOUNDARY_UUID: [u8; 16] = [
    0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4,
];

/// Chunk tags defined by the XDF 1.0 specification.
pub mod tag {
    /// FileHeader chunk.
    pub const FILE_HEADER: u16 = 1;
    /// StreamHeader chunk.
    pub const STREAM_HEADER: u16 = 2;
    /// Samples chunk.
    pub const SAMPLES: u16 = 3;
    /// ClockOffset chunk.
    pub const CLOCK_OFFSET: u16 = 4;
    /// Boundary chunk.
    pub const BOUNDARY: u16 = 5;
    /// StreamFooter chunk.
    pub const STREAM_FOOTER: u16 = 6;
}

/// Sample values of one stream, sample-major: the values of sample `s` occupy indices
/// `s * channel_count .. (s + 1) * channel_count`.
#[derive(Debug, Clone, PartialEq)]
pub enum XdfValues {
    /// `int8` values.
    Int8(Vec<i8>),
    /// `int16` values.
    Int16(Vec<i16>),
    /// `int32` values.
    Int32(Vec<i32>),
    /// `int64` values.
    Int64(Vec<i64>),
    /// `float32` values.
    Float32(Vec<f32>),
    /// `double64` values.
    Double64(Vec<f64>),
    /// `string` values, decoded as UTF-8 with invalid bytes replaced.
    String(Vec<String>),
}

impl XdfValues {
    /// An empty value store for `format`.
    pub fn empty(format: ChannelFormat) -> Self {
        match format {
            ChannelFormat::Int8 => Self::Int8(Vec::new()),
            ChannelFormat::Int16 => Self::Int16(Vec::new()),
            ChannelFormat::Int32 => Self::Int32(Vec::new()),
            ChannelFormat::Int64 => Self::Int64(Vec::new()),
            ChannelFormat::Float32 => Self::Float32(Vec::new()),
            ChannelFormat::Double64 => Self::Double64(Vec::new()),
            ChannelFormat::String => Self::String(Vec::new()),
        }
    }

    /// Total number of values (samples times channels).
    pub fn len(&self) -> usize {
        match self {
            Self::Int8(values) => values.len(),
            Self::Int16(values) => values.len(),
            Self::Int32(values) => values.len(),
            Self::Int64(values) => values.len(),
            Self::Float32(values) => values.len(),
            Self::Double64(values) => values.len(),
            Self::String(values) => values.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel format these values belong to.
    pub fn format(&self) -> ChannelFormat {
        match self {
            Self::Int8(_) => ChannelFormat::Int8,
            Self::Int16(_) => ChannelFormat::Int16,
            Self::Int32(_) => ChannelFormat::Int32,
            Self::Int64(_) => ChannelFormat::Int64,
            Self::Float32(_) => ChannelFormat::Float32,
            Self::Double64(_) => ChannelFormat::Double64,
            Self::String(_) => ChannelFormat::String,
        }
    }

    /// Value at flat index `index` as `f64`; `None` for strings or out of range. `int64`
    /// values beyond 2^53 lose precision.
    #[allow(clippy::cast_possible_truncation)]
    pub fn get_f64(&self, index: usize) -> Option<f64> {
        match self {
            Self::Int8(values) => values.get(index).map(|&v| f64::from(v)),
            Self::Int16(values) => values.get(index).map(|&v| f64::from(v)),
            Self::Int32(values) => values.get(index).map(|&v| f64::from(v)),
            Self::Int64(values) => values.get(index).map(|&v| v as f64),
            Self::Float32(values) => values.get(index).map(|&v| f64::from(v)),
            Self::Double64(values) => values.get(index).copied(),
            Self::String(_) => None,
        }
    }

    /// String value at flat index `index`; `None` for numeric streams or out of range.
    pub fn get_str(&self, index: usize) -> Option<&str> {
        match self {
            Self::String(values) => values.get(index).map(String::as_str),
            _ => None,
        }
    }
}

/// One ClockOffset measurement: `offset_s` is added to the stream's clock to get the
/// recorder's clock, as measured at `collection_time_s` (stream clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockOffset {
    /// When the offset was measured, in seconds of the stream's clock.
    pub collection_time_s: f64,
    /// Recorder clock minus stream clock, in seconds.
    pub offset_s: f64,
}

/// An inclusive range of sample indices `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRange {
    /// First sample index.
    pub first: usize,
    /// Last sample index (inclusive).
    pub last: usize,
}

/// One stream of an XDF file.
#[derive(Debug, Clone, PartialEq)]
pub struct XdfStream {
    /// Stream id from the file.
    pub id: u32,
    /// Parsed StreamHeader.
    pub header: StreamHeader,
    /// Parsed StreamFooter; `None` when the recording ended without one.
    pub footer: Option<StreamFooter>,
    /// All sample values, sample-major.
    pub values: XdfValues,
    /// One time stamp per sample in seconds, after the corrections chosen in [`ReadOptions`].
    pub timestamps_s: Vec<f64>,
    /// ClockOffset measurements in file order (after dropping a corrupted final one, see
    /// [`ReadOptions::truncate_corrupted_offsets`]).
    pub clock_offsets: Vec<ClockOffset>,
    /// Sample ranges that were synchronised with one clock fit each (more than one after a
    /// clock reset); empty when no synchronisation took place.
    pub clock_segments: Vec<SampleRange>,
    /// Sample ranges separated by gaps in the time stamps (dejittered independently when
    /// dejittering is on); one range covering everything otherwise.
    pub segments: Vec<SampleRange>,
    /// Measured sampling rate in Hz for regular streams; 0 for irregular or tiny streams.
    pub effective_srate_hz: f64,
}

impl XdfStream {
    /// Number of samples.
    pub fn sample_count(&self) -> usize {
        self.timestamps_s.len()
    }

    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        self.header.channel_count as usize
    }

    /// Numeric value of `channel` in `sample`; `None` for strings or out of range.
    pub fn value_f64(&self, sample: usize, channel: usize) -> Option<f64> {
        if channel >= self.channel_count() {
            return None;
        }
        let index = sample
            .checked_mul(self.channel_count())?
            .checked_add(channel)?;
        self.values.get_f64(index)
    }

    /// String value of `channel` in `sample`; `None` for numeric streams or out of range.
    pub fn value_str(&self, sample: usize, channel: usize) -> Option<&str> {
        if channel >= self.channel_count() {
            return None;
        }
        let index = sample
            .checked_mul(self.channel_count())?
            .checked_add(channel)?;
        self.values.get_str(index)
    }

    /// All samples of one numeric channel as `f64`; `None` for string streams or a channel
    /// index out of range.
    pub fn channel_f64(&self, channel: usize) -> Option<Vec<f64>> {
        if channel >= self.channel_count() || self.values.format() == ChannelFormat::String {
            return None;
        }
        (0..self.sample_count())
            .map(|sample| self.value_f64(sample, channel))
            .collect()
    }
}

/// A parsed XDF file.
#[derive(Debug, Clone, PartialEq)]
pub struct XdfFile {
    /// FileHeader XML, if the file has one.
    pub header_xml: Option<String>,
    /// `<version>` from the FileHeader, if present.
    pub version: Option<String>,
    /// Streams in the order their headers appear.
    pub streams: Vec<XdfStream>,
    /// Number of Boundary chunks seen.
    pub boundary_count: usize,
    /// Number of chunks with tags this reader does not know (skipped, as the specification
    /// asks).
    pub unknown_chunk_count: usize,
    /// Byte offset of an incomplete final chunk that was dropped because
    /// [`ReadOptions::tolerate_truncated_tail`] was set.
    pub truncated_tail_offset: Option<u64>,
}

impl XdfFile {
    /// The first stream whose name equals `name`.
    pub fn stream_by_name(&self, name: &str) -> Option<&XdfStream> {
        self.streams
            .iter()
            .find(|stream| stream.header.name == name)
    }

    /// The stream with id `id`.
    pub fn stream_by_id(&self, id: u32) -> Option<&XdfStream> {
        self.streams.iter().find(|stream| stream.id == id)
    }

    /// Converts one numeric stream into a [`Recording`]. Every string stream becomes
    /// annotations (one per sample and channel, duration 0) with onsets relative to the first
    /// time stamp of the chosen stream. Channel labels fall back to `ch<N>` when the header has
    /// none; every channel gets the stream's nominal rate (0 for irregular streams).
    pub fn to_recording(&self, stream_index: usize) -> Option<Recording> {
        let stream = self.streams.get(stream_index)?;
        if stream.header.channel_format == ChannelFormat::String {
            return None;
        }
        let channel_count = stream.channel_count();
        let channels = (0..channel_count)
            .map(|index| {
                let described = stream.header.channels.get(index);
                let label = described
                    .map(|channel| channel.label.clone())
                    .filter(|label| !label.is_empty())
                    .unwrap_or_else(|| format!("ch{index}"));
                let unit = described
                    .map(|channel| channel.unit.clone())
                    .unwrap_or_default();
                ChannelInfo::new(label, unit, stream.header.nominal_srate_hz).with_declared_kind(
                    described
                        .and_then(|channel| ChannelKind::from_type_name(&channel.channel_type)),
                )
            })
            .collect();
        let data = (0..channel_count)
            .map(|channel| stream.channel_f64(channel).unwrap_or_default())
            .collect();
        let origin_s = stream.timestamps_s.first().copied().unwrap_or(0.0);
        let mut annotations = Vec::new();
        for marker_stream in &self.streams {
            let XdfValues::String(values) = &marker_stream.values else {
                continue;
            };
            let width = marker_stream.channel_count().max(1);
            for (index, label) in values.iter().enumerate() {
                let Some(&timestamp_s) = marker_stream.timestamps_s.get(index / width) else {
                    continue;
                };
                annotations.push(Annotation {
                    onset_s: timestamp_s - origin_s,
                    duration_s: 0.0,
                    label: label.clone(),
                });
            }
        }
        annotations.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
        Some(Recording {
            channels,
            data,
            timestamps_s: Some(stream.timestamps_s.clone()),
            annotations,
            start_time: None,
            line_freq_hz: None,
        })
    }

    /// Converts the stream best suited as the main signal into a [`Recording`]: the first
    /// numeric stream of type `EEG`, else the numeric stream with most samples.
    pub fn to_default_recording(&self) -> Option<Recording> {
        let numeric = |stream: &&XdfStream| stream.header.channel_format != ChannelFormat::String;
        let index = self
            .streams
            .iter()
            .position(|stream| numeric(&stream) && stream.header.stream_type == "EEG")
            .or_else(|| {
                self.streams
                    .iter()
                    .enumerate()
                    .filter(|(_, stream)| numeric(stream))
                    .max_by_key(|(_, stream)| stream.sample_count())
                    .map(|(index, _)| index)
            })?;
        self.to_recording(index)
    }
}

/// How [`parse_with`] post-processes time stamps and treats damaged files. The defaults
/// synchronise clocks like the reference importer and keep the measured time stamps
/// (no dejittering).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Map every stream's time stamps onto the recorder's clock using its ClockOffset chunks
    /// (robust linear fit per clock segment).
    pub synchronize_clocks: bool,
    /// Split the clock offsets into segments at clock resets (restarts of the sending
    /// machine) and fit each segment separately.
    pub handle_clock_resets: bool,
    /// Replace the time stamps of regularly sampled streams by a straight-line fit of time
    /// stamp on sample index, separately in every segment between gaps.
    pub dejitter_timestamps: bool,
    /// A gap must exceed this many seconds to split dejitter segments.
    pub jitter_break_threshold_s: f64,
    /// A gap must exceed this many nominal sample periods to split dejitter segments.
    pub jitter_break_threshold_samples: f64,
    /// A clock reset needs a ClockOffset interval at least this many seconds from the median.
    pub clock_reset_threshold_s: f64,
    /// A clock reset needs a ClockOffset interval at least this many median absolute
    /// deviations from the median.
    pub clock_reset_threshold_stds: f64,
    /// A clock reset needs an offset jump at least this many seconds from the median jump.
    pub clock_reset_threshold_offset_s: f64,
    /// A clock reset needs an offset jump at least this many median absolute deviations from
    /// the median jump.
    pub clock_reset_threshold_offset_stds: f64,
    /// Clock-offset residuals larger than this many seconds are weighted linearly rather
    /// than quadratically in the clock fit (the Huber threshold).
    pub winsor_threshold_s: f64,
    /// When a stream has more samples than its footer counts and its last ClockOffset is an
    /// outlier (a known defect of some LSL outlets at shutdown), drop both the extra samples
    /// and that offset. Only applies when `synchronize_clocks` is on.
    pub truncate_corrupted_offsets: bool,
    /// Accept a file whose final chunk is cut short (a recording that was killed mid-write):
    /// the partial chunk is dropped and its offset reported in
    /// [`XdfFile::truncated_tail_offset`]. When false such a file is an error.
    pub tolerate_truncated_tail: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            synchronize_clocks: true,
            handle_clock_resets: true,
            dejitter_timestamps: false,
            jitter_break_threshold_s: 1.0,
            jitter_break_threshold_samples: 500.0,
            clock_reset_threshold_s: 5.0,
            clock_reset_threshold_stds: 5.0,
            clock_reset_threshold_offset_s: 1.0,
            clock_reset_threshold_offset_stds: 10.0,
            winsor_threshold_s: 0.0001,
            truncate_corrupted_offsets: true,
            tolerate_truncated_tail: false,
        }
    }
}

impl ReadOptions {
    /// Options that return the time stamps exactly as stored in the file.
    pub fn raw() -> Self {
        Self {
            synchronize_clocks: false,
            dejitter_timestamps: false,
            ..Self::default()
        }
    }
}

/// Parses XDF bytes with [`ReadOptions::default`].
pub fn parse(bytes: &[u8]) -> Result<XdfFile, XdfError> {
    parse_with(bytes, &ReadOptions::default())
}

/// Parses XDF bytes.
pub fn parse_with(bytes: &[u8], options: &ReadOptions) -> Result<XdfFile, XdfError> {
    let mut file = parse::parse_chunks(bytes, options.tolerate_truncated_tail)?;
    sync::post_process(&mut file.streams, options);
    Ok(file)
}

/// Reads and parses an XDF file with [`ReadOptions::default`].
pub fn read(path: impl AsRef<Path>) -> Result<XdfFile, XdfError> {
    read_with(path, &ReadOptions::default())
}

/// Reads and parses an XDF file.
pub fn read_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<XdfFile, XdfError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| XdfError::Io {
        file: file_name(path),
        source,
    })?;
    parse_with(&bytes, options).map_err(|error| error.in_file(path))
}
