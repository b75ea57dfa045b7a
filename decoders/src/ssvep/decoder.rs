//! The streaming SSVEP decoder: band-pass, sliding window, CCA against every target.

use crate::moments::SlidingMoments;
use neuroloop_dsp::filter::{FilterChain, FilterKind, FilterSpec};
use neuroloop_dsp::filterbank::{FilterBank, fbcca_weights};

use super::cca::CcaScorer;
use crate::step::{DecisionStepper, channel_indices};
use crate::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};

/// Settings of [`SsvepCcaDecoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct SsvepCcaConfig {
    /// Stimulus frequencies, one class each.
    pub targets_hz: Vec<f64>,
    /// Harmonics in the references (including the fundamental).
    pub harmonics: usize,
    /// Analysis window.
    pub window_secs: f64,
    /// Time between decisions.
    pub step_secs: f64,
    /// Channels to use; empty selects parietal and occipital channels by their 10-10 labels
    /// (all channels when the stream has none).
    pub channels: Vec<String>,
    /// Band-pass applied before CCA.
    pub band_hz: (f64, f64),
    /// Order of the band-pass.
    pub filter_order: usize,
    /// A decision is a selection when `(ρ₁ − ρ₂) / ρ₁` reaches this margin.
    pub min_margin: f64,
    /// Filter-bank CCA (Chen et al. 2015) with this many sub-bands; 0 runs plain CCA on
    /// `band_hz`. Sub-band `k` spans `[k·f₀, 88]` Hz with `f₀ = min(8, lowest target − 1)`
    /// (Chen's `[8k, 88]` Hz for targets from 8 Hz up; the upper edge is kept below 0.45 of
    /// the sampling rate and sub-bands that no longer fit are left out), and the score is
    /// `Σ_k (k^-1.25 + 0.25) ρ_k²`.
    pub sub_bands: usize,
}

impl Default for SsvepCcaConfig {
    fn default() -> Self {
        SsvepCcaConfig {
            targets_hz: vec![7.0, 8.5, 12.0, 15.0],
            harmonics: 3,
            window_secs: 2.0,
            step_secs: 0.2,
            channels: Vec::new(),
            band_hz: (6.0, 45.0),
            filter_order: 4,
            min_margin: 0.15,
            sub_bands: 0,
        }
    }
}

/// The channels an SSVEP decoder reads: `wanted` by label, or when empty the parietal and
/// occipital channels (all channels when the montage has none).
pub fn ssvep_channels(wanted: &[String], labels: &[String]) -> Result<Vec<usize>, DecoderError> {
    ssvep_channels_among(wanted, labels, &[])
}

/// [`ssvep_channels`] choosing only among the channels flagged in `eeg` (empty: all) when
/// none are `wanted` (a pulse or position channel is no posterior electrode).
pub fn ssvep_channels_among(
    wanted: &[String],
    labels: &[String],
    eeg: &[bool],
) -> Result<Vec<usize>, DecoderError> {
    if !wanted.is_empty() {
        return channel_indices(wanted, labels);
    }
    let usable: Vec<usize> = (0..labels.len())
        .filter(|&i| eeg.get(i).is_none_or(|&e| e))
        .collect();
    let posterior: Vec<usize> = usable
        .iter()
        .copied()
        .filter(|&i| is_posterior(&labels[i]))
        .collect();
    Ok(if posterior.is_empty() {
        usable
    } else {
        posterior
    })
}

/// Whether a 10-10 label sits over parietal or occipital cortex (P*, PO*, O*, Iz).
pub fn is_posterior(label: &str) -> bool {
    let l = label.trim().trim_end_matches('.').to_ascii_uppercase();
    l.starts_with('P') || l.starts_with('O') || l == "IZ"
}

