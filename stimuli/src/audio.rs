//! Sample-accurate scheduling of audio bursts, the part of closed-loop stimulation that runs
//! inside the audio callback.
//!
//! The worker thread sends [`StimCommand`]s (an id, the LSL time at which the burst must be
//! heard, and its amplitude) through a lock-free single-producer queue ([`stim_queue`]). The
//! audio callback owns a [`BurstScheduler`]: for each output buffer it is told the LSL time at
//! which the buffer's first frame plays (see [`ClockMap`]), starts each due burst on the exact
//! frame of its target time, mixes it (pink noise, raised-cosine ramps, [`BurstShape`]),
//! clamps the output to the hard volume cap, and sends an [`OnsetReport`] back through a
//! second queue with the time the burst actually starts. A command that arrives too late to be
//! placed is started at once if it is at most [`SchedulerConfig::max_late_secs`] late (its
//! report says how late), and dropped otherwise.
//!
//! Nothing here allocates or blocks after [`stim_queue`] and [`BurstScheduler::new`].

use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};

use crate::burst::{BurstShape, PinkNoise};

/// A burst to play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StimCommand {
    /// Caller's identifier, echoed in the report.
    pub id: u64,
    /// LSL time at which the burst's first sample must be heard.
    pub target_time: f64,
    /// Requested peak amplitude (full scale 1.0); the scheduler caps it.
    pub amplitude: f32,
}

/// What became of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Started on the frame of its target time.
    OnTime,
    /// Its target had passed when it arrived; started on the first frame of the buffer.
    Late,
    /// Too late, or no room to play it: not played.
    Dropped,
}

/// The audio side's answer to a command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetReport {
    /// The command's id.
    pub id: u64,
    /// The command's target time.
    pub target_time: f64,
    /// LSL time the burst's first sample plays (the target time for on-time bursts).
    pub onset_time: f64,
    /// Output frame (counted from the stream's start) of the burst's first sample.
    pub onset_frame: u64,
    /// On time, late or dropped.
    pub placement: Placement,
    /// Amplitude actually used (after the cap).
    pub amplitude: f32,
}

/// Settings of a [`BurstScheduler`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulerConfig {
    /// Output sampling rate.
    pub sample_rate_hz: f64,
    /// Output channels (the burst goes to all of them).
    pub channels: usize,
    /// Burst shape; its amplitude is the default for commands.
    pub shape: BurstShape,
    /// Hard cap on the output's absolute value (full scale 1.0); commands are capped to it and
    /// the mixed output is clamped to it.
    pub volume_cap: f32,
    /// A command whose target passed by at most this much is still played, late.
    pub max_late_secs: f64,
    /// Seed of the pink noise.
    pub seed: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            sample_rate_hz: 48_000.0,
            channels: 2,
            shape: BurstShape::default(),
            volume_cap: 0.5,
            max_late_secs: 0.02,
            seed: 1,
        }
    }
}

/// Commands the scheduler can hold before their time.
const PENDING: usize = 32;
/// Bursts that can overlap.
const ACTIVE: usize = 4;

/// The worker's end of the queues.
pub struct StimSender {
    commands: ringbuf::HeapProd<StimCommand>,
    reports: ringbuf::HeapCons<OnsetReport>,
}

impl std::fmt::Debug for StimSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StimSender")
    }
}

impl StimSender {
    /// Queues a command; `false` (and nothing sent) when the queue is full.
    ///
    /// Real-time safe: lock-free, no allocation.
    pub fn send(&mut self, command: StimCommand) -> bool {
        self.commands.try_push(command).is_ok()
    }

    /// The next report, if any.
    ///
    /// Real-time safe: lock-free, no allocation.
    pub fn try_report(&mut self) -> Option<OnsetReport> {
        self.reports.try_pop()
    }
}

/// The audio callback's end of the queues, handed to [`BurstScheduler::new`].
pub struct StimReceiver {
    commands: ringbuf::HeapCons<StimCommand>,
    reports: ringbuf::HeapProd<OnsetReport>,
}

impl std::fmt::Debug for StimReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StimReceiver")
    }
}

