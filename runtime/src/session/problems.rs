//! What is wrong with a running session, each with what to do about it, read from counters
//! and the output log without waiting for the pipeline.

use std::sync::atomic::Ordering;

use super::Session;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Data or function is being lost now.
    Error,
    /// Something happened that the user should know about; the session goes on normally.
    Warning,
}

/// Something wrong with a running session, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How serious it is.
    pub severity: Severity,
    /// What happened and the fix.
    pub text: String,
}

impl Session {
    /// Everything wrong with the session now, each with what to do about it: the stream
    /// lost, gaps, samples that were not numbers, frames dropped or not recorded, decisions
    /// or events lost, failed model calls, the audio device, and every error the output thread logged (outlets,
    /// recordings, stimulation start-up). Reads counters and `try_lock`s the log: never
    /// waits for the pipeline (the log's errors are left out while it is busy).
    pub fn problems(&self) -> Vec<Problem> {
        let s = &self.stats;
        let mut out = Vec::new();
        let mut add = |severity, text: String| out.push(Problem { severity, text });
        if s.stream_lost.load(Ordering::Relaxed) {
            add(
                Severity::Error,
                format!(
                    "the stream {} is gone: waiting for it to return (check the amplifier, its LSL app and the network); the recording marks the gap",
                    self.meta.name
                ),
            );
        }
        if let Some(e) = self.acquisition_error() {
            add(Severity::Error, format!("acquisition stopped: {e}"));
        }
        let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        // Counters that only grow: each shown with its count once it is not zero.
        let counted = [
            (
                count(&s.gaps),
                Severity::Warning,
                "gap(s) in the stream: samples went missing and the decoders restarted their windows; check the amplifier's connection",
            ),
            (
                count(&s.non_finite_samples),
                Severity::Warning,
                "samples were not numbers (NaN/Inf) and were replaced: a channel is broken or disconnected; check the electrodes flagged in the quality cells",
            ),
            (
                count(&s.ring.frames_dropped),
                Severity::Error,
                "frames dropped: the pipeline fell behind the stream; close other programs, decode fewer channels or use a faster machine",
            ),
            (
                count(&s.record_dropped),
                Severity::Error,
                "frames could not be recorded: the disk did not keep up; record to a faster or less busy disk",
            ),
            (
                count(&s.decisions_dropped)
                    + count(&s.events_dropped)
                    + count(&s.ring.events_dropped),
                Severity::Warning,
                "decisions or events were not published: the output thread fell behind (a stalled LSL consumer or disk)",
            ),
        ];
        for (n, severity, what) in counted {
            if n > 0 {
                add(severity, format!("{n} {what}"));
            }
        }
        for (info, failures) in self.decoders.iter().zip(&s.decoder_failures) {
            let n = count(failures);
            if n > 0 {
                add(
                    Severity::Error,
                    format!(
                        "{n} model call(s) of {} failed, leaving those windows without a decision: check ONNX Runtime with `neuroloop doctor`, and that the network ends in a softmax (its output must be class probabilities, as its card says)",
                        info.name
                    ),
                );
            }
        }
        if let Some(out) = self.audio_output()
            && let Some(problem) = out
                .stats
                .problem(&out.device, neuroloop_acquisition::clock::local_clock())
        {
            add(Severity::Error, problem);
        }
        if let Ok(log) = self.log.try_lock() {
            for e in &log.errors {
                add(Severity::Error, e.clone());
            }
        }
        out
    }
}
