//! The other commands: `bench`, `simulate`, `start`, `streams` and `doctor`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::lsl_io::{VirtualAmplifier, list_streams, run_virtual_amplifier};
use neuroloop_acquisition::sim::{MiScenario, Scenario, SimConfig, SleepScenario};
use neuroloop_runtime::wake_latency::{WakeLatency, WakeLatencyHold};

use super::args::{BenchArgs, ScenarioArg, SimulateArgs, StartArgs};
use super::{error_text, hold_wake_latency};
use crate::window::run_window;

/// `neuroloop bench`: the latency and throughput table, or a soak run.
pub(super) fn bench_command(args: &BenchArgs) -> anyhow::Result<()> {
    match args.soak_hours {
        Some(hours) => {
            let _hold = hold_wake_latency(&args.wake);
            soak(hours, &args.out)
        }
        None => bench(
            args.quick,
            &args.only,
            &args.out,
            args.wake.cpu_wake_latency,
        ),
    }
}

fn bench(quick: bool, only: &[String], out: &Path, wake: WakeLatency) -> anyhow::Result<()> {
    let report = crate::bench::run(quick, only, wake)?;
    if let Some(rss) = report.peak_rss_mib {
        println!("peak RSS {rss:.1} MiB");
    }
    let (json, plot) = crate::bench::write(&report, out)?;
    println!(
        "{} build on {} ({}); wrote {} and {}",
        report.build,
        report.machine,
        report.cpu_wake_latency,
        json.display(),
        plot.display()
    );
    Ok(())
}

fn soak(hours: f64, out: &Path) -> anyhow::Result<()> {
    if !(hours.is_finite() && hours > 0.0) {
        bail!("--soak-hours {hours}: give a positive number of hours, e.g. 8");
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the bench folder {}", out.display()))?;
    let record = out.join("soak.xdf");
    let r = crate::bench::soak(hours, Some(&record))?;
    println!(
        "soak: {:.2} h of simulated sleep in {:.1} s ({:.0}x real time), {} frames dropped, {} decisions, {} stimuli (dry run)",
        r.data_hours, r.wall_secs, r.x_real_time, r.frames_dropped, r.decisions, r.stimuli
    );
    println!(
        "recording: {} ({} frames, {:.1} MiB)",
        record.display(),
        r.recorded_frames,
        r.recording_bytes as f64 / 1048576.0
    );
    let step = (r.samples.len() / 8).max(1);
    for p in r.samples.iter().step_by(step).chain(r.samples.last()) {
        println!("  {:>6.2} h  RSS {:>6.1} MiB", p.data_hours, p.rss_mib);
    }
    println!(
        "RSS growth from the first quarter to the end: {:+.2} MiB",
        r.rss_growth_mib
    );
    Ok(())
}

/// `neuroloop simulate`.
pub(super) fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    if !args.lsl {
        bail!("choose where the simulated stream goes: --lsl publishes it as an LSL outlet");
    }
    let scenario = match args.scenario {
        ScenarioArg::Rest => Scenario::Rest,
        ScenarioArg::Ssvep => Scenario::Ssvep(neuroloop_runtime::spec::ssvep_scenario(
            &args.targets,
            args.ssvep_uv,
        )),
        ScenarioArg::Mi => Scenario::MotorImagery(MiScenario::default()),
        ScenarioArg::Sleep => Scenario::Sleep(SleepScenario::default()),
    };
    let amp = VirtualAmplifier {
        sim: SimConfig {
            sample_rate_hz: args.rate_hz,
            channel_labels: SimConfig::labels_for(args.channels),
            seed: args.seed,
            scenario,
            ..SimConfig::default()
        },
        name: args.name.clone(),
        chunk_frames: 0,
        duration_secs: args.seconds,
        pacing: Pacing::REAL_TIME,
    };
    let stop = crate::window::interrupted();
    eprintln!(
        "publishing `{}` (type EEG, {} ch @ {} Hz) and `{}-truth` (Markers); Ctrl-C stops",
        args.name, args.channels, args.rate_hz, args.name
    );
    let summary = run_virtual_amplifier(&amp, stop, |_, _, _| {})?;
    println!(
        "published {} frames and {} ground-truth markers",
        summary.frames, summary.truth_markers
    );
    Ok(())
}

/// `neuroloop start`.
pub(super) fn start(args: &StartArgs, wake: WakeLatency) -> anyhow::Result<()> {
    use crate::start_screen::{Profile, StartScreen};
    if let Err(why) = crate::window::display_server() {
        bail!(
            "the start screen needs a display, and {why}: run it on a desktop, under `xvfb-run`, or use the headless commands (`neuroloop demo --headless`, `neuroloop run`, `neuroloop replay`)"
        );
    }
    let path = args.profile.clone().unwrap_or_else(Profile::default_path);
    let (profile, problem, start_now) = start_plan(Profile::load_checked(&path), args.now);
    if let (Some(problem), true) = (&problem, args.now) {
        eprintln!("neuroloop: {problem}");
    }
    let mut launcher = StartScreen::new(profile, path, true).with_wake_latency(wake);
    if let Some(problem) = problem {
        launcher.show_error(problem);
    }
    if start_now {
        launcher.start();
    }
    if let Some(shot) = &args.screenshot {
        launcher.screenshot(shot.clone(), args.screenshot_after_secs);
    }
    run_window("neuroloop", "neuroloop", [1280.0, 860.0], launcher)
        .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}

