//! The neural motor-imagery decoder: a compact CNN shipped as ONNX with a model card
//! (`assets/models/mi-net.toml`, trained by `scripts/train/mi_net.sh`), applied to the same
//! band-passed window as the covariance methods.
//!
//! The card's `[mi]` table states the window the network reads (channels, rate, band,
//! length, where it starts after a cue) and its classes; the network takes the window in µV,
//! channel-major (`[1, channels, samples]`), and returns class probabilities (`[1, classes]`).

use std::path::PathBuf;

use super::model::MiProtocol;
use crate::onnx::{ModelCard, ModelError, OnnxModel};

// The card's `[mi]` table is defined with the other card tables, which the card reader in
// `onnx` needs without depending on this module; its old path stays here.
pub use crate::card::MiNetConfig;

/// File name of the shipped network's card in `assets/models`.
pub const MI_NET_CARD: &str = "mi-net.toml";

impl MiNetConfig {
    /// The preprocessing as a [`MiProtocol`] (what trial cutting and the decoder apply).
    pub fn protocol(&self) -> MiProtocol {
        MiProtocol {
            channels: self.channels.clone(),
            sample_rate_hz: self.sample_rate_hz,
            band_hz: self.band_hz,
            filter_order: self.filter_order,
            window_secs: self.window_secs,
            sub_bands: Vec::new(),
        }
    }
}

/// A loaded motor-imagery network with its card's settings.
#[derive(Debug)]
pub struct MiNet {
    onnx: OnnxModel,
    config: MiNetConfig,
    protocol: MiProtocol,
    name: String,
    card: PathBuf,
}

impl MiNet {
    /// Loads the card's network and checks that its input is the card's window and its output
    /// one probability per class.
    pub fn load(card: &ModelCard) -> Result<MiNet, ModelError> {
        let card_err = |reason: String| ModelError::Card {
            path: card.path.clone(),
            reason,
        };
        let Some(config) = card.mi.clone() else {
            return Err(card_err(
                "it has no [mi] table, so it is not a motor-imagery model".into(),
            ));
        };
        let protocol = config.protocol();
        if config.channels.is_empty() || config.class_names.len() < 2 {
            return Err(card_err(
                "its [mi] table needs channels and at least two class_names".into(),
            ));
        }
        let (lo, hi) = config.band_hz;
        let fs = config.sample_rate_hz;
        if !(fs.is_finite() && fs > 0.0 && lo > 0.0 && lo < hi && hi < fs / 2.0)
            || config.filter_order == 0
            || !(config.window_secs.is_finite() && config.window_secs > 0.0)
        {
            return Err(card_err(format!(
                "its [mi] table's rate {fs} Hz, band {:?} Hz, filter order {} and window {} s do not describe a usable band-pass (0 < low < high < rate / 2, order >= 1) and window",
                config.band_hz, config.filter_order, config.window_secs
            )));
        }
        let frames = protocol.window_frames() as i64;
        let want_in = [1, config.channels.len() as i64, frames];
        if card.input.shape != want_in {
            return Err(card_err(format!(
                "its input shape {:?} is not [1, channels, window samples] = {want_in:?} from its [mi] table",
                card.input.shape
            )));
        }
        let want_out = [1, config.class_names.len() as i64];
        if card.output.shape != want_out {
            return Err(card_err(format!(
                "its output shape {:?} is not [1, classes] = {want_out:?} from its [mi] table",
                card.output.shape
            )));
        }
        Ok(MiNet {
            onnx: OnnxModel::load(card)?,
            protocol,
            config,
            name: card.name.clone(),
            card: card.path.clone(),
        })
    }

    /// The shipped network (`assets/models/mi-net.toml`).
    pub fn shipped() -> Result<MiNet, ModelError> {
        Self::load(&ModelCard::shipped(MI_NET_CARD)?)
    }

    /// The card's settings.
    pub fn config(&self) -> &MiNetConfig {
        &self.config
    }

    /// The preprocessing the network expects.
    pub fn protocol(&self) -> &MiProtocol {
        &self.protocol
    }

    /// The card's model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The card's path.
    pub fn card_path(&self) -> &std::path::Path {
        &self.card
    }

    /// Class probabilities of `window` (channel-major, the card's channels × window samples,
    /// µV) into `proba`; `false` (no decision) when the window is not finite or the network's
    /// output is not a probability distribution ([`OnnxModel::probabilities`]).
    ///
    /// Real-time safe on the Rust side: no allocation ([`OnnxModel::run`]).
    pub fn predict(&mut self, window: &[f32], proba: &mut [f64]) -> bool {
        self.onnx.probabilities(window, proba)
    }

    /// Windows the network failed to classify ([`OnnxModel::failures`]).
    pub fn failures(&self) -> u64 {
        self.onnx.failures()
    }
}
