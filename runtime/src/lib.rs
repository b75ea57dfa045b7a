//! The real-time runtime of neuroloop: a session's threads (acquisition, worker, outputs),
//! what they share, and the paradigm spec that builds a session. No GUI and no command line:
//! the `neuroloop` binary's windows and commands drive it, and tests drive it directly.
//!
//! Threads of a session (see `ARCHITECTURE.md`): the acquisition thread reads the source into
//! a lock-free sample ring; the worker ([`worker::Worker`]) filters and decodes; the output
//! thread ([`outputs`]) publishes decisions, scores them and writes the recording
//! ([`record`]); closed-loop stimulation ([`stimulation`]) decides on the worker and plays on
//! the audio callback. A window or a headless loop only reads what they share.

pub mod latency;
pub mod monitor;
pub mod outputs;
pub mod record;
pub mod report;
pub mod session;
pub mod spec;
pub mod stimulation;
pub mod wake_latency;
pub mod worker;

pub use neuroloop_dsp::front_end::FrontEnd;
pub use session::{Session, SessionConfig, SessionDecoder, SourceSpec, StimulationSpec};
pub use spec::ParadigmSpec;
