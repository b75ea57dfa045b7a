//! neuroloop: a real-time brain-computer-interface application.
//!
//! The binary (`src/main.rs`) only calls [`cli::main`]; everything else lives in this library
//! so that tests drive the real application.
//!
//! Threads of a session (see `ARCHITECTURE.md`): the acquisition thread reads the source into
//! a lock-free sample ring; the worker ([`pipeline::Worker`]) filters and decodes; the output
//! thread ([`outputs`]) publishes decisions; the GUI ([`gui`]) or the headless loop only reads
//! shared state.

pub mod bench;
pub mod cli;
pub mod eval;
pub mod gui;
pub mod latency;
pub mod launcher;
pub mod mi;
pub mod monitor;
pub mod outputs;
pub mod pipeline;
pub mod power;
pub mod record;
pub mod report;
pub mod session;
pub mod speller;
pub mod stimulation;
