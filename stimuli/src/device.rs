//! The audio output device (cpal): opens the default output, runs a [`BurstScheduler`] in its
//! callback and keeps the frame-to-LSL-time map.
//!
//! The callback converts the scheduler's `f32` output to the device's sample format through a
//! fixed scratch buffer, so it never allocates. In [`ClockMode::Device`] each callback measures
//! when its buffer will be heard as `clock()` (the caller's LSL clock) plus the device's
//! output delay (cpal's playback instant minus its callback instant).
//!
//! A device that fails while playing (unplugged, its server gone, a stream that must be
//! rebuilt) or stops calling back is reported through [`AudioStats::health`], which the
//! stimulation controller reads before each command without blocking.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::audio::{BurstScheduler, ClockMap, ClockMode, SchedulerConfig, StimReceiver};
use crate::burst::BurstShape;

/// Why the audio output could not start; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// No output device.
    #[error(
        "no audio output device was found: connect headphones or speakers (and check that ALSA sees them with `aplay -l`), or run the stimulation in dry-run mode, which logs every stimulus without sound"
    )]
    NoDevice,
    /// The device refused its configuration.
    #[error(
        "the audio device `{device}` has no usable output configuration ({detail}): connect or select a working output device (`aplay -l` lists them), or run the stimulation in dry-run mode, which logs every stimulus without sound"
    )]
    Config {
        /// Device name.
        device: String,
        /// cpal's message.
        detail: String,
    },
    /// The device's sample format is not one neuroloop writes.
    #[error(
        "the audio device `{device}` wants samples as {format}, which neuroloop does not write: use a device that accepts f32, i16, i32 or u16"
    )]
    Format {
        /// Device name.
        device: String,
        /// The format.
        format: String,
    },
    /// Opening or starting the stream failed.
    #[error(
        "the audio output on `{device}` could not start ({detail}): close other programs holding the device, or run in dry-run mode"
    )]
    Stream {
        /// Device name.
        device: String,
        /// cpal's message.
        detail: String,
    },
}

/// Settings of the output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioConfig {
    /// Burst shape (amplitude = default command amplitude).
    pub shape: BurstShape,
    /// Hard cap on the output (full scale 1.0).
    pub volume_cap: f32,
    /// Commands late by more than this are dropped.
    pub max_late_secs: f64,
    /// Frame-to-time mapping.
    pub clock: ClockMode,
    /// Pink-noise seed.
    pub seed: u64,
    /// Fault injection for testing how a session copes with a device lost mid-session: this
    /// many seconds (of the caller's clock) after the stream starts it goes silent, reports
    /// itself failed and calls back only every 50 ms, as an unplugged device would. `None` in
    /// normal use.
    pub fail_after_secs: Option<f64>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            shape: BurstShape::default(),
            volume_cap: 0.5,
            max_late_secs: 0.02,
            clock: ClockMode::Device,
            seed: 1,
            fail_after_secs: None,
        }
    }
}

/// Counters the callback keeps, readable from any thread.
#[derive(Debug, Default)]
pub struct AudioStats {
    /// Callbacks run.
    pub callbacks: AtomicU64,
    /// Frames written.
    pub frames: AtomicU64,
    /// Errors the stream reported (underruns, device loss).
    pub errors: AtomicU64,
    /// Clock re-anchorings (device mode).
    pub re_anchors: AtomicU64,
    /// Latest output delay measured (µs).
    pub output_delay_us: AtomicU64,
    /// The clock's time (µs) at the latest callback.
    pub last_callback_us: AtomicU64,
    /// The error the stream does not recover from, once it has reported one (set once; its
    /// presence is what [`AudioStats::health`] reads).
    pub failure: OnceLock<String>,
}

/// A callback gap longer than this means the device has stopped.
pub const STALL_SECS: f64 = 0.5;

/// Whether the output is still playing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioHealth {
    /// Callbacks are arriving.
    Playing,
    /// The stream reported a fatal error (see [`AudioStats::failure`]).
    Failed,
    /// No callback for this many seconds (more than [`STALL_SECS`]).
    Stalled(f64),
}

impl AudioStats {
    /// Counters of a stream opened at `now` (the clock's time, s).
    pub fn started_at(now: f64) -> Self {
        let stats = AudioStats::default();
        stats.last_callback_us.store(micros(now), Ordering::Relaxed);
        stats
    }

