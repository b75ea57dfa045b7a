//! The settings tables of model cards: `[mi]`, `[ssvep]` and `[spindle]`.
//!
//! These are plain data, read from a card by `onnx::ModelCard` and used by the networks that
//! run the model (`mi::net`, `ssvep::net`, `sleep::spindle_net`). They live here, apart from
//! both, so that the card reader does not depend on the networks while the networks depend on
//! the card reader: this module imports neither. The methods that need a decoder's own types
//! (a [`MiNetConfig`]'s protocol, the checks against a stream) stay with that decoder, in
//! `impl` blocks of their own; the public paths of these types are the re-exports there.

use serde::{Deserialize, Serialize};

/// The window a motor-imagery network reads and the classes it returns (a card's `[mi]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiNetConfig {
    /// Channel labels, in the input's channel order.
    pub channels: Vec<String>,
    /// Sampling rate the network was trained at.
    pub sample_rate_hz: f64,
    /// Causal Butterworth band-pass applied to the continuous signal first.
    pub band_hz: (f64, f64),
    /// Order of that band-pass.
    pub filter_order: usize,
    /// Window length.
    pub window_secs: f64,
    /// Where a trial's window starts after its cue (evaluation).
    pub cue_offset_secs: f64,
    /// Class names, in output order.
    pub class_names: Vec<String>,
}

/// What an SSVEP network reads and returns (a card's `[ssvep]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsvepNetConfig {
    /// Channel labels, in the input's channel order.
    pub channels: Vec<String>,
    /// Sampling rate the network was trained at.
    pub sample_rate_hz: f64,
    /// Stimulation frequencies, in output order.
    pub targets_hz: Vec<f64>,
    /// Sub-bands (causal Butterworth band-passes of the continuous signal), in input order.
    pub bands_hz: Vec<(f64, f64)>,
    /// Order of the sub-band filters.
    pub filter_order: usize,
    /// Window length.
    pub window_secs: f64,
    /// The window starts this long after the flicker onset.
    pub latency_secs: f64,
}

impl SsvepNetConfig {
    /// Samples per channel in a window.
    pub fn window_frames(&self) -> usize {
        (self.window_secs * self.sample_rate_hz).round() as usize
    }
}

/// Settings of the neural spindle detector's front end (`sleep::NetFrontEnd`); they must
/// match what the model was trained on (the model card holds them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetFrontEndConfig {
    /// Rate the model sees, Hz.
    pub rate_hz: f64,
    /// Model window, s.
    pub window_secs: f64,
    /// Time between model windows, s.
    pub hop_secs: f64,
    /// Wide band-pass, Hz (upper edge capped at 0.45 × the stream's rate).
    pub wide_band_hz: (f64, f64),
    /// Sigma band-pass, Hz.
    pub sigma_band_hz: (f64, f64),
    /// Butterworth prototype order of each band-pass.
    pub filter_order: usize,
    /// Time constant of the running RMS, s.
    pub norm_secs: f64,
    /// Signal needed (after the filters settle) before any window is scored, s.
    pub min_norm_secs: f64,
    /// Normalised values are clipped to ± this.
    pub clip: f64,
}

impl Default for NetFrontEndConfig {
    fn default() -> Self {
        NetFrontEndConfig {
            rate_hz: 100.0,
            window_secs: 1.0,
            hop_secs: 0.05,
            wide_band_hz: (0.3, 30.0),
            sigma_band_hz: (11.0, 16.0),
            filter_order: 1,
            norm_secs: 30.0,
            min_norm_secs: 10.0,
            clip: 20.0,
        }
    }
}

impl NetFrontEndConfig {
    /// Samples in one model window.
    pub fn window_samples(&self) -> usize {
        (self.window_secs * self.rate_hz).round() as usize
    }

    /// Model samples between windows.
    pub fn hop_samples(&self) -> usize {
        ((self.hop_secs * self.rate_hz).round() as usize).max(1)
    }
}

/// Decision settings of the neural spindle detector (`sleep::SpindleNet`), from the model
/// card's `[spindle]` table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpindleNetConfig {
    /// The front end the model was trained on.
    pub front_end: NetFrontEndConfig,
    /// Probability at or above which a hop belongs to a spindle.
    pub threshold: f64,
    /// Hops a run must last before its onset is declared (1: at its first hop). Runs too
    /// short to be accepted are then never declared, which spares stimulation false
    /// triggers at 50 ms of delay per extra hop.
    pub confirm_hops: usize,
    /// A run's start is its first hop moved back by this, s.
    pub onset_lead_secs: f64,
    /// A run's end is its last hop moved back by this, s.
    pub end_lag_secs: f64,
    /// Shortest spindle accepted, s.
    pub min_duration_secs: f64,
    /// Longest spindle accepted, s.
    pub max_duration_secs: f64,
}

impl Default for SpindleNetConfig {
    fn default() -> Self {
        SpindleNetConfig {
            front_end: NetFrontEndConfig::default(),
            threshold: 0.5,
            confirm_hops: 1,
            onset_lead_secs: 0.3,
            end_lag_secs: 0.3,
            min_duration_secs: 0.5,
            max_duration_secs: 2.5,
        }
    }
}
