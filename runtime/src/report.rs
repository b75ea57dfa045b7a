//! The end-of-session summary: counts, drops, accuracy and latency, as text or JSON.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::latency::LatencySummary;
use crate::session::{Session, SessionOutcome};

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LatencyReport {
    /// Number of decisions measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Decisions whose latency came out negative (the source's clock ahead of this one's),
    /// left out of the figures above.
    pub skewed: u64,
    /// The most negative of them, as a positive number of milliseconds.
    pub max_skew_ms: f64,
}

impl From<LatencySummary> for LatencyReport {
    fn from(s: LatencySummary) -> Self {
        LatencyReport {
            count: s.count,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
            p999_ms: s.p999_ms,
            max_ms: s.max_ms,
            skewed: s.skewed,
            max_skew_ms: s.max_skew_ms,
        }
    }
}

/// Per-decoder results.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DecoderReport {
    /// Decoder name.
    pub name: String,
    /// Decisions it made.
    pub decisions: u64,
    /// Model calls that failed (windows left without a decision).
    pub failures: u64,
    /// Decisions scorable against ground truth.
    pub scored: u64,
    /// Of those, correct.
    pub correct: u64,
    /// The channels it read, by label (empty: all, or not said).
    pub channels: Vec<String>,
}

/// Everything printed at the end of a session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionReport {
    /// Source description.
    pub source: String,
    /// Channels.
    pub channels: usize,
    /// Sampling rate.
    pub sample_rate_hz: f64,
    /// Front-end filters applied.
    pub front_end: String,
    /// How the notch's frequency was chosen.
    pub mains: String,
    /// Channels the source holds but did not deliver (another sampling rate).
    pub set_aside: Vec<String>,
    /// Wall-clock duration.
    pub wall_secs: f64,
    /// Frames the acquisition thread read.
    pub frames_read: u64,
    /// Frames the worker processed.
    pub frames_processed: u64,
    /// Samples processed (frames × channels).
    pub samples_processed: u64,
    /// Frames dropped because the ring was full.
    pub frames_dropped: u64,
    /// Decisions dropped (output ring or decision buffer full).
    pub decisions_dropped: u64,
    /// Events dropped.
    pub events_dropped: u64,
    /// Non-finite input samples replaced by the filters.
    pub non_finite_samples: u64,
    /// Gaps in the input.
    pub gaps: u64,
    /// Decisions made.
    pub decisions: u64,
    /// Markers published on LSL.
    pub markers_sent: u64,
    /// Per decoder.
    pub decoders: Vec<DecoderReport>,
    /// Latency from the stamp of the sample completing a window to its decision
    /// (`None` when stamps are virtual, as in max-speed runs).
    pub latency_from_sample: Option<LatencyReport>,
    /// Latency from that chunk's arrival in neuroloop to the decision.
    pub latency_from_arrival: LatencyReport,
    /// From the stamp of each chunk's last sample to the chunk's arrival (transport delay of a
    /// live stream, pacing accuracy of a replay; `None` when stamps are virtual).
    pub delivery_lag: Option<LatencyReport>,
    /// Throughput in multiples of real time.
    pub real_time_factor: f64,
    /// The session recording, if one was made (the first file, when the window started
    /// several).
    pub recording: Option<RecordingReport>,
    /// Every recording file of the session, oldest first.
    pub recordings: Vec<RecordingReport>,
    /// Errors reported during the session.
    pub errors: Vec<String>,
    /// Stimulation counts, when stimulation ran.
    pub stimulation: Option<crate::stimulation::StimSummary>,
    /// The files this report was saved to as JSON, one beside each recording
    /// ([`SessionReport::save_beside_recordings`]).
    pub summaries: Vec<String>,
}

/// What went into the session recording.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordingReport {
    /// The XDF file.
    pub path: String,
    /// EEG frames written.
    pub frames: u64,
    /// Frames the recorder could not take (its ring was full; counted for the whole
    /// session); 0 unless the disk stalled.
    pub frames_dropped: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// Opened with the session and not stopped before its end: it should hold every frame
    /// processed (fewer means the disk failed or stalled).
    pub whole_session: bool,
}

