//! Starting a speller session: the decoder (FBCCA with dynamic stopping, or an onset-locked
//! TRCA model or network with the layout's targets), the source (the simulator, whose user
//! looks where the cue says, or an LSL stream) and the window. Shared by `neuroloop speller`
//! and the start screen.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use neuroloop_acquisition::sim::{Attention, Scenario, SimConfig, SsvepScenario, SsvepTarget};
use neuroloop_runtime::spec::{SsvepSpec, ssvep_card_stream};

use super::view::SpellerView;
use super::{Speller, SpellerLayout, SpellerTiming};
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};

/// How the speller decodes.
#[derive(Debug, Clone, PartialEq)]
pub enum SpellerDecoder {
    /// Filter-bank CCA on windows inside the flicker; a decision whose best score leads the
    /// second by `min_margin` (relative) stops the flicker.
    Fbcca {
        /// Decoder window in seconds.
        window_secs: f64,
        /// Relative margin that counts as confident.
        min_margin: f64,
    },
    /// An onset-locked model (`neuroloop ssvep fit` JSON, or a network card) fitted for the
    /// layout's targets; `margin` stops a flicker early.
    Model {
        /// The model file.
        path: PathBuf,
        /// Relative margin of the best over the second score that stops a flicker.
        margin: f64,
    },
}

/// Amplitude of the simulated user's SSVEP fundamental, µV, when the speller runs on the
/// simulator: at 6 µV filter-bank CCA selects most of the benchmark's 40 keys at its 2-s
/// window, as on the benchmark's recordings; at 3 µV it types mostly one key.
pub const SIMULATED_SSVEP_UV: f64 = 6.0;

/// Everything a speller session needs.
#[derive(Debug, Clone)]
pub struct SpellerSetup {
    /// The keyboard.
    pub layout: SpellerLayout,
    /// Cue and flicker lengths.
    pub timing: SpellerTiming,
    /// Cue-guided spelling of this phrase; free spelling without it.
    pub phrase: Option<String>,
    /// Calibration: every cued flicker runs its full length.
    pub calibrate: bool,
    /// The decoder.
    pub decoder: SpellerDecoder,
    /// Read this LSL stream instead of the simulator.
    pub stream: Option<String>,
    /// Simulator seed.
    pub seed: u64,
    /// Simulated SSVEP amplitude at the occipital pole, µV.
    pub ssvep_uv: f64,
    /// LSL marker stream for decisions and speller events (`None`: no LSL output).
    pub markers: Option<String>,
    /// Record the session to this XDF file.
    pub record: Option<PathBuf>,
}

impl SpellerSetup {
    /// The SSVEP spec of the speller's decoding: FBCCA on the layout's targets with dynamic
    /// stopping, or the onset-locked model.
    pub fn decoder_spec(&self) -> SsvepSpec {
        match &self.decoder {
            SpellerDecoder::Model { path, margin } => SsvepSpec {
                model_margin: *margin,
                ..SsvepSpec::speller(self.layout.freqs_hz(), Some(path.clone()))
            },
            SpellerDecoder::Fbcca {
                window_secs,
                min_margin,
            } => SsvepSpec {
                window_secs: *window_secs,
                min_margin: *min_margin,
                ..SsvepSpec::speller(self.layout.freqs_hz(), None)
            },
        }
    }

    /// The benchmark keyboard, free spelling, FBCCA on a 2-s window with a 0.3 margin, on the
    /// simulator, markers on `neuroloop-markers`, no recording (the command's defaults).
    pub fn new(layout: SpellerLayout) -> Self {
        let defaults = SsvepSpec::speller(Vec::new(), None);
        SpellerSetup {
            layout,
            timing: SpellerTiming::default(),
            phrase: None,
            calibrate: false,
            decoder: SpellerDecoder::Fbcca {
                window_secs: defaults.window_secs,
                min_margin: defaults.min_margin,
            },
            stream: None,
            seed: 1,
            ssvep_uv: SIMULATED_SSVEP_UV,
            markers: Some("neuroloop-markers".into()),
            record: None,
        }
    }

    /// Starts the session and returns the window showing it.
    pub fn start(&self) -> anyhow::Result<SpellerView> {
        let layout = &self.layout;
        let speller = match (&self.phrase, self.calibrate) {
            (Some(p), true) => Speller::calibration(layout.clone(), self.timing, p)?,
            (Some(p), false) => Speller::cued(layout.clone(), self.timing, p)?,
            (None, true) => bail!(
                "calibration needs a phrase to cue, e.g. every key twice: --phrase \"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.<ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.<\""
            ),
            (None, false) => Speller::free(layout.clone(), self.timing),
        };
        let decoder = self.decoder_spec().decoder(Some(&layout.freqs_hz()))?;
        let gaze = self.stream.is_none().then(|| Arc::new(Attention::new()));
        // A network's card fixes the rate and channels: the simulated user has them.
        let defaults = SimConfig::default();
        let card = match &self.decoder {
            SpellerDecoder::Model { path, .. } => ssvep_card_stream(path)?,
            _ => None,
        };
        let (sample_rate_hz, channel_labels) =
            card.unwrap_or_else(|| (defaults.sample_rate_hz, defaults.channel_labels.clone()));
        let source = match &self.stream {
            Some(name) => SourceSpec::lsl_named(name),
            None => SourceSpec::simulator(SimConfig {
                seed: self.seed,
                scenario: Scenario::Ssvep(SsvepScenario {
                    targets: layout
                        .targets
                        .iter()
                        .map(|t| SsvepTarget {
                            freq_hz: t.code.freq_hz,
                            phase_rad: t.code.phase_rad,
                        })
                        .collect(),
                    gaze: gaze.clone(),
                    amplitude_uv: self.ssvep_uv,
                    ..SsvepScenario::default()
                }),
                sample_rate_hz,
                channel_labels,
                ..defaults
            }),
        };
        let session = Session::start(
            SessionConfig::new(source)
                .decoder(decoder)
                .markers(self.markers.clone())
                .record(self.record.clone()),
        )?;
        Ok(SpellerView::new(
            speller,
            Some(session),
            gaze,
            Box::new(neuroloop_acquisition::clock::local_clock),
        )
        .with_recording(self.record.clone()))
    }
}
