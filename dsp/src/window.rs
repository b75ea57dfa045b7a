//! Sliding windows and epochs: a fixed-capacity multi-channel history that the worker pushes
//! interleaved blocks into and reads recent (or event-locked) frames from, channel-major,
//! without allocating.
//!
//! Frames are numbered from 0 since creation or the last [`RingWindow::clear`]; an event
//! stamped with such a frame number can be cut out as an epoch once enough frames after it
//! have arrived ([`RingWindow::copy_range_channel_major`]). [`epochs_channel_major`] does the
//! same offline for a whole recording.

use crate::DspError;

/// Multi-channel ring of the most recent `capacity` frames.
#[derive(Debug, Clone)]
pub struct RingWindow {
    channels: usize,
    capacity: usize,
    /// Channel-major storage, so that reads are two `memcpy`s per channel: channel `c`
    /// occupies `data[c * capacity..(c + 1) * capacity]`.
    data: Vec<f32>,
    /// Next write position (same for every channel).
    head: usize,
    len: usize,
    /// Frames pushed since creation or the last clear.
    total: u64,
}

impl RingWindow {
    /// Allocates room for `capacity` frames of `channels` channels. A window with zero
    /// channels or zero capacity holds nothing.
    ///
    /// Allocates; call it while preparing.
    pub fn new(channels: usize, capacity: usize) -> Self {
        RingWindow {
            channels,
            capacity,
            data: vec![0.0; channels * capacity],
            head: 0,
            len: 0,
            total: 0,
        }
    }

    /// A window holding `window_secs` of data at `sample_rate_hz` (rounded up to whole frames).
    ///
    /// Allocates; call it while preparing.
    pub fn with_duration(
        channels: usize,
        window_secs: f64,
        sample_rate_hz: f64,
    ) -> Result<Self, DspError> {
        let fs = crate::check_sample_rate(sample_rate_hz)?;
        if !(window_secs.is_finite() && window_secs > 0.0) {
            return Err(DspError::InvalidParameter {
                name: "window_secs",
                value: window_secs,
                hint: "give a positive duration, e.g. 2 s",
            });
        }
        if channels == 0 {
            return Err(DspError::NoChannels);
        }
        Ok(Self::new(channels, (window_secs * fs).ceil() as usize))
    }

    /// Frames currently held (at most the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been pushed since creation or [`RingWindow::clear`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity in frames.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames pushed since creation or the last clear: the number the next frame will get.
    pub fn total_frames(&self) -> u64 {
        self.total
    }

    /// Number of the oldest frame held.
    pub fn oldest_frame(&self) -> u64 {
        self.total - self.len as u64
    }

