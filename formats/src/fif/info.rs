//! The measurement info block: channel count, sampling rate, channel definitions, line
//! frequency, filters, measurement date, bad channels (MNE's `read_meas_info`).

use super::tree::{
    FIFF_BLOCK_ID, FIFF_CH_CAL, FIFF_CH_COIL_TYPE, FIFF_CH_DACQ_NAME, FIFF_CH_INFO, FIFF_CH_KIND,
    FIFF_CH_LOGICAL_NO, FIFF_CH_RANGE, FIFF_CH_SCAN_NO, FIFF_CH_UNIT, FIFF_CH_UNIT_MUL,
    FIFF_COMMENT, FIFF_EXPERIMENTER, FIFF_FILE_ID, FIFF_HIGHPASS, FIFF_LINE_FREQ, FIFF_LOWPASS,
    FIFF_MEAS_DATE, FIFF_MNE_CH_NAME_LIST, FIFF_NCHAN, FIFF_PARENT_BLOCK_ID, FIFF_SFREQ,
    FIFFB_CH_INFO, FIFFB_MEAS_INFO, FIFFB_MNE_BAD_CHANNELS, FIFFT_CH_INFO_STRUCT, FIFFT_ID_STRUCT,
    Tag, Tree, be_f32, be_i32,
};
use crate::recording::ChannelKind;

use super::{FifChannel, FifError, FifProblem, MeasDate, names_from_list};

/// Bytes of a channel info structure.
const CH_INFO_BYTES: usize = 96;

/// What the measurement info block says.
pub(super) struct MeasInfo {
    pub channels: Vec<FifChannel>,
    pub sample_rate_hz: f64,
    pub line_freq_hz: Option<f64>,
    pub lowpass_hz: Option<f64>,
    pub highpass_hz: Option<f64>,
    pub meas_date: Option<MeasDate>,
    pub experimenter: Option<String>,
    pub description: Option<String>,
    pub bad_channels: Vec<String>,
}

/// Fields of the info block collected in one pass over its tags.
#[derive(Default)]
struct Collected {
    nchan: Option<(i64, usize)>,
    sample_rate_hz: Option<(f64, usize)>,
    channels: Vec<FifChannel>,
    line_freq_hz: Option<f64>,
    lowpass_hz: Option<f64>,
    highpass_hz: Option<f64>,
    meas_date: Option<Vec<f64>>,
    experimenter: Option<String>,
    description: Option<String>,
}

/// Reads the measurement info block of the measurement block `meas`.
pub(super) fn read_meas_info(bytes: &[u8], tree: &Tree, meas: usize) -> Result<MeasInfo, FifError> {
    let infos = tree.find(meas, FIFFB_MEAS_INFO);
    let info = match infos.as_slice() {
        [] => {
            return Err(missing(
                tree.nodes[meas].pos,
                "measurement info block (FIFFB_MEAS_INFO)",
            ));
        }
        [info] => *info,
        [_, second, ..] => {
            return Err(FifError::at(
                tree.nodes[*second].pos as u64,
                FifProblem::Unsupported {
                    what: "more than one measurement info block".to_owned(),
                },
            ));
        }
    };
    let node = &tree.nodes[info];
    let mut collected = collect(bytes, &node.entries)?;
    apply_extended_info(bytes, tree, info, &mut collected.channels)?;
    let (sample_rate_hz, channels) = check_required(
        node.pos,
        collected.nchan,
        collected.sample_rate_hz,
        collected.channels,
    )?;
    let meas_date = match collected.meas_date {
        Some(values) => meas_date_from(&values),
        None => measurement_id_date(bytes, tree, meas, info)?,
    };
    Ok(MeasInfo {
        channels,
        sample_rate_hz,
        line_freq_hz: collected.line_freq_hz,
        lowpass_hz: collected.lowpass_hz,
        highpass_hz: collected.highpass_hz,
        meas_date,
        experimenter: collected.experimenter,
        description: collected.description,
        bad_channels: bad_channels(bytes, tree, info)?,
    })
}

fn missing(pos: usize, what: &'static str) -> FifError {
    FifError::at(pos as u64, FifProblem::Missing { what })
}

