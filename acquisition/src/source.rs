//! The acquisition loop and the sources it can drive.
//!
//! A [`Source`] is created on the acquisition thread (LSL handles cannot move between threads)
//! and polled by [`run_acquisition`], which forwards its chunks and events into the sample ring.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::local_clock;
use crate::event::SourceEvent;
use crate::meta::StreamMeta;
use crate::ring::{PushOutcome, SampleWriter};
use crate::sim::{SimConfig, SimError, Simulator};

/// How fast a non-live source (simulator, file) delivers its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// As fast as the consumer can take them; timestamps are virtual (nominal) times.
    Max,
    /// In step with the clock, `factor` times real time (1.0 = real time).
    Speed(f64),
}

impl Pacing {
    /// Real-time pacing.
    pub const REAL_TIME: Pacing = Pacing::Speed(1.0);

    /// Parses `max`, `1`, `2.5`, `10x`.
    pub fn parse(text: &str) -> Option<Pacing> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("max") {
            return Some(Pacing::Max);
        }
        match t.trim_end_matches(['x', 'X']).parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Some(Pacing::Speed(f)),
            _ => None,
        }
    }
}

/// What a [`Source::read`] call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// This many frames were written into the buffers.
    Frames(usize),
    /// Nothing arrived within the wait.
    Idle,
    /// The source has no more data (end of file, simulation length reached).
    Ended,
}

/// Errors of sources; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The simulator configuration is invalid.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A recording could not be read (the message names the file, offset and problem).
    #[error(transparent)]
    Recording(#[from] neuroloop_formats::Error),
    /// No LSL stream matched within the resolve timeout.
    #[error(
        "no LSL stream matching `{query}` appeared within {timeout_secs} s (streams visible: {visible}); \
         start the amplifier's LSL app (or the simulator published as a stream), and check the stream name and type"
    )]
    StreamNotFound {
        /// The LSL predicate used.
        query: String,
        /// How long resolution waited.
        timeout_secs: f64,
        /// Streams that were visible, for comparison.
        visible: String,
    },
    /// A stream of the asked name exists, with another content type.
    #[error(
        "the LSL stream `{name}` has type `{found}`, not `{wanted}`: choose a stream type of `{found}` (or any type) to read it"
    )]
    WrongType {
        /// The stream's name.
        name: String,
        /// The type asked for.
        wanted: String,
        /// The stream's type.
        found: String,
    },
    /// An LSL call failed.
    #[error("LSL failed while {action}: {source}")]
    Lsl {
        /// What was being done.
        action: &'static str,
        /// The library's error.
        source: lsl::Error,
    },
    /// The stream or recording cannot be used as EEG input.
    #[error("`{name}` cannot be used: {reason}")]
    Unusable {
        /// Stream name.
        name: String,
        /// Why, and what to do.
        reason: String,
    },
}

/// A producer of stamped multi-channel frames, polled on the acquisition thread.
pub trait Source {
    /// The stream delivered.
    fn meta(&self) -> &StreamMeta;

    /// Largest number of frames one `read` may produce; the caller's buffers hold this many.
    fn max_chunk_frames(&self) -> usize;

    /// Waits at most `max_wait` for data, then writes up to `max_chunk_frames` interleaved frames
    /// into `values` and their LSL timestamps into `stamps`. Events (gaps, ground truth) go to
    /// `events` as they occur.
    ///
    /// Called on the acquisition thread; implementations do not allocate once running.
    fn read(
        &mut self,
        values: &mut [f32],
        stamps: &mut [f64],
        events: &mut dyn FnMut(SourceEvent),
        max_wait: Duration,
    ) -> Result<ReadStatus, SourceError>;

    /// True for sources without a clock of their own (replay or simulation at maximum speed):
    /// the acquisition loop then waits for room in the ring instead of dropping, so such runs
    /// are lossless and deterministic. Live sources keep the default `false`: an amplifier does
    /// not wait, so a full ring drops (and counts) whole chunks.
    fn paced_by_consumer(&self) -> bool {
        false
    }

