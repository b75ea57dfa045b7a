//! Text layout of the DREAMS sleep spindles database.
//!
//! Every file starts with a bracketed title line. Signal files (`excerptN.txt`) then hold one
//! value per line in µV; the title is the channel name (`[C3-A1]`) and the sampling rate is
//! not stored, see [`excerpt_sample_rate_hz`]. Expert and automatic scorings
//! (`Visual_scoringK_excerptN.txt`, `Automatic_detection_excerptN.txt`) hold `onset duration`
//! pairs in seconds. Hypnograms (`Hypnogram_excerptN.txt`) hold one Rechtschaffen & Kales
//! stage code per 5 s epoch.

use std::path::Path;

use crate::error::{TextError, TextProblem};
use crate::recording::{Annotation, ChannelInfo, Recording};
use crate::text::{self, Line};

/// Length of one hypnogram epoch in seconds.
pub const HYPNOGRAM_EPOCH_S: f64 = 5.0;

/// Sampling rate of excerpt `number` (1 to 8) as documented by the database: excerpt 1 at
/// 100 Hz, excerpt 3 at 50 Hz, the others at 200 Hz.
pub fn excerpt_sample_rate_hz(number: u32) -> Option<f64> {
    match number {
        1 => Some(100.0),
        3 => Some(50.0),
        2 | 4..=8 => Some(200.0),
        _ => None,
    }
}

/// A single-channel signal file.
#[derive(Debug, Clone, PartialEq)]
pub struct DreamsSignal {
    /// Channel name from the title line, e.g. `C3-A1`.
    pub channel: String,
    /// Samples in µV.
    pub values: Vec<f64>,
}

impl DreamsSignal {
    /// Converts to a one-channel [`Recording`] at `sample_rate_hz`.
    pub fn to_recording(&self, sample_rate_hz: f64) -> Recording {
        Recording {
            channels: vec![ChannelInfo::new(self.channel.clone(), "uV", sample_rate_hz)],
            data: vec![self.values.clone()],
            timestamps_s: None,
            annotations: Vec::new(),
            start_time: None,
            line_freq_hz: None,
        }
    }
}

/// A scoring file: labelled spans such as spindles.
#[derive(Debug, Clone, PartialEq)]
pub struct DreamsScoring {
    /// Title line without brackets, e.g. `vis1_Spindles/C3-A1`.
    pub title: String,
    /// One annotation per line, labelled with the part of the title before `/` (or the whole
    /// title).
    pub annotations: Vec<Annotation>,
}

/// A hypnogram file.
#[derive(Debug, Clone, PartialEq)]
pub struct DreamsHypnogram {
    /// Title line without brackets.
    pub title: String,
    /// Stage code per 5 s epoch: 5 wake, 4 REM, 3 S1, 2 S2, 1 S3, 0 S4, -1 movement,
    /// -2 and -3 unknown.
    pub stages: Vec<i8>,
}

impl DreamsHypnogram {
    /// Name of a stage code.
    pub fn stage_name(code: i8) -> &'static str {
        match code {
            5 => "Wake",
            4 => "REM",
            3 => "S1",
            2 => "S2",
            1 => "S3",
            0 => "S4",
            -1 => "Movement",
            _ => "Unknown",
        }
    }

    /// One annotation per run of equal stages, labelled with the stage name.
    pub fn to_annotations(&self) -> Vec<Annotation> {
        let mut annotations: Vec<Annotation> = Vec::new();
        let mut previous: Option<i8> = None;
        for (epoch, &stage) in self.stages.iter().enumerate() {
            if previous == Some(stage) {
                if let Some(last) = annotations.last_mut() {
                    last.duration_s += HYPNOGRAM_EPOCH_S;
                }
            } else {
                annotations.push(Annotation {
                    onset_s: epoch as f64 * HYPNOGRAM_EPOCH_S,
                    duration_s: HYPNOGRAM_EPOCH_S,
                    label: Self::stage_name(stage).to_owned(),
                });
            }
            previous = Some(stage);
        }
        annotations
    }
}

/// Splits off and checks the bracketed title line.
fn title<'a>(lines: &mut impl Iterator<Item = Line<'a>>) -> Result<String, TextError> {
    let Some(first) = lines.next() else {
        return Err(TextError::at(
            1,
            0,
            TextProblem::Missing { what: "title line" },
        ));
    };
    let trimmed = first.text.trim();
    let Some(inner) = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return Err(first.error(TextProblem::BadHeader {
            found: first.text.to_owned(),
            expected: "a bracketed title such as [C3-A1]",
        }));
    };
    Ok(inner.to_owned())
}

/// Parses a signal file.
pub fn parse_signal(bytes: &[u8]) -> Result<DreamsSignal, TextError> {
    let text = text::as_text(bytes)?;
    let mut lines = text::lines(text);
    let channel = title(&mut lines)?;
    let mut values = Vec::with_capacity(text.len() / 10);
    for line in lines {
        let field = line.text.trim();
        if field.is_empty() {
            continue;
        }
        values.push(line.number(&[field], 0)?);
    }
    Ok(DreamsSignal { channel, values })
}

/// Reads a signal file.
pub fn read_signal(path: impl AsRef<Path>) -> Result<DreamsSignal, TextError> {
    text::read_with(path.as_ref(), parse_signal)
}

/// Parses a scoring file.
pub fn parse_scoring(bytes: &[u8]) -> Result<DreamsScoring, TextError> {
    let text = text::as_text(bytes)?;
    let mut lines = text::lines(text);
    let title = title(&mut lines)?;
    let label = title.split('/').next().unwrap_or(&title).to_owned();
    let mut annotations = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.text.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() != 2 {
            return Err(line.error(TextProblem::WrongFieldCount {
                expected: 2,
                found: fields.len(),
            }));
        }
        annotations.push(Annotation {
            onset_s: line.number(&fields, 0)?,
            duration_s: line.number(&fields, 1)?,
            label: label.clone(),
        });
    }
    Ok(DreamsScoring { title, annotations })
}

/// Reads a scoring file.
pub fn read_scoring(path: impl AsRef<Path>) -> Result<DreamsScoring, TextError> {
    text::read_with(path.as_ref(), parse_scoring)
}

/// Parses a hypnogram file.
pub fn parse_hypnogram(bytes: &[u8]) -> Result<DreamsHypnogram, TextError> {
    let text = text::as_text(bytes)?;
    let mut lines = text::lines(text);
    let title = title(&mut lines)?;
    let mut stages = Vec::new();
    for line in lines {
        let field = line.text.trim();
        if field.is_empty() {
            continue;
        }
        let Some(stage) = field
            .parse::<i8>()
            .ok()
            .filter(|code| (-3..=5).contains(code))
        else {
            return Err(line.error(TextProblem::BadNumber {
                column: 0,
                value: field.to_owned(),
                expected: "stage code from -3 to 5",
            }));
        };
        stages.push(stage);
    }
    Ok(DreamsHypnogram { title, stages })
}

/// Reads a hypnogram file.
pub fn read_hypnogram(path: impl AsRef<Path>) -> Result<DreamsHypnogram, TextError> {
    text::read_with(path.as_ref(), parse_hypnogram)
}