/// One pass over the info block's own tags, as MNE's loop in `read_meas_info`.
fn collect(bytes: &[u8], entries: &[Tag]) -> Result<Collected, FifError> {
    let mut collected = Collected::default();
    for tag in entries {
        match tag.kind {
            FIFF_NCHAN => collected.nchan = Some((tag.int(bytes)?, tag.pos)),
            FIFF_SFREQ => collected.sample_rate_hz = Some((tag.number(bytes)?, tag.pos)),
            FIFF_CH_INFO => collected.channels.push(channel_info(bytes, tag)?),
            // MNE keeps filters only when they are not NaN.
            FIFF_LOWPASS => collected.lowpass_hz = Some(tag.number(bytes)?).filter(|v| !v.is_nan()),
            FIFF_HIGHPASS => {
                collected.highpass_hz = Some(tag.number(bytes)?).filter(|v| !v.is_nan());
            }
            FIFF_LINE_FREQ => collected.line_freq_hz = Some(tag.number(bytes)?),
            FIFF_MEAS_DATE => collected.meas_date = Some(tag.numbers(bytes)?),
            FIFF_EXPERIMENTER => collected.experimenter = Some(tag.string(bytes)?),
            FIFF_COMMENT => collected.description = Some(tag.string(bytes)?),
            _ => {}
        }
    }
    Ok(collected)
}

/// Checks what MNE requires: a channel count, a sampling rate and one channel definition per
/// channel. The rate must also be positive and finite to place samples in time.
fn check_required(
    info_pos: usize,
    nchan: Option<(i64, usize)>,
    sample_rate_hz: Option<(f64, usize)>,
    channels: Vec<FifChannel>,
) -> Result<(f64, Vec<FifChannel>), FifError> {
    let Some((nchan, nchan_pos)) = nchan else {
        return Err(missing(info_pos, "channel count (FIFF_NCHAN)"));
    };
    let Some((rate, rate_pos)) = sample_rate_hz else {
        return Err(missing(info_pos, "sampling rate (FIFF_SFREQ)"));
    };
    if !(rate.is_finite() && rate > 0.0) {
        return Err(FifError::at(
            rate_pos as u64,
            FifProblem::BadSampleRate { value: rate },
        ));
    }
    if channels.is_empty() {
        return Err(missing(info_pos, "channel definitions (FIFF_CH_INFO)"));
    }
    if usize::try_from(nchan).ok() != Some(channels.len()) {
        return Err(FifError::at(
            nchan_pos as u64,
            FifProblem::ChannelCountMismatch {
                nchan,
                definitions: channels.len(),
            },
        ));
    }
    Ok((rate, channels))
}

/// Decodes a channel info structure (`fiffChInfoRec`, 96 bytes).
fn channel_info(bytes: &[u8], tag: &Tag) -> Result<FifChannel, FifError> {
    let data = tag.data(bytes);
    if tag.type_code != FIFFT_CH_INFO_STRUCT || data.len() < CH_INFO_BYTES {
        return Err(tag.error(format!(
            "has type {} and {} bytes; a channel definition is type {FIFFT_CH_INFO_STRUCT} \
             with {CH_INFO_BYTES} bytes",
            tag.type_code,
            data.len()
        )));
    }
    let mut location = [0f32; 12];
    for (index, value) in location.iter_mut().enumerate() {
        *value = be_f32(data, 24 + 4 * index);
    }
    let name_field = &data[80..96];
    let name_end = name_field.iter().position(|&byte| byte == 0).unwrap_or(16);
    let mut channel = FifChannel {
        name: String::from_utf8_lossy(&name_field[..name_end]).into_owned(),
        scan_no: be_i32(data, 0),
        logical_no: be_i32(data, 4),
        kind_code: be_i32(data, 8),
        range: be_f32(data, 12),
        cal: be_f32(data, 16),
        coil_type: be_i32(data, 20),
        location,
        unit_code: be_i32(data, 72),
        unit_mul: be_i32(data, 76),
        kind: ChannelKind::Misc,
        unit: String::new(),
    };
    channel.refresh_derived();
    Ok(channel)
}

