//! The front end: the filters every block goes through before the decoders (a mains notch
//! with its harmonics, a high-pass against electrode drift, an optional common-average
//! reference), shared by the live worker and offline evaluation so both filter alike.

use crate::DspError;
use crate::filter::{FilterChain, FilterKind, FilterSpec};

/// The filters every block goes through before the decoders, which add their own band-pass.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontEnd {
    /// High-pass cutoff removing electrode drift (`None`: off).
    pub highpass_hz: Option<f64>,
    /// Power-line frequency to notch out, with its harmonics below Nyquist (`None`: off).
    pub notch_hz: Option<f64>,
    /// Re-reference to the common average after filtering.
    pub common_average: bool,
}

impl Default for FrontEnd {
    fn default() -> Self {
        FrontEnd {
            highpass_hz: Some(1.0),
            notch_hz: Some(50.0),
            common_average: false,
        }
    }
}

impl FrontEnd {
    /// Applies this front end to a whole recording (`data` interleaved, `channels` wide) as the
    /// worker does online: causally from the first sample, in blocks of 256 frames.
    pub fn apply_offline(
        &self,
        data: &mut [f32],
        channels: usize,
        sample_rate_hz: f64,
    ) -> Result<(), DspError> {
        const BLOCK: usize = 256;
        let mut chain = FilterChain::new(self.specs(sample_rate_hz));
        chain.prepare(sample_rate_hz, channels, BLOCK)?;
        for block in data.chunks_mut(BLOCK * channels) {
            chain.process_interleaved(block);
            if self.common_average {
                crate::reref::common_average_interleaved(block, channels);
            }
        }
        Ok(())
    }

    /// The filter specifications this front end applies at `sample_rate_hz`: the filters
    /// whose frequency lies below Nyquist.
    pub fn specs(&self, sample_rate_hz: f64) -> Vec<FilterSpec> {
        let mut specs = Vec::new();
        if let Some(f) = self.notch_hz.filter(|&f| f < sample_rate_hz / 2.0) {
            let harmonics = ((sample_rate_hz / 2.0 - 1.0) / f).floor().max(1.0) as usize;
            specs.push(FilterSpec {
                kind: FilterKind::Notch {
                    freq_hz: f,
                    quality: 30.0,
                    harmonics,
                },
                order: 2,
            });
        }
        // A stream too slow for a filter (a 1-Hz marker-like channel, a 50-Hz PSG channel
        // against a 50-Hz notch) runs without it; the chain's description says what is applied.
        if let Some(f) = self.highpass_hz.filter(|&f| f < sample_rate_hz / 2.0) {
            specs.push(FilterSpec {
                kind: FilterKind::HighPass { cutoff_hz: f },
                order: 2,
            });
        }
        specs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_above_nyquist_are_left_out() {
        let fe = FrontEnd::default();
        assert_eq!(fe.specs(250.0).len(), 2);
        // 50 Hz PSG: no mains notch at Nyquist, the high-pass stays.
        assert_eq!(fe.specs(50.0).len(), 1);
        // A 1-Hz stream: nothing the front end could run.
        assert!(fe.specs(1.0).is_empty());
        let mut data = vec![1.0f32; 8];
        fe.apply_offline(&mut data, 2, 1.0).unwrap();
        assert_eq!(data, vec![1.0; 8]);
    }
}
