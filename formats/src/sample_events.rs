//! Event tables indexed by sample: a header `sample,code`, then one `index,code` per line, as
//! shipped next to the NPY arrays of the SSVEP exoskeleton data set (OpenViBE stimulation
//! codes at 256 Hz).

use std::path::Path;

use crate::error::{TextError, TextProblem};
use crate::recording::Annotation;
use crate::text;

/// Channel order of the SSVEP exoskeleton recordings (g.Mobilab+, 8 channels, 256 Hz).
pub const SSVEP_EXO_CHANNELS: [&str; 8] = ["Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4"];

/// Sampling rate of the SSVEP exoskeleton recordings.
pub const SSVEP_EXO_SAMPLE_RATE_HZ: f64 = 256.0;

/// One event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleEvent {
    /// 0-based sample index.
    pub sample_index: u64,
    /// Event code.
    pub code: i64,
}

/// Parses `sample,code` CSV bytes. Blank lines are skipped.
pub fn parse(bytes: &[u8]) -> Result<Vec<SampleEvent>, TextError> {
    let (header, names, lines) = text::csv_header(bytes)?;
    if names != ["sample", "code"] {
        return Err(header.error(TextProblem::BadHeader {
            found: header.text.to_owned(),
            expected: "sample,code",
        }));
    }
    let mut events = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.text.split(',').collect();
        if fields.len() != 2 {
            return Err(line.error(TextProblem::WrongFieldCount {
                expected: 2,
                found: fields.len(),
            }));
        }
        let Ok(sample_index) = fields[0].trim().parse::<u64>() else {
            return Err(line.error(TextProblem::BadNumber {
                column: 0,
                value: fields[0].to_owned(),
                expected: "sample index",
            }));
        };
        let Ok(code) = fields[1].trim().parse::<i64>() else {
            return Err(line.error(TextProblem::BadNumber {
                column: 1,
                value: fields[1].to_owned(),
                expected: "integer code",
            }));
        };
        events.push(SampleEvent { sample_index, code });
    }
    Ok(events)
}

/// Reads a `sample,code` CSV file.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<SampleEvent>, TextError> {
    text::read_with(path.as_ref(), parse)
}

/// Converts events to instantaneous annotations labelled with their code.
pub fn to_annotations(events: &[SampleEvent], sample_rate_hz: f64) -> Vec<Annotation> {
    events
        .iter()
        .map(|event| Annotation {
            onset_s: event.sample_index as f64 / sample_rate_hz,
            duration_s: 0.0,
            label: event.code.to_string(),
        })
        .collect()
}
