//! The lock-free hand-off from the acquisition thread to the worker.
//!
//! Three single-producer single-consumer rings travel together: interleaved sample values,
//! one LSL timestamp per frame, and one header per chunk (its frame count and the LSL time at
//! which the acquisition thread received it). The producer writes values and timestamps first
//! and the header last, so a consumer that sees a header knows its frames are complete.
//! A chunk that does not fit is dropped whole and counted; the producer never waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::event::SourceEvent;

/// Default ring capacity in seconds of data: long enough to ride out a scheduling hiccup of
/// the worker, short enough that stale data is dropped rather than decoded late.
pub const DEFAULT_RING_SECS: f64 = 4.0;

/// Capacity of the event ring; events are rare (a few per second at most).
pub const EVENT_RING_CAPACITY: usize = 1024;

/// Counters shared by both ends of the ring, readable from any thread.
#[derive(Debug, Default)]
pub struct RingStats {
    /// Frames accepted into the ring.
    pub frames_in: AtomicU64,
    /// Frames dropped because the ring was full.
    pub frames_dropped: AtomicU64,
    /// Chunks dropped because the ring was full.
    pub chunks_dropped: AtomicU64,
    /// Events dropped because the event ring was full.
    pub events_dropped: AtomicU64,
    /// Frames taken out by the consumer.
    pub frames_out: AtomicU64,
}

/// Header of one chunk in the ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkHeader {
    /// Number of frames in the chunk.
    pub frames: usize,
    /// LSL time at which the acquisition thread handed the chunk over.
    pub arrival: f64,
}

/// Result of [`SampleWriter::push_chunk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The chunk is in the ring.
    Accepted,
    /// The ring was full; the whole chunk was dropped and counted.
    Dropped,
}

/// Shape of a ring, fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingShape {
    /// Interleaved frame width.
    pub channels: usize,
    /// How many frames the ring holds.
    pub capacity_frames: usize,
    /// Largest chunk accepted in one push; larger chunks are split by the producer.
    pub max_chunk_frames: usize,
}

/// Creates a connected writer/reader pair. Allocates; call at start-up.
///
/// # Panics
/// Panics if `channels`, `capacity_frames` or `max_chunk_frames` is zero, or if
/// `max_chunk_frames > capacity_frames`: these are programming errors, not data errors.
pub fn sample_ring(shape: RingShape) -> (SampleWriter, SampleReader) {
    assert!(
        shape.channels > 0,
        "a sample ring needs at least one channel"
    );
    assert!(
        shape.max_chunk_frames > 0 && shape.max_chunk_frames <= shape.capacity_frames,
        "max_chunk_frames must be in 1..=capacity_frames"
    );
    let stats = Arc::new(RingStats::default());
    let waker = Arc::new(OnceLock::new());
    let (values_tx, values_rx) = HeapRb::<f32>::new(shape.capacity_frames * shape.channels).split();
    let (stamps_tx, stamps_rx) = HeapRb::<f64>::new(shape.capacity_frames).split();
    // Every chunk holds at least one frame, so there can never be more headers than frames.
    let (headers_tx, headers_rx) = HeapRb::<ChunkHeader>::new(shape.capacity_frames).split();
    let (events_tx, events_rx) = HeapRb::<SourceEvent>::new(EVENT_RING_CAPACITY).split();
    (
        SampleWriter {
            shape,
            values: values_tx,
            stamps: stamps_tx,
            headers: headers_tx,
            events: events_tx,
            stats: Arc::clone(&stats),
            waker: Arc::clone(&waker),
        },
        SampleReader {
            shape,
            values: values_rx,
            stamps: stamps_rx,
            headers: headers_rx,
            events: events_rx,
            stats,
            waker,
        },
    )
}

/// Producer end, owned by the acquisition thread.
pub struct SampleWriter {
    shape: RingShape,
    values: HeapProd<f32>,
    stamps: HeapProd<f64>,
    headers: HeapProd<ChunkHeader>,
    events: HeapProd<SourceEvent>,
    stats: Arc<RingStats>,
    waker: Arc<OnceLock<Thread>>,
}

impl SampleWriter {
    /// The ring's shape.
    pub fn shape(&self) -> RingShape {
        self.shape
    }

    /// Shared counters.
    pub fn stats(&self) -> &Arc<RingStats> {
        &self.stats
    }

    /// Pushes interleaved frames with one timestamp per frame, received at `arrival` (LSL time).
    /// Chunks longer than `max_chunk_frames` are split. Each piece is accepted whole or dropped
    /// whole and counted. Wakes the consumer thread if one registered.
    ///
    /// Real-time safe: never allocates and never blocks; called on the acquisition thread.
    ///
    /// # Panics
    /// Panics if `values.len() != stamps.len() * channels` (a programming error in the source).
    pub fn push_chunk(&mut self, values: &[f32], stamps: &[f64], arrival: f64) -> PushOutcome {
        let channels = self.shape.channels;
        assert_eq!(
            values.len(),
            stamps.len() * channels,
            "chunk values must hold exactly one frame of {channels} channels per timestamp"
        );
        let mut outcome = PushOutcome::Accepted;
        for (vals, ts) in values
            .chunks(self.shape.max_chunk_frames * channels)
            .zip(stamps.chunks(self.shape.max_chunk_frames))
        {
            if self.push_piece(vals, ts, arrival) == PushOutcome::Dropped {
                outcome = PushOutcome::Dropped;
            }
        }
        self.wake();
        outcome
    }

