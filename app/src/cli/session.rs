//! The session commands: `demo`, `run`, `replay` and `sleep`. Each turns its flags into a
//! source and a paradigm spec, builds the session from them, and runs it in a window or
//! headless until it ends, then prints its report.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::lsl_io::LslInletConfig;
use neuroloop_acquisition::sim::{MiScenario, Scenario, SimConfig, SleepScenario};
use neuroloop_runtime::report::SessionReport;
use neuroloop_runtime::spec::ParadigmSpec;
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};

use super::args::{DemoArgs, ParadigmArg, ReplayArgs, RunArgs, ScenarioArg, SleepArgs, ViewArgs};
use super::{Given, display_available, hold_wake_latency};
use crate::session_window::SessionWindow;
use crate::window::run_window;

/// The LSL marker stream `view` asks for (`none`: no LSL output).
fn marker_stream(view: &ViewArgs) -> Option<String> {
    (!view.markers.eq_ignore_ascii_case("none")).then(|| view.markers.clone())
}

/// `spec`'s session on `source` with the front end the flags leave, the markers and recording
/// `view` asks for; `dry_run`: stimuli logged without sound.
fn session_config(
    source: SourceSpec,
    spec: &ParadigmSpec,
    front_end_args: &super::args::FrontEndArgs,
    view: &ViewArgs,
    dry_run: bool,
) -> anyhow::Result<SessionConfig> {
    let front_end = front_end_args.choice().over(&spec.front_end());
    Ok(SessionConfig::new(source)
        .paradigm(spec, dry_run)?
        .front_end(front_end)
        .mains_auto(front_end_args.mains_auto())
        .markers(marker_stream(view))
        .record(view.record.clone()))
}

/// Parses `--speed`.
pub(super) fn parse_speed(speed: &str) -> anyhow::Result<Pacing> {
    match Pacing::parse(speed) {
        Some(p) => Ok(p),
        None => bail!("--speed {speed}: use 1 (real time), a factor such as 10, or max"),
    }
}

/// `neuroloop demo`: the simulator, by default simulating what the paradigm decodes.
pub(super) fn demo(args: &DemoArgs, given: &Given) -> anyhow::Result<()> {
    let pacing = parse_speed(&args.speed)?;
    if args.channels == 0 {
        bail!("--channels must be at least 1");
    }
    let paradigm = args.paradigm.chosen(ParadigmArg::Ssvep, given)?;
    let spec = args.paradigm.spec(ParadigmArg::Ssvep, given)?;
    let scenario_arg = args.scenario.unwrap_or(match paradigm {
        ParadigmArg::Mi => ScenarioArg::Mi,
        ParadigmArg::Sleep => ScenarioArg::Sleep,
        ParadigmArg::Ssvep | ParadigmArg::Monitor => ScenarioArg::Ssvep,
    });
    let targets = &args.paradigm.ssvep.targets;
    let (scenario, what) = match scenario_arg {
        ScenarioArg::Ssvep => (
            Scenario::Ssvep(neuroloop_runtime::spec::ssvep_scenario(
                targets,
                args.ssvep_uv,
            )),
            format!("SSVEP targets {targets:?} Hz"),
        ),
        ScenarioArg::Mi => (
            Scenario::MotorImagery(MiScenario::default()),
            "left/right-hand motor imagery".to_string(),
        ),
        ScenarioArg::Rest => (Scenario::Rest, "rest".to_string()),
        ScenarioArg::Sleep => (
            Scenario::Sleep(SleepScenario::default()),
            "sleep".to_string(),
        ),
    };
    let sim = SimConfig {
        sample_rate_hz: args.rate_hz,
        channel_labels: SimConfig::labels_for(args.channels),
        seed: args.seed,
        scenario,
        ..SimConfig::default()
    };
    let label = format!(
        "simulator ({} ch @ {} Hz, {what}, seed {}, speed {})",
        args.channels, args.rate_hz, args.seed, args.speed
    );
    let headless = args.view.headless || !display_available();
    // Duration is counted in simulated time so that max-speed runs stop at the same data.
    let source = SourceSpec::Simulator {
        config: sim,
        pacing,
        chunk_frames: 0,
        duration_secs: if headless {
            args.view.seconds.or(Some(10.0))
        } else {
            args.view.seconds
        },
        time_origin: None,
    };
    let cfg = session_config(source, &spec, &args.front_end, &args.view, true)?;
    let view = ViewArgs {
        seconds: None,
        ..args.view.clone()
    };
    let report = drive(cfg, &view, &label, None)?;
    print_report(&report, args.view.json)
}