/// Applies the extended channel info blocks (`FIFFB_CH_INFO`, one per channel in channel
/// order), which MNE writes for names longer than 15 characters.
fn apply_extended_info(
    bytes: &[u8],
    tree: &Tree,
    info: usize,
    channels: &mut [FifChannel],
) -> Result<(), FifError> {
    let blocks = tree.find(info, FIFFB_CH_INFO);
    if blocks.is_empty() {
        return Ok(());
    }
    if blocks.len() != channels.len() {
        return Err(FifError::at(
            tree.nodes[blocks[0]].pos as u64,
            FifProblem::Unsupported {
                what: format!(
                    "{} extended channel info blocks for {} channels",
                    blocks.len(),
                    channels.len()
                ),
            },
        ));
    }
    for (block, channel) in blocks.into_iter().zip(channels.iter_mut()) {
        for tag in &tree.nodes[block].entries {
            // Narrowing casts: these are i32 and f32 fields of the channel structure.
            match tag.kind {
                FIFF_CH_DACQ_NAME => channel.name = tag.string(bytes)?,
                FIFF_CH_SCAN_NO => channel.scan_no = tag.int(bytes)? as i32,
                FIFF_CH_LOGICAL_NO => channel.logical_no = tag.int(bytes)? as i32,
                FIFF_CH_KIND => channel.kind_code = tag.int(bytes)? as i32,
                FIFF_CH_RANGE => channel.range = tag.number(bytes)? as f32,
                FIFF_CH_CAL => channel.cal = tag.number(bytes)? as f32,
                FIFF_CH_COIL_TYPE => channel.coil_type = tag.int(bytes)? as i32,
                FIFF_CH_UNIT => channel.unit_code = tag.int(bytes)? as i32,
                FIFF_CH_UNIT_MUL => channel.unit_mul = tag.int(bytes)? as i32,
                _ => {}
            }
        }
        channel.refresh_derived();
    }
    Ok(())
}

/// `FIFF_MEAS_DATE`: seconds and microseconds since 1970 UTC (one value in old files).
/// `(0, 2^31 - 1)` means "no date", as in MNE.
fn meas_date_from(values: &[f64]) -> Option<MeasDate> {
    let seconds = *values.first()? as i64;
    let microseconds = values.get(1).map_or(0, |&value| value as i64);
    (!(seconds == 0 && microseconds == i64::from(i32::MAX))).then_some(MeasDate {
        seconds,
        microseconds,
    })
}

/// Without `FIFF_MEAS_DATE`, MNE dates the measurement by its id: the info block's parent id,
/// else its own id, else the measurement block's id or parent id, else the file id.
fn measurement_id_date(
    bytes: &[u8],
    tree: &Tree,
    meas: usize,
    info: usize,
) -> Result<Option<MeasDate>, FifError> {
    let candidates = [
        (info, FIFF_PARENT_BLOCK_ID),
        (info, FIFF_BLOCK_ID),
        (meas, FIFF_BLOCK_ID),
        (meas, FIFF_PARENT_BLOCK_ID),
        (0, FIFF_FILE_ID),
    ];
    for (node, kind) in candidates {
        if let Some(tag) = tree.nodes[node].find_last(kind) {
            let data = tag.data(bytes);
            if tag.type_code != FIFFT_ID_STRUCT || data.len() < 20 {
                return Err(tag.error("is not a 20-byte id structure"));
            }
            let values = [f64::from(be_i32(data, 12)), f64::from(be_i32(data, 16))];
            return Ok(meas_date_from(&values));
        }
    }
    Ok(None)
}

/// The bad channel list (`FIFFB_MNE_BAD_CHANNELS` / `FIFF_MNE_CH_NAME_LIST`).
fn bad_channels(bytes: &[u8], tree: &Tree, info: usize) -> Result<Vec<String>, FifError> {
    for block in tree.find(info, FIFFB_MNE_BAD_CHANNELS) {
        if let Some(tag) = tree.nodes[block].find(FIFF_MNE_CH_NAME_LIST) {
            return Ok(names_from_list(&tag.string(bytes)?));
        }
    }
    Ok(Vec::new())
}