    fn push_piece(&mut self, values: &[f32], stamps: &[f64], arrival: f64) -> PushOutcome {
        let frames = stamps.len();
        if frames == 0 {
            return PushOutcome::Accepted;
        }
        if self.values.vacant_len() < values.len()
            || self.stamps.vacant_len() < frames
            || self.headers.vacant_len() < 1
        {
            self.stats
                .frames_dropped
                .fetch_add(frames as u64, Ordering::Relaxed);
            self.stats.chunks_dropped.fetch_add(1, Ordering::Relaxed);
            return PushOutcome::Dropped;
        }
        let pushed_values = self.values.push_slice(values);
        let pushed_stamps = self.stamps.push_slice(stamps);
        debug_assert_eq!((pushed_values, pushed_stamps), (values.len(), frames));
        // The header goes last: its presence tells the reader the frames are complete.
        let header_ok = self
            .headers
            .try_push(ChunkHeader { frames, arrival })
            .is_ok();
        debug_assert!(header_ok, "header space was checked above");
        self.stats
            .frames_in
            .fetch_add(frames as u64, Ordering::Relaxed);
        PushOutcome::Accepted
    }

    /// Whether a chunk of `frames` frames (split as [`SampleWriter::push_chunk`] splits it) and
    /// `events` events would be accepted now.
    pub fn has_room(&self, frames: usize, events: usize) -> bool {
        let pieces = frames.div_ceil(self.shape.max_chunk_frames).max(1);
        self.values.vacant_len() >= frames * self.shape.channels
            && self.stamps.vacant_len() >= frames
            && self.headers.vacant_len() >= pieces
            && self.events.vacant_len() >= events
    }

    /// Unparks the consumer thread, if one registered.
    pub fn wake_consumer(&self) {
        self.wake();
    }

