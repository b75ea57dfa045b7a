//! Filter design (Butterworth, Chebyshev type I, IIR notch) and per-channel biquad cascades for
//! interleaved multi-channel blocks.
//!
//! # Design
//!
//! Butterworth and Chebyshev filters follow the analog-prototype route: the prototype's poles
//! are moved to the requested band (low-pass, high-pass, band-pass, band-stop) at frequencies
//! pre-warped for the bilinear transform, mapped to the z-plane, and grouped into second-order
//! sections, poles nearest the unit circle last. The transfer functions equal those of
//! `scipy.signal.butter(order, ..., output='sos')` and `scipy.signal.cheby1`; the golden tests
//! check the outputs to 1e-6 relative error. Notches are the second-order IIR notch of
//! `scipy.signal.iirnotch`, repeated at harmonics.
//!
//! `order` follows `scipy.signal.butter`: a low- or high-pass of order N has N poles
//! (`ceil(N / 2)` biquads, the last one first-order when N is odd); a band-pass or band-stop of
//! order N has 2N poles (N biquads).
//!
//! # Real-time use
//!
//! [`FilterChain::prepare`] designs and allocates; [`FilterChain::process_interleaved`],
//! [`FilterChain::reset`] and [`FilterChain::replace_coefficients`] never allocate. New
//! coefficients are designed off the real-time thread with [`ChainCoefficients::design`] (or
//! [`FilterChain::design_replacement`]) and swapped in on it; the previous set comes back in
//! the same value so that it is dropped elsewhere. Alternatively a whole chain can be
//! prepared off the real-time thread and exchanged with `std::mem::swap`.

mod offline;
mod sos;
mod zpk;

use std::fmt::Write as _;

pub use offline::{
    sosfilt, sosfilt_zi, sosfiltfilt, sosfiltfilt_channel_major, sosfiltfilt_padded,
};
pub use sos::{FrequencyResponse, Sos};

use crate::cascade::{Cascade, Sanitizer};
use crate::{DspError, Sample, check_sample_rate};
use zpk::{Zpk, prewarp};

/// Highest supported prototype order (band filters then have twice as many poles).
pub const MAX_ORDER: usize = 16;

/// What a filter does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FilterKind {
    /// Butterworth high-pass.
    HighPass {
        /// -3 dB frequency.
        cutoff_hz: f64,
    },
    /// Butterworth low-pass.
    LowPass {
        /// -3 dB frequency.
        cutoff_hz: f64,
    },
    /// Butterworth band-pass.
    BandPass {
        /// Lower -3 dB frequency.
        low_hz: f64,
        /// Upper -3 dB frequency.
        high_hz: f64,
    },
    /// Butterworth band-stop.
    BandStop {
        /// Lower -3 dB frequency.
        low_hz: f64,
        /// Upper -3 dB frequency.
        high_hz: f64,
    },
    /// Second-order IIR notch (as `scipy.signal.iirnotch`) at `freq_hz` and its multiples.
    Notch {
        /// Fundamental to remove, e.g. 50 or 60 Hz mains.
        freq_hz: f64,
        /// Quality factor: notch frequency over -3 dB bandwidth, the same for every harmonic
        /// (so higher harmonics get proportionally wider notches).
        quality: f64,
        /// How many frequencies to notch, counting the fundamental: 1 removes `freq_hz` only,
        /// 3 removes `freq_hz`, `2 freq_hz` and `3 freq_hz`. All must lie below Nyquist.
        harmonics: usize,
    },
}

/// One filter of a chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterSpec {
    /// What it does.
    pub kind: FilterKind,
    /// Butterworth prototype order N, as in `scipy.signal.butter(N, ...)`: low- and high-pass
    /// filters have N poles, band filters 2N. Ignored for notches.
    pub order: usize,
}

impl FilterSpec {
    /// A Butterworth high-pass.
    pub fn highpass(cutoff_hz: f64, order: usize) -> FilterSpec {
        FilterSpec {
            kind: FilterKind::HighPass { cutoff_hz },
            order,
        }
    }

