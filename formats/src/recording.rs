//! The in-memory representation every reader can convert into.

/// What a channel measures. Only EEG feeds EEG quality, spectra, re-referencing and
/// decoders; the others are shown apart and recorded unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChannelKind {
    /// Electroencephalography.
    #[default]
    Eeg,
    /// Electro-oculography (eye movements).
    Eog,
    /// Electrocardiography.
    Ecg,
    /// Electromyography (chin, legs).
    Emg,
    /// Respiration: airflow, thoracic and abdominal effort.
    Resp,
    /// A trigger, status or event channel.
    Stim,
    /// Anything else: oxygen saturation, pulse, body position, sound, light, temperature.
    Misc,
}

/// Label words that name a channel's kind, matched against the label's words (upper case).
const KIND_WORDS: &[(&str, ChannelKind)] = &[
    ("EEG", ChannelKind::Eeg),
    ("ECG", ChannelKind::Ecg),
    ("EKG", ChannelKind::Ecg),
    ("EOG", ChannelKind::Eog),
    ("HEOG", ChannelKind::Eog),
    ("VEOG", ChannelKind::Eog),
    ("LOC", ChannelKind::Eog),
    ("ROC", ChannelKind::Eog),
    ("EMG", ChannelKind::Emg),
    ("CHIN", ChannelKind::Emg),
    ("RESP", ChannelKind::Resp),
    ("AIRFLOW", ChannelKind::Resp),
    ("FLOW", ChannelKind::Resp),
    ("NAF", ChannelKind::Resp),
    ("THOR", ChannelKind::Resp),
    ("THORAX", ChannelKind::Resp),
    ("ABDO", ChannelKind::Resp),
    ("ABDOMEN", ChannelKind::Resp),
    ("VAB", ChannelKind::Resp),
    ("VTH", ChannelKind::Resp),
    ("STATUS", ChannelKind::Stim),
    ("TRIGGER", ChannelKind::Stim),
    ("STI", ChannelKind::Stim),
    ("STIM", ChannelKind::Stim),
    ("EVENT", ChannelKind::Stim),
    ("SAO2", ChannelKind::Misc),
    ("SPO2", ChannelKind::Misc),
    ("PULSE", ChannelKind::Misc),
    ("PR", ChannelKind::Misc),
    ("HR", ChannelKind::Misc),
    ("PLETH", ChannelKind::Misc),
    ("POS", ChannelKind::Misc),
    ("POSITION", ChannelKind::Misc),
    ("PHONO", ChannelKind::Misc),
    ("SNORE", ChannelKind::Misc),
    ("SOUND", ChannelKind::Misc),
    ("LIGHT", ChannelKind::Misc),
    ("TEMP", ChannelKind::Misc),
    ("MARKER", ChannelKind::Stim),
];

impl ChannelKind {
    /// The kind a label names (`ECG`, `EOG1-A1`, `SaO2`, `EEG Fpz-Cz`, `Resp oro-nasal`),
    /// read from its first word, or its first letters before a digit (`EMG1`, `NAF2`); EEG
    /// when nothing says otherwise. Files and streams that declare kinds take precedence.
    pub fn from_label(label: &str) -> ChannelKind {
        let upper = label.trim().to_ascii_uppercase();
        let first = upper
            .split(|c: char| c.is_whitespace() || c == '-' || c == '_' || c == ':' || c == '.')
            .find(|w| !w.is_empty())
            .unwrap_or("");
        let stem = first.trim_end_matches(|c: char| c.is_ascii_digit());
        KIND_WORDS
            .iter()
            .find(|(word, _)| *word == first || *word == stem)
            .map_or(ChannelKind::Eeg, |&(_, kind)| kind)
    }