    /// The stream's state at `now` (the clock the stream was opened with).
    ///
    /// Real-time safe: reads atomics only (`OnceLock::get` is one acquire load).
    pub fn health(&self, now: f64) -> AudioHealth {
        if self.failure.get().is_some() {
            return AudioHealth::Failed;
        }
        let last = self.last_callback_us.load(Ordering::Relaxed) as f64 * 1e-6;
        let gap = now - last;
        if gap > STALL_SECS {
            AudioHealth::Stalled(gap)
        } else {
            AudioHealth::Playing
        }
    }

    /// Records a fatal error (the first one's message is kept).
    pub fn fail(&self, message: String) {
        let _ = self.failure.set(message);
    }

    /// Why the output stopped, in words with the fix, if it has (`now` as for
    /// [`AudioStats::health`]).
    pub fn problem(&self, device: &str, now: f64) -> Option<String> {
        let what = match self.health(now) {
            AudioHealth::Playing => return None,
            AudioHealth::Failed => format!(
                "failed ({})",
                self.failure.get().map_or("no detail", String::as_str)
            ),
            AudioHealth::Stalled(gap) => format!("stopped calling back {gap:.1} s ago"),
        };
        Some(format!(
            "the audio device `{device}` {what}: reconnect it (or select another output) and start a new session; detection and recording go on and later stimuli are logged, not played"
        ))
    }
}

/// Clock seconds as whole microseconds (0 for negative times).
fn micros(t: f64) -> u64 {
    (t.max(0.0) * 1e6) as u64
}

/// Whether a stream error means the stream has stopped for good (the device or its host is
/// gone, or the stream must be rebuilt). Other errors (under-runs, re-routes, backend
/// hiccups) are counted; a stream that really stops after one shows as stalled.
fn fatal(kind: cpal::ErrorKind) -> bool {
    matches!(
        kind,
        cpal::ErrorKind::DeviceNotAvailable
            | cpal::ErrorKind::HostUnavailable
            | cpal::ErrorKind::StreamInvalidated
    )
}

/// A running output stream. Dropping it stops the sound.
pub struct AudioOutput {
    _stream: cpal::Stream,
    /// Device name.
    pub device: String,
    /// Output rate.
    pub sample_rate_hz: f64,
    /// Output channels.
    pub channels: usize,
    /// Sample format, as cpal names it.
    pub sample_format: String,
    /// Callback counters.
    pub stats: Arc<AudioStats>,
}

impl std::fmt::Debug for AudioOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOutput")
            .field("device", &self.device)
            .field("sample_rate_hz", &self.sample_rate_hz)
            .field("channels", &self.channels)
            .field("sample_format", &self.sample_format)
            .finish()
    }
}

/// Largest callback buffer converted in one piece (frames × channels); longer buffers are
/// rendered in pieces.
const SCRATCH: usize = 16_384;

/// Opens the default output device and starts playing: silence until commands arrive on
/// `queue`. `clock` returns LSL time (e.g. `lsl::local_clock`).
///
/// Allocates and may block; call it at start-up, never from the worker.
pub fn open_default_output(
    config: AudioConfig,
    queue: StimReceiver,
    clock: fn() -> f64,
) -> Result<AudioOutput, AudioError> {
    let alsa = AlsaMessages::capture();
    let host = cpal::default_host();
    let device = host.default_output_device().ok_or(AudioError::NoDevice)?;
    let name = device
        .description()
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "default".to_owned());
    let supported = device
        .default_output_config()
        .map_err(|e| AudioError::Config {
            device: name.clone(),
            detail: alsa.with(e),
        })?;
    let format = supported.sample_format();
    let stream_config = supported.config();
    let fs = f64::from(stream_config.sample_rate);
    let channels = usize::from(stream_config.channels);
    let scheduler = BurstScheduler::new(
        SchedulerConfig {
            sample_rate_hz: fs,
            channels,
            shape: config.shape,
            volume_cap: config.volume_cap,
            max_late_secs: config.max_late_secs,
            seed: config.seed,
        },
        queue,
    );
    let started = clock();
    let stats = Arc::new(AudioStats::started_at(started));
    let map = ClockMap::new(config.clock, fs);
    let fault = config.fail_after_secs.map(|secs| Fault {
        at: started + secs.max(0.0),
        message: Some(format!(
            "fault injected {secs} s after the output started: the device behaves as if unplugged"
        )),
    });
    let parts = (scheduler, map, clock, fault);
    let stream = match format {
        SampleFormat::F32 => build::<f32>(&device, &stream_config, parts, &stats),
        SampleFormat::I16 => build::<i16>(&device, &stream_config, parts, &stats),
        SampleFormat::I32 => build::<i32>(&device, &stream_config, parts, &stats),
        SampleFormat::U16 => build::<u16>(&device, &stream_config, parts, &stats),
        other => {
            return Err(AudioError::Format {
                device: name,
                format: other.to_string(),
            });
        }
    }
    .map_err(|e| AudioError::Stream {
        device: name.clone(),
        detail: alsa.with(e),
    })?;
    stream.play().map_err(|e| AudioError::Stream {
        device: name.clone(),
        detail: alsa.with(e),
    })?;
    Ok(AudioOutput {
        _stream: stream,
        device: name,
        sample_rate_hz: fs,
        channels,
        sample_format: format.to_string(),
        stats,
    })
}

