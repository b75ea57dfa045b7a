//! The paradigm windows of the command line: `neuroloop speller` and `neuroloop mi session`.

use std::sync::{Arc, Mutex};

use anyhow::bail;

use super::args::{MiSessionArgs, SpellerArgs};
use super::hold_wake_latency;
use crate::window::run_window;

/// `neuroloop speller`.
pub(super) fn speller(args: &SpellerArgs) -> anyhow::Result<()> {
    use crate::speller::SpellerLayout;
    use crate::speller::launch::{SpellerDecoder, SpellerSetup};
    if let Err(why) = crate::window::display_server() {
        bail!(
            "the speller needs a display, and {why}: run it on a desktop, or under xvfb-run for a test"
        );
    }
    let layout = if args.targets.is_empty() {
        SpellerLayout::benchmark()
    } else {
        SpellerLayout::custom(
            &args.targets,
            args.phase_step_pi * std::f64::consts::PI,
            &args.keys,
        )?
    };
    let setup = SpellerSetup {
        timing: crate::speller::SpellerTiming {
            cue_secs: args.cue_secs,
            stim_secs: args.stim_secs,
            ..Default::default()
        },
        phrase: args.phrase.clone(),
        calibrate: args.calibrate,
        decoder: match &args.ssvep_model {
            Some(path) => SpellerDecoder::Model {
                path: path.clone(),
                margin: args.trca_margin,
            },
            None => SpellerDecoder::Fbcca {
                window_secs: args.window_secs,
                min_margin: args.min_margin,
            },
        },
        stream: args.stream.clone(),
        seed: args.seed,
        ssvep_uv: args.ssvep_uv,
        markers: (!args.markers.eq_ignore_ascii_case("none")).then(|| args.markers.clone()),
        record: args.record.clone(),
        ..SpellerSetup::new(layout)
    };
    let _hold = hold_wake_latency(&args.wake);
    let summary = Arc::new(Mutex::new(None));
    let mut view = setup.start()?.with_summary_sink(Arc::clone(&summary));
    if let Some(path) = &args.screenshot {
        view = view.with_screenshot(path.clone(), args.screenshot_after);
    }
    run_window(
        "neuroloop-speller",
        "neuroloop speller",
        [1280.0, 800.0],
        view,
    )
    .map_err(|e| anyhow::anyhow!("the speller window failed: {e}"))?;
    let summary = summary.lock().unwrap_or_else(|p| p.into_inner()).take();
    let mut text = summary.as_ref().map(|s| s.to_text()).unwrap_or_default();
    if let Some(path) = &args.record {
        text += &format!("recording     {}\n", path.display());
    }
    if let Some(saved) = summary.and_then(|s| s.saved_to) {
        text += &format!("summary       {saved}\n");
    }
    super::tools::print_all(&text)
}

/// `neuroloop mi session`.
pub(super) fn mi_session(args: &MiSessionArgs) -> anyhow::Result<()> {
    use crate::mi::paradigm::{ImageryTiming, parse_classes};
    use crate::mi::view::ImageryPlan;
    // Everything that can be checked is checked before the window opens.
    let classes = parse_classes(&args.classes).map_err(anyhow::Error::msg)?;
    let model = match &args.mi_model {
        Some(path) => Some(crate::mi::model::FeedbackModel::load(path)?),
        None => None,
    };
    let [rest_low, rest_high] = args.rest_secs[..] else {
        bail!("--rest-secs takes two lengths, LOW,HIGH (e.g. 1.5,2.5)");
    };
    let plan = ImageryPlan {
        classes,
        timing: ImageryTiming {
            fixation_secs: args.fixation_secs,
            cue_secs: args.cue_secs,
            imagery_secs: args.imagery_secs,
            rest_secs: (rest_low, rest_high),
        },
        calibration_trials: args.calibration_trials,
        feedback_trials: args.feedback_trials,
        seed: args.seed,
        cut: args.fit.cut(),
        methods: args.fit.methods(),
        model_out: Some(args.out.join("model.json")),
        model,
        close_when_done: args.close_when_done,
        ask_below_chance: !args.allow_chance_model,
    }
    .checked()?;
    if let Err(why) = crate::window::display_server() {
        bail!(
            "the motor-imagery paradigm needs a display, and {why}: run it on a desktop, or under xvfb-run for a test"
        );
    }
    let _hold = hold_wake_latency(&args.wake);
    let mut view = crate::mi::launch::start(
        plan,
        crate::mi::launch::ImagerySource {
            stream: args.stream.clone(),
            seed: args.seed,
            markers: (!args.markers.eq_ignore_ascii_case("none")).then(|| args.markers.clone()),
            out: args.out.clone(),
            step_secs: args.mi_step_secs,
        },
    )?;
    if let Some(path) = &args.screenshot {
        view = view.with_screenshot(path.clone(), args.screenshot_after);
    }
    let report = Arc::new(Mutex::new(ImageryReport::default()));
    let shared = Arc::clone(&report);
    run_window(
        "neuroloop-mi",
        "neuroloop motor imagery",
        [1100.0, 800.0],
        ReportOnExit { view, shared },
    )
    .map_err(|e| anyhow::anyhow!("the motor-imagery window failed: {e}"))?;
    let report = report.lock().unwrap_or_else(|p| p.into_inner());
    for line in &report.lines {
        println!("{line}");
    }
    if let Some(e) = &report.error {
        println!("error: {e}");
        bail!("{e}");
    }
    Ok(())
}

/// What the motor-imagery window reported when it closed.
#[derive(Default)]
struct ImageryReport {
    lines: Vec<String>,
    error: Option<String>,
}

/// The motor-imagery window, copying its report out when it closes (printed by the command).
struct ReportOnExit {
    view: crate::mi::view::ImageryView,
    shared: Arc<Mutex<ImageryReport>>,
}

impl eframe::App for ReportOnExit {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        eframe::App::ui(&mut self.view, ui, frame);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        eframe::App::on_exit(&mut self.view, gl);
        *self.shared.lock().unwrap_or_else(|p| p.into_inner()) = ImageryReport {
            lines: self.view.report().to_vec(),
            error: self.view.error().map(str::to_string),
        };
    }
}