    /// A Butterworth low-pass.
    pub fn lowpass(cutoff_hz: f64, order: usize) -> FilterSpec {
        FilterSpec {
            kind: FilterKind::LowPass { cutoff_hz },
            order,
        }
    }

    /// A Butterworth band-pass (2 × `order` poles).
    pub fn bandpass(low_hz: f64, high_hz: f64, order: usize) -> FilterSpec {
        FilterSpec {
            kind: FilterKind::BandPass { low_hz, high_hz },
            order,
        }
    }

    /// A Butterworth band-stop (2 × `order` poles).
    pub fn bandstop(low_hz: f64, high_hz: f64, order: usize) -> FilterSpec {
        FilterSpec {
            kind: FilterKind::BandStop { low_hz, high_hz },
            order,
        }
    }

    /// A notch at `freq_hz` and its first `harmonics - 1` multiples.
    pub fn notch(freq_hz: f64, quality: f64, harmonics: usize) -> FilterSpec {
        FilterSpec {
            kind: FilterKind::Notch {
                freq_hz,
                quality,
                harmonics,
            },
            order: 2,
        }
    }

    /// Short human-readable description, e.g. `band-pass 1–40 Hz (Butterworth order 4)` or
    /// `notch 50, 100 Hz (Q 30)`. Allocates; not for the real-time path.
    pub fn describe(&self) -> String {
        let n = self.order;
        match self.kind {
            FilterKind::HighPass { cutoff_hz } => {
                format!("high-pass {cutoff_hz} Hz (Butterworth order {n})")
            }
            FilterKind::LowPass { cutoff_hz } => {
                format!("low-pass {cutoff_hz} Hz (Butterworth order {n})")
            }
            FilterKind::BandPass { low_hz, high_hz } => {
                format!("band-pass {low_hz}-{high_hz} Hz (Butterworth order {n})")
            }
            FilterKind::BandStop { low_hz, high_hz } => {
                format!("band-stop {low_hz}-{high_hz} Hz (Butterworth order {n})")
            }
            FilterKind::Notch {
                freq_hz,
                quality,
                harmonics,
            } => {
                let mut s = String::from("notch ");
                for h in 1..=harmonics.max(1) {
                    if h > 1 {
                        s.push_str(", ");
                    }
                    let _ = write!(s, "{}", freq_hz * h as f64);
                }
                let _ = write!(s, " Hz (Q {quality})");
                s
            }
        }
    }
}

/// Normalises a frequency to Nyquist (`2 f / fs`, the arithmetic of `scipy.signal.iirfilter`)
/// after checking it lies strictly between 0 and Nyquist.
fn normalized(freq_hz: f64, what: &'static str, sample_rate_hz: f64) -> Result<f64, DspError> {
    if !(freq_hz.is_finite() && freq_hz > 0.0) {
        return Err(DspError::NonPositiveFrequency { what, freq_hz });
    }
    let nyquist_hz = sample_rate_hz / 2.0;
    if freq_hz >= nyquist_hz {
        return Err(DspError::AboveNyquist {
            what,
            freq_hz,
            nyquist_hz,
            sample_rate_hz,
        });
    }
    Ok(2.0 * freq_hz / sample_rate_hz)
}

fn check_order(order: usize) -> Result<usize, DspError> {
    if order == 0 || order > MAX_ORDER {
        Err(DspError::InvalidOrder {
            order,
            max: MAX_ORDER,
        })
    } else {
        Ok(order)
    }
}

fn check_band(low_hz: f64, high_hz: f64, sample_rate_hz: f64) -> Result<(f64, f64), DspError> {
    let lo = normalized(low_hz, "low band edge", sample_rate_hz)?;
    let hi = normalized(high_hz, "high band edge", sample_rate_hz)?;
    if lo >= hi {
        return Err(DspError::InvalidBand { low_hz, high_hz });
    }
    Ok((lo, hi))
}

