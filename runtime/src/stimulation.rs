//! Closed-loop stimulation policy: which decisions become sounds, under which safety limits.
//!
//! The [`StimController`] runs on the worker thread right after the decoders. For every
//! decision of the chosen trigger (a slow-oscillation phase trigger or a spindle onset) it
//! either commands a burst (through the lock-free queue to the audio callback, or only into
//! the log in dry-run mode) or records why not:
//!
//! - `interval`: less than [`StimPolicy::min_interval_secs`] since the last stimulus;
//! - `rate`: [`StimPolicy::max_per_minute`] stimuli already in the last 60 s;
//! - `artifact`: the watched channel exceeded [`StimPolicy::artifact_uv`] (movement, arousal,
//!   electrode pop) less than [`StimPolicy::artifact_pause_secs`] ago;
//! - `queue-full`: the audio callback has not taken the commands already sent;
//! - `audio-lost`: the audio device failed or stopped calling back during the session
//!   ([`neuroloop_stimuli::device::AudioStats::health`]); detection and recording go on.
//!
//! The audio side's onset reports come back through the same queue pair and are logged with
//! their actual onset time. Every command, suppression and onset is a [`StimEvent`], which the
//! output thread publishes as a marker and writes to the recording's event stream.
//! Nothing here allocates after construction.

use std::sync::Arc;

use neuroloop_decoders::Decision;
use neuroloop_stimuli::audio::{Placement, StimCommand, StimSender};
use neuroloop_stimuli::device::{AudioHealth, AudioStats};

/// What triggers a stimulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StimTrigger {
    /// A slow-oscillation phase trigger (`so-target` decisions).
    SlowOscillation,
    /// A spindle onset declaration (`spindle-onset` decisions).
    SpindleOnset,
}

impl StimTrigger {
    /// Name used in markers and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StimTrigger::SlowOscillation => "so",
            StimTrigger::SpindleOnset => "spindle",
        }
    }

    /// The trigger a [`StimTrigger::name`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "so" => Some(StimTrigger::SlowOscillation),
            "spindle" => Some(StimTrigger::SpindleOnset),
            _ => None,
        }
    }
}

/// Safety limits and stimulus settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StimPolicy {
    /// Decisions that trigger.
    pub trigger: StimTrigger,
    /// Least time between stimuli, s.
    pub min_interval_secs: f64,
    /// Most stimuli in any 60 s.
    pub max_per_minute: usize,
    /// Absolute amplitude on the watched channel (µV, after the front end) that counts as an
    /// artefact or arousal.
    pub artifact_uv: f64,
    /// Stimulation pauses this long after an artefact, s.
    pub artifact_pause_secs: f64,
    /// Burst amplitude (full scale 1.0; the audio side caps it).
    pub amplitude: f32,
    /// Log stimuli without sound.
    pub dry_run: bool,
}

impl Default for StimPolicy {
    fn default() -> Self {
        StimPolicy {
            trigger: StimTrigger::SlowOscillation,
            min_interval_secs: 2.5,
            max_per_minute: 12,
            artifact_uv: 300.0,
            artifact_pause_secs: 5.0,
            amplitude: 0.1,
            dry_run: false,
        }
    }
}

/// Why a trigger did not become a stimulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// Too soon after the previous stimulus.
    Interval,
    /// Too many in the last minute.
    Rate,
    /// During the pause after an artefact.
    Artifact,
    /// The command queue to the audio callback was full.
    QueueFull,
    /// The audio device failed or stopped during the session.
    AudioLost,
}

impl Suppression {
    /// Name used in markers.
    pub fn name(self) -> &'static str {
        match self {
            Suppression::Interval => "interval",
            Suppression::Rate => "rate",
            Suppression::Artifact => "artifact",
            Suppression::QueueFull => "queue-full",
            Suppression::AudioLost => "audio-lost",
        }
    }
}

/// What happened to a stimulus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StimEventKind {
    /// A burst was commanded (or only logged, in dry-run).
    Commanded {
        /// Dry run: no sound.
        dry_run: bool,
    },
    /// A trigger was not acted on.
    Suppressed(Suppression),
    /// The audio callback placed (or dropped) the burst.
    Onset {
        /// On time, late or dropped.
        placement: Placement,
        /// Frame of the output stream.
        frame: u64,
    },
}

/// One stimulation event, stamped in LSL time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StimEvent {
    /// Stimulus id (also for suppressed triggers, so they can be counted).
    pub id: u64,
    /// What happened.
    pub kind: StimEventKind,
    /// When the burst was (or would have been) due.
    pub target_time: f64,
    /// When it happened: the trigger's sample for commands and suppressions, the actual
    /// onset for onsets (NaN for a dropped burst).
    pub time: f64,
}