/// Creates the command and report queues, `capacity` entries each.
///
/// Allocates; call it at start-up.
pub fn stim_queue(capacity: usize) -> (StimSender, StimReceiver) {
    let (cp, cc) = HeapRb::<StimCommand>::new(capacity.max(1)).split();
    let (rp, rc) = HeapRb::<OnsetReport>::new(capacity.max(1)).split();
    (
        StimSender {
            commands: cp,
            reports: rc,
        },
        StimReceiver {
            commands: cc,
            reports: rp,
        },
    )
}

#[derive(Debug, Clone, Copy)]
struct Active {
    /// Samples of the burst already played.
    position: usize,
    amplitude: f32,
}

/// Places and mixes bursts, buffer by buffer. See the [module documentation](self).
pub struct BurstScheduler {
    config: SchedulerConfig,
    queue: StimReceiver,
    pending: [Option<StimCommand>; PENDING],
    active: [Option<Active>; ACTIVE],
    noise: PinkNoise,
    burst_len: usize,
    frames: u64,
    lost_reports: u64,
}

impl std::fmt::Debug for BurstScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BurstScheduler")
            .field("config", &self.config)
            .field("frames", &self.frames)
            .finish()
    }
}

impl BurstScheduler {
    /// A scheduler reading `queue`.
    pub fn new(config: SchedulerConfig, queue: StimReceiver) -> Self {
        BurstScheduler {
            burst_len: config.shape.len_samples(config.sample_rate_hz),
            noise: PinkNoise::new(config.seed),
            config,
            queue,
            pending: [None; PENDING],
            active: [None; ACTIVE],
            frames: 0,
            lost_reports: 0,
        }
    }

    /// Frames rendered so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Reports that could not be sent because the report queue was full.
    pub fn lost_reports(&self) -> u64 {
        self.lost_reports
    }

    fn report(&mut self, r: OnsetReport) {
        if self.queue.reports.try_push(r).is_err() {
            self.lost_reports += 1;
        }
    }

    fn capped(&self, amplitude: f32) -> f32 {
        amplitude.clamp(0.0, self.config.volume_cap)
    }

    /// Fills `out` (interleaved, `channels` per frame) whose first frame plays at LSL time
    /// `first_frame_time`.
    ///
    /// Real-time safe: no allocation, no lock; called in the audio callback.
    pub fn render(&mut self, out: &mut [f32], first_frame_time: f64) {
        let ch = self.config.channels.max(1);
        let n = out.len() / ch;
        let fs = self.config.sample_rate_hz;
        out.fill(0.0);
        // New commands wait in the pending slots until their buffer comes.
        while let Some(cmd) = self.queue.commands.try_pop() {
            match self.pending.iter_mut().find(|p| p.is_none()) {
                Some(slot) => *slot = Some(cmd),
                None => {
                    let amplitude = self.capped(cmd.amplitude);
                    self.report(OnsetReport {
                        id: cmd.id,
                        target_time: cmd.target_time,
                        onset_time: f64::NAN,
                        onset_frame: 0,
                        placement: Placement::Dropped,
                        amplitude,
                    });
                }
            }
        }
        // Continue the bursts under way.
        for slot in 0..ACTIVE {
            if let Some(a) = self.active[slot] {
                self.active[slot] = self.mix(out, 0, a);
            }
        }
        // Start the ones due in this buffer.
        for i in 0..PENDING {
            let Some(cmd) = self.pending[i] else { continue };
            let offset = ((cmd.target_time - first_frame_time) * fs).round();
            if offset >= n as f64 {
                continue;
            }
            self.pending[i] = None;
            let amplitude = self.capped(cmd.amplitude);
            let late = offset < 0.0;
            let free = self.active.iter().position(Option::is_none);
            let placement = match free {
                _ if late && -offset / fs > self.config.max_late_secs => Placement::Dropped,
                None => Placement::Dropped,
                Some(_) if late => Placement::Late,
                Some(_) => Placement::OnTime,
            };
            let start = if late { 0 } else { offset as usize };
            if let (Some(slot), false) = (free, placement == Placement::Dropped) {
                self.active[slot] = self.mix(
                    out,
                    start,
                    Active {
                        position: 0,
                        amplitude,
                    },
                );
            }
            let dropped = placement == Placement::Dropped;
            self.report(OnsetReport {
                id: cmd.id,
                target_time: cmd.target_time,
                onset_time: if dropped {
                    f64::NAN
                } else {
                    first_frame_time + start as f64 / fs
                },
                onset_frame: if dropped {
                    0
                } else {
                    self.frames + start as u64
                },
                placement,
                amplitude,
            });
        }
        let cap = self.config.volume_cap;
        for v in out.iter_mut() {
            *v = v.clamp(-cap, cap);
        }
        self.frames += n as u64;
    }

