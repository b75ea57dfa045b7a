//! Incremental, crash-tolerant XDF writer.
//!
//! Every chunk is assembled in memory and handed to the operating system with a single
//! write as soon as the caller provides it, so killing the process can at most lose a chunk
//! that was being written at that instant. Because XDF needs no index or trailer, the file is
//! a valid recording after every chunk; only the StreamFooter chunks (optional in the
//! specification) are missing until [`XdfWriter::finish`]. To survive a power failure as
//! well, the file is synced to the storage device whenever the last sync is older than
//! [`WriterOptions::sync_interval`] (one second by default), and on [`XdfWriter::flush`].

use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::header::{ChannelFormat, StreamHeader, escape_into, format_float};
use super::{BOUNDARY_UUID, ClockOffset, tag};
use crate::error::{XdfWriteError, file_name};

/// Identifies a stream within one [`XdfWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(u32);

impl StreamId {
    /// The stream id as written into the file.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Tuning of [`XdfWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Longest time between syncs of the file to the storage device while chunks keep coming.
    pub sync_interval: Duration,
    /// Sync to the storage device at all (`false` leaves durability to the operating system,
    /// which still keeps everything written when only the process dies).
    pub sync_to_disk: bool,
    /// Write a Boundary chunk before the next chunk whenever this much time has passed since
    /// the last one, so readers can resynchronise after damage. `None` writes them only on
    /// request.
    pub boundary_interval: Option<Duration>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            sync_interval: Duration::from_secs(1),
            sync_to_disk: true,
            boundary_interval: Some(Duration::from_secs(10)),
        }
    }
}

/// Values that can be written to a stream of the matching [`ChannelFormat`].
pub trait XdfWriterSamples {
    /// The channel format these values belong to.
    const FORMAT: ChannelFormat;
    /// Appends the little-endian (or length-prefixed, for strings) encoding of one value.
    fn encode(&self, out: &mut Vec<u8>);
}