    /// Total frames the source will deliver, when known in advance (files).
    fn total_frames(&self) -> Option<u64> {
        None
    }

    /// Texts of the annotations this source emits as [`SourceEvent::Annotation`] (files).
    fn annotation_texts(&self) -> &[String] {
        &[]
    }

    /// Per text of [`Source::annotation_texts`], whether it marks a stimulus onset (the
    /// speller's and the simulator's markers, [`crate::is_onset_marker`], unless the source
    /// was told more). Asked once at start-up.
    fn onset_annotations(&self) -> Vec<bool> {
        self.annotation_texts()
            .iter()
            .map(|t| crate::is_onset_marker(t))
            .collect()
    }

    /// Whether the source marks stimulus onsets itself (annotations that are onsets, or
    /// [`crate::SourceEvent::Onset`]); otherwise its SSVEP ground truth marks them (the
    /// simulator). Asked once at start-up.
    fn marks_onsets(&self) -> bool {
        self.onset_annotations().contains(&true)
    }

    /// Per text of [`Source::annotation_texts`], how many annotations carry it (empty when
    /// the source cannot say in advance). Asked once at start-up.
    fn annotation_counts(&self) -> Vec<usize> {
        Vec::new()
    }

    /// The handle that pauses, speeds up and moves a replay while it runs (files replayed
    /// against the clock); `None` for live streams and maximum-speed runs.
    fn replay_control(&self) -> Option<std::sync::Arc<crate::replay::ReplayControl>> {
        None
    }
}

/// Free event slots a consumer-paced source waits for before each read.
const EVENT_HEADROOM: usize = 16;

/// Totals of one acquisition run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AcquisitionSummary {
    /// Frames read from the source.
    pub frames_read: u64,
    /// Frames the ring could not take.
    pub frames_dropped: u64,
    /// Whether the source reported its end (as opposed to being stopped).
    pub ended: bool,
}

