//! Re-referencing and channel selection for interleaved blocks: common average, a chosen
//! reference channel, bipolar pairs, and picking a subset of channels.
//!
//! All functions work in place or into caller buffers and never allocate once the selection
//! or montage is built.

use crate::DspError;

/// Subtracts, frame by frame, the mean of all channels (common average reference). The mean is
/// accumulated in `f64`. A non-finite sample makes its whole frame non-finite, so run the
/// filter chain (which replaces non-finite samples) first. Fewer than two channels, or a
/// trailing partial frame, are left untouched.
///
/// Real-time safe: in place, does not allocate; called on the worker thread.
pub fn common_average_interleaved(block: &mut [f32], channels: usize) {
    if channels < 2 {
        return;
    }
    let inv = 1.0 / channels as f64;
    for frame in block.chunks_exact_mut(channels) {
        let mean = frame.iter().map(|&v| f64::from(v)).sum::<f64>() * inv;
        for v in frame.iter_mut() {
            *v = (f64::from(*v) - mean) as f32;
        }
    }
}

/// Common average over the channels flagged in `include` (for example those a quality check
/// passed), subtracted from every channel. Bad channels thus do not contaminate the reference
/// but are still re-referenced. With no channel included the block is left untouched.
///
/// Real-time safe: in place, does not allocate; called on the worker thread.
pub fn common_average_masked_interleaved(
    block: &mut [f32],
    include: &[bool],
) -> Result<(), DspError> {
    let channels = include.len();
    if channels == 0 {
        return Err(DspError::NoChannels);
    }
    if !block.len().is_multiple_of(channels) {
        return Err(DspError::RaggedBlock {
            len: block.len(),
            channels,
        });
    }
    let used = include.iter().filter(|&&b| b).count();
    if used == 0 {
        return Ok(());
    }
    let inv = 1.0 / used as f64;
    for frame in block.chunks_exact_mut(channels) {
        let mean = frame
            .iter()
            .zip(include)
            .filter(|(_, inc)| **inc)
            .map(|(&v, _)| f64::from(v))
            .sum::<f64>()
            * inv;
        for v in frame.iter_mut() {
            *v = (f64::from(*v) - mean) as f32;
        }
    }
    Ok(())
}

/// Common average of the channels flagged in `members`, subtracted from those channels only:
/// EEG re-referenced among itself while other channels of the stream (ECG, EOG, oximetry)
/// pass unchanged. With no member the block is left untouched; an `members` of the wrong
/// width leaves it untouched too (nothing is re-referenced rather than the wrong channels).
///
/// Real-time safe: in place, does not allocate; called on the worker thread.
pub fn common_average_among_interleaved(block: &mut [f32], members: &[bool]) {
    let channels = members.len();
    let used = members.iter().filter(|&&m| m).count();
    if used == 0 || !block.len().is_multiple_of(channels) {
        return;
    }
    let inv = 1.0 / used as f64;
    for frame in block.chunks_exact_mut(channels) {
        let mean = frame
            .iter()
            .zip(members)
            .filter(|(_, m)| **m)
            .map(|(&v, _)| f64::from(v))
            .sum::<f64>()
            * inv;
        for (v, _) in frame.iter_mut().zip(members).filter(|(_, m)| **m) {
            *v = (f64::from(*v) - mean) as f32;
        }
    }
}

/// Subtracts channel `reference` from every channel, frame by frame (the reference channel
/// becomes zero).
///
/// Real-time safe: in place, does not allocate; called on the worker thread.
pub fn reference_channel_interleaved(
    block: &mut [f32],
    channels: usize,
    reference: usize,
) -> Result<(), DspError> {
    if reference >= channels {
        return Err(DspError::ChannelOutOfRange {
            channel: reference,
            channels,
        });
    }
    if !block.len().is_multiple_of(channels) {
        return Err(DspError::RaggedBlock {
            len: block.len(),
            channels,
        });
    }
    for frame in block.chunks_exact_mut(channels) {
        let r = frame[reference];
        for v in frame.iter_mut() {
            *v -= r;
        }
    }
    Ok(())
}