/// A band in normalised frequency (1.0 = Nyquist).
#[derive(Debug, Clone, Copy)]
enum Band {
    Low(f64),
    High(f64),
    Pass(f64, f64),
    Stop(f64, f64),
}

/// Moves an analog low-pass prototype to `band`, then to the z-plane, as sections.
fn digital_sos(prototype: &Zpk, band: Band) -> Result<Sos, DspError> {
    let analog = match band {
        Band::Low(wn) => prototype.to_lowpass(prewarp(wn)),
        Band::High(wn) => prototype.to_highpass(prewarp(wn)),
        Band::Pass(w1, w2) | Band::Stop(w1, w2) => {
            let (a, b) = (prewarp(w1), prewarp(w2));
            let (wo, bw) = ((a * b).sqrt(), b - a);
            if matches!(band, Band::Pass(..)) {
                prototype.to_bandpass(wo, bw)
            } else {
                prototype.to_bandstop(wo, bw)
            }
        }
    };
    // Rows built by `to_sos` have a0 = 1; `Sos::new` still rejects non-finite coefficients,
    // which a band pressed against Nyquist could produce.
    Sos::new(zpk::to_sos(&analog.bilinear()))
}

/// Designs one filter as second-order sections for sampling at `sample_rate_hz`.
///
/// Allocates; call it while preparing, not on the real-time thread.
pub fn design(spec: &FilterSpec, sample_rate_hz: f64) -> Result<Sos, DspError> {
    let fs = check_sample_rate(sample_rate_hz)?;
    let butter = |band: Band| -> Result<Sos, DspError> {
        let order = check_order(spec.order)?;
        digital_sos(&Zpk::butterworth_prototype(order), band)
    };
    match spec.kind {
        FilterKind::LowPass { cutoff_hz } => {
            butter(Band::Low(normalized(cutoff_hz, "cutoff", fs)?))
        }
        FilterKind::HighPass { cutoff_hz } => {
            butter(Band::High(normalized(cutoff_hz, "cutoff", fs)?))
        }
        FilterKind::BandPass { low_hz, high_hz } => {
            let (lo, hi) = check_band(low_hz, high_hz, fs)?;
            butter(Band::Pass(lo, hi))
        }
        FilterKind::BandStop { low_hz, high_hz } => {
            let (lo, hi) = check_band(low_hz, high_hz, fs)?;
            butter(Band::Stop(lo, hi))
        }
        FilterKind::Notch {
            freq_hz,
            quality,
            harmonics,
        } => notch(freq_hz, quality, harmonics, fs),
    }
}

/// Designs a chain of filters as one cascade (the sections of each filter in order).
///
/// Allocates; call it while preparing.
pub fn design_chain(specs: &[FilterSpec], sample_rate_hz: f64) -> Result<Sos, DspError> {
    let mut sos = Sos::identity();
    for spec in specs {
        sos.append(&design(spec, sample_rate_hz)?);
    }
    Ok(sos)
}

/// Chebyshev type I low-pass of `order` with `ripple_db` of pass-band ripple, whose response
/// leaves the ripple band at `cutoff_hz` (as `scipy.signal.cheby1(order, ripple_db, cutoff_hz,
/// fs=sample_rate_hz, output='sos')`).
///
/// Allocates; call it while preparing.
pub fn chebyshev1_lowpass(
    order: usize,
    ripple_db: f64,
    cutoff_hz: f64,
    sample_rate_hz: f64,
) -> Result<Sos, DspError> {
    let fs = check_sample_rate(sample_rate_hz)?;
    let wn = normalized(cutoff_hz, "cutoff", fs)?;
    chebyshev1_lowpass_normalized(order, ripple_db, wn)
}