/// `neuroloop run`: a live LSL stream.
pub(super) fn run(args: &RunArgs, given: &Given) -> anyhow::Result<()> {
    if args.paradigm.ssvep.ssvep_model.is_some() && args.marker_stream.is_none() {
        bail!(
            "--ssvep-model decodes trials from flicker onsets, which a bare LSL stream does not carry: read the stimulus program's marker stream beside it with --marker-stream NAME (naming its onset with --onset LABEL), or run the stimulus with `neuroloop speller --stream NAME --ssvep-model MODEL.json`, which reports each onset to the decoder"
        );
    }
    let inlet = LslInletConfig {
        name: args.stream.clone(),
        content_type: Some(args.content_type.clone()),
        resolve_timeout_secs: args.resolve_timeout_secs,
        markers: args.marker_stream.as_ref().map(|name| {
            neuroloop_acquisition::lsl_io::MarkerInput {
                name: name.clone(),
                cues: neuroloop_runtime::spec::file_cues(&args.cues, &args.onsets),
            }
        }),
        ..LslInletConfig::default()
    };
    let label = format!(
        "LSL stream {} (type {})",
        args.stream.as_deref().unwrap_or("(any)"),
        args.content_type
    );
    let spec = args.paradigm.spec(ParadigmArg::Monitor, given)?;
    let cfg = session_config(
        SourceSpec::Lsl(inlet),
        &spec,
        &args.front_end,
        &args.view,
        true,
    )?;
    let report = drive(cfg, &args.view, &label, None)?;
    print_report(&report, args.view.json)
}

/// `neuroloop replay`: a recording through the live pipeline.
pub(super) fn replay(args: &ReplayArgs, given: &Given) -> anyhow::Result<()> {
    let pacing = parse_speed(&args.speed)?;
    let label = format!("{} (speed {})", args.file.display(), args.speed);
    let source = SourceSpec::File {
        path: args.file.clone(),
        channels: args.channels.clone(),
        pacing,
        lsl_outlet: args.lsl_outlet.clone(),
        cues: neuroloop_runtime::spec::file_cues(&args.cues, &args.onsets),
    };
    let spec = args.paradigm.spec(ParadigmArg::Monitor, given)?;
    let cfg = session_config(source, &spec, &args.front_end, &args.view, true)?;
    let report = drive(cfg, &args.view, &label, None)?;
    print_report(&report, args.view.json)
}

/// `neuroloop sleep`: closed-loop stimulation on the simulator, a stream or a recording.
pub(super) fn sleep(args: &SleepArgs) -> anyhow::Result<()> {
    let pacing = parse_speed(&args.speed)?;
    let headless = args.view.headless || !display_available();
    let (source, label) = sleep_source(args, pacing, headless);
    let spec = ParadigmSpec::Sleep(args.settings.spec());
    let mut cfg = session_config(source, &spec, &args.front_end, &args.view, args.dry_run)?;
    if let Some(stim) = cfg.stimulation.as_mut() {
        stim.audio.fail_after_secs = args.audio_fail_after_secs;
        stim.allow_no_audio = args.allow_no_audio;
    }
    let simulated = args.replay.is_none() && args.stream.is_none();
    // The simulator's duration is counted in simulated time (set on the source).
    let view = ViewArgs {
        seconds: if simulated { None } else { args.view.seconds },
        ..args.view.clone()
    };
    let report = drive(cfg, &view, &label, None)?;
    print_report(&report, args.view.json)
}

/// Where `neuroloop sleep` reads from, and its label.
fn sleep_source(args: &SleepArgs, pacing: Pacing, headless: bool) -> (SourceSpec, String) {
    if let Some(path) = &args.replay {
        return (
            SourceSpec::file(path.clone(), pacing),
            format!("{} (speed {})", path.display(), args.speed),
        );
    }
    if let Some(name) = &args.stream {
        return (SourceSpec::lsl_named(name), format!("LSL stream {name}"));
    }
    let source = SourceSpec::Simulator {
        config: SimConfig {
            sample_rate_hz: 250.0,
            channel_labels: SimConfig::labels_for(8),
            seed: args.seed,
            scenario: Scenario::Sleep(SleepScenario::default()),
            ..SimConfig::default()
        },
        pacing,
        chunk_frames: 0,
        duration_secs: if headless {
            args.view.seconds.or(Some(60.0))
        } else {
            args.view.seconds
        },
        time_origin: None,
    };
    let label = format!(
        "simulator (8 ch @ 250 Hz, sleep, seed {}, speed {})",
        args.seed, args.speed
    );
    (source, label)
}

