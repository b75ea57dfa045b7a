//! MNE annotations stored in a raw file (`FIFFB_MNE_ANNOTATIONS`) and MNE event lists
//! (`FIFFB_MNE_EVENTS`, the `-eve.fif` files).

use super::tree::{
    FIFF_COMMENT, FIFF_MEAS_DATE, FIFF_MNE_BASELINE_MAX, FIFF_MNE_BASELINE_MIN,
    FIFF_MNE_EVENT_LIST, FIFFB_MNE_ANNOTATIONS, FIFFB_MNE_EVENTS, FIFFT_FLOAT, FIFFT_INT, Tag,
    Tree,
};
use super::{FifAnnotation, FifError, FifProblem, MeasDate, names_from_list};

/// The annotations block as stored: onsets in seconds from `orig_time` (or, without it, from
/// the first sample), durations, descriptions.
pub(super) struct StoredAnnotations {
    pub onsets_s: Vec<f64>,
    pub durations_s: Vec<f64>,
    pub descriptions: Vec<String>,
    pub orig_time: Option<MeasDate>,
}

/// Reads the first annotations block of the file, if any (MNE's `_read_annotations_fif`).
pub(super) fn read_annotations(
    bytes: &[u8],
    tree: &Tree,
) -> Result<Option<StoredAnnotations>, FifError> {
    let Some(&block) = tree.find(0, FIFFB_MNE_ANNOTATIONS).first() else {
        return Ok(None);
    };
    let node = &tree.nodes[block];
    let mut onsets: Option<&Tag> = None;
    let mut ends: Option<&Tag> = None;
    let mut descriptions = Vec::new();
    let mut orig_time = None;
    for tag in &node.entries {
        match tag.kind {
            FIFF_MNE_BASELINE_MIN => onsets = Some(tag),
            FIFF_MNE_BASELINE_MAX => ends = Some(tag),
            FIFF_COMMENT => descriptions = names_from_list(&tag.string(bytes)?),
            FIFF_MEAS_DATE => orig_time = annotation_orig_time(&tag.numbers(bytes)?),
            _ => {}
        }
    }
    let onsets_s = match onsets {
        Some(tag) => tag.numbers(bytes)?,
        None => Vec::new(),
    };
    let durations_s = match ends {
        Some(tag) => durations(bytes, tag, onsets, &onsets_s)?,
        None => Vec::new(),
    };
    if onsets_s.len() != durations_s.len() || onsets_s.len() != descriptions.len() {
        return Err(FifError::at(
            node.pos as u64,
            FifProblem::BadAnnotations {
                onsets: onsets_s.len(),
                ends: durations_s.len(),
                descriptions: descriptions.len(),
            },
        ));
    }
    Ok(Some(StoredAnnotations {
        onsets_s,
        durations_s,
        descriptions,
        orig_time,
    }))
}

/// Durations are stored as ends (`onset + duration`); MNE subtracts the onsets in the stored
/// precision (single for MNE-written files), and so does this.
fn durations(
    bytes: &[u8],
    ends: &Tag,
    onsets: Option<&Tag>,
    onsets_s: &[f64],
) -> Result<Vec<f64>, FifError> {
    let ends_s = ends.numbers(bytes)?;
    if ends_s.len() != onsets_s.len() {
        // Reported with the other counts by the caller.
        return Ok(ends_s);
    }
    let single =
        ends.type_code == FIFFT_FLOAT && onsets.is_some_and(|t| t.type_code == FIFFT_FLOAT);
    Ok(ends_s
        .iter()
        .zip(onsets_s)
        .map(|(&end, &onset)| {
            if single {
                // Both values came from f32, so these casts are exact.
                f64::from(end as f32 - onset as f32)
            } else {
                end - onset
            }
        })
        .collect())
}

