//! The command line: declared in [`args`], each command carried out by a sibling module
//! (sessions, windows, fitting, evaluation, tools). Only this crate parses arguments, uses
//! `anyhow` and decides exit codes.

pub mod args;
mod eval;
mod fit;
mod paradigm;
mod session;
mod tools;
mod windows;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser as _;
use neuroloop_acquisition::sim::{SsvepScenario, SsvepTarget};
use neuroloop_runtime::wake_latency::{HoldStatus, WakeLatencyHold};

pub use crate::errors::error_text;
pub use args::Cli;
use args::{Command, EvalCommand, MiCommand, SsvepCommand, WakeArgs};
pub use paradigm::paradigm_name;

/// Entry point of the `neuroloop` binary: parses the command line, runs it, prints errors
/// with their causes and maps them to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neuroloop: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// Carries out one command.
fn run(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(a) => session::demo(a),
        Command::Run(a) => session::run(a),
        Command::Replay(a) => session::replay(a),
        Command::Sleep(a) => session::sleep(a),
        Command::Speller(a) => windows::speller(a),
        Command::Mi(MiCommand::Session(a)) => windows::mi_session(a),
        Command::Mi(MiCommand::Fit(a)) => fit::mi_fit(a),
        Command::Ssvep(SsvepCommand::Fit(a)) => fit::ssvep_fit(a),
        Command::Eval(EvalCommand::Ssvep(a)) => eval::eval_ssvep(a),
        Command::Eval(EvalCommand::Mi(a)) => eval::eval_mi(a),
        Command::Eval(EvalCommand::Spindles(a)) => eval::eval_spindles(a),
        Command::Eval(EvalCommand::SoPhase(a)) => eval::eval_so_phase(a),
        Command::Bench(a) => tools::bench_command(a),
        Command::Simulate(a) => tools::simulate(a),
        Command::Start(a) => tools::start(a, a.wake.cpu_wake_latency),
        Command::Streams { wait_secs } => tools::streams(*wait_secs),
        Command::Doctor { wake } => tools::doctor(wake.cpu_wake_latency),
    }
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

/// Whether a window can be opened here.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

fn install_interrupt(stop: &Arc<AtomicBool>) {
    let flag = Arc::clone(stop);
    // A second handler cannot be installed; the first one keeps working, so ignore that case.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Release));
}

fn ssvep_scenario(targets: &[f64], amplitude_uv: f64) -> SsvepScenario {
    SsvepScenario {
        amplitude_uv,
        targets: targets
            .iter()
            .enumerate()
            .map(|(i, &f)| SsvepTarget {
                freq_hz: f,
                phase_rad: (i as f64 * std::f64::consts::FRAC_PI_2) % std::f64::consts::TAU,
            })
            .collect(),
        ..SsvepScenario::default()
    }
}