impl StimEvent {
    /// The marker text (`stim/commanded id=3 trigger=so target=… dry_run=0`, …).
    pub fn marker(&self, trigger: StimTrigger, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        let _ = match self.kind {
            StimEventKind::Commanded { dry_run } => write!(
                out,
                "stim/commanded id={} trigger={} target={:.6} dry_run={}",
                self.id,
                trigger.name(),
                self.target_time,
                u8::from(dry_run)
            ),
            StimEventKind::Suppressed(why) => write!(
                out,
                "stim/suppressed id={} trigger={} reason={}",
                self.id,
                trigger.name(),
                why.name()
            ),
            StimEventKind::Onset { placement, frame } => write!(
                out,
                "stim/onset id={} placement={} onset={:.6} target={:.6} error_ms={:.3} frame={frame}",
                self.id,
                match placement {
                    Placement::OnTime => "on-time",
                    Placement::Late => "late",
                    Placement::Dropped => "dropped",
                },
                self.time,
                self.target_time,
                1000.0 * (self.time - self.target_time)
            ),
        };
    }
}

/// Counts over a session.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct StimSummary {
    /// What triggers stimuli (`so` or `spindle`).
    pub trigger: &'static str,
    /// Bursts commanded (including dry-run ones).
    pub commanded: u64,
    /// Whether they were dry-run.
    pub dry_run: bool,
    /// Triggers suppressed by the minimum interval.
    pub suppressed_interval: u64,
    /// By the rate limit.
    pub suppressed_rate: u64,
    /// By an artefact pause.
    pub suppressed_artifact: u64,
    /// Because the queue to the audio callback was full.
    pub suppressed_queue: u64,
    /// Because the audio device had failed or stopped.
    pub suppressed_audio_lost: u64,
    /// Bursts played on their target frame.
    pub on_time: u64,
    /// Bursts played late (target passed when they reached the callback).
    pub late: u64,
    /// Bursts the callback dropped.
    pub dropped: u64,
    /// Largest onset minus target among played bursts, ms.
    pub max_error_ms: f64,
}

impl StimSummary {
    /// Counts `e`.
    pub fn add(&mut self, e: &StimEvent) {
        match e.kind {
            StimEventKind::Commanded { dry_run } => {
                self.commanded += 1;
                self.dry_run |= dry_run;
            }
            StimEventKind::Suppressed(Suppression::Interval) => self.suppressed_interval += 1,
            StimEventKind::Suppressed(Suppression::Rate) => self.suppressed_rate += 1,
            StimEventKind::Suppressed(Suppression::Artifact) => self.suppressed_artifact += 1,
            StimEventKind::Suppressed(Suppression::QueueFull) => self.suppressed_queue += 1,
            StimEventKind::Suppressed(Suppression::AudioLost) => self.suppressed_audio_lost += 1,
            StimEventKind::Onset { placement, .. } => match placement {
                Placement::OnTime | Placement::Late => {
                    if placement == Placement::OnTime {
                        self.on_time += 1;
                    } else {
                        self.late += 1;
                    }
                    self.max_error_ms = self
                        .max_error_ms
                        .max(1000.0 * (e.time - e.target_time).abs());
                }
                Placement::Dropped => self.dropped += 1,
            },
        }
    }
}

/// An audio output's counters and the clock they are stamped with.
struct AudioWatch {
    stats: Arc<AudioStats>,
    clock: fn() -> f64,
}

impl AudioWatch {
    fn playing(&self) -> bool {
        self.stats.health((self.clock)()) == AudioHealth::Playing
    }
}

/// Remembered stimulus times for the rate limit.
const RATE_MEMORY: usize = 256;

/// The worker's stimulation policy. See the [module documentation](self).
pub struct StimController {
    policy: StimPolicy,
    decoder: u16,
    class: u16,
    channel: usize,
    sender: Option<StimSender>,
    /// The output's counters, checked before each command.
    audio: Option<AudioWatch>,
    recent: [f64; RATE_MEMORY],
    recent_len: usize,
    recent_next: usize,
    last: Option<f64>,
    artifact_until: f64,
    next_id: u64,
}

impl std::fmt::Debug for StimController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StimController")
            .field("policy", &self.policy)
            .field("decoder", &self.decoder)
            .field("class", &self.class)
            .finish()
    }
}

