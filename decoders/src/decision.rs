//! What decoders emit, and the fixed-capacity buffer they emit it into.

/// One decoder output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Index into the decoder's [`crate::Decoder::class_names`].
    pub class: u16,
    /// The decoder's score for that class (e.g. a canonical correlation).
    pub score: f32,
    /// How sure the decoder is, in 0..=1 (e.g. the margin over the runner-up, normalised).
    pub confidence: f32,
    /// Whether `confidence` passed the decoder's decision threshold (a selection, not only an
    /// estimate).
    pub confident: bool,
    /// LSL timestamp of the sample that completed the window behind this decision.
    pub sample_time: f64,
    /// LSL timestamp of the window's first sample (for event decisions, where the event
    /// started).
    pub window_start: f64,
    /// Length of data the decision is based on.
    pub window_secs: f32,
}

impl Decision {
    /// Whether the window's first sample is at or after `t`, allowing half a sample period
    /// before it (a window starting on the sample nearest `t`). The period is what the window's
    /// length exceeds its stamps' span by (`n` samples last `n` periods but span `n − 1`).
    pub fn starts_at_or_after(&self, t: f64) -> bool {
        let span = self.sample_time - self.window_start;
        let period = (f64::from(self.window_secs) - span).max(0.0);
        self.window_start >= t - 0.5 * period - 1e-9
    }
}

/// A fixed-capacity list of decisions filled by [`crate::Decoder::process`].
///
/// Allocated once by the worker; pushing beyond capacity drops and counts instead of growing,
/// so the real-time path never allocates.
#[derive(Debug)]
pub struct DecisionBuffer {
    items: Vec<(u16, Decision)>,
    dropped: u64,
    current_decoder: u16,
}

impl DecisionBuffer {
    /// Decisions one worker step can hold; a step is one chunk, and decoders decide at most
    /// every few samples.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// Allocates the buffer.
    pub fn with_capacity(capacity: usize) -> Self {
        DecisionBuffer {
            items: Vec::with_capacity(capacity),
            dropped: 0,
            current_decoder: 0,
        }
    }

    /// Sets which decoder (by index in the worker's list) subsequent pushes come from.
    pub fn set_decoder(&mut self, index: u16) {
        self.current_decoder = index;
    }

    /// Adds a decision; drops and counts it if the buffer is full.
    ///
    /// Real-time safe: never allocates.
    pub fn push(&mut self, decision: Decision) {
        if self.items.len() < self.items.capacity() {
            self.items.push((self.current_decoder, decision));
        } else {
            self.dropped += 1;
        }
    }

    /// Decisions gathered since the last [`DecisionBuffer::clear`], with their decoder index.
    pub fn items(&self) -> &[(u16, Decision)] {
        &self.items
    }

    /// Empties the buffer (keeps its capacity).
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Decisions lost to a full buffer since creation.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(class: u16) -> Decision {
        Decision {
            class,
            score: 0.0,
            confidence: 0.0,
            confident: false,
            sample_time: 0.0,
            window_start: -0.996,
            window_secs: 1.0,
        }
    }

    #[test]
    fn a_window_starting_on_the_sample_nearest_an_onset_starts_at_it() {
        // 250 samples at 250 Hz ending at 0 s: the first sample is stamped -0.996 s.
        let w = d(0);
        assert!(w.starts_at_or_after(-0.996));
        // The onset fell up to half a sample after the first sample: still the nearest.
        assert!(w.starts_at_or_after(-0.996 + 0.0019));
        // The onset was a whole sample later: the window holds a sample before it.
        assert!(!w.starts_at_or_after(-0.996 + 0.004));
        assert!(w.starts_at_or_after(-2.0));
    }

    #[test]
    fn full_buffer_counts_instead_of_growing() {
        let mut b = DecisionBuffer::with_capacity(2);
        b.set_decoder(3);
        b.push(d(0));
        b.push(d(1));
        b.push(d(2));
        assert_eq!(b.items().len(), 2);
        assert_eq!(b.items()[1], (3, d(1)));
        assert_eq!(b.dropped(), 1);
        b.clear();
        b.push(d(4));
        assert_eq!(b.items().len(), 1);
    }
}
