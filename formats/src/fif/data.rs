//! The raw data block: first sample, data buffers and skips (MNE's `Raw._read_raw_file` and
//! `_read_segment_file`).

use super::tree::{
    FIFF_DATA_BUFFER, FIFF_DATA_SKIP, FIFF_FIRST_SAMPLE, FIFFT_COMPLEX_DOUBLE, FIFFT_COMPLEX_FLOAT,
    FIFFT_DAU_PACK16, FIFFT_DOUBLE, FIFFT_FLOAT, FIFFT_INT, FIFFT_SHORT, Node, Tag,
};
use super::{FifChannel, FifDataType, FifError, FifProblem};

/// How many times the stored samples the zeros of data skips may add up to. Skips are counts
/// of buffers in the file, so without a bound a few bytes could ask for gigabytes of zeros.
pub const MAX_SKIP_FACTOR: u64 = 4;

/// The samples of the raw data block and where they sit in time.
pub(super) struct RawData {
    /// Sample number of the first sample (MNE's `first_samp`), after an initial skip.
    pub first_sample: i64,
    /// Physical values per channel.
    pub data: Vec<Vec<f64>>,
    /// Type of the first data buffer.
    pub data_type: FifDataType,
    /// Runs of zeros filled in for skips: (first sample index in `data`, sample count).
    pub skips: Vec<(usize, usize)>,
}

/// A piece of the data in order: a buffer of `samples` samples, or `samples` zeros.
enum Segment {
    Buffer { tag: Tag, samples: usize },
    Zeros { samples: usize },
}

/// The buffers and skips of a raw data block in order, before any sample is decoded.
struct Layout {
    first_sample: i64,
    segments: Vec<Segment>,
    data_type: Option<FifDataType>,
    /// Samples per channel stored in buffers.
    stored: u64,
    /// Zero samples per channel the skips ask for.
    zeros: u64,
}

/// Reads the raw data block `node` for `channels`.
pub(super) fn read_raw_data(
    bytes: &[u8],
    node: &Node,
    channels: &[FifChannel],
) -> Result<RawData, FifError> {
    let layout = layout(bytes, &node.entries, channels.len())?;
    let Some(data_type) = layout.data_type else {
        return Err(FifError::at(
            node.pos as u64,
            FifProblem::Missing {
                what: "data buffers (FIFF_DATA_BUFFER) in the raw data block",
            },
        ));
    };
    let (stored, zeros) = (layout.stored, layout.zeros);
    // Checked before anything is allocated for the samples.
    if zeros > stored.saturating_mul(MAX_SKIP_FACTOR) {
        return Err(FifError::at(
            node.pos as u64,
            FifProblem::SkipTooLong { zeros, stored },
        ));
    }
    let (data, skips) = decode(bytes, &layout.segments, channels, (stored + zeros) as usize);
    Ok(RawData {
        first_sample: layout.first_sample,
        data,
        data_type,
        skips,
    })
}

/// Walks the block's tags as MNE's `_read_raw_file`: sizes each buffer, turns skips into runs
/// of zeros and moves the first sample past an initial skip.
fn layout(bytes: &[u8], entries: &[Tag], nchan: usize) -> Result<Layout, FifError> {
    let (first_sample, mut initial_skip, first) = leading_tags(bytes, entries)?;
    let mut layout = Layout {
        first_sample,
        segments: Vec::new(),
        data_type: None,
        stored: 0,
        zeros: 0,
    };
    let mut pending_skip: i64 = 0;
    for tag in &entries[first..] {
        if tag.kind == FIFF_DATA_SKIP {
            pending_skip = tag.int(bytes)?;
            continue;
        }
        if tag.kind != FIFF_DATA_BUFFER {
            continue;
        }
        let buffer_type = buffer_type(tag)?;
        let samples = buffer_samples(tag, buffer_type, nchan)?;
        layout.data_type.get_or_insert(buffer_type);
        let overflow = || tag.error("follows a data skip that overflows the sample count");
        // As MNE: skips count buffers of the size of the buffer that follows them.
        if initial_skip > 0 {
            layout.first_sample = skipped_samples(initial_skip, samples)
                .and_then(|skipped| layout.first_sample.checked_add(skipped))
                .ok_or_else(overflow)?;
            initial_skip = 0;
        }
        if pending_skip > 0 {
            let skipped = skipped_samples(pending_skip, samples).ok_or_else(overflow)?;
            layout.zeros = layout.zeros.saturating_add(skipped as u64);
            layout.segments.push(Segment::Zeros {
                samples: skipped as usize,
            });
            pending_skip = 0;
        }
        layout.stored += samples as u64;
        layout.segments.push(Segment::Buffer { tag: *tag, samples });
    }
    Ok(layout)
}

