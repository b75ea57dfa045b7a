//! The command line: declared in [`args`], each command carried out by a sibling module
//! (sessions, windows, fitting, evaluation, tools). Only this crate parses arguments, uses
//! `anyhow` and decides exit codes.

pub mod args;
mod eval;
mod eval_mi;
mod fit;
mod model;
mod paradigm;
mod session;
mod tools;
mod windows;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use neuroloop_runtime::wake_latency::{HoldStatus, WakeLatencyHold};

pub use crate::errors::error_text;
pub use args::Cli;
use args::{Command, EvalCommand, MiCommand, ModelCommand, SsvepCommand, WakeArgs};
pub use paradigm::{Given, paradigm_name};

/// Entry point of the `neuroloop` binary: parses the command line, runs it, prints errors
/// with their causes and maps them to an exit code.
pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given = matches
        .subcommand()
        .map_or_else(Given::default, |(_, m)| Given::of(m));
    match run(&cli.command, &given) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neuroloop: {}", error_text(&in_flag_words(e)));
            ExitCode::FAILURE
        }
    }
}

/// Carries out one command; `given` are the arguments given on its command line.
fn run(command: &Command, given: &Given) -> anyhow::Result<()> {
    match command {
        Command::Demo(a) => session::demo(a, given),
        Command::Run(a) => session::run(a, given),
        Command::Replay(a) => session::replay(a, given),
        Command::Sleep(a) => session::sleep(a),
        Command::Speller(a) => windows::speller(a),
        Command::Mi(MiCommand::Session(a)) => windows::mi_session(a),
        Command::Mi(MiCommand::Fit(a)) => fit::mi_fit(a),
        Command::Ssvep(SsvepCommand::Fit(a)) => fit::ssvep_fit(a),
        Command::Eval(EvalCommand::Ssvep(a)) => eval::eval_ssvep(a),
        Command::Eval(EvalCommand::Mi(a)) => eval_mi::eval_mi(a),
        Command::Eval(EvalCommand::Spindles(a)) => eval::eval_spindles(a),
        Command::Eval(EvalCommand::SoPhase(a)) => eval::eval_so_phase(a),
        Command::Model(ModelCommand::Check(a)) => model::check(a),
        Command::Bench(a) => tools::bench_command(a),
        Command::Simulate(a) => tools::simulate(a),
        Command::Start(a) => tools::start(a, a.wake.cpu_wake_latency),
        Command::Streams { wait_secs } => tools::streams(*wait_secs),
        Command::Doctor { wake } => tools::doctor(wake.cpu_wake_latency),
    }
}

/// An error of the runtime whose fix is a flag, said with that flag (the runtime's own words
/// fit a window too, so they name none).
fn in_flag_words(e: anyhow::Error) -> anyhow::Error {
    use neuroloop_acquisition::SourceError;
    use neuroloop_runtime::session::StartError;
    use neuroloop_runtime::spec::SpecError;
    let text = if let Some(spec) = e.downcast_ref::<SpecError>() {
        match spec {
            SpecError::MissingMiModel => {
                "motor-imagery decoding needs --mi-model: a model from `neuroloop mi fit` or a network card".to_string()
            }
            SpecError::TargetMismatch { fitted, shown } => format!(
                "the SSVEP model was fitted for targets {fitted:?} Hz but the stimulus flickers {shown:?} Hz: pass the model's frequencies with --targets"
            ),
            SpecError::VolumeAboveCap { volume, cap } => format!(
                "--volume {volume} must not exceed --volume-cap {cap}, which must be within 0..1 of full scale"
            ),
            SpecError::Model { .. } => format!(
                "{spec} (`neuroloop ssvep fit` and `neuroloop mi fit` write models; a network's card is its .toml)"
            ),
            _ => return e,
        }
    } else if let Some(start) = e.downcast_ref::<StartError>() {
        match start {
            StartError::NoTriggerDecoder { trigger, class } => format!(
                "stimulation on {trigger} needs a decoder that declares {class}: add {} or choose another --stim-on",
                if *trigger == "spindle" {
                    "--spindles"
                } else {
                    "--so-triggers"
                }
            ),
            StartError::Audio(audio) => format!(
                "{audio}\n(nothing was streamed or recorded; --dry-run logs stimuli without sound, --allow-no-audio goes on as a dry run whenever the output cannot start)"
            ),
            StartError::Recording { path, reason } => format!(
                "creating the recording {}: {reason}; choose a writable --record path",
                path.display()
            ),
            StartError::Source(SourceError::WrongType { found, .. }) => {
                format!("{start}; give --type {found}")
            }
            StartError::Source(SourceError::StreamNotFound { .. }) => format!(
                "{start}; `neuroloop streams` lists the visible streams and `neuroloop simulate --lsl` publishes a simulated amplifier"
            ),
            _ => return e,
        }
    } else {
        return e;
    };
    anyhow::anyhow!(text)
}

/// Holds the CPU wake-up latency `wake` asks for while the returned value lives (a session
/// command's run); a refusal is printed with its fix.
fn hold_wake_latency(wake: &WakeArgs) -> WakeLatencyHold {
    let hold = WakeLatencyHold::request(wake.cpu_wake_latency);
    if let HoldStatus::Refused(why) = hold.status() {
        eprintln!("neuroloop: {why} (--cpu-wake-latency off)");
    }
    hold
}

/// Whether a window can be opened here: a display server answers
/// ([`crate::window::display_server`]).
pub fn display_available() -> bool {
    crate::window::display_server().is_ok()
}
