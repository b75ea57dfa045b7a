//! Motor imagery in the app: the cue-based paradigm ([`paradigm`]), its window ([`view`]) and
//! how its sessions start ([`launch`]), with a fitted model or a network card ([`model`]). Trials are cut and decoders fitted by
//! `neuroloop_offline::calibration::imagery`.

pub mod launch;
pub mod model;
pub mod paradigm;
pub mod summary;
pub mod view;
