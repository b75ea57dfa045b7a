//! Chunk-level XDF parsing: turns bytes into streams with raw time stamps.

use std::collections::HashMap;

use super::header::{self, StreamFooter, StreamHeader};
use super::{ClockOffset, XdfFile, XdfStream, XdfValues, tag};
use crate::error::{XdfError, XdfProblem};

/// A bounds-checked reader over a slice that remembers where the slice sits in the file, so
/// every error can name an absolute offset.
struct Cursor<'a> {
    data: &'a [u8],
    position: usize,
    /// File offset of `data[0]`.
    base: u64,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], base: u64) -> Self {
        Self {
            data,
            position: 0,
            base,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.position as u64
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.position
    }

    fn take(&mut self, count: usize, what: &'static str) -> Result<&'a [u8], XdfError> {
        let available = self.remaining();
        let Some(bytes) = self
            .data
            .get(self.position..)
            .and_then(|rest| rest.get(..count))
        else {
            return Err(XdfError::at(
                self.offset(),
                XdfProblem::Truncated {
                    what,
                    needed: count as u64,
                    available: available as u64,
                },
            ));
        };
        self.position += count;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], XdfError> {
        let bytes = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, XdfError> {
        let [byte] = self.array::<1>(what)?;
        Ok(byte)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, XdfError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, XdfError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn f64(&mut self, what: &'static str) -> Result<f64, XdfError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// Reads an XDF variable-length integer: one byte giving the width (1, 4 or 8), then the
    /// little-endian value.
    fn varlen(&mut self, what: &'static str) -> Result<u64, XdfError> {
        let start = self.offset();
        match self.u8(what)? {
            1 => Ok(u64::from(self.u8(what)?)),
            4 => Ok(u64::from(self.u32(what)?)),
            8 => Ok(u64::from_le_bytes(self.array(what)?)),
            width => Err(XdfError::at(start, XdfProblem::BadVarLenWidth { width })),
        }
    }
}

/// Per-stream state while chunks are being read.
struct StreamState {
    stream: XdfStream,
    /// Time stamp of the previous sample, for samples that omit theirs.
    last_timestamp_s: f64,
    /// Nominal sample period, for samples that omit their time stamp.
    period_s: f64,
}

/// Reads the chunks of an XDF file into streams with raw time stamps. With
/// `tolerate_truncated_tail`, an incomplete final chunk is dropped and its offset recorded
/// instead of failing the file.
pub(super) fn parse_chunks(
    bytes: &[u8],
    tolerate_truncated_tail: bool,
) -> Result<XdfFile, XdfError> {
    let magic = bytes.get(..4).unwrap_or(bytes);
    if magic != b"XDF:" {
        return Err(XdfError::at(
            0,
            XdfProblem::BadMagic {
                found: magic.to_vec(),
            },
        ));
    }
    let mut reader = ChunkReader::new();
    let mut cursor = Cursor::new(bytes, 0);
    cursor.position = 4;
    while cursor.remaining() > 0 {
        let Some(chunk) = reader.next_chunk(&mut cursor, tolerate_truncated_tail)? else {
            break;
        };
        reader.read_chunk(chunk)?;
    }
    Ok(reader.finish())
}

/// One chunk whose length has been checked against the file, with its tag read.
struct Chunk<'a> {
    /// File offset of the chunk's length field.
    start: u64,
    /// Declared length of tag and content.
    length: u64,
    /// Tag and content.
    body: &'a [u8],
    /// File offset of `body[0]`.
    body_start: u64,
    tag: u16,
    /// Reader over `body`, positioned after the tag.
    cursor: Cursor<'a>,
}

impl Chunk<'_> {
    /// Reads the stream id that follows the tag of stream-specific chunks.
    fn stream_id(&mut self) -> Result<u32, XdfError> {
        stream_id(&mut self.cursor, self.start, self.tag, self.length)
    }
}

/// The file being assembled while its chunks are read.
struct ChunkReader {
    file: XdfFile,
    /// Streams in the order their headers appeared.
    states: Vec<StreamState>,
    /// Position in `states` of each stream id.
    index_by_id: HashMap<u32, usize>,
}

impl ChunkReader {
    /// A reader that has seen no chunk yet.
    fn new() -> Self {
        ChunkReader {
            file: XdfFile {
                header_xml: None,
                version: None,
                streams: Vec::new(),
                boundary_count: 0,
                unknown_chunk_count: 0,
                truncated_tail_offset: None,
            },
            states: Vec::new(),
            index_by_id: HashMap::new(),
        }
    }

    /// The file with every stream read so far.
    fn finish(mut self) -> XdfFile {
        self.file.streams = self.states.into_iter().map(|state| state.stream).collect();
        self.file
    }

    /// Cuts the next chunk off `cursor`. `None` when the file ends in an incomplete chunk
    /// that `tolerate_truncated_tail` allows to drop (its offset is recorded).
    fn next_chunk<'a>(
        &mut self,
        cursor: &mut Cursor<'a>,
        tolerate_truncated_tail: bool,
    ) -> Result<Option<Chunk<'a>>, XdfError> {
        let chunk_start = cursor.offset();
        let length = match chunk_length(cursor) {
            Ok(length) => length,
            Err(error) if tolerate_truncated_tail && is_truncation(&error) => {
                self.file.truncated_tail_offset = Some(chunk_start);
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let body_start = cursor.offset();
        // The length is checked against the bytes that are actually left before anything is
        // allocated or sliced, so a corrupted length can never cause a huge allocation.
        let available = cursor.remaining() as u64;
        if length > available {
            if tolerate_truncated_tail {
                self.file.truncated_tail_offset = Some(chunk_start);
                return Ok(None);
            }
            return Err(XdfError::at(
                chunk_start,
                XdfProblem::Truncated {
                    what: "chunk",
                    needed: length,
                    available,
                },
            ));
        }
        // `length <= available`, which is a usize, so the conversion cannot fail.
        let body = cursor.take(usize::try_from(length).unwrap_or(usize::MAX), "chunk")?;
        let mut chunk_cursor = Cursor::new(body, body_start);
        if body.len() < 2 {
            return Err(XdfError::at(
                chunk_start,
                XdfProblem::ChunkTooShort {
                    tag: 0,
                    length,
                    minimum: 2,
                },
            ));
        }
        let tag = chunk_cursor.u16("chunk tag")?;
        Ok(Some(Chunk {
            start: chunk_start,
            length,
            body,
            body_start,
            tag,
            cursor: chunk_cursor,
        }))
    }

    /// Applies one chunk to the file; unknown tags are counted and skipped.
    fn read_chunk(&mut self, mut chunk: Chunk<'_>) -> Result<(), XdfError> {
        match chunk.tag {
            tag::FILE_HEADER => self.file_header(&chunk)?,
            tag::STREAM_HEADER => self.stream_header(&mut chunk)?,
            tag::SAMPLES => self.samples(&mut chunk)?,
            tag::CLOCK_OFFSET => self.clock_offset(&mut chunk)?,
            tag::BOUNDARY => self.file.boundary_count += 1,
            tag::STREAM_FOOTER => self.stream_footer(&mut chunk)?,
            _ => self.file.unknown_chunk_count += 1,
        }
        Ok(())
    }

    /// A FileHeader chunk: the file's XML header and its version.
    fn file_header(&mut self, chunk: &Chunk<'_>) -> Result<(), XdfError> {
        let xml = String::from_utf8_lossy(&chunk.body[2..]).into_owned();
        self.file.version =
            header::file_header_version(&xml).map_err(|p| XdfError::at(chunk.body_start + 2, p))?;
        self.file.header_xml = Some(xml);
        Ok(())
    }

    /// A StreamHeader chunk: a new stream, whose id must not have been seen before.
    fn stream_header(&mut self, chunk: &mut Chunk<'_>) -> Result<(), XdfError> {
        let stream_id = chunk.stream_id()?;
        let xml_start = chunk.cursor.offset();
        let xml = String::from_utf8_lossy(&chunk.body[6..]).into_owned();
        let header = StreamHeader::from_xml(&xml).map_err(|p| XdfError::at(xml_start, p))?;
        if self.index_by_id.contains_key(&stream_id) {
            return Err(XdfError::at(
                chunk.start,
                XdfProblem::DuplicateStream { stream_id },
            ));
        }
        let period_s = if header.nominal_srate_hz > 0.0 {
            1.0 / header.nominal_srate_hz
        } else {
            0.0
        };
        self.index_by_id.insert(stream_id, self.states.len());
        self.states.push(StreamState {
            stream: XdfStream {
                id: stream_id,
                values: XdfValues::empty(header.channel_format),
                header,
                footer: None,
                timestamps_s: Vec::new(),
                clock_offsets: Vec::new(),
                clock_segments: Vec::new(),
                segments: Vec::new(),
                effective_srate_hz: 0.0,
            },
            last_timestamp_s: 0.0,
            period_s,
        });
        Ok(())
    }

    /// A Samples chunk: appended to its stream; the samples must fill the chunk exactly.
    fn samples(&mut self, chunk: &mut Chunk<'_>) -> Result<(), XdfError> {
        let stream_id = chunk.stream_id()?;
        let state = stream_state(
            &mut self.states,
            &self.index_by_id,
            stream_id,
            "Samples",
            chunk.start,
        )?;
        read_samples(&mut chunk.cursor, state)?;
        if chunk.cursor.remaining() != 0 {
            return Err(XdfError::at(
                chunk.cursor.offset(),
                XdfProblem::InconsistentChunkSize {
                    declared: chunk.length.saturating_sub(6),
                    used: (chunk.cursor.position - 6) as u64,
                },
            ));
        }
        Ok(())
    }

    /// A ClockOffset chunk: one (collection time, offset) pair for its stream.
    fn clock_offset(&mut self, chunk: &mut Chunk<'_>) -> Result<(), XdfError> {
        let stream_id = chunk.stream_id()?;
        if chunk.cursor.remaining() != 16 {
            return Err(XdfError::at(
                chunk.body_start + 6,
                XdfProblem::InconsistentChunkSize {
                    declared: chunk.length.saturating_sub(6),
                    used: 16,
                },
            ));
        }
        let collection_time_s = chunk.cursor.f64("clock offset time")?;
        let offset_s = chunk.cursor.f64("clock offset value")?;
        let state = stream_state(
            &mut self.states,
            &self.index_by_id,
            stream_id,
            "ClockOffset",
            chunk.start,
        )?;
        state.stream.clock_offsets.push(ClockOffset {
            collection_time_s,
            offset_s,
        });
        Ok(())
    }

    /// A StreamFooter chunk: the footer XML of its stream.
    fn stream_footer(&mut self, chunk: &mut Chunk<'_>) -> Result<(), XdfError> {
        let stream_id = chunk.stream_id()?;
        let xml_start = chunk.cursor.offset();
        let xml = String::from_utf8_lossy(&chunk.body[6..]).into_owned();
        let footer = StreamFooter::from_xml(&xml).map_err(|p| XdfError::at(xml_start, p))?;
        let state = stream_state(
            &mut self.states,
            &self.index_by_id,
            stream_id,
            "StreamFooter",
            chunk.start,
        )?;
        state.stream.footer = Some(footer);
        Ok(())
    }
}

fn is_truncation(error: &XdfError) -> bool {
    matches!(error.problem(), Some(XdfProblem::Truncated { .. }))
}

fn chunk_length(cursor: &mut Cursor<'_>) -> Result<u64, XdfError> {
    cursor.varlen("chunk length")
}

fn stream_id(
    chunk: &mut Cursor<'_>,
    chunk_start: u64,
    chunk_tag: u16,
    length: u64,
) -> Result<u32, XdfError> {
    if chunk.remaining() < 4 {
        return Err(XdfError::at(
            chunk_start,
            XdfProblem::ChunkTooShort {
                tag: chunk_tag,
                length,
                minimum: 6,
            },
        ));
    }
    chunk.u32("stream id")
}

fn stream_state<'s>(
    states: &'s mut [StreamState],
    index_by_id: &HashMap<u32, usize>,
    stream_id: u32,
    chunk: &'static str,
    chunk_start: u64,
) -> Result<&'s mut StreamState, XdfError> {
    index_by_id
        .get(&stream_id)
        .and_then(|&index| states.get_mut(index))
        .ok_or_else(|| XdfError::at(chunk_start, XdfProblem::UnknownStream { chunk, stream_id }))
}

