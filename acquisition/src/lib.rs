//! EEG sources for neuroloop: LSL inlets and outlets, recorded files and the built-in simulator,
//! feeding a lock-free sample ring.
//!
//! A source runs on the acquisition thread and hands chunks of interleaved `f32` frames, each
//! frame stamped in LSL time ([`clock::local_clock`]), to the worker through a
//! [`ring::sample_ring`]. Nothing in this crate's hot paths allocates after start-up.

pub mod clock;
pub mod cues;
pub mod event;
pub mod file;
pub mod lsl_io;
pub mod mains;
pub mod meta;
pub mod replay;
pub mod ring;
pub mod sim;
pub mod source;

pub use cues::FileCues;
pub use event::{
    MiClass, SourceEvent, TruthEvent, TruthKind, is_onset_marker, mi_marker_field,
    ssvep_marker_field,
};
pub use file::FileSource;
pub use meta::StreamMeta;
pub use neuroloop_formats::ChannelKind;
pub use source::{Pacing, ReadStatus, Source, SourceError};