/// How long one `read` may wait before the loop checks the stop flag again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Drives `source` until it ends, fails or `stop` is set, pushing everything into `writer`.
///
/// Runs on the acquisition thread. Allocates its two chunk buffers once, before the loop.
pub fn run_acquisition(
    source: &mut dyn Source,
    writer: &mut SampleWriter,
    stop: &AtomicBool,
) -> Result<AcquisitionSummary, SourceError> {
    let channels = source.meta().channels();
    let max_frames = source.max_chunk_frames();
    let mut values = vec![0.0f32; max_frames * channels];
    let mut stamps = vec![0.0f64; max_frames];
    let mut summary = AcquisitionSummary::default();
    let paced_by_consumer = source.paced_by_consumer();
    while !stop.load(Ordering::Acquire) {
        if paced_by_consumer && !writer.has_room(max_frames, EVENT_HEADROOM) {
            writer.wake_consumer();
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let status = source.read(
            &mut values,
            &mut stamps,
            &mut |e| {
                writer.push_event(e);
            },
            POLL_INTERVAL,
        )?;
        match status {
            ReadStatus::Frames(n) => {
                let arrival = local_clock();
                summary.frames_read += n as u64;
                if writer.push_chunk(&values[..n * channels], &stamps[..n], arrival)
                    == PushOutcome::Dropped
                {
                    summary.frames_dropped += n as u64;
                }
            }
            ReadStatus::Idle => {}
            ReadStatus::Ended => {
                summary.ended = true;
                break;
            }
        }
    }
    Ok(summary)
}

/// Sleeps until LSL time `due` if that is within `max_wait` and returns `true`; otherwise
/// sleeps `max_wait` and returns `false` (the caller reports [`ReadStatus::Idle`], so the
/// acquisition loop can notice a stop request).
pub(crate) fn wait_until_due(due: f64, max_wait: Duration) -> bool {
    let wait = due - local_clock();
    if wait <= 0.0 {
        return true;
    }
    if wait > max_wait.as_secs_f64() {
        std::thread::sleep(max_wait);
        return false;
    }
    std::thread::sleep(Duration::from_secs_f64(wait));
    true
}

/// The simulator as a source, paced against the clock or as fast as possible.
pub struct SimSource {
    sim: Simulator,
    meta: StreamMeta,
    pacing: Pacing,
    chunk_frames: usize,
    limit_frames: Option<u64>,
    /// LSL time of frame 0 (set on the first read).
    origin: Option<f64>,
    /// Clock reading of the first read: paced delivery runs from here, whatever the stamps'
    /// origin.
    started: Option<f64>,
}

impl SimSource {
    /// Default chunk: 10 ms of data, the block size of many amplifiers' LSL apps.
    pub const DEFAULT_CHUNK_SECS: f64 = 0.01;

    /// Builds the simulator. `chunk_frames = 0` picks [`SimSource::DEFAULT_CHUNK_SECS`].
    pub fn new(cfg: SimConfig, pacing: Pacing, chunk_frames: usize) -> Result<Self, SourceError> {
        let fs = cfg.sample_rate_hz;
        let sim = Simulator::new(cfg)?;
        let chunk_frames = if chunk_frames == 0 {
            ((fs * Self::DEFAULT_CHUNK_SECS).round() as usize).max(1)
        } else {
            chunk_frames
        };
        Ok(SimSource {
            meta: sim.meta(),
            sim,
            pacing,
            chunk_frames,
            limit_frames: None,
            origin: None,
            started: None,
        })
    }

    /// Ends the source after `secs` of simulated data.
    pub fn with_duration(mut self, secs: f64) -> Self {
        self.limit_frames = Some((secs * self.meta.sample_rate_hz).round() as u64);
        self
    }

    /// Starts the time base at `origin` (LSL time of frame 0) instead of the first read's clock.
    /// Used to make max-speed runs bit-identical including their timestamps, and to stamp a
    /// faster-than-real-time run on a program's own accelerated clock. Paced delivery still
    /// starts at the first read.
    pub fn with_time_origin(mut self, origin: f64) -> Self {
        self.origin = Some(origin);
        self.sim.set_time_origin(origin);
        self
    }

    /// The wrapped simulator.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }
}

impl Source for SimSource {
    fn meta(&self) -> &StreamMeta {
        &self.meta
    }

    fn max_chunk_frames(&self) -> usize {
        self.chunk_frames
    }

    fn read(
        &mut self,
        values: &mut [f32],
        stamps: &mut [f64],
        events: &mut dyn FnMut(SourceEvent),
        max_wait: Duration,
    ) -> Result<ReadStatus, SourceError> {
        let started = *self.started.get_or_insert_with(local_clock);
        if self.origin.is_none() {
            self.origin = Some(started);
            self.sim.set_time_origin(started);
        }
        let done = self.sim.frames_generated();
        let mut frames = self.chunk_frames as u64;
        if let Some(limit) = self.limit_frames {
            if done >= limit {
                return Ok(ReadStatus::Ended);
            }
            frames = frames.min(limit - done);
        }
        let fs = self.meta.sample_rate_hz;
        if let Pacing::Speed(factor) = self.pacing {
            // The chunk is released when its last sample would have been measured.
            let due = started + ((done + frames) as f64 / fs - 1.0 / fs) / factor;
            if !wait_until_due(due, max_wait) {
                return Ok(ReadStatus::Idle);
            }
        }
        let n = frames as usize;
        let channels = self.meta.channels();
        self.sim.generate(&mut values[..n * channels]);
        for (i, s) in stamps[..n].iter_mut().enumerate() {
            // Stamps are nominal sample times: an amplifier with a perfect clock.
            *s = self.sim.frame_time(done + i as u64);
        }
        self.sim.drain_truth(|t| events(SourceEvent::Truth(t)));
        Ok(ReadStatus::Frames(n))
    }

    fn paced_by_consumer(&self) -> bool {
        self.pacing == Pacing::Max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{RingShape, sample_ring};
    use crate::sim::{Scenario, SsvepScenario};

    #[test]
    fn pacing_parses_common_spellings() {
        assert_eq!(Pacing::parse("max"), Some(Pacing::Max));
        assert_eq!(Pacing::parse("MAX"), Some(Pacing::Max));
        assert_eq!(Pacing::parse("1"), Some(Pacing::Speed(1.0)));
        assert_eq!(Pacing::parse("10x"), Some(Pacing::Speed(10.0)));
        assert_eq!(Pacing::parse("0"), None);
        assert_eq!(Pacing::parse("fast"), None);
    }

    #[test]
    fn max_speed_simulation_delivers_every_frame_with_nominal_stamps() {
        let cfg = SimConfig {
            scenario: Scenario::Ssvep(SsvepScenario::default()),
            ..SimConfig::default()
        };
        let mut src = SimSource::new(cfg, Pacing::Max, 25)
            .unwrap()
            .with_duration(12.0)
            .with_time_origin(100.0);
        let (mut w, mut r) = sample_ring(RingShape {
            channels: 8,
            capacity_frames: 250 * 20,
            max_chunk_frames: 25,
        });
        let stop = AtomicBool::new(false);
        let summary = run_acquisition(&mut src, &mut w, &stop).unwrap();
        assert_eq!(summary.frames_read, 3000);
        assert!(summary.ended);
        let mut v = vec![0.0; 25 * 8];
        let mut s = vec![0.0; 25];
        let mut k = 0u64;
        while let Some(h) = r.pop_chunk(&mut v, &mut s) {
            for &stamp in &s[..h.frames] {
                assert!((stamp - (100.0 + k as f64 / 250.0)).abs() < 1e-9);
                k += 1;
            }
        }
        assert_eq!(k, 3000);
        let mut truth = 0;
        while let Some(e) = r.pop_event() {
            assert!(matches!(e, SourceEvent::Truth(_)));
            truth += 1;
        }
        // Trials start at 1, 6 and 11 s.
        assert_eq!(truth, 3);
    }

    #[test]
    fn max_speed_waits_for_a_slow_consumer_instead_of_dropping() {
        let mut src = SimSource::new(SimConfig::default(), Pacing::Max, 25)
            .unwrap()
            .with_duration(8.0)
            .with_time_origin(0.0);
        // The ring holds under half a second; the consumer takes 8 s of data in small bites.
        let (mut w, mut r) = sample_ring(RingShape {
            channels: 8,
            capacity_frames: 100,
            max_chunk_frames: 25,
        });
        let stop = AtomicBool::new(false);
        let consumer = std::thread::spawn(move || {
            r.register_current_thread();
            let (mut v, mut s) = (vec![0.0; 25 * 8], vec![0.0; 25]);
            let mut next = 0u64;
            while next < 2000 {
                match r.pop_chunk(&mut v, &mut s) {
                    Some(h) => {
                        for &stamp in &s[..h.frames] {
                            assert!((stamp - next as f64 / 250.0).abs() < 1e-9, "frame {next}");
                            next += 1;
                        }
                    }
                    None => std::thread::park_timeout(Duration::from_millis(5)),
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            (next, r.stats().frames_dropped.load(Ordering::Relaxed))
        });
        let summary = run_acquisition(&mut src, &mut w, &stop).unwrap();
        let (consumed, dropped) = consumer.join().unwrap();
        assert_eq!(summary.frames_read, 2000);
        assert_eq!(summary.frames_dropped, 0);
        assert_eq!((consumed, dropped), (2000, 0));
    }

    #[test]
    fn real_time_pacing_follows_the_clock() {
        let mut src = SimSource::new(SimConfig::default(), Pacing::REAL_TIME, 0)
            .unwrap()
            .with_duration(0.5);
        let (mut w, _r) = sample_ring(RingShape {
            channels: 8,
            capacity_frames: 1000,
            max_chunk_frames: src.max_chunk_frames(),
        });
        let stop = AtomicBool::new(false);
        let t0 = local_clock();
        let summary = run_acquisition(&mut src, &mut w, &stop).unwrap();
        let elapsed = local_clock() - t0;
        assert_eq!(summary.frames_read, 125);
        // The last chunk is due at 0.496 s; allow generous slack for a loaded machine.
        assert!(elapsed > 0.45 && elapsed < 2.0, "elapsed {elapsed}");
    }
}