impl SessionReport {
    /// Gathers the report of a stopped session.
    pub fn build(
        session: &Session,
        outcome: &SessionOutcome,
        source: &str,
        clocked: bool,
    ) -> SessionReport {
        let s = &session.stats;
        let log = session.log.lock().unwrap_or_else(|p| p.into_inner());
        let frames_processed = s.frames_processed.load(Ordering::Relaxed);
        let decoders = session
            .decoders
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let score = log.scores.get(i).copied().unwrap_or_default();
                DecoderReport {
                    name: info.name.clone(),
                    decisions: s
                        .decisions_per_decoder
                        .get(i)
                        .map_or(0, |c| c.load(Ordering::Relaxed)),
                    failures: s
                        .decoder_failures
                        .get(i)
                        .map_or(0, |c| c.load(Ordering::Relaxed)),
                    scored: score.scored,
                    correct: score.correct,
                    channels: info.channels.clone(),
                }
            })
            .collect();
        let mut errors = log.errors.clone();
        if let Some(e) = &outcome.acquisition_error {
            errors.push(format!("acquisition stopped: {e}"));
        }
        if let Some(out) = session.audio_output() {
            let now = neuroloop_acquisition::clock::local_clock();
            errors.extend(out.stats.problem(&out.device, now));
        }
        let data_secs = frames_processed as f64 / session.meta.sample_rate_hz;
        let recordings: Vec<RecordingReport> = log
            .recordings
            .iter()
            .map(|f| RecordingReport {
                path: f.path.display().to_string(),
                frames: f.frames,
                frames_dropped: f.frames_dropped,
                bytes: f.bytes,
                whole_session: f.whole_session,
            })
            .collect();
        SessionReport {
            source: source.to_string(),
            channels: session.meta.channels(),
            sample_rate_hz: session.meta.sample_rate_hz,
            front_end: session.front_end.clone(),
            mains: session.mains.clone(),
            set_aside: session.meta.set_aside.clone(),
            wall_secs: outcome.wall_secs,
            frames_read: outcome.acquisition.frames_read,
            frames_processed,
            samples_processed: frames_processed * session.meta.channels() as u64,
            frames_dropped: s.ring.frames_dropped.load(Ordering::Relaxed),
            decisions_dropped: s.decisions_dropped.load(Ordering::Relaxed),
            events_dropped: s.events_dropped.load(Ordering::Relaxed)
                + s.ring.events_dropped.load(Ordering::Relaxed),
            non_finite_samples: s.non_finite_samples.load(Ordering::Relaxed),
            gaps: s.gaps.load(Ordering::Relaxed),
            decisions: s.decisions.load(Ordering::Relaxed),
            markers_sent: log.markers_sent,
            decoders,
            latency_from_sample: clocked.then(|| s.latency_from_sample.summary().into()),
            latency_from_arrival: s.latency_from_arrival.summary().into(),
            delivery_lag: clocked.then(|| s.delivery_lag.summary().into()),
            real_time_factor: if outcome.wall_secs > 0.0 {
                data_secs / outcome.wall_secs
            } else {
                0.0
            },
            recording: recordings.first().cloned(),
            recordings,
            errors,
            stimulation: log.stim,
            summaries: Vec::new(),
        }
    }

    /// Where the summary of the recording `path` goes: beside it, `NAME.summary.json` for
    /// `NAME.xdf`.
    pub fn summary_path(path: &std::path::Path) -> std::path::PathBuf {
        path.with_extension("summary.json")
    }

    /// Writes `summary` as pretty JSON to [`SessionReport::summary_path`] of `recording`;
    /// returns that path. Every paradigm's summary (this report, the speller's, motor
    /// imagery's) is saved this way.
    pub fn save_json_beside(
        recording: &std::path::Path,
        summary: &impl Serialize,
    ) -> std::io::Result<std::path::PathBuf> {
        let path = Self::summary_path(recording);
        let json = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
        std::fs::write(&path, json + "\n")?;
        Ok(path)
    }

    /// Saves this report as JSON beside each of the session's recordings
    /// ([`SessionReport::summary_path`]), so that a recording keeps what its session measured.
    /// A file that cannot be written is named among the errors; the recordings are untouched.
    pub fn save_beside_recordings(&mut self) {
        let recordings: Vec<std::path::PathBuf> = self
            .recordings
            .iter()
            .map(|r| std::path::PathBuf::from(&r.path))
            .collect();
        self.summaries = recordings
            .iter()
            .map(|r| Self::summary_path(r).display().to_string())
            .collect();
        let written = self.clone();
        for recording in recordings {
            if let Err(e) = Self::save_json_beside(&recording, &written) {
                let shown = Self::summary_path(&recording).display().to_string();
                self.summaries.retain(|p| *p != shown);
                self.errors.push(format!(
                    "the session summary {shown} could not be written ({e}); the recording beside it is not affected"
                ));
            }
        }
    }

    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        self.counts_text(&mut t);
        self.decoders_text(&mut t);
        self.latency_text(&mut t);
        self.outputs_text(&mut t);
        for e in &self.errors {
            let _ = writeln!(t, "error         {e}");
        }
        t
    }

    /// Source, stream, duration, samples, drops and decisions.
    fn counts_text(&self, t: &mut String) {
        let _ = writeln!(t, "source        {}", self.source);
        let _ = writeln!(
            t,
            "stream        {} channels at {} Hz; front end: {} ({})",
            self.channels, self.sample_rate_hz, self.front_end, self.mains
        );
        if !self.set_aside.is_empty() {
            let _ = writeln!(
                t,
                "              not replayed (another sampling rate; `neuroloop replay FILE --channels` picks them): {}",
                self.set_aside.join(", ")
            );
        }
        let _ = writeln!(
            t,
            "duration      {:.2} s wall clock, {:.1}x real time",
            self.wall_secs, self.real_time_factor
        );
        let _ = writeln!(
            t,
            "samples       {} frames read, {} processed ({} samples)",
            self.frames_read, self.frames_processed, self.samples_processed
        );
        let _ = writeln!(
            t,
            "drops         {} frames, {} decisions, {} events; {} non-finite samples; {} gaps",
            self.frames_dropped,
            self.decisions_dropped,
            self.events_dropped,
            self.non_finite_samples,
            self.gaps
        );
        let _ = writeln!(
            t,
            "decisions     {} ({} published as LSL markers)",
            self.decisions, self.markers_sent
        );
    }

    /// Each decoder's decisions, accuracy and failed model calls.
    fn decoders_text(&self, t: &mut String) {
        for d in &self.decoders {
            if !d.channels.is_empty() && d.channels.len() <= 8 {
                let _ = writeln!(t, "  {:<12}reads {}", d.name, d.channels.join(", "));
            }
            if d.scored > 0 {
                let _ = writeln!(
                    t,
                    "  {:<12} {} decisions; {}/{} = {:.1} % correct vs ground truth (windows inside a trial)",
                    d.name,
                    d.decisions,
                    d.correct,
                    d.scored,
                    100.0 * d.correct as f64 / d.scored as f64
                );
            } else {
                let _ = writeln!(t, "  {:<12} {} decisions", d.name, d.decisions);
            }
            if d.failures > 0 {
                let _ = writeln!(
                    t,
                    "  {:<12}{} model calls failed (no decision for those windows)",
                    d.name, d.failures
                );
            }
        }
    }

    /// The latencies measured.
    fn latency_text(&self, t: &mut String) {
        let line = |name: &str, l: &LatencyReport| {
            let skew = if l.skewed > 0 {
                format!(
                    "; {} more came out negative, by up to {:.3} ms: the source's clock runs ahead of this machine's (clock skew; check the stream's clock synchronisation)",
                    l.skewed, l.max_skew_ms
                )
            } else {
                String::new()
            };
            if l.count == 0 {
                return format!("{name}n/a (no decisions){skew}");
            }
            format!(
                "{name}median {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms (n = {}){skew}",
                l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
            )
        };
        match &self.latency_from_sample {
            Some(l) => {
                let _ = writeln!(t, "{}", line("latency       sample stamp -> decision: ", l));
            }
            None => {
                let _ = writeln!(
                    t,
                    "latency       sample stamp -> decision: not measured (virtual timestamps at max speed)"
                );
            }
        }
        let _ = writeln!(
            t,
            "{}",
            line(
                "              chunk arrival -> decision: ",
                &self.latency_from_arrival
            )
        );
        if let Some(l) = &self.delivery_lag {
            let _ = writeln!(
                t,
                "{}",
                line("delivery      sample stamp -> chunk arrival: ", l)
            );
        }
    }

    /// Recordings and stimulation.
    fn outputs_text(&self, t: &mut String) {
        for r in &self.recordings {
            let _ = writeln!(
                t,
                "recording     {} ({} frames, {:.1} MiB, {} dropped)",
                r.path,
                r.frames,
                r.bytes as f64 / 1048576.0,
                r.frames_dropped
            );
        }
        for path in &self.summaries {
            let _ = writeln!(t, "summary       {path}");
        }
        if let Some(st) = &self.stimulation {
            let _ = writeln!(
                t,
                "stimulation   {} bursts commanded{}; suppressed: {} interval, {} rate, {} artifact, {} queue full, {} audio lost",
                st.commanded,
                if st.dry_run {
                    " (dry run, no sound)"
                } else {
                    ""
                },
                st.suppressed_interval,
                st.suppressed_rate,
                st.suppressed_artifact,
                st.suppressed_queue,
                st.suppressed_audio_lost
            );
            if !st.dry_run {
                let _ = writeln!(
                    t,
                    "audio         {} on time, {} late, {} dropped; largest onset error {:.3} ms",
                    st.on_time, st.late, st.dropped, st.max_error_ms
                );
            }
        }
    }
}
