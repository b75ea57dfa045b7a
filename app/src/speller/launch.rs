//! Starting a speller session: the decoder (FBCCA with dynamic stopping, or an onset-locked
//! TRCA model or network with the layout's targets), the source (the simulator, whose user
//! looks where the cue says, or an LSL stream) and the window. Shared by `neuroloop speller`
//! and the start screen.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::lsl_io::LslInletConfig;
use neuroloop_acquisition::sim::{Attention, Scenario, SimConfig, SsvepScenario, SsvepTarget};
use neuroloop_decoders::Decoder;
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};

use super::view::SpellerView;
use super::{Speller, SpellerLayout, SpellerTiming};
use crate::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use crate::pipeline::FrontEnd;
use crate::session::{Session, SessionConfig, SourceSpec};

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
    /// The benchmark keyboard, free spelling, FBCCA on a 2-s window with a 0.3 margin, on the
    /// simulator, markers on `neuroloop-markers`, no recording (the command's defaults).
    pub fn new(layout: SpellerLayout) -> Self {
        SpellerSetup {
            layout,
            timing: SpellerTiming::default(),
            phrase: None,
            calibrate: false,
            decoder: SpellerDecoder::Fbcca {
                window_secs: 2.0,
                min_margin: 0.3,
            },
            stream: None,
            seed: 1,
            ssvep_uv: 3.0,
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
        let (decoder, info): (Box<dyn Decoder>, DecoderInfo) = match &self.decoder {
            SpellerDecoder::Model { path, margin } => {
                let decoder = crate::cli::load_onset_decoder(path, *margin)?;
                let fitted = decoder.targets_hz();
                let shown = layout.freqs_hz();
                if !crate::cli::same_frequencies(fitted, &shown) {
                    bail!(
                        "the SSVEP model was fitted for targets {fitted:?} but the speller shows {shown:?}: fit on a calibration with this layout's targets"
                    );
                }
                let info = DecoderInfo::of(&decoder, TruthMapping::SsvepTargetIndex);
                (Box::new(decoder), info)
            }
            SpellerDecoder::Fbcca {
                window_secs,
                min_margin,
            } => {
                let decoder = SsvepCcaDecoder::new(SsvepCcaConfig {
                    targets_hz: layout.freqs_hz(),
                    window_secs: *window_secs,
                    step_secs: 0.1,
                    sub_bands: 5,
                    min_margin: *min_margin,
                    ..SsvepCcaConfig::default()
                });
                let info = DecoderInfo::of(&decoder, TruthMapping::SsvepTargetIndex);
                (Box::new(decoder), info)
            }
        };
        let gaze = self.stream.is_none().then(|| Arc::new(Attention::new()));
        let source = match &self.stream {
            Some(name) => SourceSpec::Lsl(LslInletConfig {
                name: Some(name.clone()),
                ..LslInletConfig::default()
            }),
            None => SourceSpec::Simulator {
                config: SimConfig {
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
                    ..SimConfig::default()
                },
                pacing: Pacing::REAL_TIME,
                chunk_frames: 0,
                duration_secs: None,
                time_origin: None,
            },
        };
        let session = Session::start(SessionConfig {
            source,
            front_end: FrontEnd::default(),
            decoders: vec![(decoder, info)],
            outputs: OutputConfig {
                marker_stream: self.markers.clone(),
                record: self.record.clone(),
                ..OutputConfig::default()
            },
            ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
            with_scope: false,
            stimulation: None,
        })?;
        Ok(SpellerView::new(
            speller,
            Some(session),
            gaze,
            Box::new(neuroloop_acquisition::clock::local_clock),
        ))
    }
}