/// What the start screen opens with: the profile read (the defaults when it does not parse),
/// the problem to show (a parse error, or settings it does not know), and whether `--now`
/// starts its session. A profile with a problem starts nothing: the defaults it falls back to,
/// or the session without a misspelt setting, are not the session the user asked for.
fn start_plan(
    loaded: anyhow::Result<(crate::start_screen::Profile, Option<String>)>,
    now: bool,
) -> (crate::start_screen::Profile, Option<String>, bool) {
    let (profile, problem) = match loaded {
        Ok((p, warning)) => (p, warning),
        Err(e) => (
            crate::start_screen::Profile::default(),
            Some(error_text(&e)),
        ),
    };
    match problem {
        None => (profile, None, now),
        Some(mut text) => {
            if now {
                text.push_str(
                    "\nNothing was started (--now runs the profile's session): fix the profile, or set up the session here and press Start",
                );
            }
            (profile, Some(text), false)
        }
    }
}

/// `neuroloop streams`.
pub(super) fn streams(wait_secs: f64) -> anyhow::Result<()> {
    let list = list_streams(wait_secs)?;
    let mut text = String::new();
    if list.is_empty() {
        text = format!("no LSL streams visible (waited {wait_secs} s)\n");
    }
    for s in list {
        text += &format!(
            "{:<28} type={:<10} {:>3} ch  {:>8} Hz  host={}  source_id={}\n",
            s.name, s.content_type, s.channels, s.sample_rate_hz, s.hostname, s.source_id
        );
    }
    print_all(&text)
}

/// `neuroloop doctor`.
pub(super) fn doctor(wake: WakeLatency) -> anyhow::Result<()> {
    let mut text = format!(
        "LSL            liblsl {} (protocol {})\n",
        lsl::library_version(),
        lsl::protocol_version()
    );
    text += &match std::env::var_os("LSLAPICFG") {
        Some(p) => format!(
            "               configuration {}\n",
            PathBuf::from(p).display()
        ),
        None => "               configuration: liblsl defaults (set LSLAPICFG to use another)\n"
            .to_string(),
    };
    text += &match neuroloop_decoders::onnx::init() {
        Ok(info) => format!(
            "ONNX Runtime   {} ({})\n",
            info.path.display(),
            info.build_info
        ),
        Err(e) => format!("ONNX Runtime   NOT AVAILABLE: {e}\n"),
    };
    text += &match crate::window::display_server() {
        Ok(server) => format!("display        {server} answers (windows open on it)\n"),
        Err(why) => format!(
            "display        none: {why} (sessions run headless; `xvfb-run neuroloop ...` gives a virtual display)\n"
        ),
    };
    text += &format!("audio output   {}\n", audio_check());
    text += &format!(
        "CPU wake-up    {}\n",
        WakeLatencyHold::request(wake).describe()
    );
    print_all(&text)
}

/// Opens the default audio output as closed-loop stimulation would, lets it play silence for
/// 0.3 s and says what the device did (or why it could not start).
fn audio_check() -> String {
    use neuroloop_stimuli::device::{AudioConfig, AudioHealth, open_default_output};
    use std::sync::atomic::Ordering;
    let clock = neuroloop_acquisition::clock::local_clock;
    let (_tx, rx) = neuroloop_stimuli::audio::stim_queue(4);
    let out = match open_default_output(AudioConfig::default(), rx, clock) {
        Ok(out) => out,
        Err(e) => return format!("NOT AVAILABLE: {e}"),
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let callbacks = out.stats.callbacks.load(Ordering::Relaxed);
    let delay_ms = out.stats.output_delay_us.load(Ordering::Relaxed) as f64 * 1e-3;
    match out.stats.health(clock()) {
        AudioHealth::Playing if callbacks > 0 => format!(
            "`{}` plays ({} Hz, {} ch; {callbacks} callbacks in 0.3 s, output delay {delay_ms:.1} ms)",
            out.device, out.sample_rate_hz, out.channels
        ),
        _ => out.stats.problem(&out.device, clock()).unwrap_or_else(|| {
            format!(
                "`{}` opened but never called back in 0.3 s: stimulation would be silent; check the device with `aplay -l` or run sleep sessions with --dry-run",
                out.device
            )
        }),
    }
}

/// Writes `text` to standard output; a reader that has gone (`neuroloop doctor | head`) is not
/// an error.
pub(super) fn print_all(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_with_a_problem_starts_nothing_even_with_now() {
        use crate::start_screen::Profile;
        let (_, problem, start) = start_plan(Err(anyhow::anyhow!("bad paradigm")), true);
        let problem = problem.unwrap();
        assert!(!start);
        assert!(problem.contains("bad paradigm") && problem.contains("Nothing was started"));
        let (_, problem, start) = start_plan(Err(anyhow::anyhow!("bad paradigm")), false);
        assert!(!start && !problem.unwrap().contains("Nothing was started"));
        let typo = Some("settings this version does not know: mi_modle".to_string());
        let (_, problem, start) = start_plan(Ok((Profile::default(), typo)), true);
        assert!(!start && problem.unwrap().contains("mi_modle"));
        let (_, problem, start) = start_plan(Ok((Profile::default(), None)), true);
        assert!(start && problem.is_none());
    }
}