macro_rules! numeric_samples {
    ($ty:ty, $format:ident) => {
        impl XdfWriterSamples for $ty {
            const FORMAT: ChannelFormat = ChannelFormat::$format;
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

numeric_samples!(i8, Int8);
numeric_samples!(i16, Int16);
numeric_samples!(i32, Int32);
numeric_samples!(i64, Int64);
numeric_samples!(f32, Float32);
numeric_samples!(f64, Double64);

impl XdfWriterSamples for &str {
    const FORMAT: ChannelFormat = ChannelFormat::String;
    fn encode(&self, out: &mut Vec<u8>) {
        push_varlen(out, self.len() as u64);
        out.extend_from_slice(self.as_bytes());
    }
}

impl XdfWriterSamples for String {
    const FORMAT: ChannelFormat = ChannelFormat::String;
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_str().encode(out);
    }
}

/// Book-keeping for one stream, for its footer.
#[derive(Debug)]
struct WriterStream {
    header: StreamHeader,
    sample_count: u64,
    first_timestamp_s: Option<f64>,
    last_timestamp_s: Option<f64>,
    clock_offsets: Vec<ClockOffset>,
}

/// Writes an XDF file chunk by chunk as data arrives.
///
/// ```no_run
/// use neuroloop_formats::xdf::{ChannelFormat, StreamHeader, XdfWriter};
/// # fn main() -> Result<(), neuroloop_formats::XdfWriteError> {
/// let mut writer = XdfWriter::create("recording.xdf")?;
/// let eeg = writer.add_stream(
///     &StreamHeader::new("amp", "EEG", 2, 250.0, ChannelFormat::Float32)
///         .with_channel_labels(&["C3", "C4"]),
/// )?;
/// writer.write_samples(eeg, &[1.0_f32, 2.0, 3.0, 4.0], &[10.000, 10.004])?;
/// writer.finish()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct XdfWriter {
    file: File,
    path: PathBuf,
    options: WriterOptions,
    streams: Vec<WriterStream>,
    /// Reused buffer holding the chunk being assembled.
    chunk: Vec<u8>,
    last_sync: Instant,
    last_boundary: Instant,
    /// Chunks written since the last sync.
    unsynced: bool,
    /// Bytes in the file.
    written: u64,
}

impl XdfWriter {
    /// Creates (or truncates) `path` and writes the magic bytes and the FileHeader chunk,
    /// with default [`WriterOptions`].
    pub fn create(path: impl AsRef<Path>) -> Result<Self, XdfWriteError> {
        Self::create_with(path, WriterOptions::default())
    }

    /// Creates (or truncates) `path` and writes the magic bytes and the FileHeader chunk.
    pub fn create_with(
        path: impl AsRef<Path>,
        options: WriterOptions,
    ) -> Result<Self, XdfWriteError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|source| XdfWriteError::Io {
            file: file_name(&path),
            source,
        })?;
        let now = Instant::now();
        let mut writer = Self {
            file,
            path,
            options,
            streams: Vec::new(),
            chunk: Vec::with_capacity(4096),
            last_sync: now,
            last_boundary: now,
            unsynced: false,
            written: 0,
        };
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<info>\n\t<version>1.0</version>\n");
        xml.push_str("\t<datetime>");
        escape_into(&mut xml, &utc_datetime(SystemTime::now()));
        xml.push_str("</datetime>\n</info>\n");
        writer.chunk.clear();
        writer.chunk.extend_from_slice(b"XDF:");
        push_chunk_prefix(&mut writer.chunk, 2 + xml.len() as u64, tag::FILE_HEADER);
        writer.chunk.extend_from_slice(xml.as_bytes());
        writer.emit_chunk()?;
        writer.flush()?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written to the file so far (whole chunks).
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Declares a stream and writes its StreamHeader chunk. Stream ids are assigned from 1.
    pub fn add_stream(&mut self, header: &StreamHeader) -> Result<StreamId, XdfWriteError> {
        if !(header.nominal_srate_hz.is_finite() && header.nominal_srate_hz >= 0.0) {
            return Err(XdfWriteError::BadHeader {
                file: file_name(&self.path),
                name: header.name.clone(),
                problem: format!(
                    "nominal rate {} Hz is not a finite non-negative number",
                    header.nominal_srate_hz
                ),
            });
        }
        if !header.channels.is_empty() && header.channels.len() != header.channel_count as usize {
            return Err(XdfWriteError::BadHeader {
                file: file_name(&self.path),
                name: header.name.clone(),
                problem: format!(
                    "{} channel descriptions for {} channels",
                    header.channels.len(),
                    header.channel_count
                ),
            });
        }
        let Ok(id) = u32::try_from(self.streams.len() + 1) else {
            return Err(XdfWriteError::BadHeader {
                file: file_name(&self.path),
                name: header.name.clone(),
                problem: "too many streams".to_owned(),
            });
        };
        let xml = header.to_xml();
        self.begin_chunk(tag::STREAM_HEADER, id, xml.len() as u64);
        self.chunk.extend_from_slice(xml.as_bytes());
        let mut stored = header.clone();
        stored.xml = xml;
        self.streams.push(WriterStream {
            header: stored,
            sample_count: 0,
            first_timestamp_s: None,
            last_timestamp_s: None,
            clock_offsets: Vec::new(),
        });
        self.emit_chunk()?;
        Ok(StreamId(id))
    }

    /// Writes one Samples chunk. `values` is sample-major (all channels of the first sample,
    /// then the second, ...) and must hold `timestamps_s.len() × channel_count` values of the
    /// stream's format. Every sample is written with its own time stamp.
    pub fn write_samples<T: XdfWriterSamples>(
        &mut self,
        id: StreamId,
        values: &[T],
        timestamps_s: &[f64],
    ) -> Result<(), XdfWriteError> {
        let index = self.stream_index(id)?;
        let stream = &self.streams[index];
        let channels = stream.header.channel_count as usize;
        if T::FORMAT != stream.header.channel_format {
            return Err(self.bad_samples(
                id,
                format!(
                    "values are {} but the stream is {}",
                    T::FORMAT,
                    stream.header.channel_format
                ),
            ));
        }
        if Some(values.len()) != timestamps_s.len().checked_mul(channels) {
            return Err(self.bad_samples(
                id,
                format!(
                    "{} values for {} time stamps and {} channels",
                    values.len(),
                    timestamps_s.len(),
                    channels
                ),
            ));
        }
        if timestamps_s.is_empty() {
            return Ok(());
        }
        self.maybe_write_boundary()?;
        self.chunk.clear();
        // The content is encoded first, after room for the prefix is known, because the
        // chunk length prefix depends on the content size (string lengths vary).
        let mut content = Vec::with_capacity(
            9 + timestamps_s.len() * (9 + channels * T::FORMAT.value_size_bytes().unwrap_or(8)),
        );
        push_varlen(&mut content, timestamps_s.len() as u64);
        let rows = values.chunks(channels.max(1));
        for (timestamp_s, row) in timestamps_s
            .iter()
            .zip(rows.chain(std::iter::repeat(&[][..])))
        {
            content.push(8);
            content.extend_from_slice(&timestamp_s.to_le_bytes());
            for value in row {
                value.encode(&mut content);
            }
        }
        self.begin_chunk(tag::SAMPLES, id.0, content.len() as u64);
        self.chunk.extend_from_slice(&content);
        self.emit_chunk()?;
        let stream = &mut self.streams[index];
        stream.sample_count += timestamps_s.len() as u64;
        stream.first_timestamp_s = stream.first_timestamp_s.or(timestamps_s.first().copied());
        stream.last_timestamp_s = timestamps_s.last().copied();
        self.sync_if_due()
    }

    /// Writes a ClockOffset chunk: at `collection_time_s` (stream clock) the recorder clock was
    /// `offset_s` seconds ahead of the stream clock.
    pub fn write_clock_offset(
        &mut self,
        id: StreamId,
        collection_time_s: f64,
        offset_s: f64,
    ) -> Result<(), XdfWriteError> {
        let index = self.stream_index(id)?;
        self.maybe_write_boundary()?;
        self.begin_chunk(tag::CLOCK_OFFSET, id.0, 16);
        self.chunk
            .extend_from_slice(&collection_time_s.to_le_bytes());
        self.chunk.extend_from_slice(&offset_s.to_le_bytes());
        self.emit_chunk()?;
        self.streams[index].clock_offsets.push(ClockOffset {
            collection_time_s,
            offset_s,
        });
        self.sync_if_due()
    }

    /// Writes a Boundary chunk, a marker readers can search for to resume after damage.
    pub fn write_boundary(&mut self) -> Result<(), XdfWriteError> {
        self.chunk.clear();
        push_chunk_prefix(&mut self.chunk, 2 + 16, tag::BOUNDARY);
        self.chunk.extend_from_slice(&BOUNDARY_UUID);
        self.emit_chunk()?;
        self.last_boundary = Instant::now();
        self.sync_if_due()
    }

    /// Syncs everything written so far to the storage device.
    pub fn flush(&mut self) -> Result<(), XdfWriteError> {
        self.file.flush().map_err(|source| self.io_error(source))?;
        if self.options.sync_to_disk {
            self.file
                .sync_data()
                .map_err(|source| self.io_error(source))?;
        }
        self.last_sync = Instant::now();
        self.unsynced = false;
        Ok(())
    }

    /// Writes a StreamFooter chunk for every stream (first and last time stamp, sample count,
    /// clock offsets) and syncs the file. Dropping the writer without calling this leaves a
    /// valid file without footers.
    pub fn finish(mut self) -> Result<(), XdfWriteError> {
        for index in 0..self.streams.len() {
            let xml = footer_xml(&self.streams[index]);
            let id = u32::try_from(index + 1).unwrap_or(u32::MAX);
            self.begin_chunk(tag::STREAM_FOOTER, id, xml.len() as u64);
            self.chunk.extend_from_slice(xml.as_bytes());
            self.emit_chunk()?;
        }
        self.flush()
    }

    fn stream_index(&self, id: StreamId) -> Result<usize, XdfWriteError> {
        let index = (id.0 as usize).wrapping_sub(1);
        if index < self.streams.len() {
            Ok(index)
        } else {
            Err(XdfWriteError::UnknownStream {
                file: file_name(&self.path),
                stream_id: id.0,
            })
        }
    }

    fn bad_samples(&self, id: StreamId, problem: String) -> XdfWriteError {
        XdfWriteError::BadSamples {
            file: file_name(&self.path),
            stream_id: id.0,
            problem,
        }
    }

    fn io_error(&self, source: std::io::Error) -> XdfWriteError {
        XdfWriteError::Io {
            file: file_name(&self.path),
            source,
        }
    }

    /// Starts a stream chunk in the buffer: length prefix, tag and stream id.
    fn begin_chunk(&mut self, chunk_tag: u16, stream_id: u32, content_length: u64) {
        self.chunk.clear();
        push_chunk_prefix(&mut self.chunk, 2 + 4 + content_length, chunk_tag);
        self.chunk.extend_from_slice(&stream_id.to_le_bytes());
    }

    /// Hands the assembled chunk to the operating system in one write. If the write fails
    /// part-way (a full disk, a file-size limit), the partial chunk is cut off again so the
    /// file ends on a whole chunk and stays readable with everything written before.
    fn emit_chunk(&mut self) -> Result<(), XdfWriteError> {
        let start = self.file.stream_position();
        let len = self.chunk.len() as u64;
        let result = self.file.write_all(&self.chunk);
        self.chunk.clear();
        if let (Err(_), Ok(start)) = (&result, start) {
            // Shrinking needs no space; if it fails too, readers still get every whole chunk.
            let _ = self.file.set_len(start);
            let _ = self.file.seek(std::io::SeekFrom::Start(start));
        }
        result.map_err(|source| self.io_error(source))?;
        self.written += len;
        self.unsynced = true;
        Ok(())
    }

    fn maybe_write_boundary(&mut self) -> Result<(), XdfWriteError> {
        match self.options.boundary_interval {
            Some(interval) if self.last_boundary.elapsed() >= interval => self.write_boundary(),
            _ => Ok(()),
        }
    }

    fn sync_if_due(&mut self) -> Result<(), XdfWriteError> {
        if self.unsynced && self.last_sync.elapsed() >= self.options.sync_interval {
            self.flush()
        } else {
            Ok(())
        }
    }
}