    /// Mixes burst `a` into `out` from frame `start`; returns it if it goes on past the buffer.
    fn mix(&mut self, out: &mut [f32], start: usize, mut a: Active) -> Option<Active> {
        let ch = self.config.channels.max(1);
        let n = out.len() / ch;
        let fs = self.config.sample_rate_hz;
        for frame in start..n {
            if a.position >= self.burst_len {
                return None;
            }
            let v =
                a.amplitude * self.config.shape.envelope(a.position, fs) * self.noise.next_sample();
            for c in 0..ch {
                out[frame * ch + c] += v;
            }
            a.position += 1;
        }
        (a.position < self.burst_len).then_some(a)
    }
}

/// How output frames map to LSL time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Follow the device: each callback measures when its buffer will play (LSL now plus the
    /// device's reported output delay) and the map slews towards it (1 % of the error per
    /// callback), re-anchoring after a jump of more than 50 ms (an underrun).
    Device,
    /// Free-running from a fixed origin: frame `k` plays at `origin + k / rate`. For offline
    /// rendering and for outputs that do not run in real time (a file).
    Free {
        /// LSL time of frame 0.
        origin: f64,
    },
}

/// Frame-to-LSL-time map kept by the audio callback.
#[derive(Debug, Clone, Copy)]
pub struct ClockMap {
    mode: ClockMode,
    sample_rate_hz: f64,
    /// LSL time of frame 0.
    anchor: Option<f64>,
    re_anchors: u64,
}

impl ClockMap {
    /// Re-anchor when the measured and predicted times differ by more than this.
    pub const JUMP_SECS: f64 = 0.05;
    /// Share of the error corrected per callback.
    pub const SLEW: f64 = 0.01;

    /// A map for a `sample_rate_hz` stream.
    pub fn new(mode: ClockMode, sample_rate_hz: f64) -> Self {
        ClockMap {
            mode,
            sample_rate_hz,
            anchor: match mode {
                ClockMode::Free { origin } => Some(origin),
                ClockMode::Device => None,
            },
            re_anchors: 0,
        }
    }

    /// Times the map jumped to the device's clock (after the first anchoring).
    pub fn re_anchors(&self) -> u64 {
        self.re_anchors
    }