/// What the sound library says while the output opens on this thread: kept for the error's
/// detail instead of being printed on standard error between the program's own lines (ALSA
/// writes a dozen lines there when the default device does not exist).
struct AlsaMessages {
    #[cfg(target_os = "linux")]
    buffer: Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>,
}

impl AlsaMessages {
    /// Starts capturing on this thread (it stays captured: later messages on it are not
    /// printed either).
    fn capture() -> Self {
        AlsaMessages {
            #[cfg(target_os = "linux")]
            buffer: alsa::Output::local_error_handler().ok(),
        }
    }

    /// `error`'s text, followed by the library's last message when there is one.
    fn with(&self, error: impl std::fmt::Display) -> String {
        #[cfg(target_os = "linux")]
        if let Some(buffer) = &self.buffer {
            let said = buffer.borrow().to_string();
            if let Some(last) = said.lines().rev().find(|l| !l.trim().is_empty()) {
                return format!("{error}; ALSA: {}", last.trim());
            }
        }
        error.to_string()
    }
}

/// An injected failure ([`AudioConfig::fail_after_secs`]): its time, and its message made
/// before the stream starts so that the callback does not allocate it.
struct Fault {
    at: f64,
    message: Option<String>,
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    (mut scheduler, mut map, clock, mut fault): (
        BurstScheduler,
        ClockMap,
        fn() -> f64,
        Option<Fault>,
    ),
    stats: &Arc<AudioStats>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels).max(1);
    let fs = f64::from(config.sample_rate);
    let piece = (SCRATCH / channels) * channels;
    let mut scratch = vec![0.0f32; piece];
    let data_stats = Arc::clone(stats);
    let error_stats = Arc::clone(stats);
    device.build_output_stream::<T, _, _>(
        *config,
        move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
            let now = clock();
            data_stats
                .last_callback_us
                .store(micros(now), Ordering::Relaxed);
            if let Some(f) = fault.as_mut().filter(|f| now >= f.at) {
                // Injected failure: silence from here on, reported once; a dead device does
                // not ask for more either.
                out.fill(T::EQUILIBRIUM);
                if let Some(message) = f.message.take() {
                    data_stats.errors.fetch_add(1, Ordering::Relaxed);
                    data_stats.fail(message);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                return;
            }
            let ts = info.timestamp();
            let delay = ts
                .playback
                .checked_duration_since(ts.callback)
                .map_or(0.0, |d| d.as_secs_f64());
            let mut frame = scheduler.frames();
            let start = map.buffer_time(frame, now + delay);
            let mut time = start;
            for chunk in out.chunks_mut(piece) {
                let buf = &mut scratch[..chunk.len()];
                scheduler.render(buf, time);
                for (o, v) in chunk.iter_mut().zip(buf.iter()) {
                    *o = T::from_sample(*v);
                }
                let frames = (chunk.len() / channels) as u64;
                frame += frames;
                time += frames as f64 / fs;
            }
            data_stats.callbacks.fetch_add(1, Ordering::Relaxed);
            data_stats
                .frames
                .store(scheduler.frames(), Ordering::Relaxed);
            data_stats
                .re_anchors
                .store(map.re_anchors(), Ordering::Relaxed);
            data_stats
                .output_delay_us
                .store((delay * 1e6) as u64, Ordering::Relaxed);
        },
        move |err: cpal::Error| {
            error_stats.errors.fetch_add(1, Ordering::Relaxed);
            // The message is made once, when the stream stops; later errors only count.
            if fatal(err.kind()) && error_stats.failure.get().is_none() {
                error_stats.fail(err.to_string());
            }
        },
        None,
    )
}
