//! The in-memory representation every reader can convert into.

/// One channel of a [`Recording`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    /// Channel label as stored in the file (trailing padding removed).
    pub label: String,
    /// Physical unit as stored in the file (for example `uV`); empty when unknown.
    pub unit: String,
    /// Sampling rate of this channel in Hz; 0 for irregularly sampled data.
    pub sample_rate_hz: f64,
}

/// A labelled time span (or instant, when `duration_s` is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Onset in seconds from the first sample of the recording.
    pub onset_s: f64,
    /// Duration in seconds; 0 when the source gives none.
    pub duration_s: f64,
    /// Free text label.
    pub label: String,
}

/// A calendar date and wall-clock time without a time zone, as EDF and XDF store them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime {
    /// Full year, e.g. 2024.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 59.
    pub second: u8,
    /// Sub-second part in nanoseconds.
    pub nanosecond: u32,
}

/// Multichannel data in one common shape, whatever file it came from.
///
/// Samples are stored per channel because channels may have different rates (EDF signals
/// in one file often do).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recording {
    /// Channel descriptions, in file order.
    pub channels: Vec<ChannelInfo>,
    /// `data[c]` holds the samples of `channels[c]` in physical units.
    pub data: Vec<Vec<f64>>,
    /// Time stamps in seconds for each sample when the source stores them (XDF, Muse CSV);
    /// all channels then share them. `None` for regularly sampled sources.
    pub timestamps_s: Option<Vec<f64>>,
    /// Events and labelled spans.
    pub annotations: Vec<Annotation>,
    /// Wall-clock time of the first sample, when the file records it.
    pub start_time: Option<StartTime>,
}

impl Recording {
    /// The sampling rate shared by all channels, or `None` if channels differ or there are none.
    pub fn common_sample_rate_hz(&self) -> Option<f64> {
        let first = self.channels.first()?.sample_rate_hz;
        self.channels
            .iter()
            .all(|channel| channel.sample_rate_hz == first)
            .then_some(first)
    }

    /// Index of the first channel whose label equals `label` (ignoring case and surrounding
    /// blanks).
    pub fn channel_index(&self, label: &str) -> Option<usize> {
        let wanted = label.trim();
        self.channels
            .iter()
            .position(|channel| channel.label.trim().eq_ignore_ascii_case(wanted))
    }

    /// Duration in seconds of the longest channel.
    pub fn duration_s(&self) -> f64 {
        self.channels
            .iter()
            .zip(&self.data)
            .filter(|(channel, _)| channel.sample_rate_hz > 0.0)
            .map(|(channel, samples)| samples.len() as f64 / channel.sample_rate_hz)
            .fold(0.0, f64::max)
    }
}