/// [`chebyshev1_lowpass`] with the cutoff given relative to Nyquist (`0 < wn < 1`).
pub(crate) fn chebyshev1_lowpass_normalized(
    order: usize,
    ripple_db: f64,
    wn: f64,
) -> Result<Sos, DspError> {
    let order = check_order(order)?;
    if !(ripple_db.is_finite() && ripple_db > 0.0) {
        return Err(DspError::InvalidParameter {
            name: "ripple_db",
            value: ripple_db,
            hint: "give a positive pass-band ripple in decibels, e.g. 0.05",
        });
    }
    if !(wn > 0.0 && wn < 1.0) {
        return Err(DspError::InvalidParameter {
            name: "normalised cutoff",
            value: wn,
            hint: "the cutoff must lie strictly between 0 and Nyquist",
        });
    }
    digital_sos(&Zpk::chebyshev1_prototype(order, ripple_db), Band::Low(wn))
}

/// Notch sections at `freq_hz × h` for `h = 1..=harmonics`, each the `scipy.signal.iirnotch`
/// design with quality `quality`: zeros on the unit circle at the notch frequency and poles
/// just inside it, with unit gain at DC and Nyquist.
fn notch(freq_hz: f64, quality: f64, harmonics: usize, fs: f64) -> Result<Sos, DspError> {
    if !(quality.is_finite() && quality > 0.0) {
        return Err(DspError::InvalidQuality { quality });
    }
    if harmonics == 0 {
        return Err(DspError::NoHarmonics);
    }
    normalized(freq_hz, "notch frequency", fs)?;
    let nyquist_hz = fs / 2.0;
    let mut sections = Vec::with_capacity(harmonics);
    for h in 1..=harmonics {
        let f = freq_hz * h as f64;
        if f >= nyquist_hz {
            let max_harmonics = (1..=harmonics)
                .take_while(|&k| freq_hz * (k as f64) < nyquist_hz)
                .count();
            return Err(DspError::HarmonicAboveNyquist {
                harmonic: h,
                freq_hz,
                harmonic_hz: f,
                nyquist_hz,
                max_harmonics,
            });
        }
        let w0 = 2.0 * f / fs;
        let bw = w0 / quality * std::f64::consts::PI;
        let w0 = w0 * std::f64::consts::PI;
        let beta = (bw / 2.0).tan();
        let gain = 1.0 / (1.0 + beta);
        let cos = w0.cos();
        sections.push([
            gain,
            gain * (-2.0 * cos),
            gain,
            1.0,
            -2.0 * gain * cos,
            2.0 * gain - 1.0,
        ]);
    }
    Sos::new(sections)
}

/// What one processing call found in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// Whole frames processed.
    pub frames: usize,
    /// Non-finite input samples (NaN, ±∞). Each was replaced by the last finite sample of its
    /// channel (0 if none since the last reset) before filtering, so the state stays finite;
    /// the output at those positions is not data.
    pub non_finite: usize,
    /// Channels whose state overflowed to a non-finite value and was reset (output 0 there).
    pub state_resets: usize,
    /// Trailing values that did not form a whole frame and were left untouched, or the whole
    /// block when the processor was not prepared.
    pub ignored_samples: usize,
}

impl ProcessReport {
    /// Whether every sample was finite and processed.
    ///
    /// Real-time safe: does not allocate.
    pub fn is_clean(&self) -> bool {
        self.non_finite == 0 && self.state_resets == 0 && self.ignored_samples == 0
    }

    /// Adds another report's counts to this one.
    ///
    /// Real-time safe: does not allocate.
    pub fn merge(&mut self, other: &ProcessReport) {
        self.frames += other.frames;
        self.non_finite += other.non_finite;
        self.state_resets += other.state_resets;
        self.ignored_samples += other.ignored_samples;
    }
}

/// Where a chain's coefficients come from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Specs(Vec<FilterSpec>),
    Fixed { sos: Sos, label: String },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Specs(specs) if specs.is_empty() => "no filters".to_string(),
            Source::Specs(specs) => specs
                .iter()
                .map(FilterSpec::describe)
                .collect::<Vec<_>>()
                .join(" -> "),
            Source::Fixed { label, .. } => label.clone(),
        }
    }

    fn design(&self, sample_rate_hz: f64) -> Result<Sos, DspError> {
        match self {
            Source::Specs(specs) => design_chain(specs, sample_rate_hz),
            Source::Fixed { sos, .. } => Ok(sos.clone()),
        }
    }
}

