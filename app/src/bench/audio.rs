//! Audio onset error: bursts commanded at known LSL times, as closed-loop stimulation commands
//! them, and where the output placed each one.
//!
//! Each burst is commanded 50-70 ms ahead of its target (as a slow-oscillation trigger
//! predicts its up-state) from this thread while the output plays; the callback maps its
//! buffers to LSL time with the device clock ([`ClockMode::Device`]: callback instant plus the
//! output delay, slewed) and reports the frame each burst starts on.
//!
//! - *Virtual device* (always): a thread plays the callback's part on a real-time schedule —
//!   256-frame buffers at 48 kHz, each rendered when due (sleeping in between, so the OS's
//!   wake-up jitter reaches the clock map as a real device's would) — with a fixed 10 ms output
//!   delay. Frame `k` is then heard at exactly `t₀ + delay + k / fs`, so the error is the
//!   onset frame's true time minus the commanded target: what the queues, the scheduler and the
//!   clock map add.
//! - *Default device* (`--only audio-device`; it plays audible bursts): the same commands
//!   through cpal. There is no independent truth here: the error is the callback's own report
//!   (at most half a sample for a burst placed on time), so this row shows whether the real
//!   device's callbacks take commands in time (on time, late, dropped), not its output
//!   latency. That the reported frame is the frame written is checked against the samples
//!   (`stimuli/tests/alsa_wav.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use neuroloop_acquisition::clock::local_clock;
use neuroloop_stimuli::audio::{
    BurstScheduler, ClockMap, ClockMode, OnsetReport, Placement, SchedulerConfig, StimCommand,
    StimSender, stim_queue,
};
use neuroloop_stimuli::device::{AudioConfig, open_default_output};
use serde::Serialize;

use super::loopback::quantile;

/// Frames per buffer of the virtual device.
const VIRTUAL_BUFFER: usize = 256;
/// Output delay of the virtual device (s).
const VIRTUAL_DELAY: f64 = 0.010;

/// What one audio run measured.
#[derive(Debug, Clone, Serialize)]
pub struct AudioFigures {
    /// The output: the virtual device or the default device's name.
    pub device: String,
    /// Its rate.
    pub sample_rate_hz: f64,
    /// Bursts commanded.
    pub bursts: usize,
    /// Started on their target frame.
    pub on_time: usize,
    /// Started late (target passed).
    pub late: usize,
    /// Not played.
    pub dropped: usize,
    /// Reports that never came back.
    pub missing: usize,
    /// |onset − target| over played bursts, in samples: median.
    pub error_p50_samples: f64,
    /// 99th percentile.
    pub error_p99_samples: f64,
    /// Largest.
    pub error_max_samples: f64,
}

impl AudioFigures {
    /// One line for the console.
    pub fn line(&self) -> String {
        format!(
            "audio onset, {} at {} Hz: {} bursts, {} on time, {} late, {} dropped, {} unreported; |onset - target| p50 {:.2}  p99 {:.2}  max {:.2} samples",
            self.device,
            self.sample_rate_hz,
            self.bursts,
            self.on_time,
            self.late,
            self.dropped,
            self.missing,
            self.error_p50_samples,
            self.error_p99_samples,
            self.error_max_samples
        )
    }
}

/// Commands `bursts` bursts, one every 150 ms, and collects the reports; `truth` gives a
/// report's error in seconds.
fn command(
    tx: &mut StimSender,
    bursts: usize,
    device: String,
    fs: f64,
    truth: impl Fn(&OnsetReport) -> f64,
) -> anyhow::Result<AudioFigures> {
    // Let the output settle (first callbacks, clock anchoring).
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..bursts {
        // Leads of 50-70 ms in a fixed pattern, so that targets fall anywhere in a buffer.
        let lead = 0.050 + 0.020 * ((i * 7) % 11) as f64 / 10.0;
        anyhow::ensure!(
            tx.send(StimCommand {
                id: i as u64,
                target_time: local_clock() + lead,
                amplitude: 0.05,
            }),
            "the audio command queue was full"
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut reports = Vec::with_capacity(bursts);
    while let Some(r) = tx.try_report() {
        reports.push(r);
    }
    let count = |p: Placement| reports.iter().filter(|r| r.placement == p).count();
    let mut errors: Vec<f64> = reports
        .iter()
        .filter(|r| r.placement != Placement::Dropped)
        .map(|r| (truth(r) * fs).abs())
        .collect();
    errors.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if errors.is_empty() {
            f64::NAN
        } else {
            quantile(&errors, p)
        }
    };
    Ok(AudioFigures {
        device,
        sample_rate_hz: fs,
        bursts,
        on_time: count(Placement::OnTime),
        late: count(Placement::Late),
        dropped: count(Placement::Dropped),
        missing: bursts.saturating_sub(reports.len()),
        error_p50_samples: q(0.5),
        error_p99_samples: q(0.99),
        error_max_samples: errors.last().copied().unwrap_or(f64::NAN),
    })
}

/// The virtual device: buffers rendered on a real-time schedule with a known output delay.
pub fn run_virtual(bursts: usize) -> anyhow::Result<AudioFigures> {
    let fs = 48_000.0;
    let config = SchedulerConfig {
        sample_rate_hz: fs,
        channels: 2,
        ..SchedulerConfig::default()
    };
    let (mut tx, rx) = stim_queue(bursts.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = local_clock() + 0.01;
    let device = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("virtual-audio".into())
            .spawn(move || {
                let mut scheduler = BurstScheduler::new(config, rx);
                let mut map = ClockMap::new(ClockMode::Device, fs);
                let mut buf = vec![0.0f32; VIRTUAL_BUFFER * config.channels];
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let due = t0 + (k * VIRTUAL_BUFFER as u64) as f64 / fs;
                    let wait = due - local_clock();
                    if wait > 0.0 {
                        std::thread::sleep(Duration::from_secs_f64(wait));
                    }
                    let start = map.buffer_time(scheduler.frames(), local_clock() + VIRTUAL_DELAY);
                    scheduler.render(&mut buf, start);
                    k += 1;
                }
            })
            .context("starting the virtual audio device")?
    };
    let figures = command(
        &mut tx,
        bursts,
        format!(
            "virtual device ({VIRTUAL_BUFFER}-frame buffers, {:.0} ms output delay)",
            VIRTUAL_DELAY * 1e3
        ),
        fs,
        |r| t0 + VIRTUAL_DELAY + r.onset_frame as f64 / fs - r.target_time,
    );
    stop.store(true, Ordering::Relaxed);
    let _ = device.join();
    figures
}

/// The default output device, if one opens.
pub fn run_device(bursts: usize) -> anyhow::Result<AudioFigures> {
    let (mut tx, rx) = stim_queue(bursts.max(1));
    let out = open_default_output(
        AudioConfig {
            clock: ClockMode::Device,
            ..AudioConfig::default()
        },
        rx,
        local_clock,
    )
    .context("opening the default audio output")?;
    command(
        &mut tx,
        bursts,
        out.device.clone(),
        out.sample_rate_hz,
        |r| r.onset_time - r.target_time,
    )
}