    /// LSL time of the buffer starting at `frame`, given that (in [`ClockMode::Device`]) the
    /// device says it will play at `measured` (LSL now plus the output delay).
    ///
    /// Real-time safe: arithmetic only.
    pub fn buffer_time(&mut self, frame: u64, measured: f64) -> f64 {
        let offset = frame as f64 / self.sample_rate_hz;
        match (self.mode, self.anchor) {
            (ClockMode::Free { .. }, Some(a)) => a + offset,
            (_, None) => {
                self.anchor = Some(measured - offset);
                measured
            }
            (ClockMode::Device, Some(a)) => {
                let error = measured - (a + offset);
                let a = if error.abs() > Self::JUMP_SECS {
                    self.re_anchors += 1;
                    measured - offset
                } else {
                    a + Self::SLEW * error
                };
                self.anchor = Some(a);
                a + offset
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(cfg: SchedulerConfig) -> (StimSender, BurstScheduler) {
        let (tx, rx) = stim_queue(16);
        (tx, BurstScheduler::new(cfg, rx))
    }

    fn cfg() -> SchedulerConfig {
        SchedulerConfig {
            sample_rate_hz: 1000.0,
            channels: 2,
            ..SchedulerConfig::default()
        }
    }

    #[test]
    fn bursts_start_on_the_frame_of_their_target_across_buffers() {
        let (mut tx, mut s) = setup(cfg());
        // Frame k plays at 10 + k / 1000; targets fall inside and across 64-frame buffers.
        for (id, frame) in [(1u64, 100u64), (2, 191), (3, 640)] {
            assert!(tx.send(StimCommand {
                id,
                target_time: 10.0 + frame as f64 / 1000.0,
                amplitude: 0.2,
            }));
        }
        let mut out = vec![0.0f32; 64 * 2];
        let mut signal = Vec::new();
        for b in 0..16 {
            s.render(&mut out, 10.0 + (b * 64) as f64 / 1000.0);
            signal.extend(out.chunks(2).map(|f| {
                assert_eq!(f[0], f[1]);
                f[0]
            }));
        }
        let mut reports = Vec::new();
        while let Some(r) = tx.try_report() {
            reports.push(r);
        }
        assert_eq!(reports.len(), 3);
        for (r, frame) in reports.iter().zip([100u64, 191, 640]) {
            assert_eq!(r.placement, Placement::OnTime);
            assert_eq!(r.onset_frame, frame);
            assert!((r.onset_time - r.target_time).abs() < 1e-9);
            // Silence before, sound from the onset for the burst's 50 ms.
            assert_eq!(signal[frame as usize - 1], 0.0, "id {}", r.id);
            assert!(
                signal[frame as usize..frame as usize + 50]
                    .iter()
                    .any(|v| *v != 0.0)
            );
            assert!(
                signal[frame as usize..frame as usize + 50]
                    .iter()
                    .all(|v| v.abs() <= 0.5)
            );
        }
        // Three bursts of 50 samples (50 ms at 1 kHz) that do not overlap, and nothing else.
        let sounding = signal.iter().filter(|v| **v != 0.0).count();
        assert!(sounding <= 150 && sounding > 140, "{sounding}");
    }

    #[test]
    fn late_commands_start_at_once_or_are_dropped_and_the_cap_holds() {
        let (mut tx, mut s) = setup(SchedulerConfig {
            volume_cap: 0.05,
            ..cfg()
        });
        let mut out = vec![0.0f32; 32 * 2];
        s.render(&mut out, 0.0);
        tx.send(StimCommand {
            id: 1,
            target_time: 0.030, // 2 ms before the next buffer: late but within 20 ms
            amplitude: 0.9,
        });
        tx.send(StimCommand {
            id: 2,
            target_time: 0.0, // 32 ms late: dropped
            amplitude: 0.9,
        });
        s.render(&mut out, 0.032);
        let a = tx.try_report().unwrap();
        let b = tx.try_report().unwrap();
        assert_eq!(a.placement, Placement::Late);
        assert_eq!(a.onset_frame, 32);
        assert!((a.onset_time - 0.032).abs() < 1e-12);
        assert_eq!(a.amplitude, 0.05);
        assert_eq!(b.placement, Placement::Dropped);
        assert!(out.iter().all(|v| v.abs() <= 0.05));
        assert!(out.iter().any(|v| *v != 0.0));
    }

    #[test]
    fn device_clock_slews_and_re_anchors_after_a_jump() {
        let mut m = ClockMap::new(ClockMode::Device, 1000.0);
        assert_eq!(m.buffer_time(0, 5.0), 5.0);
        // 1 ms of disagreement: corrected by 1 %.
        let t = m.buffer_time(1000, 6.001);
        assert!((t - 6.00001).abs() < 1e-9, "{t}");
        // A 100 ms jump (underrun): follow the device.
        let t = m.buffer_time(2000, 7.1);
        assert_eq!(t, 7.1);
        assert_eq!(m.re_anchors(), 1);
        let mut free = ClockMap::new(ClockMode::Free { origin: 2.0 }, 1000.0);
        assert_eq!(free.buffer_time(500, 99.0), 2.5);
    }
}
