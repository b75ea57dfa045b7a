//! neuroloop: a real-time brain-computer-interface application — the command line, the
//! windows and the bench, on top of the runtime (`neuroloop_runtime`: sessions and their
//! threads) and the offline crate (`neuroloop_offline`: evaluation and calibration fitting).
//!
//! The binary (`src/main.rs`) only calls [`cli::main`]; everything else lives in this library
//! so that tests drive the real application. The windows: the start screen
//! ([`start_screen`]), a running session's window ([`session_window`]), the speller
//! ([`speller`]) and the motor-imagery paradigm ([`mi`]).

pub mod bench;
pub mod cli;
pub mod errors;
pub mod mi;
pub mod session_window;
pub mod speller;
pub mod start_screen;
pub mod window;