    /// Appends the whole frames of an interleaved block, overwriting the oldest when full (a
    /// trailing partial frame is ignored). A block longer than the capacity leaves its last
    /// `capacity` frames.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn push_interleaved(&mut self, block: &[f32]) {
        if self.channels == 0 {
            return;
        }
        let frames = block.len() / self.channels;
        self.total += frames as u64;
        if self.capacity == 0 {
            return;
        }
        // Only the newest `capacity` frames can survive; skip the rest up front.
        let skip = frames.saturating_sub(self.capacity);
        let kept = &block[skip * self.channels..frames * self.channels];
        self.head = (self.head + skip) % self.capacity;
        for frame in kept.chunks_exact(self.channels) {
            for (c, &v) in frame.iter().enumerate() {
                self.data[c * self.capacity + self.head] = v;
            }
            self.head += 1;
            if self.head == self.capacity {
                self.head = 0;
            }
        }
        self.len = (self.len + frames).min(self.capacity);
    }

    /// Copies `n` frames starting `back` frames before the write position (so `back = n`
    /// reads the newest `n`) of every channel into `out[c * n..(c + 1) * n]`, oldest first.
    fn copy_back(&self, back: usize, n: usize, out: &mut [f32]) {
        let start = (self.head + self.capacity - back) % self.capacity;
        let first = (self.capacity - start).min(n);
        for c in 0..self.channels {
            let ring = &self.data[c * self.capacity..(c + 1) * self.capacity];
            let dst = &mut out[c * n..(c + 1) * n];
            dst[..first].copy_from_slice(&ring[start..start + first]);
            dst[first..].copy_from_slice(&ring[..n - first]);
        }
    }

    /// Copies the latest `n` frames channel-major into `out` (`out[c * n + i]`, oldest first).
    /// If fewer than `n` frames are held, the oldest part of each row is zero-filled and only
    /// the frames held are copied; the return value is the number of real frames per row. If
    /// `out` is shorter than `channels * n`, nothing is copied and 0 is returned (see
    /// [`RingWindow::try_latest_channel_major`] for an error instead).
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn latest_channel_major(&self, n: usize, out: &mut [f32]) -> usize {
        if self.channels == 0 || out.len() < self.channels * n {
            return 0;
        }
        let have = n.min(self.len);
        if have < n {
            for row in out[..self.channels * n].chunks_exact_mut(n) {
                row[..n - have].fill(0.0);
            }
        }
        if have > 0 {
            // Copy into the tail of each row.
            for c in 0..self.channels {
                let ring = &self.data[c * self.capacity..(c + 1) * self.capacity];
                let start = (self.head + self.capacity - have) % self.capacity;
                let first = (self.capacity - start).min(have);
                let dst = &mut out[c * n + (n - have)..(c + 1) * n];
                dst[..first].copy_from_slice(&ring[start..start + first]);
                dst[first..].copy_from_slice(&ring[..have - first]);
            }
        }
        have
    }

    /// Copies the latest `n` frames channel-major into `out`, or errors if fewer than `n`
    /// frames are held or `out` is too small.
    ///
    /// Real-time safe: does not allocate (its errors do not either); called on the worker
    /// thread.
    pub fn try_latest_channel_major(&self, n: usize, out: &mut [f32]) -> Result<(), DspError> {
        if out.len() < self.channels * n {
            return Err(DspError::BufferTooSmall {
                what: "window",
                needed: self.channels * n,
                got: out.len(),
            });
        }
        if n > self.len {
            return Err(DspError::OutOfWindow {
                first_frame: self.total.saturating_sub(n as u64),
                end_frame: self.total,
                oldest_frame: self.oldest_frame(),
                next_frame: self.total,
                hint: "wait until the window has filled, or ask for fewer frames",
            });
        }
        if n > 0 {
            self.copy_back(n, n, out);
        }
        Ok(())
    }

    /// Copies the latest `n` frames interleaved (frame-major) into `out`. Returns the frames
    /// copied (`min(n, len())`, the newest ones), or 0 if `out` is shorter than
    /// `channels * n`.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn latest_interleaved(&self, n: usize, out: &mut [f32]) -> usize {
        if self.channels == 0 || out.len() < self.channels * n {
            return 0;
        }
        let have = n.min(self.len);
        let start = (self.head + self.capacity - have) % self.capacity.max(1);
        for i in 0..have {
            let pos = (start + i) % self.capacity;
            for c in 0..self.channels {
                out[i * self.channels + c] = self.data[c * self.capacity + pos];
            }
        }
        have
    }

    /// Copies frames `first_frame..first_frame + n` (numbered as [`RingWindow::total_frames`]
    /// counts) channel-major into `out`: the primitive for epoching by event. Errors if any of
    /// those frames has not arrived yet or has already been overwritten.
    ///
    /// Real-time safe: does not allocate (its errors do not either); called on the worker
    /// thread.
    pub fn copy_range_channel_major(
        &self,
        first_frame: u64,
        n: usize,
        out: &mut [f32],
    ) -> Result<(), DspError> {
        if out.len() < self.channels * n {
            return Err(DspError::BufferTooSmall {
                what: "epoch",
                needed: self.channels * n,
                got: out.len(),
            });
        }
        let end_frame = first_frame + n as u64;
        if end_frame > self.total || first_frame < self.oldest_frame() {
            let hint = if end_frame > self.total {
                "the epoch is not complete yet; try again after more frames arrive"
            } else {
                "the epoch has been overwritten; enlarge the window capacity"
            };
            return Err(DspError::OutOfWindow {
                first_frame,
                end_frame,
                oldest_frame: self.oldest_frame(),
                next_frame: self.total,
                hint,
            });
        }
        if n > 0 {
            let back = (self.total - first_frame) as usize;
            self.copy_back(back, n, out);
        }
        Ok(())
    }

    /// Forgets the history and restarts frame numbering at 0 (keeps the allocation).
    ///
    /// Real-time safe: does not allocate.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.total = 0;
    }
}