/// Finds channel indices by label, case-insensitively and ignoring surrounding whitespace and
/// trailing dots (EDF labels such as `Fp1.`).
///
/// Allocates the result; call it while preparing.
pub fn indices_by_label<A: AsRef<str>, B: AsRef<str>>(
    labels: &[A],
    wanted: &[B],
) -> Result<Vec<usize>, DspError> {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_uppercase();
    let labels: Vec<String> = labels.iter().map(|l| norm(l.as_ref())).collect();
    wanted
        .iter()
        .map(|w| {
            let key = norm(w.as_ref());
            labels
                .iter()
                .position(|l| *l == key)
                .ok_or_else(|| DspError::UnknownChannel {
                    label: w.as_ref().to_string(),
                })
        })
        .collect()
}

/// A subset of channels, in a chosen order, copied out of interleaved blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSelection {
    indices: Vec<usize>,
    input_channels: usize,
}

impl ChannelSelection {
    /// Selects `indices` (repeats allowed) from `input_channels`-channel frames.
    ///
    /// Allocates nothing beyond taking `indices`; call it while preparing.
    pub fn new(indices: Vec<usize>, input_channels: usize) -> Result<Self, DspError> {
        if indices.is_empty() || input_channels == 0 {
            return Err(DspError::NoChannels);
        }
        if let Some(&channel) = indices.iter().find(|&&i| i >= input_channels) {
            return Err(DspError::ChannelOutOfRange {
                channel,
                channels: input_channels,
            });
        }
        Ok(ChannelSelection {
            indices,
            input_channels,
        })
    }

    /// Selects channels by label (see [`indices_by_label`]).
    ///
    /// Allocates; call it while preparing.
    pub fn by_labels<A: AsRef<str>, B: AsRef<str>>(
        labels: &[A],
        wanted: &[B],
    ) -> Result<Self, DspError> {
        Self::new(indices_by_label(labels, wanted)?, labels.len())
    }

    /// The selected input channel indices, in output order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Channels per output frame.
    pub fn output_channels(&self) -> usize {
        self.indices.len()
    }

    /// Channels per input frame.
    pub fn input_channels(&self) -> usize {
        self.input_channels
    }

    /// Copies the selected channels of every frame of `input` into `output` (interleaved,
    /// [`ChannelSelection::output_channels`] per frame). Returns the frames copied.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn select_interleaved<T: Copy>(
        &self,
        input: &[T],
        output: &mut [T],
    ) -> Result<usize, DspError> {
        if !input.len().is_multiple_of(self.input_channels) {
            return Err(DspError::RaggedBlock {
                len: input.len(),
                channels: self.input_channels,
            });
        }
        let frames = input.len() / self.input_channels;
        let needed = frames * self.indices.len();
        if output.len() < needed {
            return Err(DspError::BufferTooSmall {
                what: "channel selection output",
                needed,
                got: output.len(),
            });
        }
        for (frame, out) in input
            .chunks_exact(self.input_channels)
            .zip(output.chunks_exact_mut(self.indices.len()))
        {
            for (o, &i) in out.iter_mut().zip(&self.indices) {
                *o = frame[i];
            }
        }
        Ok(frames)
    }
}

/// Bipolar derivations: output channel `k` is `input[a_k] - input[b_k]` for pairs `(a_k, b_k)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BipolarMontage {
    pairs: Vec<(usize, usize)>,
    input_channels: usize,
}

impl BipolarMontage {
    /// A montage of `pairs` (active, reference) over `input_channels`-channel frames.
    ///
    /// Allocates nothing beyond taking `pairs`; call it while preparing.
    pub fn new(pairs: Vec<(usize, usize)>, input_channels: usize) -> Result<Self, DspError> {
        if pairs.is_empty() || input_channels == 0 {
            return Err(DspError::NoChannels);
        }
        if let Some(&channel) = pairs
            .iter()
            .flat_map(|(a, b)| [a, b])
            .find(|&&i| i >= input_channels)
        {
            return Err(DspError::ChannelOutOfRange {
                channel,
                channels: input_channels,
            });
        }
        Ok(BipolarMontage {
            pairs,
            input_channels,
        })
    }