/// The optional `FIFF_FIRST_SAMPLE` and initial `FIFF_DATA_SKIP`, which MNE honours only as
/// the first and next tag of the block. Returns them and the index of the first other tag.
fn leading_tags(bytes: &[u8], entries: &[Tag]) -> Result<(i64, i64, usize), FifError> {
    let mut first = 0;
    let mut first_sample = 0;
    let mut initial_skip = 0;
    if let Some(tag) = entries.first().filter(|tag| tag.kind == FIFF_FIRST_SAMPLE) {
        first_sample = tag.int(bytes)?;
        first += 1;
    }
    if let Some(tag) = entries.get(first).filter(|tag| tag.kind == FIFF_DATA_SKIP) {
        initial_skip = tag.int(bytes)?;
        first += 1;
    }
    Ok((first_sample, initial_skip, first))
}

/// `skip` buffers of `samples` samples, when that count is representable.
fn skipped_samples(skip: i64, samples: usize) -> Option<i64> {
    skip.checked_mul(i64::try_from(samples).ok()?)
}

/// The sample type of a data buffer.
fn buffer_type(tag: &Tag) -> Result<FifDataType, FifError> {
    match tag.type_code {
        FIFFT_FLOAT => Ok(FifDataType::Float32),
        FIFFT_DOUBLE => Ok(FifDataType::Float64),
        FIFFT_INT => Ok(FifDataType::Int32),
        FIFFT_SHORT => Ok(FifDataType::Int16),
        FIFFT_DAU_PACK16 => Ok(FifDataType::DauPack16),
        FIFFT_COMPLEX_FLOAT | FIFFT_COMPLEX_DOUBLE => Err(FifError::at(
            tag.pos as u64,
            FifProblem::Unsupported {
                what: "complex-valued data buffers".to_owned(),
            },
        )),
        other => Err(tag.error(format!(
            "has data type {other}; data buffers are float, double, int, short or 16-bit packed"
        ))),
    }
}

/// Samples in a buffer; its size must be a whole number of samples of all channels.
fn buffer_samples(tag: &Tag, data_type: FifDataType, nchan: usize) -> Result<usize, FifError> {
    let sample_bytes = data_type.bytes_per_value() * nchan;
    if !tag.size.is_multiple_of(sample_bytes) {
        return Err(FifError::at(
            tag.pos as u64,
            FifProblem::BufferSizeMismatch {
                size: tag.size as u64,
                nchan,
                bytes_per_value: data_type.bytes_per_value(),
            },
        ));
    }
    Ok(tag.size / sample_bytes)
}

/// Decodes the buffers, sample-major in the file, into physical values per channel:
/// `stored × range × cal`, the product of the two `f32` factors taken in `f64`, as MNE's
/// `info._cals`. Skips become zeros.
fn decode(
    bytes: &[u8],
    segments: &[Segment],
    channels: &[FifChannel],
    total: usize,
) -> (Vec<Vec<f64>>, Vec<(usize, usize)>) {
    let nchan = channels.len();
    let cals: Vec<f64> = channels
        .iter()
        .map(|channel| f64::from(channel.range) * f64::from(channel.cal))
        .collect();
    let mut data: Vec<Vec<f64>> = (0..nchan).map(|_| Vec::with_capacity(total)).collect();
    let mut skips = Vec::new();
    let mut position = 0;
    for segment in segments {
        match segment {
            Segment::Zeros { samples } => {
                skips.push((position, *samples));
                for channel in &mut data {
                    channel.resize(channel.len() + samples, 0.0);
                }
                position += samples;
            }
            Segment::Buffer { tag, samples } => {
                let data_type = buffer_type(tag).unwrap_or(FifDataType::Float32);
                let width = data_type.bytes_per_value();
                let values = tag.data(bytes).chunks_exact(width);
                for (index, value) in values.enumerate() {
                    let channel = index % nchan;
                    data[channel].push(data_type.decode(value) * cals[channel]);
                }
                position += samples;
            }
        }
    }
    (data, skips)
}