    /// Pushes an event; returns `false` (and counts it) if the event ring was full.
    ///
    /// Real-time safe: never allocates and never blocks.
    pub fn push_event(&mut self, event: SourceEvent) -> bool {
        if self.events.try_push(event).is_ok() {
            self.wake();
            true
        } else {
            self.stats.events_dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    fn wake(&self) {
        if let Some(thread) = self.waker.get() {
            thread.unpark();
        }
    }
}

/// Consumer end, owned by the worker thread.
pub struct SampleReader {
    shape: RingShape,
    values: HeapCons<f32>,
    stamps: HeapCons<f64>,
    headers: HeapCons<ChunkHeader>,
    events: HeapCons<SourceEvent>,
    stats: Arc<RingStats>,
    waker: Arc<OnceLock<Thread>>,
}

impl SampleReader {
    /// The ring's shape.
    pub fn shape(&self) -> RingShape {
        self.shape
    }

    /// Shared counters.
    pub fn stats(&self) -> &Arc<RingStats> {
        &self.stats
    }

    /// Registers the current thread to be unparked whenever data or events arrive.
    /// Only the first registration counts.
    pub fn register_current_thread(&self) {
        let _ = self.waker.set(std::thread::current());
    }

    /// Number of complete chunks waiting.
    pub fn chunks_available(&self) -> usize {
        self.headers.occupied_len()
    }

    /// Pops the next complete chunk into the caller's buffers, which must hold at least
    /// `max_chunk_frames` frames. Returns the chunk header, or `None` if the ring is empty.
    ///
    /// Real-time safe: never allocates and never blocks; called on the worker thread.
    ///
    /// # Panics
    /// Panics if the buffers are smaller than one maximal chunk (a programming error).
    pub fn pop_chunk(&mut self, values: &mut [f32], stamps: &mut [f64]) -> Option<ChunkHeader> {
        let channels = self.shape.channels;
        let header = self.headers.try_pop()?;
        assert!(
            stamps.len() >= header.frames && values.len() >= header.frames * channels,
            "pop_chunk buffers must hold max_chunk_frames frames"
        );
        let got_values = self
            .values
            .pop_slice(&mut values[..header.frames * channels]);
        let got_stamps = self.stamps.pop_slice(&mut stamps[..header.frames]);
        debug_assert_eq!(
            (got_values, got_stamps),
            (header.frames * channels, header.frames)
        );
        self.stats
            .frames_out
            .fetch_add(header.frames as u64, Ordering::Relaxed);
        Some(header)
    }

    /// Pops the next event, if any.
    ///
    /// Real-time safe: never allocates and never blocks.
    pub fn pop_event(&mut self) -> Option<SourceEvent> {
        self.events.try_pop()
    }

    /// Pops the next event if it refers to a time at or before `time` (see
    /// [`SourceEvent::time`]). Lets the consumer handle events in step with the samples they
    /// belong to when it works through a backlog of chunks.
    ///
    /// Real-time safe: never allocates and never blocks.
    pub fn pop_event_until(&mut self, time: f64) -> Option<SourceEvent> {
        if self.events.first()?.time() <= time {
            self.events.try_pop()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> RingShape {
        RingShape {
            channels: 2,
            capacity_frames: 8,
            max_chunk_frames: 4,
        }
    }

    #[test]
    fn chunks_come_out_in_order_with_their_stamps() {
        let (mut w, mut r) = sample_ring(shape());
        assert_eq!(
            w.push_chunk(&[1.0, 2.0, 3.0, 4.0], &[0.1, 0.2], 5.0),
            PushOutcome::Accepted
        );
        assert_eq!(
            w.push_chunk(&[5.0, 6.0], &[0.3], 6.0),
            PushOutcome::Accepted
        );
        let mut v = [0.0; 8];
        let mut s = [0.0; 4];
        let h = r.pop_chunk(&mut v, &mut s).unwrap();
        assert_eq!(
            h,
            ChunkHeader {
                frames: 2,
                arrival: 5.0
            }
        );
        assert_eq!(&v[..4], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(&s[..2], &[0.1, 0.2]);
        let h = r.pop_chunk(&mut v, &mut s).unwrap();
        assert_eq!(h.frames, 1);
        assert_eq!(&v[..2], &[5.0, 6.0]);
        assert!(r.pop_chunk(&mut v, &mut s).is_none());
    }

    #[test]
    fn full_ring_drops_whole_chunks_and_counts_them() {
        let (mut w, mut r) = sample_ring(shape());
        let vals = [0.0f32; 8];
        let stamps = [0.0f64; 4];
        assert_eq!(w.push_chunk(&vals, &stamps, 0.0), PushOutcome::Accepted);
        assert_eq!(w.push_chunk(&vals, &stamps, 0.0), PushOutcome::Accepted);
        assert_eq!(w.push_chunk(&vals, &stamps, 0.0), PushOutcome::Dropped);
        let stats = w.stats();
        assert_eq!(stats.frames_in.load(Ordering::Relaxed), 8);
        assert_eq!(stats.frames_dropped.load(Ordering::Relaxed), 4);
        assert_eq!(stats.chunks_dropped.load(Ordering::Relaxed), 1);
        let mut v = [0.0; 8];
        let mut s = [0.0; 4];
        assert_eq!(r.pop_chunk(&mut v, &mut s).unwrap().frames, 4);
        assert_eq!(w.push_chunk(&vals, &stamps, 0.0), PushOutcome::Accepted);
    }

    #[test]
    fn oversized_chunks_are_split_to_the_maximum() {
        let (mut w, mut r) = sample_ring(shape());
        let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let stamps: Vec<f64> = (0..6).map(f64::from).collect();
        assert_eq!(w.push_chunk(&vals, &stamps, 1.0), PushOutcome::Accepted);
        let mut v = [0.0; 8];
        let mut s = [0.0; 4];
        assert_eq!(r.pop_chunk(&mut v, &mut s).unwrap().frames, 4);
        assert_eq!(r.pop_chunk(&mut v, &mut s).unwrap().frames, 2);
        assert_eq!(&v[..4], &[8.0, 9.0, 10.0, 11.0]);
    }

    #[test]
    fn events_pass_through_and_overflow_is_counted() {
        let (mut w, mut r) = sample_ring(shape());
        for i in 0..EVENT_RING_CAPACITY {
            assert!(w.push_event(SourceEvent::StreamLost { at: i as f64 }));
        }
        assert!(!w.push_event(SourceEvent::StreamLost { at: -1.0 }));
        assert_eq!(w.stats().events_dropped.load(Ordering::Relaxed), 1);
        assert_eq!(r.pop_event(), Some(SourceEvent::StreamLost { at: 0.0 }));
    }

    #[test]
    fn concurrent_producer_and_consumer_lose_nothing() {
        let (mut w, mut r) = sample_ring(RingShape {
            channels: 3,
            capacity_frames: 64,
            max_chunk_frames: 8,
        });
        const FRAMES: usize = 20_000;
        let producer = std::thread::spawn(move || {
            let mut next = 0usize;
            while next < FRAMES {
                let n = (FRAMES - next).min(5);
                let vals: Vec<f32> = (next..next + n)
                    .flat_map(|f| [f as f32, -(f as f32), 0.5])
                    .collect();
                let stamps: Vec<f64> = (next..next + n).map(|f| f as f64).collect();
                if w.push_chunk(&vals, &stamps, 0.0) == PushOutcome::Accepted {
                    next += n;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        let mut v = [0.0; 24];
        let mut s = [0.0; 8];
        let mut expect = 0usize;
        while expect < FRAMES {
            if let Some(h) = r.pop_chunk(&mut v, &mut s) {
                for k in 0..h.frames {
                    assert_eq!(s[k], expect as f64);
                    assert_eq!(v[3 * k], expect as f32);
                    assert_eq!(v[3 * k + 1], -(expect as f32));
                    expect += 1;
                }
            } else {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
    }
}