impl StimController {
    /// A controller acting on decisions of class `class` from decoder `decoder`, watching
    /// channel `channel` (index into the frames) for artefacts, sending to `sender` (`None`:
    /// dry run).
    pub fn new(
        policy: StimPolicy,
        decoder: u16,
        class: u16,
        channel: usize,
        sender: Option<StimSender>,
    ) -> Self {
        StimController {
            policy: StimPolicy {
                dry_run: policy.dry_run || sender.is_none(),
                ..policy
            },
            decoder,
            class,
            channel,
            sender,
            audio: None,
            recent: [0.0; RATE_MEMORY],
            recent_len: 0,
            recent_next: 0,
            last: None,
            artifact_until: f64::NEG_INFINITY,
            next_id: 1,
        }
    }

    /// Checks the output's health ([`AudioStats::health`] at `clock()`) before each command:
    /// once the device has failed or stalled, triggers are logged as `audio-lost` instead of
    /// queued for a callback that no longer runs.
    pub fn watch_audio(mut self, stats: Arc<AudioStats>, clock: fn() -> f64) -> Self {
        self.audio = Some(AudioWatch { stats, clock });
        self
    }

    /// The policy in force (dry run when there is no audio output).
    pub fn policy(&self) -> &StimPolicy {
        &self.policy
    }

    /// Looks for an artefact in a front-end-filtered block (`channels` interleaved).
    ///
    /// Real-time safe: no allocation.
    pub fn scan_block(&mut self, block: &[f32], stamps: &[f64], channels: usize) {
        if channels == 0 {
            return;
        }
        for (frame, &t) in block.chunks_exact(channels).zip(stamps) {
            let v = f64::from(frame[self.channel.min(channels - 1)]);
            if !v.is_finite() || v.abs() > self.policy.artifact_uv {
                self.artifact_until = t + self.policy.artifact_pause_secs;
            }
        }
    }

    fn per_minute(&self, now: f64) -> usize {
        self.recent[..self.recent_len]
            .iter()
            .filter(|&&t| now - t < 60.0)
            .count()
    }

    /// Acts on one decision; returns the event when it was a trigger.
    ///
    /// Real-time safe: lock-free queue, no allocation.
    pub fn on_decision(&mut self, decoder: u16, d: &Decision) -> Option<StimEvent> {
        if decoder != self.decoder || d.class != self.class {
            return None;
        }
        let now = d.sample_time;
        // Slow-oscillation triggers are stamped ahead by their lookahead (negative window).
        let target = if d.window_secs < 0.0 {
            now - f64::from(d.window_secs)
        } else {
            now
        };
        let id = self.next_id;
        self.next_id += 1;
        let suppressed = if now < self.artifact_until {
            Some(Suppression::Artifact)
        } else if self
            .last
            .is_some_and(|l| now - l < self.policy.min_interval_secs)
        {
            Some(Suppression::Interval)
        } else if self.per_minute(now) >= self.policy.max_per_minute {
            Some(Suppression::Rate)
        } else if !self.policy.dry_run && self.audio.as_ref().is_some_and(|a| !a.playing()) {
            Some(Suppression::AudioLost)
        } else {
            None
        };
        let kind = match suppressed {
            Some(why) => StimEventKind::Suppressed(why),
            None => {
                let sent = match self.sender.as_mut() {
                    Some(s) if !self.policy.dry_run => s.send(StimCommand {
                        id,
                        target_time: target,
                        amplitude: self.policy.amplitude,
                    }),
                    _ => true,
                };
                if sent {
                    self.last = Some(now);
                    self.recent[self.recent_next] = now;
                    self.recent_next = (self.recent_next + 1) % RATE_MEMORY;
                    self.recent_len = (self.recent_len + 1).min(RATE_MEMORY);
                    StimEventKind::Commanded {
                        dry_run: self.policy.dry_run,
                    }
                } else {
                    StimEventKind::Suppressed(Suppression::QueueFull)
                }
            }
        };
        Some(StimEvent {
            id,
            kind,
            target_time: target,
            time: now,
        })
    }