/// Cuts epochs out of a whole interleaved recording: for every event frame `e`, frames
/// `e - pre_frames .. e + post_frames` of every channel, channel-major, epochs one after the
/// other (`epoch × channels × (pre_frames + post_frames)`). Errors if an epoch runs past
/// either end of the data.
///
/// Allocates the result; offline only.
pub fn epochs_channel_major(
    data: &[f32],
    channels: usize,
    event_frames: &[usize],
    pre_frames: usize,
    post_frames: usize,
) -> Result<Vec<f32>, DspError> {
    if channels == 0 {
        return Err(DspError::NoChannels);
    }
    if !data.len().is_multiple_of(channels) {
        return Err(DspError::RaggedBlock {
            len: data.len(),
            channels,
        });
    }
    let frames = data.len() / channels;
    let n = pre_frames + post_frames;
    let mut out = Vec::with_capacity(event_frames.len() * channels * n);
    for &e in event_frames {
        if e < pre_frames || e + post_frames > frames {
            return Err(DspError::OutOfWindow {
                first_frame: e.saturating_sub(pre_frames) as u64,
                end_frame: (e + post_frames) as u64,
                oldest_frame: 0,
                next_frame: frames as u64,
                hint: "drop events too close to the start or end of the recording",
            });
        }
        let first = e - pre_frames;
        for c in 0..channels {
            out.extend((first..first + n).map(|f| data[f * channels + c]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_frames_come_out_channel_major_across_the_wrap() {
        let mut w = RingWindow::new(2, 4);
        w.push_interleaved(&[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
        assert_eq!(w.len(), 3);
        w.push_interleaved(&[4.0, 40.0, 5.0, 50.0]);
        assert_eq!(w.len(), 4);
        let mut out = [0.0; 6];
        assert_eq!(w.latest_channel_major(3, &mut out), 3);
        assert_eq!(out, [3.0, 4.0, 5.0, 30.0, 40.0, 50.0]);
        let mut inter = [0.0; 4];
        assert_eq!(w.latest_interleaved(2, &mut inter), 2);
        assert_eq!(inter, [4.0, 40.0, 5.0, 50.0]);
        w.clear();
        assert!(w.is_empty());
        assert_eq!(w.total_frames(), 0);
    }

    #[test]
    fn short_history_is_zero_padded_or_an_error() {
        let mut w = RingWindow::new(2, 8);
        w.push_interleaved(&[1.0, 10.0, 2.0, 20.0]);
        let mut out = [9.0; 8];
        assert_eq!(w.latest_channel_major(4, &mut out), 2);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 10.0, 20.0]);
        assert!(matches!(
            w.try_latest_channel_major(4, &mut out),
            Err(DspError::OutOfWindow { .. })
        ));
        assert_eq!(w.latest_channel_major(4, &mut out[..7]), 0);
    }

    #[test]
    fn oversized_blocks_keep_their_newest_frames() {
        let mut w = RingWindow::new(1, 3);
        w.push_interleaved(&[1.0]);
        w.push_interleaved(&[2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut out = [0.0; 3];
        w.try_latest_channel_major(3, &mut out).unwrap();
        assert_eq!(out, [4.0, 5.0, 6.0]);
        assert_eq!(w.total_frames(), 6);
        assert_eq!(w.oldest_frame(), 3);
    }

    #[test]
    fn event_locked_ranges_and_offline_epochs() {
        let mut w = RingWindow::new(2, 5);
        let data: Vec<f32> = (0..8).flat_map(|f| [f as f32, 100.0 + f as f32]).collect();
        w.push_interleaved(&data[..12]);
        let mut out = [0.0; 4];
        assert!(matches!(
            w.copy_range_channel_major(5, 2, &mut out),
            Err(DspError::OutOfWindow { .. })
        ));
        w.push_interleaved(&data[12..]);
        w.copy_range_channel_major(5, 2, &mut out).unwrap();
        assert_eq!(out, [5.0, 6.0, 105.0, 106.0]);
        assert!(w.copy_range_channel_major(2, 2, &mut out).is_err());

        let epochs = epochs_channel_major(&data, 2, &[2, 5], 1, 2).unwrap();
        assert_eq!(
            epochs,
            [
                1.0, 2.0, 3.0, 101.0, 102.0, 103.0, 4.0, 5.0, 6.0, 104.0, 105.0, 106.0
            ]
        );
        assert!(epochs_channel_major(&data, 2, &[7], 1, 2).is_err());
    }
}