/// A complete set of coefficients for a prepared [`FilterChain`], designed off the real-time
/// thread and swapped in with [`FilterChain::replace_coefficients`].
#[derive(Debug, Clone)]
pub struct ChainCoefficients {
    source: Source,
    sos: Sos,
    coefficients: Vec<biquad::Coefficients<f64>>,
    description: String,
    sample_rate_hz: f64,
}

impl ChainCoefficients {
    /// Designs `specs` for `sample_rate_hz`.
    ///
    /// Allocates; call it on a setup or GUI thread, never on the worker.
    pub fn design(specs: Vec<FilterSpec>, sample_rate_hz: f64) -> Result<Self, DspError> {
        Self::from_source(Source::Specs(specs), sample_rate_hz)
    }

    fn from_source(source: Source, sample_rate_hz: f64) -> Result<Self, DspError> {
        let fs = check_sample_rate(sample_rate_hz)?;
        let sos = source.design(fs)?;
        let description = format!("{} @ {fs} Hz", source.describe());
        Ok(ChainCoefficients {
            coefficients: sos.coefficients(),
            sos,
            description,
            source,
            sample_rate_hz: fs,
        })
    }

    /// Number of biquad sections per channel.
    pub fn sections(&self) -> usize {
        self.sos.len()
    }

    /// The cascade.
    pub fn sos(&self) -> &Sos {
        &self.sos
    }

    /// The sample rate the coefficients were designed for.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Human-readable description (as [`FilterChain::describe`] would show it).
    pub fn describe(&self) -> &str {
        &self.description
    }
}

/// A cascade of filters applied to every channel of interleaved blocks, with `f64` state per
/// channel. See the [module documentation](self) for design conventions and real-time rules.
#[derive(Debug, Clone)]
pub struct FilterChain {
    source: Source,
    sos: Sos,
    cascade: Cascade,
    sanitizer: Sanitizer,
    description: String,
    channels: usize,
    sample_rate_hz: f64,
    max_block_len: usize,
}

impl FilterChain {
    /// A chain applying `specs` in order. Nothing is designed until [`FilterChain::prepare`];
    /// an unprepared chain leaves blocks untouched.
    pub fn new(specs: Vec<FilterSpec>) -> Self {
        Self::with_source(Source::Specs(specs))
    }

    /// A chain applying fixed digital coefficients (for example a [`chebyshev1_lowpass`]),
    /// described as `label`.
    pub fn from_sos(sos: Sos, label: impl Into<String>) -> Self {
        Self::with_source(Source::Fixed {
            sos,
            label: label.into(),
        })
    }

    fn with_source(source: Source) -> Self {
        let description = format!("{} (not prepared)", source.describe());
        FilterChain {
            source,
            sos: Sos::identity(),
            cascade: Cascade::default(),
            sanitizer: Sanitizer::default(),
            description,
            channels: 0,
            sample_rate_hz: 0.0,
            max_block_len: 0,
        }
    }

