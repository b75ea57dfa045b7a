//! Description of a multi-channel sample stream.

/// What a source delivers: its channels, their rate and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMeta {
    /// Stream name (the LSL `name` field, a file name, or `neuroloop-sim`).
    pub name: String,
    /// Content type (the LSL `type` field, normally `EEG`).
    pub content_type: String,
    /// One label per channel, in sample order (10-20 names where known).
    pub channel_labels: Vec<String>,
    /// Nominal sampling rate.
    pub sample_rate_hz: f64,
    /// Unique identifier of the source, used by LSL to recover a lost stream.
    pub source_id: String,
    /// Host the stream comes from (empty for local sources).
    pub hostname: String,
}

impl StreamMeta {
    /// Number of channels (the interleaved frame width).
    pub fn channels(&self) -> usize {
        self.channel_labels.len()
    }

    /// Index of the channel with this label, compared case-insensitively.
    pub fn channel_index(&self, label: &str) -> Option<usize> {
        self.channel_labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(label))
    }
}