    /// A montage from label pairs such as `("Fp1", "F3")`.
    ///
    /// Allocates; call it while preparing.
    pub fn by_labels<A: AsRef<str>, B: AsRef<str>>(
        labels: &[A],
        pairs: &[(B, B)],
    ) -> Result<Self, DspError> {
        let mut resolved = Vec::with_capacity(pairs.len());
        for (a, b) in pairs {
            let ab = indices_by_label(labels, &[a.as_ref(), b.as_ref()])?;
            resolved.push((ab[0], ab[1]));
        }
        Self::new(resolved, labels.len())
    }

    /// The (active, reference) pairs.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// Channels per output frame.
    pub fn output_channels(&self) -> usize {
        self.pairs.len()
    }

    /// Writes the derivations of every frame of `input` into `output` (interleaved,
    /// [`BipolarMontage::output_channels`] per frame). Returns the frames written.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn apply_interleaved(&self, input: &[f32], output: &mut [f32]) -> Result<usize, DspError> {
        if !input.len().is_multiple_of(self.input_channels) {
            return Err(DspError::RaggedBlock {
                len: input.len(),
                channels: self.input_channels,
            });
        }
        let frames = input.len() / self.input_channels;
        let needed = frames * self.pairs.len();
        if output.len() < needed {
            return Err(DspError::BufferTooSmall {
                what: "bipolar montage output",
                needed,
                got: output.len(),
            });
        }
        for (frame, out) in input
            .chunks_exact(self.input_channels)
            .zip(output.chunks_exact_mut(self.pairs.len()))
        {
            for (o, &(a, b)) in out.iter_mut().zip(&self.pairs) {
                *o = frame[a] - frame[b];
            }
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_average_zeroes_the_frame_mean() {
        let mut b = [1.0, 2.0, 3.0, 10.0, 10.0, 10.0];
        common_average_interleaved(&mut b, 3);
        assert_eq!(b, [-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn masked_average_ignores_excluded_channels() {
        let mut b = [1.0, 3.0, 1000.0];
        common_average_masked_interleaved(&mut b, &[true, true, false]).unwrap();
        assert_eq!(b, [-1.0, 1.0, 998.0]);
    }

    #[test]
    fn reference_channel_is_subtracted() {
        let mut b = [5.0, 2.0, 7.0, 1.0, 1.0, 1.0];
        reference_channel_interleaved(&mut b, 3, 1).unwrap();
        assert_eq!(b, [3.0, 0.0, 5.0, 0.0, 0.0, 0.0]);
        assert!(matches!(
            reference_channel_interleaved(&mut b, 3, 3),
            Err(DspError::ChannelOutOfRange { channel: 3, .. })
        ));
    }

    #[test]
    fn selection_and_bipolar_pairs_by_label() {
        let labels = ["Fp1.", "Fp2", "Cz", "O1"];
        let sel = ChannelSelection::by_labels(&labels, &["o1", "FP1"]).unwrap();
        assert_eq!(sel.indices(), &[3, 0]);
        let mut out = [0.0f32; 4];
        let frames = sel
            .select_interleaved(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &mut out)
            .unwrap();
        assert_eq!(frames, 2);
        assert_eq!(out, [4.0, 1.0, 8.0, 5.0]);
        let err = ChannelSelection::by_labels(&labels, &["T7"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "channel `T7` is not in the stream: pick one of the stream's channel labels"
        );

        let montage = BipolarMontage::by_labels(&labels, &[("Fp1", "Fp2"), ("Cz", "O1")]).unwrap();
        let mut out = [0.0f32; 2];
        montage
            .apply_interleaved(&[1.0, 2.0, 10.0, 4.0], &mut out)
            .unwrap();
        assert_eq!(out, [-1.0, 6.0]);
    }

    #[test]
    fn the_average_among_members_leaves_the_others_alone() {
        // Two EEG channels and an ECG: the EEG is re-referenced to its own mean.
        let mut block = vec![1.0f32, 3.0, 100.0, 5.0, 7.0, -50.0];
        common_average_among_interleaved(&mut block, &[true, true, false]);
        assert_eq!(block, vec![-1.0, 1.0, 100.0, -1.0, 1.0, -50.0]);
        let mut untouched = vec![1.0f32, 2.0];
        common_average_among_interleaved(&mut untouched, &[false, false]);
        assert_eq!(untouched, vec![1.0, 2.0]);
    }
}