/// Runs a session to its end: in a window, or headless until the source ends, the duration
/// elapses or Ctrl-C; then prints the report.
fn drive(
    cfg: SessionConfig,
    view: &ViewArgs,
    label: &str,
    default_secs: Option<f64>,
) -> anyhow::Result<SessionReport> {
    let clocked = cfg.source.is_clocked();
    let headless = view.headless || !display_available();
    let _hold = hold_wake_latency(&view.wake);
    let session = Session::start(cfg.with_window(!headless))?;
    if headless {
        // Said at once: a channel found by name is worth checking before an overnight run.
        for d in session
            .decoders
            .iter()
            .filter(|d| (1..=8).contains(&d.channels.len()))
        {
            eprintln!("{} reads {}", d.name, d.channels.join(", "));
        }
        let stop = crate::window::interrupted();
        let limit = view.seconds.or(default_secs);
        let mut progress = Progress::new(session.total_frames, session.meta.sample_rate_hz);
        while !stop.load(Ordering::Acquire) && !session.source_finished() {
            if limit.is_some_and(|l| session.elapsed_secs() >= l) {
                break;
            }
            progress.show(session.stats.ring.frames_in.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(20));
        }
        progress.finish();
        let mut session = session;
        let outcome = session.stop_in_place();
        let mut report = SessionReport::build(&session, &outcome, label, clocked);
        report.save_beside_recordings();
        return Ok(report);
    }
    let sink = Arc::new(Mutex::new(None));
    // Recordings started in the window go beside the --record file, if one was given.
    let record_dir = session
        .record_path
        .as_ref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("recordings"), Path::to_path_buf);
    let view_app = SessionWindow::new(session, label.to_string(), clocked, Arc::clone(&sink))
        .with_record_dir(record_dir);
    run_window(
        "neuroloop",
        &format!("neuroloop — {label}"),
        [1200.0, 720.0],
        view_app,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "the window failed: {e}; use --headless on machines without a working display"
        )
    })?;
    let report = sink
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .context("the window closed before the session reported")?;
    Ok(report)
}

/// Progress of a file replay on stderr: a bar redrawn in place on a terminal, a line every
/// 10 % otherwise. Silent for sources of unknown length and for short files.
struct Progress {
    total: u64,
    rate_hz: f64,
    terminal: bool,
    last_decile: u64,
    last_draw: std::time::Instant,
    drawn: bool,
}

impl Progress {
    fn new(total_frames: Option<u64>, rate_hz: f64) -> Progress {
        use std::io::IsTerminal as _;
        // Files under a minute of data finish before a bar is worth reading.
        let total = total_frames
            .filter(|&t| t as f64 / rate_hz >= 60.0)
            .unwrap_or(0);
        Progress {
            total,
            rate_hz,
            terminal: std::io::stderr().is_terminal(),
            last_decile: 0,
            last_draw: std::time::Instant::now(),
            drawn: false,
        }
    }

    fn show(&mut self, frames: u64) {
        if self.total == 0 {
            return;
        }
        let frac = (frames as f64 / self.total as f64).min(1.0);
        let minutes = |f: u64| f as f64 / self.rate_hz / 60.0;
        if self.terminal {
            if self.last_draw.elapsed() < Duration::from_millis(200) {
                return;
            }
            self.last_draw = std::time::Instant::now();
            let filled = (frac * 30.0) as usize;
            eprint!(
                "\rreplay [{}{}] {:5.1} % ({:.1} of {:.1} min)",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                100.0 * frac,
                minutes(frames),
                minutes(self.total)
            );
            self.drawn = true;
        } else {
            let decile = (frac * 10.0) as u64;
            if decile > self.last_decile {
                self.last_decile = decile;
                eprintln!(
                    "replay {:3} % ({:.1} of {:.1} min)",
                    decile * 10,
                    minutes(frames),
                    minutes(self.total)
                );
            }
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

/// Prints the session's report; a recording that holds fewer frames than the session processed
/// (its disk filled up or stalled) then fails the command, so scripts notice.
pub(super) fn print_report(report: &SessionReport, json: bool) -> anyhow::Result<()> {
    print_json_or_text(report, json, SessionReport::to_text)?;
    // Files started or stopped in the window hold part of the session by design.
    if let Some(rec) = report
        .recordings
        .iter()
        .find(|r| r.whole_session && r.frames < report.frames_processed)
    {
        bail!(
            "the recording {} holds {} of the {} frames processed (the report's errors say why); what it holds is readable",
            rec.path,
            rec.frames,
            report.frames_processed
        );
    }
    Ok(())
}

/// Prints `value` as pretty JSON, or as the text `to_text` makes of it.
pub(super) fn print_json_or_text<T: serde::Serialize>(
    value: &T,
    json: bool,
    to_text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        super::tools::print_all(&(serde_json::to_string_pretty(value)? + "\n"))
    } else {
        super::tools::print_all(&to_text(value))
    }
}