    /// The next onset report from the audio callback, as an event.
    ///
    /// Real-time safe: lock-free queue, no allocation.
    pub fn poll_onset(&mut self) -> Option<StimEvent> {
        let r = self.sender.as_mut()?.try_report()?;
        Some(StimEvent {
            id: r.id,
            kind: StimEventKind::Onset {
                placement: r.placement,
                frame: r.onset_frame,
            },
            target_time: r.target_time,
            time: r.onset_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(t: f64) -> Decision {
        Decision {
            class: 0,
            score: 50.0,
            confidence: 1.0,
            confident: true,
            sample_time: t,
            window_start: t + 0.05,
            window_secs: -0.05,
        }
    }

    #[test]
    fn limits_interval_rate_and_artifacts() {
        let mut c = StimController::new(
            StimPolicy {
                min_interval_secs: 2.0,
                max_per_minute: 3,
                ..StimPolicy::default()
            },
            1,
            0,
            0,
            None,
        );
        assert!(c.policy().dry_run, "no audio output means dry run");
        // Another decoder's decisions are not triggers.
        assert!(c.on_decision(0, &trigger(1.0)).is_none());
        let kinds: Vec<StimEventKind> = [10.0, 11.0, 12.5, 15.0, 20.0, 71.0]
            .iter()
            .map(|&t| c.on_decision(1, &trigger(t)).unwrap().kind)
            .collect();
        let commanded = StimEventKind::Commanded { dry_run: true };
        assert_eq!(
            kinds,
            vec![
                commanded,
                StimEventKind::Suppressed(Suppression::Interval),
                commanded,
                commanded,
                StimEventKind::Suppressed(Suppression::Rate),
                commanded,
            ]
        );
        let e = c.on_decision(1, &trigger(80.0)).unwrap();
        assert!((e.target_time - 80.05).abs() < 1e-6, "lookahead applied");
        // A 400 µV swing on the watched channel (channel 1 of 2) pauses stimulation for 5 s.
        let block = [0.0f32, 10.0, 0.0, 400.0, 0.0, 10.0];
        let mut c2 = StimController::new(StimPolicy::default(), 1, 0, 1, None);
        c2.scan_block(&block, &[90.0, 90.01, 90.02], 2);
        assert_eq!(
            c2.on_decision(1, &trigger(94.0)).unwrap().kind,
            StimEventKind::Suppressed(Suppression::Artifact)
        );
        assert_eq!(
            c2.on_decision(1, &trigger(95.1)).unwrap().kind,
            StimEventKind::Commanded { dry_run: true }
        );
        let mut text = String::new();
        e.marker(StimTrigger::SlowOscillation, &mut text);
        assert!(
            text.starts_with("stim/commanded id=7 trigger=so target=80.05"),
            "{text}"
        );
    }

    /// The fake clock of the audio-health test, in ms.
    static NOW_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    fn fake_clock() -> f64 {
        NOW_MS.load(std::sync::atomic::Ordering::Relaxed) as f64 * 1e-3
    }

    #[test]
    fn a_failed_or_stalled_device_turns_triggers_into_audio_lost() {
        use std::sync::atomic::Ordering::Relaxed;
        let (sender, _receiver) = neuroloop_stimuli::audio::stim_queue(8);
        let set = |ms: u64| NOW_MS.store(ms, Relaxed);
        set(10_000);
        let stats = Arc::new(AudioStats::started_at(fake_clock()));
        let mut c = StimController::new(StimPolicy::default(), 1, 0, 0, Some(sender))
            .watch_audio(Arc::clone(&stats), fake_clock);
        assert!(!c.policy().dry_run);
        let kind = |c: &mut StimController, t: f64| c.on_decision(1, &trigger(t)).unwrap().kind;
        assert_eq!(
            kind(&mut c, 1.0),
            StimEventKind::Commanded { dry_run: false }
        );
        // No callback for 0.6 s: stalled.
        set(10_600);
        assert_eq!(
            kind(&mut c, 5.0),
            StimEventKind::Suppressed(Suppression::AudioLost)
        );
        assert!(
            stats
                .problem("dev", fake_clock())
                .unwrap()
                .contains("stopped calling back")
        );
        // Callbacks again: playing.
        stats.last_callback_us.store(10_550_000, Relaxed);
        assert_eq!(
            kind(&mut c, 9.0),
            StimEventKind::Commanded { dry_run: false }
        );
        assert!(stats.problem("dev", fake_clock()).is_none());
        // A fatal stream error: lost for good, with the device's message.
        stats.fail("device unplugged".into());
        assert_eq!(
            kind(&mut c, 13.0),
            StimEventKind::Suppressed(Suppression::AudioLost)
        );
        let problem = stats.problem("dev", fake_clock()).unwrap();
        assert!(
            problem.contains("`dev` failed (device unplugged)") && problem.contains("reconnect"),
            "{problem}"
        );
        let mut summary = StimSummary::default();
        summary.add(&StimEvent {
            id: 1,
            kind: StimEventKind::Suppressed(Suppression::AudioLost),
            target_time: 0.0,
            time: 0.0,
        });
        assert_eq!(summary.suppressed_audio_lost, 1);
    }
}
