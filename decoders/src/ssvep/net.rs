//! The neural SSVEP decoder: a small network shipped as ONNX with a model card
//! (`assets/models/ssvep-net.toml`, trained by `scripts/train/ssvep_net.sh`), applied
//! onset-locked to the FBCCA filter bank's sub-band windows.
//!
//! The card's `[ssvep]` table states what the network reads: the channels, the sampling rate,
//! the causal sub-band filters, the window (from `onset + latency`) and the target frequencies
//! in output order. The network takes the sub-band windows in µV, band-major then
//! channel-major (`[1, bands, channels, samples]`), and returns class probabilities
//! (`[1, targets]`).

use std::path::{Path, PathBuf};

use crate::onnx::{ModelCard, ModelError, OnnxModel};

// The card's `[ssvep]` table is defined with the other card tables, which the card reader in
// `onnx` needs without depending on this module; its old path stays here.
pub use crate::card::SsvepNetConfig;

/// File name of the shipped network's card in `assets/models`.
pub const SSVEP_NET_CARD: &str = "ssvep-net.toml";

impl SsvepNetConfig {
    /// Why the settings cannot describe a network input, if they cannot.
    fn problem(&self) -> Option<String> {
        let fs = self.sample_rate_hz;
        if self.channels.is_empty() || self.targets_hz.len() < 2 || self.bands_hz.is_empty() {
            return Some(
                "its [ssvep] table needs channels, bands_hz and at least two targets_hz".into(),
            );
        }
        let band_ok = |&(lo, hi): &(f64, f64)| lo > 0.0 && lo < hi && hi < fs / 2.0;
        let usable = fs.is_finite()
            && fs > 0.0
            && self.bands_hz.iter().all(band_ok)
            && self.filter_order > 0
            && self.window_secs.is_finite()
            && self.window_frames() > 0
            && self.latency_secs.is_finite()
            && self.latency_secs >= 0.0;
        if !usable {
            return Some(format!(
                "its [ssvep] table's rate {fs} Hz, bands {:?} Hz, filter order {}, window {} s and latency {} s do not describe usable band-passes (0 < low < high < rate / 2, order >= 1), a window and a latency >= 0",
                self.bands_hz, self.filter_order, self.window_secs, self.latency_secs
            ));
        }
        None
    }
}

/// A loaded SSVEP network with its card's settings.
#[derive(Debug)]
pub struct SsvepNet {
    onnx: OnnxModel,
    config: SsvepNetConfig,
    name: String,
    card: PathBuf,
}

impl SsvepNet {
    /// Loads the card's network and checks that its input is the card's sub-band windows and
    /// its output one probability per target.
    pub fn load(card: &ModelCard) -> Result<SsvepNet, ModelError> {
        let card_err = |reason: String| ModelError::Card {
            path: card.path.clone(),
            reason,
        };
        let Some(config) = card.ssvep.clone() else {
            return Err(card_err(
                "it has no [ssvep] table, so it is not an SSVEP model".into(),
            ));
        };
        if let Some(problem) = config.problem() {
            return Err(card_err(problem));
        }
        let want_in = [
            1,
            config.bands_hz.len() as i64,
            config.channels.len() as i64,
            config.window_frames() as i64,
        ];
        if card.input.shape != want_in {
            return Err(card_err(format!(
                "its input shape {:?} is not [1, bands, channels, window samples] = {want_in:?} from its [ssvep] table",
                card.input.shape
            )));
        }
        let want_out = [1, config.targets_hz.len() as i64];
        if card.output.shape != want_out {
            return Err(card_err(format!(
                "its output shape {:?} is not [1, targets] = {want_out:?} from its [ssvep] table",
                card.output.shape
            )));
        }
        Ok(SsvepNet {
            onnx: OnnxModel::load(card)?,
            config,
            name: card.name.clone(),
            card: card.path.clone(),
        })
    }

    /// The shipped network (`assets/models/ssvep-net.toml`).
    pub fn shipped() -> Result<SsvepNet, ModelError> {
        Self::load(&ModelCard::shipped(SSVEP_NET_CARD)?)
    }

    /// The card's settings.
    pub fn config(&self) -> &SsvepNetConfig {
        &self.config
    }

    /// The card's model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The card's path.
    pub fn card_path(&self) -> &Path {
        &self.card
    }

    /// Class probabilities of `window` (band-major, then channel-major: the card's bands ×
    /// channels × window samples, µV) into `proba`; `false` (no decision) when the window is
    /// not finite or the network's output is not a probability distribution
    /// ([`OnnxModel::probabilities`]).
    ///
    /// Real-time safe on the Rust side: no allocation.
    pub fn predict(&mut self, window: &[f32], proba: &mut [f64]) -> bool {
        self.onnx.probabilities(window, proba)
    }

    /// Windows the network failed to classify ([`OnnxModel::failures`]).
    pub fn failures(&self) -> u64 {
        self.onnx.failures()
    }
}
