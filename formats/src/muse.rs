//! Muse CSV as recorded by the EEG notebooks: a header
//! `timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0`, then one sample per line. The first column
//! is the LSL time stamp in seconds, columns named `Marker…` hold event codes (0 = none), and
//! every other column is an EEG channel in µV.

use std::path::Path;

use crate::error::{TextError, TextProblem};
use crate::recording::{Annotation, ChannelInfo, Recording};
use crate::text;

/// Nominal sampling rate of the Muse 2016 headband.
pub const MUSE_SAMPLE_RATE_HZ: f64 = 256.0;

/// A parsed Muse CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct MuseCsv {
    /// EEG channel labels in column order.
    pub channel_labels: Vec<String>,
    /// Time stamp of every sample in seconds.
    pub timestamps_s: Vec<f64>,
    /// `data[c]` holds the samples of channel `c` in µV.
    pub data: Vec<Vec<f64>>,
    /// Marker columns: name and one code per sample.
    pub markers: Vec<(String, Vec<f64>)>,
}

impl MuseCsv {
    /// Converts to a [`Recording`]: channels at `sample_rate_hz` (the stored time stamps are
    /// kept too), and one annotation per non-zero marker, labelled with its code, with onsets
    /// relative to the first time stamp.
    pub fn to_recording(&self, sample_rate_hz: f64) -> Recording {
        let origin_s = self.timestamps_s.first().copied().unwrap_or(0.0);
        let mut annotations = Vec::new();
        for (_, codes) in &self.markers {
            for (code, timestamp_s) in codes.iter().zip(&self.timestamps_s) {
                if *code != 0.0 {
                    annotations.push(Annotation {
                        onset_s: timestamp_s - origin_s,
                        duration_s: 0.0,
                        label: format!("{code}"),
                    });
                }
            }
        }
        annotations.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
        Recording {
            channels: self
                .channel_labels
                .iter()
                .map(|label| ChannelInfo::new(label.clone(), "uV", sample_rate_hz))
                .collect(),
            data: self.data.clone(),
            timestamps_s: Some(self.timestamps_s.clone()),
            annotations,
            start_time: None,
            line_freq_hz: None,
        }
    }
}

/// Parses Muse CSV bytes. Blank lines are skipped.
pub fn parse(bytes: &[u8]) -> Result<MuseCsv, TextError> {
    let (header, names, lines) = text::csv_header(bytes)?;
    if names.first().map(String::as_str) != Some("timestamps") || names.len() < 2 {
        return Err(header.error(TextProblem::BadHeader {
            found: header.text.to_owned(),
            expected: "timestamps followed by channel columns",
        }));
    }
    let is_marker: Vec<bool> = names
        .iter()
        .map(|name| name.starts_with("Marker"))
        .collect();
    let mut muse = MuseCsv {
        channel_labels: Vec::new(),
        timestamps_s: Vec::new(),
        data: Vec::new(),
        markers: Vec::new(),
    };
    for (name, &marker) in names.iter().zip(&is_marker).skip(1) {
        if marker {
            muse.markers.push((name.clone(), Vec::new()));
        } else {
            muse.channel_labels.push(name.clone());
            muse.data.push(Vec::new());
        }
    }
    for line in lines {
        let fields: Vec<&str> = line.text.split(',').collect();
        if fields.len() != names.len() {
            return Err(line.error(TextProblem::WrongFieldCount {
                expected: names.len(),
                found: fields.len(),
            }));
        }
        muse.timestamps_s.push(line.number(&fields, 0)?);
        let (mut channel, mut marker) = (0, 0);
        for (column, &marker_column) in is_marker.iter().enumerate().skip(1) {
            let value = line.number(&fields, column)?;
            if marker_column {
                if let Some((_, codes)) = muse.markers.get_mut(marker) {
                    codes.push(value);
                }
                marker += 1;
            } else {
                if let Some(samples) = muse.data.get_mut(channel) {
                    samples.push(value);
                }
                channel += 1;
            }
        }
    }
    Ok(muse)
}

/// Reads a Muse CSV file.
pub fn read(path: impl AsRef<Path>) -> Result<MuseCsv, TextError> {
    text::read_with(path.as_ref(), parse)
}