/// The annotations' `orig_time`: `(seconds, microseconds)` as doubles (each truncated to an
/// integer, as MNE's `_stamp_to_dt`), or one number of seconds in older files.
fn annotation_orig_time(values: &[f64]) -> Option<MeasDate> {
    match values {
        [seconds] => {
            let whole = seconds.trunc();
            Some(MeasDate {
                seconds: whole as i64,
                microseconds: ((seconds - whole) * 1e6).round() as i64,
            })
        }
        [seconds, microseconds, ..] => Some(MeasDate {
            seconds: *seconds as i64,
            microseconds: *microseconds as i64,
        }),
        [] => None,
    }
}

/// Converts stored onsets to seconds from the first sample and keeps what overlaps the data,
/// as MNE's `set_annotations` (crop to the data, clip what extends beyond):
/// * with a measurement date and an `orig_time`, onsets count from `orig_time`, and the first
///   sample is `first_sample / rate` after the measurement date;
/// * with a measurement date and no `orig_time`, onsets already count from the first sample;
/// * without a measurement date, onsets count from sample 0, that is `first_sample_tag / rate`
///   before the first sample (the `FIFF_FIRST_SAMPLE` value, before any initial skip; an
///   `orig_time` is then ignored, where MNE refuses the file).
pub(super) fn relative_annotations(
    stored: StoredAnnotations,
    meas_date: Option<MeasDate>,
    first_sample: i64,
    first_sample_tag: i64,
    sample_rate_hz: f64,
    data_duration_s: f64,
) -> Vec<FifAnnotation> {
    let shift_s = match (meas_date, stored.orig_time) {
        (Some(meas), Some(orig)) => orig.seconds_since(meas) - first_sample as f64 / sample_rate_hz,
        (Some(_), None) => 0.0,
        (None, _) => -(first_sample_tag as f64) / sample_rate_hz,
    };
    let mut annotations = Vec::with_capacity(stored.onsets_s.len());
    for ((onset, duration), label) in stored
        .onsets_s
        .into_iter()
        .zip(stored.durations_s)
        .zip(stored.descriptions)
    {
        let onset_s = onset + shift_s;
        let end_s = onset_s + duration;
        if onset_s > data_duration_s || end_s < 0.0 {
            continue;
        }
        let clipped_onset_s = onset_s.max(0.0);
        let clipped_end_s = end_s.min(data_duration_s);
        let duration_s = if clipped_onset_s != onset_s || clipped_end_s != end_s {
            clipped_end_s - clipped_onset_s
        } else {
            duration
        };
        annotations.push(FifAnnotation {
            onset_s: clipped_onset_s,
            duration_s,
            description: label,
        });
    }
    annotations
}

/// Reads the event list of an MNE events file: `(sample, previous value, code)` triplets.
pub(super) fn read_event_list(bytes: &[u8], tree: &Tree) -> Result<Vec<(u64, i32, i32)>, FifError> {
    let Some(&block) = tree.find(0, FIFFB_MNE_EVENTS).first() else {
        return Err(FifError::at(
            0,
            FifProblem::Missing {
                what: "event block (FIFFB_MNE_EVENTS); this is not an MNE events file",
            },
        ));
    };
    let node = &tree.nodes[block];
    let Some(tag) = node.find(FIFF_MNE_EVENT_LIST) else {
        return Err(FifError::at(
            node.pos as u64,
            FifProblem::Missing {
                what: "event list (FIFF_MNE_EVENT_LIST) in the event block",
            },
        ));
    };
    if tag.type_code != FIFFT_INT {
        return Err(tag.error(format!("has data type {}, not int32", tag.type_code)));
    }
    let values = tag.numbers(bytes)?;
    if !values.len().is_multiple_of(3) {
        return Err(FifError::at(
            tag.pos as u64,
            FifProblem::BadEventList {
                values: values.len(),
            },
        ));
    }
    values
        .chunks_exact(3)
        .enumerate()
        .map(|(index, event)| {
            // The values were read from int32, so these casts are exact.
            let sample = u64::try_from(event[0] as i64).map_err(|_| {
                FifError::at(
                    tag.pos as u64,
                    FifProblem::NegativeEventSample {
                        index,
                        sample: event[0] as i64,
                    },
                )
            })?;
            Ok((sample, event[1] as i32, event[2] as i32))
        })
        .collect()
}