fn footer_xml(stream: &WriterStream) -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<info>\n");
    let number = |value: Option<f64>| format_float(value.unwrap_or(0.0));
    xml.push_str(&format!(
        "\t<first_timestamp>{}</first_timestamp>\n\t<last_timestamp>{}</last_timestamp>\n\t<sample_count>{}</sample_count>\n",
        number(stream.first_timestamp_s),
        number(stream.last_timestamp_s),
        stream.sample_count
    ));
    xml.push_str("\t<clock_offsets>\n");
    for offset in &stream.clock_offsets {
        xml.push_str(&format!(
            "\t\t<offset><time>{}</time><value>{}</value></offset>\n",
            format_float(offset.collection_time_s),
            format_float(offset.offset_s)
        ));
    }
    xml.push_str("\t</clock_offsets>\n</info>\n");
    xml
}

/// Appends an XDF variable-length integer using the narrowest width that holds `value`.
fn push_varlen(out: &mut Vec<u8>, value: u64) {
    if let Ok(byte) = u8::try_from(value) {
        out.push(1);
        out.push(byte);
    } else if let Ok(word) = u32::try_from(value) {
        out.push(4);
        out.extend_from_slice(&word.to_le_bytes());
    } else {
        out.push(8);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn push_chunk_prefix(out: &mut Vec<u8>, length: u64, chunk_tag: u16) {
    push_varlen(out, length);
    out.extend_from_slice(&chunk_tag.to_le_bytes());
}

/// Formats a system time as an ISO 8601 UTC date and time, e.g. `2024-03-01T12:00:00+0000`.
pub fn utc_datetime(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |duration| duration.as_secs());
    let days = seconds / 86_400;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+0000",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Converts days since 1970-01-01 into a proleptic Gregorian date, counting in 400-year eras
/// that start on 1 March so leap days fall at the end of each year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_correct() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
    }

    #[test]
    fn varlen_uses_narrowest_width() {
        let mut out = Vec::new();
        push_varlen(&mut out, 255);
        push_varlen(&mut out, 256);
        push_varlen(&mut out, 1 << 33);
        assert_eq!(out[..2], [1, 255]);
        assert_eq!(out[2..7], [4, 0, 1, 0, 0]);
        assert_eq!(out[7], 8);
    }
}
