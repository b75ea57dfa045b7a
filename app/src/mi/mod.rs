//! Motor imagery in the app: the cue-based paradigm ([`paradigm`]), its window ([`view`]) and
//! how its sessions start ([`launch`]). Trials are cut and decoders fitted by
//! `neuroloop_offline::calibration::imagery`.

pub mod launch;
pub mod paradigm;
pub mod summary;
pub mod view;