    /// The kind of an XDF/LSL channel `type` or an MNE channel type (`EEG`, `eog`, `ECG`,
    /// `STIM`, ...), `None` when the text names none of them.
    pub fn from_type_name(name: &str) -> Option<ChannelKind> {
        let upper = name.trim().to_ascii_uppercase();
        Some(match upper.as_str() {
            "EEG" => ChannelKind::Eeg,
            "EOG" => ChannelKind::Eog,
            "ECG" | "EKG" => ChannelKind::Ecg,
            "EMG" => ChannelKind::Emg,
            "RESP" | "RESPIRATION" => ChannelKind::Resp,
            "STIM" | "TRIGGER" | "MARKER" | "MARKERS" | "EVENT" => ChannelKind::Stim,
            "MISC" | "BIO" | "AUX" | "AUXILIARY" | "ACCEL" | "GYRO" | "PPG" | "SPO2" => {
                ChannelKind::Misc
            }
            _ => return None,
        })
    }

    /// Short lower-case name: `eeg`, `eog`, `ecg`, `emg`, `resp`, `stim`, `misc`.
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Eeg => "eeg",
            ChannelKind::Eog => "eog",
            ChannelKind::Ecg => "ecg",
            ChannelKind::Emg => "emg",
            ChannelKind::Resp => "resp",
            ChannelKind::Stim => "stim",
            ChannelKind::Misc => "misc",
        }
    }
}

/// One channel of a [`Recording`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    /// Channel label as stored in the file (trailing padding removed).
    pub label: String,
    /// Physical unit as stored in the file (for example `uV`); empty when unknown.
    pub unit: String,
    /// Sampling rate of this channel in Hz; 0 for irregularly sampled data.
    pub sample_rate_hz: f64,
    /// What the channel measures: as the file declares it, else from its label.
    pub kind: ChannelKind,
}

impl ChannelInfo {
    /// A channel whose kind is read from its label ([`ChannelKind::from_label`]).
    pub fn new(label: impl Into<String>, unit: impl Into<String>, sample_rate_hz: f64) -> Self {
        let label = label.into();
        ChannelInfo {
            kind: ChannelKind::from_label(&label),
            label,
            unit: unit.into(),
            sample_rate_hz,
        }
    }

    /// The same channel with the kind its file or stream declares, which outranks the label's;
    /// `None` keeps the label's.
    pub fn with_declared_kind(mut self, declared: Option<ChannelKind>) -> Self {
        if let Some(kind) = declared {
            self.kind = kind;
        }
        self
    }
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
    /// The mains frequency the file declares (FIF's line frequency), when it does.
    pub line_freq_hz: Option<f64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_a_sleep_recording_name_their_kinds() {
        let dreams = [
            ("O1-A1", ChannelKind::Eeg),
            ("EMG1", ChannelKind::Emg),
            ("ECG", ChannelKind::Ecg),
            ("NAF1", ChannelKind::Resp),
            ("VAB", ChannelKind::Resp),
            ("VTH", ChannelKind::Resp),
            ("C3-A1", ChannelKind::Eeg),
            ("FP1-A1", ChannelKind::Eeg),
            ("EOG2-A1", ChannelKind::Eog),
            ("POS", ChannelKind::Misc),
            ("PHONO", ChannelKind::Misc),
            ("SAO2", ChannelKind::Misc),
            ("PR", ChannelKind::Misc),
            ("PULSE", ChannelKind::Misc),
        ];
        for (label, kind) in dreams {
            assert_eq!(ChannelKind::from_label(label), kind, "{label}");
        }
        for (label, kind) in [
            ("EEG Fpz-Cz", ChannelKind::Eeg),
            ("EOG horizontal", ChannelKind::Eog),
            ("EMG submental", ChannelKind::Emg),
            ("Resp oro-nasal", ChannelKind::Resp),
            ("Status", ChannelKind::Stim),
            ("Fc5.", ChannelKind::Eeg),
            ("Pz", ChannelKind::Eeg),
            ("POz", ChannelKind::Eeg),
            ("PO8", ChannelKind::Eeg),
        ] {
            assert_eq!(ChannelKind::from_label(label), kind, "{label}");
        }
        assert_eq!(ChannelKind::from_type_name("eeg"), Some(ChannelKind::Eeg));
        assert_eq!(ChannelKind::from_type_name("ECG"), Some(ChannelKind::Ecg));
        assert_eq!(ChannelKind::from_type_name("Nonsense"), None);
    }
}