fn read_samples(chunk: &mut Cursor<'_>, state: &mut StreamState) -> Result<(), XdfError> {
    let count_offset = chunk.offset();
    let count = chunk.varlen("sample count")?;
    let channels = state.stream.header.channel_count as usize;
    let format = state.stream.header.channel_format;
    // The smallest encoding of one sample: a zero timestamp-width byte plus, per channel,
    // either the fixed value size or a one-byte string length prefix of width 1 plus its value.
    let min_sample_bytes =
        1 + channels as u64 * format.value_size_bytes().map_or(2, |size| size as u64);
    let available = chunk.remaining() as u64;
    let max_possible = available / min_sample_bytes;
    if count > max_possible {
        return Err(XdfError::at(
            count_offset,
            XdfProblem::SampleCountTooLarge {
                count,
                available,
                max_possible,
            },
        ));
    }
    // `count <= max_possible <= available`, which fits in usize.
    let count = usize::try_from(count).unwrap_or(0);
    let stream = &mut state.stream;
    stream.timestamps_s.reserve(count);
    for _ in 0..count {
        let width_offset = chunk.offset();
        let timestamp_s = match chunk.u8("timestamp width")? {
            0 => state.last_timestamp_s + state.period_s,
            8 => chunk.f64("timestamp")?,
            width => {
                return Err(XdfError::at(
                    width_offset,
                    XdfProblem::BadTimestampWidth { width },
                ));
            }
        };
        state.last_timestamp_s = timestamp_s;
        stream.timestamps_s.push(timestamp_s);
        read_values(chunk, &mut stream.values, channels)?;
    }
    Ok(())
}

