//! The part every sliding-window decoder shares: pick its channels out of the stream's
//! blocks and cut the blocks where a decision falls due, so that each decision is stamped with
//! the exact sample that completed its window.

use neuroloop_dsp::reref::ChannelSelection;

use crate::DecoderError;

/// Finds each of `wanted` in `available` by label (case, surrounding spaces and trailing dots
/// aside) or by 10-20 name ([`crate::roles::find_channel`]: `C3` finds `C3-A2`), naming the
/// stream's channels when one is missing.
pub fn channel_indices(
    wanted: &[String],
    available: &[String],
) -> Result<Vec<usize>, DecoderError> {
    wanted
        .iter()
        .map(|w| {
            crate::roles::find_channel(available, w).ok_or_else(|| DecoderError::MissingChannel {
                label: w.clone(),
                available: available.join(", "),
            })
        })
        .collect()
}

/// Channel picking plus the decision clock of a sliding-window decoder. Allocated by
/// [`DecisionStepper::new`]; [`DecisionStepper::next_segment`] is real-time safe.
#[derive(Debug, Clone)]
pub struct DecisionStepper {
    selection: ChannelSelection,
    scratch: Vec<f32>,
    step_frames: usize,
    until_decision: usize,
}

impl DecisionStepper {
    /// Picks `picks` out of `input_channels`-channel frames, with a decision every
    /// `step_frames` frames, for blocks of up to `max_block_frames`.
    pub fn new(
        picks: Vec<usize>,
        input_channels: usize,
        max_block_frames: usize,
        step_frames: usize,
    ) -> Result<Self, DecoderError> {
        let selection = ChannelSelection::new(picks, input_channels)?;
        let scratch = vec![0.0; max_block_frames * selection.output_channels()];
        let step_frames = step_frames.max(1);
        Ok(DecisionStepper {
            selection,
            scratch,
            step_frames,
            until_decision: step_frames,
        })
    }

    /// Indices (into the stream's channels) that are picked.
    pub fn picks(&self) -> &[usize] {
        self.selection.indices()
    }

    /// Restarts the decision clock.
    pub fn reset(&mut self) {
        self.until_decision = self.step_frames;
    }

    /// The next piece of `block` (from frame `*cursor`, which it advances): its picked
    /// channels, interleaved, and the stamp of its last frame when a decision falls due there.
    /// `None` once the block is consumed.
    ///
    /// Real-time safe: no allocation.
    pub fn next_segment(
        &mut self,
        block: &[f32],
        stamps: &[f64],
        cursor: &mut usize,
    ) -> Option<(&mut [f32], Option<f64>)> {
        let start = *cursor;
        if start >= stamps.len() {
            return None;
        }
        let channels = self.selection.input_channels();
        let take = (stamps.len() - start).min(self.until_decision);
        let n = self.selection.output_channels();
        let input = &block[start * channels..(start + take) * channels];
        let scratch = &mut self.scratch[..take * n];
        // Shapes are fixed at preparation, so selection cannot fail here.
        let _ = self.selection.select_interleaved(input, scratch);
        *cursor = start + take;
        self.until_decision -= take;
        let due = (self.until_decision == 0).then(|| {
            self.until_decision = self.step_frames;
            stamps[start + take - 1]
        });
        Some((scratch, due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_cut_where_decisions_fall_due() {
        // 3 input channels, pick 2 then 0, a decision every 4 frames, blocks of 3 frames.
        let mut s = DecisionStepper::new(vec![2, 0], 3, 3, 4).unwrap();
        let mut picked = Vec::new();
        let mut due = Vec::new();
        for b in 0..3 {
            let block: Vec<f32> = (0..9).map(|i| (b * 9 + i) as f32).collect();
            let stamps: Vec<f64> = (0..3).map(|f| f64::from(b * 3 + f)).collect();
            let mut cursor = 0;
            while let Some((seg, d)) = s.next_segment(&block, &stamps, &mut cursor) {
                picked.extend_from_slice(seg);
                due.extend(d);
            }
        }
        assert_eq!(due, vec![3.0, 7.0]);
        let want: Vec<f32> = (0..9)
            .flat_map(|f| [(f * 3 + 2) as f32, (f * 3) as f32])
            .collect();
        assert_eq!(picked, want);
    }

    #[test]
    fn missing_channel_names_the_stream_channels() {
        let available = ["Fz".to_string(), "C3.".to_string()];
        assert_eq!(
            channel_indices(&["c3".into()], &available).unwrap(),
            vec![1]
        );
        let err = channel_indices(&["Cz".into()], &available).unwrap_err();
        assert!(
            err.to_string()
                .contains("channel `Cz` is not in the stream (its channels: Fz, C3.)")
        );
    }
}