    /// Designs every filter for `sample_rate_hz` and allocates state for `channels` channels.
    /// `max_block_len` (frames) is validated and recorded for callers that size buffers from
    /// it; the chain itself filters in place and accepts blocks of any length.
    ///
    /// Allocates; call it on the setup thread. On error the chain is left unchanged.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        channels: usize,
        max_block_len: usize,
    ) -> Result<(), DspError> {
        if channels == 0 {
            return Err(DspError::NoChannels);
        }
        if max_block_len == 0 {
            return Err(DspError::ZeroBlockLen);
        }
        let coefficients = ChainCoefficients::from_source(self.source.clone(), sample_rate_hz)?;
        self.cascade = Cascade::new(coefficients.coefficients, channels);
        self.sanitizer = Sanitizer::new(channels);
        self.sos = coefficients.sos;
        self.description = coefficients.description;
        self.channels = channels;
        self.sample_rate_hz = coefficients.sample_rate_hz;
        self.max_block_len = max_block_len;
        Ok(())
    }

    /// Channels the chain was prepared for (0 before `prepare`).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate the chain was prepared for (0 before `prepare`).
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Largest block, in frames, announced to `prepare`.
    pub fn max_block_len(&self) -> usize {
        self.max_block_len
    }

    /// Whether `prepare` has succeeded.
    pub fn is_prepared(&self) -> bool {
        self.channels > 0
    }

    /// Biquad sections per channel.
    pub fn sections(&self) -> usize {
        self.cascade.sections()
    }

    /// The configured filters (empty for a chain built with [`FilterChain::from_sos`]).
    pub fn specs(&self) -> &[FilterSpec] {
        match &self.source {
            Source::Specs(specs) => specs,
            Source::Fixed { .. } => &[],
        }
    }

    /// The cascade actually applied (empty before `prepare`).
    pub fn sos(&self) -> &Sos {
        &self.sos
    }

    /// Human-readable description of the chain actually applied, e.g.
    /// `notch 50, 100 Hz (Q 30) -> high-pass 1 Hz (Butterworth order 2) @ 250 Hz`.
    ///
    /// Allocates; for the GUI and logs, not for the real-time path.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Non-finite input samples replaced so far, per channel (since `prepare` or
    /// [`FilterChain::clear_counters`]).
    ///
    /// Real-time safe: does not allocate; may be read on the worker thread.
    pub fn non_finite_counts(&self) -> &[u64] {
        self.sanitizer.counts()
    }

    /// State resets after overflow so far, per channel.
    ///
    /// Real-time safe: does not allocate; may be read on the worker thread.
    pub fn state_resets(&self) -> &[u64] {
        self.cascade.resets()
    }

    /// Zeroes the per-channel counters.
    ///
    /// Real-time safe: does not allocate.
    pub fn clear_counters(&mut self) {
        self.sanitizer.clear_counts();
        self.cascade.clear_resets();
    }

    /// Filters a frame-major interleaved block in place (`f0c0, f0c1, …, f1c0, …`).
    /// `block.len()` should be a multiple of the channel count; a trailing partial frame is
    /// left untouched and reported in [`ProcessReport::ignored_samples`]. An unprepared chain
    /// leaves the block untouched.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn process_interleaved(&mut self, block: &mut [f32]) -> ProcessReport {
        self.process_generic(block)
    }

    /// [`FilterChain::process_interleaved`] for `f64` samples.
    ///
    /// Real-time safe: does not allocate; called on the worker thread or offline.
    pub fn process_interleaved_f64(&mut self, block: &mut [f64]) -> ProcessReport {
        self.process_generic(block)
    }

    fn process_generic<S: Sample>(&mut self, block: &mut [S]) -> ProcessReport {
        let channels = self.channels;
        let mut report = ProcessReport::default();
        if channels == 0 {
            report.ignored_samples = block.len();
            return report;
        }
        let frames = block.len() / channels;
        report.frames = frames;
        report.ignored_samples = block.len() - frames * channels;
        for frame in block[..frames * channels].chunks_exact_mut(channels) {
            for (c, v) in frame.iter_mut().enumerate() {
                let (x, replaced) = self.sanitizer.clean(c, v.to_f64());
                let (y, reset) = self.cascade.run(c, x);
                report.non_finite += usize::from(replaced);
                report.state_resets += usize::from(reset);
                *v = S::from_f64(y);
            }
        }
        report
    }

    /// Filters a channel-major buffer in place: `channels` rows of `data.len() / channels`
    /// consecutive samples each, continuing every channel's state.
    ///
    /// Real-time safe: does not allocate.
    pub fn process_channel_major<S: Sample>(&mut self, data: &mut [S]) -> ProcessReport {
        let channels = self.channels;
        let mut report = ProcessReport::default();
        if channels == 0 || !data.len().is_multiple_of(channels) {
            report.ignored_samples = data.len();
            return report;
        }
        let frames = data.len() / channels;
        report.frames = frames;
        if frames == 0 {
            return report;
        }
        for (c, row) in data.chunks_exact_mut(frames).enumerate() {
            for v in row {
                let (x, replaced) = self.sanitizer.clean(c, v.to_f64());
                let (y, reset) = self.cascade.run(c, x);
                report.non_finite += usize::from(replaced);
                report.state_resets += usize::from(reset);
                *v = S::from_f64(y);
            }
        }
        report
    }

    /// Forgets every channel's history (state and held last sample), as right after `prepare`.
    /// Counters are kept.
    ///
    /// Real-time safe: does not allocate; called on the worker thread (e.g. after a gap).
    pub fn reset(&mut self) {
        self.cascade.reset();
        self.sanitizer.reset();
    }

    /// Designs coefficients for `specs` at this chain's sample rate, ready for
    /// [`FilterChain::replace_coefficients`].
    ///
    /// Allocates; call it off the real-time thread.
    pub fn design_replacement(
        &self,
        specs: Vec<FilterSpec>,
    ) -> Result<ChainCoefficients, DspError> {
        ChainCoefficients::design(specs, self.sample_rate_hz)
    }

    /// Swaps `coefficients` into the chain, keeping every channel's state: afterwards the
    /// chain runs the new set and `coefficients` holds the previous one, so that the caller
    /// can send it to another thread and drop it there. The set must have the same number of
    /// sections and sample rate as the chain; otherwise nothing changes and an error says
    /// so. Call [`FilterChain::reset`] as well if the old state should not carry over.
    ///
    /// Real-time safe: swaps buffers, never allocates or frees (nor does its error); called
    /// on the worker thread.
    pub fn replace_coefficients(
        &mut self,
        coefficients: &mut ChainCoefficients,
    ) -> Result<(), DspError> {
        if coefficients.sections() != self.cascade.sections()
            || coefficients.sample_rate_hz != self.sample_rate_hz
        {
            return Err(DspError::CoefficientMismatch {
                expected_sections: self.cascade.sections(),
                got_sections: coefficients.sections(),
                expected_rate_hz: self.sample_rate_hz,
                got_rate_hz: coefficients.sample_rate_hz,
            });
        }
        let incoming = std::mem::take(&mut coefficients.coefficients);
        coefficients.coefficients = self.cascade.swap_coefficients(incoming);
        std::mem::swap(&mut coefficients.sos, &mut self.sos);
        std::mem::swap(&mut coefficients.source, &mut self.source);
        std::mem::swap(&mut coefficients.description, &mut self.description);
        Ok(())
    }

    /// Zero-phase (forward-backward) filtering of a channel-major buffer with this chain's
    /// cascade, as `scipy.signal.sosfiltfilt` with default padding: the offline reference for
    /// what the causal chain does in real time. Does not touch the real-time state.
    ///
    /// Allocates; offline only.
    pub fn zero_phase_channel_major(&self, data: &mut [f64]) -> Result<(), DspError> {
        if self.channels == 0 {
            return Err(DspError::NotPrepared {
                what: "filter chain",
            });
        }
        sosfiltfilt_channel_major(&self.sos, data, self.channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn butterworth_responses_are_minus_3_db_at_the_cutoffs() {
        let fs = 250.0;
        let half_power = std::f64::consts::FRAC_1_SQRT_2;
        for order in 1..=8 {
            let lp = design(&FilterSpec::lowpass(30.0, order), fs).unwrap();
            assert!((lp.response(30.0, fs).gain - half_power).abs() < 1e-9);
            assert!((lp.response(0.0, fs).gain - 1.0).abs() < 1e-12);
            let hp = design(&FilterSpec::highpass(1.0, order), fs).unwrap();
            assert!((hp.response(1.0, fs).gain - half_power).abs() < 1e-9);
            assert!((hp.response(fs / 2.0 - 1e-9, fs).gain - 1.0).abs() < 1e-9);
            let bp = design(&FilterSpec::bandpass(8.0, 30.0, order), fs).unwrap();
            assert_eq!(bp.len(), order);
            assert!((bp.response(8.0, fs).gain - half_power).abs() < 1e-9);
            assert!((bp.response(30.0, fs).gain - half_power).abs() < 1e-9);
            let bs = design(&FilterSpec::bandstop(45.0, 55.0, order), fs).unwrap();
            // The null sits at the geometric centre of the pre-warped edges, close to 50 Hz.
            assert!(bs.response(50.0, fs).gain < 0.05);
            assert!((bs.response(45.0, fs).gain - half_power).abs() < 1e-9);
        }
    }

    #[test]
    fn notch_removes_every_harmonic_and_keeps_dc() {
        let fs = 500.0;
        let sos = design(&FilterSpec::notch(50.0, 30.0, 4), fs).unwrap();
        assert_eq!(sos.len(), 4);
        for h in 1..=4 {
            assert!(sos.response(50.0 * h as f64, fs).gain < 1e-9);
        }
        assert!((sos.response(0.0, fs).gain - 1.0).abs() < 1e-12);
    }

    #[test]
    fn design_errors_say_what_to_do() {
        let e = design(&FilterSpec::lowpass(130.0, 4), 250.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cutoff 130 Hz is at or above Nyquist (125 Hz) for 250 Hz sampling: lower the frequency or raise the sample rate"
        );
        let e = design(&FilterSpec::notch(50.0, 30.0, 3), 250.0).unwrap_err();
        assert!(matches!(
            e,
            DspError::HarmonicAboveNyquist {
                harmonic: 3,
                max_harmonics: 2,
                ..
            }
        ));
        assert!(matches!(
            design(&FilterSpec::bandpass(40.0, 1.0, 4), 250.0),
            Err(DspError::InvalidBand { .. })
        ));
        assert!(matches!(
            design(&FilterSpec::highpass(1.0, 0), 250.0),
            Err(DspError::InvalidOrder { .. })
        ));
        assert!(matches!(
            design(&FilterSpec::highpass(1.0, 2), f64::NAN),
            Err(DspError::InvalidSampleRate { .. })
        ));
        assert!(matches!(
            design(&FilterSpec::notch(50.0, 0.0, 1), 250.0),
            Err(DspError::InvalidQuality { .. })
        ));
    }

    #[test]
    fn describe_names_the_applied_chain() {
        let mut chain = FilterChain::new(vec![
            FilterSpec::notch(50.0, 30.0, 2),
            FilterSpec::highpass(1.0, 2),
        ]);
        assert!(chain.describe().ends_with("(not prepared)"));
        chain.prepare(250.0, 8, 32).unwrap();
        assert_eq!(
            chain.describe(),
            "notch 50, 100 Hz (Q 30) -> high-pass 1 Hz (Butterworth order 2) @ 250 Hz"
        );
        assert_eq!(
            FilterChain::new(Vec::new()).describe(),
            "no filters (not prepared)"
        );
    }

    #[test]
    fn replace_coefficients_swaps_and_returns_the_old_set() {
        let mut chain = FilterChain::new(vec![FilterSpec::lowpass(30.0, 4)]);
        chain.prepare(250.0, 2, 16).unwrap();
        let mut swap = chain
            .design_replacement(vec![FilterSpec::lowpass(20.0, 4)])
            .unwrap();
        chain.replace_coefficients(&mut swap).unwrap();
        assert!(swap.describe().starts_with("low-pass 30 Hz"));
        assert!(chain.describe().starts_with("low-pass 20 Hz"));
        let mut wrong = chain
            .design_replacement(vec![FilterSpec::lowpass(20.0, 6)])
            .unwrap();
        let err = chain.replace_coefficients(&mut wrong).unwrap_err();
        assert!(matches!(
            err,
            DspError::CoefficientMismatch {
                expected_sections: 2,
                got_sections: 3,
                ..
            }
        ));
        assert!(
            wrong
                .describe()
                .starts_with("low-pass 20 Hz (Butterworth order 6)")
        );
    }
}
