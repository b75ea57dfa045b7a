//! Starting the motor-imagery paradigm: where each stage's session reads from (the simulator,
//! whose subject imagines what the cue says, or an LSL stream), where its recordings go, and
//! the window. Shared by `neuroloop mi session` and the start screen.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use neuroloop_acquisition::MiClass;
use neuroloop_acquisition::sim::{Attention, MiScenario, Scenario, SimConfig};

use super::model::FeedbackModel;
use super::paradigm::ImageryTiming;
use super::view::{ImageryPlan, ImageryView, SessionFactory, SessionRole};
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};

/// Where the paradigm's sessions read from and write to.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagerySource {
    /// Read this LSL stream instead of the simulator.
    pub stream: Option<String>,
    /// Simulator seed (each stage adds its number, for another noise realisation).
    pub seed: u64,
    /// LSL marker stream for cues and decisions (`None`: no LSL output).
    pub markers: Option<String>,
    /// Folder of `calibration.xdf`, `model.json` and `feedback.xdf`.
    pub out: PathBuf,
    /// Time between feedback decisions, seconds.
    pub step_secs: f64,
}

/// The factory that starts each stage's session: calibration recorded to
/// `out/calibration.xdf` without decoders, feedback with the fitted model recorded to
/// `out/feedback.xdf`. `intent` is the simulated subject's (none for a stream); `layout`, when
/// given, is the simulator's rate and channels (a network's), else the simulator's own.
pub fn session_factory(
    source: ImagerySource,
    classes: Vec<MiClass>,
    timing: ImageryTiming,
    intent: Option<Arc<Attention>>,
    layout: Option<(f64, Vec<String>)>,
) -> SessionFactory {
    let mut sessions = 0u64;
    Box::new(move |role: SessionRole| {
        sessions += 1;
        let input = match &source.stream {
            Some(name) => SourceSpec::lsl_named(name),
            None => {
                let defaults = SimConfig::default();
                let (sample_rate_hz, channel_labels) = layout
                    .clone()
                    .unwrap_or((defaults.sample_rate_hz, defaults.channel_labels.clone()));
                SourceSpec::simulator(SimConfig {
                    // Another noise realisation for each run.
                    seed: source.seed.wrapping_add(sessions),
                    scenario: Scenario::MotorImagery(MiScenario {
                        classes: classes.clone(),
                        trial_secs: timing.imagery_secs,
                        intent: intent.clone(),
                        ..MiScenario::default()
                    }),
                    sample_rate_hz,
                    channel_labels,
                    ..defaults
                })
            }
        };
        let config = SessionConfig::new(input).markers(source.markers.clone());
        let config =
            match role {
                SessionRole::Calibration => config.record(Some(
                    neuroloop_runtime::record::free_path(&source.out, "calibration", "xdf"),
                )),
                SessionRole::Feedback(model) => config
                    .decoder(model.decoder(source.step_secs)?)
                    .record(Some(neuroloop_runtime::record::free_path(
                        &source.out,
                        "feedback",
                        "xdf",
                    ))),
            };
        Ok(Session::start(config)?)
    })
}

/// The paradigm's window for `plan`, its sessions made as `source` says (the output folder
/// created first). With a network card, the simulator takes the card's rate and channels, so
/// that the simulated subject fits the network.
pub fn start(plan: ImageryPlan, source: ImagerySource) -> anyhow::Result<ImageryView> {
    std::fs::create_dir_all(&source.out)
        .with_context(|| format!("cannot create the output folder {}", source.out.display()))?;
    let intent = source.stream.is_none().then(|| Arc::new(Attention::new()));
    let layout = match &plan.model {
        Some(FeedbackModel::Network { config, .. }) => {
            Some((config.sample_rate_hz, config.channels.clone()))
        }
        _ => None,
    };
    let factory = session_factory(
        source,
        plan.classes.clone(),
        plan.timing,
        intent.clone(),
        layout,
    );
    Ok(ImageryView::new(
        plan,
        factory,
        intent,
        Box::new(neuroloop_acquisition::clock::local_clock),
    ))
}
