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

pub(super) fn parse_chunks(
    bytes: &[u8],
    tolerate_truncated_tail: bool,
) -> Result<XdfFile, XdfError> {
    let mut file = XdfFile {
        header_xml: None,
        version: None,
        streams: Vec::new(),
        boundary_count: 0,
        unknown_chunk_count: 0,
        truncated_tail_offset: None,
    };
    let magic = bytes.get(..4).unwrap_or(bytes);
    if magic != b"XDF:" {
        return Err(XdfError::at(
            0,
            XdfProblem::BadMagic {
                found: magic.to_vec(),
            },
        ));
    }
    let mut states: Vec<StreamState> = Vec::new();
    let mut index_by_id: HashMap<u32, usize> = HashMap::new();
    let mut cursor = Cursor::new(bytes, 0);
    cursor.position = 4;
    while cursor.remaining() > 0 {
        let chunk_start = cursor.offset();
        let length = match chunk_length(&mut cursor) {
            Ok(length) => length,
            Err(error) if tolerate_truncated_tail && is_truncation(&error) => {
                file.truncated_tail_offset = Some(chunk_start);
                break;
            }
            Err(error) => return Err(error),
        };
        let body_start = cursor.offset();
        // The length is checked against the bytes that are actually left before anything is
        // allocated or sliced, so a corrupted length can never cause a huge allocation.
        let available = cursor.remaining() as u64;
        if length > available {
            if tolerate_truncated_tail {
                file.truncated_tail_offset = Some(chunk_start);
                break;
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
        let mut chunk = Cursor::new(body, body_start);
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
        let chunk_tag = chunk.u16("chunk tag")?;
        match chunk_tag {
            tag::FILE_HEADER => {
                let xml = String::from_utf8_lossy(&body[2..]).into_owned();
                file.version = header::file_header_version(&xml)
                    .map_err(|p| XdfError::at(body_start + 2, p))?;
                file.header_xml = Some(xml);
            }
            tag::STREAM_HEADER => {
                let stream_id = stream_id(&mut chunk, chunk_start, chunk_tag, length)?;
                let xml_start = chunk.offset();
                let xml = String::from_utf8_lossy(&body[6..]).into_owned();
                let header =
                    StreamHeader::from_xml(&xml).map_err(|p| XdfError::at(xml_start, p))?;
                if index_by_id.contains_key(&stream_id) {
                    return Err(XdfError::at(
                        chunk_start,
                        XdfProblem::DuplicateStream { stream_id },
                    ));
                }
                let period_s = if header.nominal_srate_hz > 0.0 {
                    1.0 / header.nominal_srate_hz
                } else {
                    0.0
                };
                index_by_id.insert(stream_id, states.len());
                states.push(StreamState {
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
            }
            tag::SAMPLES => {
                let stream_id = stream_id(&mut chunk, chunk_start, chunk_tag, length)?;
                let state =
                    stream_state(&mut states, &index_by_id, stream_id, "Samples", chunk_start)?;
                read_samples(&mut chunk, state)?;
                if chunk.remaining() != 0 {
                    return Err(XdfError::at(
                        chunk.offset(),
                        XdfProblem::InconsistentChunkSize {
                            declared: length.saturating_sub(6),
                            used: (chunk.position - 6) as u64,
                        },
                    ));
                }
            }
            tag::CLOCK_OFFSET => {
                let stream_id = stream_id(&mut chunk, chunk_start, chunk_tag, length)?;
                if chunk.remaining() != 16 {
                    return Err(XdfError::at(
                        body_start + 6,
                        XdfProblem::InconsistentChunkSize {
                            declared: length.saturating_sub(6),
                            used: 16,
                        },
                    ));
                }
                let collection_time_s = chunk.f64("clock offset time")?;
                let offset_s = chunk.f64("clock offset value")?;
                let state = stream_state(
                    &mut states,
                    &index_by_id,
                    stream_id,
                    "ClockOffset",
                    chunk_start,
                )?;
                state.stream.clock_offsets.push(ClockOffset {
                    collection_time_s,
                    offset_s,
                });
            }
            tag::BOUNDARY => file.boundary_count += 1,
            tag::STREAM_FOOTER => {
                let stream_id = stream_id(&mut chunk, chunk_start, chunk_tag, length)?;
                let xml_start = chunk.offset();
                let xml = String::from_utf8_lossy(&body[6..]).into_owned();
                let footer =
                    StreamFooter::from_xml(&xml).map_err(|p| XdfError::at(xml_start, p))?;
                let state = stream_state(
                    &mut states,
                    &index_by_id,
                    stream_id,
                    "StreamFooter",
                    chunk_start,
                )?;
                state.stream.footer = Some(footer);
            }
            _ => file.unknown_chunk_count += 1,
        }
    }
    file.streams = states.into_iter().map(|state| state.stream).collect();
    Ok(file)
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
