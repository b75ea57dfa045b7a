//! Description of a multi-channel sample stream.

use neuroloop_formats::ChannelKind;

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
    /// What each channel measures, in sample order: as the file or the stream's description
    /// declares it, else read from the label. Only EEG channels feed EEG quality, spectra,
    /// re-referencing and decoders.
    pub channel_kinds: Vec<ChannelKind>,
    /// The mains frequency the source declares or shows (a recording's first seconds, the
    /// simulator's line noise), when it knows; the front end can notch it.
    pub line_hz: Option<f64>,
    /// How `line_hz` is known, for the user: e.g. `detected in the recording's first 20 s`.
    pub line_source: &'static str,
    /// Channels the source holds but does not deliver, as `label (rate Hz)`: a recording's
    /// signals at another sampling rate than the replayed ones (a PSG's respiration or
    /// temperature beside its EEG).
    pub set_aside: Vec<String>,
}

impl StreamMeta {
    /// Number of channels (the interleaved frame width).
    pub fn channels(&self) -> usize {
        self.channel_labels.len()
    }

    /// Whether channel `index` carries EEG (channels without a kind count as EEG).
    pub fn is_eeg(&self, index: usize) -> bool {
        self.channel_kinds
            .get(index)
            .is_none_or(|k| *k == ChannelKind::Eeg)
    }

    /// One flag per channel: whether it carries EEG.
    pub fn eeg_mask(&self) -> Vec<bool> {
        (0..self.channels()).map(|c| self.is_eeg(c)).collect()
    }

    /// Index of the channel with this label, compared case-insensitively.
    pub fn channel_index(&self, label: &str) -> Option<usize> {
        self.channel_labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(label))
    }
}