/// Appends the values of one sample.
fn read_values(
    chunk: &mut Cursor<'_>,
    values: &mut XdfValues,
    channels: usize,
) -> Result<(), XdfError> {
    macro_rules! numeric {
        ($vec:expr, $ty:ty) => {{
            const SIZE: usize = std::mem::size_of::<$ty>();
            let bytes = chunk.take(channels.saturating_mul(SIZE), "sample values")?;
            $vec.extend(bytes.chunks_exact(SIZE).map(|raw| {
                let mut array = [0u8; SIZE];
                array.copy_from_slice(raw);
                <$ty>::from_le_bytes(array)
            }));
        }};
    }
    match values {
        XdfValues::Int8(vec) => numeric!(vec, i8),
        XdfValues::Int16(vec) => numeric!(vec, i16),
        XdfValues::Int32(vec) => numeric!(vec, i32),
        XdfValues::Int64(vec) => numeric!(vec, i64),
        XdfValues::Float32(vec) => numeric!(vec, f32),
        XdfValues::Double64(vec) => numeric!(vec, f64),
        XdfValues::String(vec) => {
            for _ in 0..channels {
                let length = chunk.varlen("string length")?;
                let available = chunk.remaining();
                let Ok(length) = usize::try_from(length) else {
                    return Err(XdfError::at(
                        chunk.offset(),
                        XdfProblem::Truncated {
                            what: "string value",
                            needed: length,
                            available: available as u64,
                        },
                    ));
                };
                let bytes = chunk.take(length, "string value")?;
                vec.push(String::from_utf8_lossy(bytes).into_owned());
            }
        }
    }
    Ok(())
}