/// CCA (Lin et al. 2006) or filter-bank CCA (Chen et al. 2015) SSVEP decoder on a sliding
/// window.
///
/// The window's samples are never kept: each band accumulates the moments CCA needs
/// (`Σ x xᵀ` and the cross-products with the sinusoidal references) as the samples arrive,
/// so a decision costs a few `channels × references` sums and the small factorisations,
/// whatever the window's length (`CcaScorer::score_moments`).
pub struct SsvepCcaDecoder {
    cfg: SsvepCcaConfig,
    class_names: Vec<String>,
    stepper: Option<DecisionStepper>,
    filter: FilterChain,
    bank: Option<FilterBank>,
    /// One window's moments per band (one for plain CCA).
    moments: Vec<SlidingMoments>,
    /// The references of the frames being added (frames × references).
    references: Vec<f64>,
    weights: Vec<f64>,
    combined: Vec<f64>,
    scorer: Option<CcaScorer>,
    scores: Vec<f64>,
    window_frames: usize,
    sample_rate_hz: f64,
}

impl SsvepCcaDecoder {
    /// Creates the decoder; validation happens in [`Decoder::prepare`].
    pub fn new(cfg: SsvepCcaConfig) -> Self {
        let class_names = cfg.targets_hz.iter().map(|f| format!("{f}Hz")).collect();
        SsvepCcaDecoder {
            class_names,
            stepper: None,
            filter: FilterChain::new(Vec::new()),
            bank: None,
            moments: Vec::new(),
            references: Vec::new(),
            weights: Vec::new(),
            combined: Vec::new(),
            scorer: None,
            scores: Vec::new(),
            window_frames: 0,
            sample_rate_hz: 0.0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SsvepCcaConfig {
        &self.cfg
    }

    /// Indices (into the stream's channels) the decoder reads.
    pub fn picked_channels(&self) -> &[usize] {
        self.stepper.as_ref().map_or(&[], |s| s.picks())
    }

    fn decide(&mut self, stamp: f64, out: &mut DecisionBuffer) {
        let Some(scorer) = self.scorer.as_mut() else {
            return;
        };
        let fbcca = self.bank.is_some();
        self.combined.fill(0.0);
        for (b, moments) in self.moments.iter_mut().enumerate() {
            let Some(window) = moments.window() else {
                return;
            };
            scorer.score_moments(window, &mut self.scores);
            for (c, &rho) in self.combined.iter_mut().zip(&self.scores) {
                *c += if fbcca {
                    self.weights[b] * rho * rho
                } else {
                    rho
                };
            }
        }
        let scores = &self.combined;
        let (mut best, mut second) = (0usize, None::<usize>);
        for i in 1..scores.len() {
            if scores[i] > scores[best] {
                second = Some(best);
                best = i;
            } else if second.is_none_or(|s| scores[i] > scores[s]) {
                second = Some(i);
            }
        }
        let rho = scores[best];
        let margin = match second {
            Some(s) if rho > 0.0 => (rho - scores[s]) / rho,
            Some(_) => 0.0,
            None => 1.0,
        };
        out.push(Decision {
            class: best as u16,
            score: rho as f32,
            confidence: margin as f32,
            confident: margin >= self.cfg.min_margin,
            sample_time: stamp,
            window_start: stamp - (self.window_frames - 1) as f64 / self.sample_rate_hz,
            window_secs: (self.window_frames as f64 / self.sample_rate_hz) as f32,
        });
    }
}

impl Decoder for SsvepCcaDecoder {
    fn input_channels(&self) -> Vec<usize> {
        self.picked_channels().to_vec()
    }

    fn name(&self) -> &str {
        if self.cfg.sub_bands > 0 {
            "ssvep-fbcca"
        } else {
            "ssvep-cca"
        }
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        let fs = ctx.sample_rate_hz;
        let labels = &ctx.channel_labels;
        let picks = ssvep_channels_among(&self.cfg.channels, labels, &ctx.eeg)?;
        if picks.is_empty() {
            return Err(DecoderError::NoChannels);
        }
        if !(self.cfg.window_secs > 0.0 && self.cfg.step_secs > 0.0) {
            return Err(DecoderError::BadSetting {
                name: "window_secs/step_secs",
                value: self.cfg.window_secs.min(self.cfg.step_secs),
                hint: "give positive durations, e.g. a 2 s window every 0.25 s",
            });
        }
        let n = picks.len();
        self.window_frames = (self.cfg.window_secs * fs).round() as usize;
        let step = (self.cfg.step_secs * fs).round() as usize;
        self.stepper = Some(DecisionStepper::new(
            picks,
            labels.len(),
            ctx.max_block_frames,
            step,
        )?);
        self.sample_rate_hz = fs;
        let bands = if self.cfg.sub_bands > 0 {
            let lowest = self
                .cfg
                .targets_hz
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let f0 = (lowest - 1.0).min(8.0);
            let upper = 88.0f64.min(0.45 * fs);
            // Sub-bands whose lower edge does not fit below the upper edge (low sampling
            // rates) are left out.
            let bands: Vec<(f64, f64)> = (1..=self.cfg.sub_bands)
                .map(|k| (k as f64 * f0, upper))
                .take_while(|&(lo, hi)| lo + 2.0 <= hi)
                .collect();
            if f0 <= 0.0 || bands.is_empty() {
                return Err(DecoderError::BadSetting {
                    name: "sub_bands",
                    value: self.cfg.sub_bands as f64,
                    hint: "no sub-band fits: FBCCA needs targets above 1 Hz and a sampling rate \
                           well above twice the lowest target; use plain CCA",
                });
            }
            let used = bands.len();
            let mut bank = FilterBank::new(bands, self.cfg.filter_order);
            bank.prepare(fs, n, ctx.max_block_frames)?;
            self.bank = Some(bank);
            self.weights = fbcca_weights(used, 1.25, 0.25);
            used
        } else {
            let high = self.cfg.band_hz.1.min(0.45 * fs);
            self.filter = FilterChain::new(vec![FilterSpec {
                kind: FilterKind::BandPass {
                    low_hz: self.cfg.band_hz.0,
                    high_hz: high,
                },
                order: self.cfg.filter_order,
            }]);
            self.filter.prepare(fs, n, ctx.max_block_frames)?;
            self.bank = None;
            1
        };
        let scorer = CcaScorer::new(
            n,
            self.window_frames,
            fs,
            &self.cfg.targets_hz,
            self.cfg.harmonics,
        )?;
        let refs = scorer.reference_count();
        self.scorer = Some(scorer);
        self.moments = (0..bands)
            .map(|_| SlidingMoments::new(n, refs, self.window_frames, step, ctx.max_block_frames))
            .collect();
        self.references = vec![0.0; refs * ctx.max_block_frames];
        self.combined = vec![0.0; self.cfg.targets_hz.len()];
        self.scores = vec![0.0; self.cfg.targets_hz.len()];
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let Some(mut stepper) = self.stepper.take() else {
            return;
        };
        let mut cursor = 0;
        while let Some((segment, due)) = stepper.next_segment(block, stamps, &mut cursor) {
            let (Some(scorer), Some(first)) = (self.scorer.as_ref(), self.moments.first()) else {
                break;
            };
            let frames = segment.len() / first.channels();
            let refs = &mut self.references[..frames * scorer.reference_count()];
            scorer.fill_references(first.frames(), frames, refs);
            match self.bank.as_mut() {
                Some(bank) => {
                    // Blocks never exceed the prepared length, so the bank cannot fail here.
                    if bank.process_interleaved(&*segment).is_ok() {
                        for (b, m) in self.moments.iter_mut().enumerate() {
                            m.push(bank.band_output(b), refs);
                        }
                    }
                }
                None => {
                    self.filter.process_interleaved(segment);
                    self.moments[0].push(segment, refs);
                }
            }
            if let Some(stamp) = due {
                self.decide(stamp, out);
            }
        }
        self.stepper = Some(stepper);
    }

    fn reset(&mut self) {
        self.filter.reset();
        if let Some(bank) = self.bank.as_mut() {
            bank.reset();
        }
        for m in &mut self.moments {
            m.reset();
        }
        if let Some(stepper) = self.stepper.as_mut() {
            stepper.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(fs: f64) -> DecoderContext {
        DecoderContext {
            sample_rate_hz: fs,
            channel_labels: ["O1", "Oz", "O2"].map(String::from).to_vec(),
            max_block_frames: 32,
            eeg: Vec::new(),
        }
    }

    /// Three occipital channels carrying `freq` (with a second harmonic) in noise.
    fn stream(freq: f64, fs: f64, secs: f64) -> (Vec<f32>, Vec<f64>) {
        let n = (secs * fs) as usize;
        let mut rng = crate::test_noise::Xorshift(0x2545_f491_4f6c_dd1d);
        let mut noise = move || rng.uniform() - 0.5;
        let mut values = Vec::with_capacity(3 * n);
        for i in 0..n {
            let t = i as f64 / fs;
            let s = (std::f64::consts::TAU * freq * t).sin()
                + 0.5 * (std::f64::consts::TAU * 2.0 * freq * t).sin();
            for c in 0..3 {
                values.push((0.6 * s + 4.0 * noise() + c as f64 * 0.1) as f32);
            }
        }
        (values, (0..n).map(|i| i as f64 / fs).collect())
    }

    fn decide_all(cfg: SsvepCcaConfig, freq: f64) -> Vec<Decision> {
        let fs = 250.0;
        let mut d = SsvepCcaDecoder::new(cfg);
        d.prepare(&ctx(fs)).unwrap();
        let (values, stamps) = stream(freq, fs, 12.0);
        let mut out = DecisionBuffer::with_capacity(64);
        let mut all = Vec::new();
        for (v, s) in values.chunks(3 * 10).zip(stamps.chunks(10)) {
            d.process(v, s, &mut out);
            all.extend(out.items().iter().map(|&(_, x)| x));
            out.clear();
        }
        all
    }

    #[test]
    fn both_methods_find_the_attended_target_and_fbcca_is_named() {
        for sub_bands in [0, 5] {
            let cfg = SsvepCcaConfig {
                targets_hz: vec![8.0, 10.0, 12.0, 15.0],
                sub_bands,
                ..SsvepCcaConfig::default()
            };
            let name = SsvepCcaDecoder::new(cfg.clone()).name().to_string();
            assert_eq!(
                name,
                if sub_bands > 0 {
                    "ssvep-fbcca"
                } else {
                    "ssvep-cca"
                }
            );
            let decisions = decide_all(cfg, 12.0);
            // 12 s, 2-s windows every 0.2 s: the first at 2 s, then every step.
            assert_eq!(decisions.len(), 51, "{name}");
            let hits = decisions.iter().filter(|d| d.class == 2).count();
            assert!(
                hits * 10 >= decisions.len() * 9,
                "{name}: {hits}/{}",
                decisions.len()
            );
        }
    }

    #[test]
    fn sub_bands_that_do_not_fit_a_low_rate_are_left_out() {
        let mut d = SsvepCcaDecoder::new(SsvepCcaConfig {
            targets_hz: vec![7.0, 9.0],
            sub_bands: 5,
            ..SsvepCcaConfig::default()
        });
        // At 50 Hz the upper edge is 22.5 Hz: bands [6, 22.5], [12, 22.5], [18, 22.5] fit.
        d.prepare(&ctx(50.0)).unwrap();
        assert_eq!(d.moments.len(), 3);
        let mut none_fit = SsvepCcaDecoder::new(SsvepCcaConfig {
            targets_hz: vec![0.5],
            sub_bands: 3,
            ..SsvepCcaConfig::default()
        });
        let err = none_fit.prepare(&ctx(50.0)).unwrap_err().to_string();
        assert!(err.contains("use plain CCA"), "{err}");
    }
}
