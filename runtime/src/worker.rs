//! The worker: pops chunks from the sample ring, filters them, runs the decoders and hands
//! decisions to the output thread.
//!
//! Everything is allocated in [`Worker::new`]; [`Worker::step`] (the hot loop) allocates
//! nothing and never blocks: rings are lock-free, statistics are atomics, and a full output
//! ring drops (and counts) instead of waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::Thread;
use std::time::Duration;

use neuroloop_acquisition::clock::local_clock;
use neuroloop_acquisition::ring::{RingStats, SampleReader};
use neuroloop_acquisition::{SourceEvent, StreamMeta};
use neuroloop_decoders::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};
use neuroloop_dsp::filter::FilterChain;
use neuroloop_dsp::front_end::FrontEnd;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::latency::LatencyHistogram;
use crate::record::RecordFeed;

/// Capacity of the worker → output ring, in events. At one decision per decoder every few
/// tens of milliseconds this is minutes of slack.
pub const OUTPUT_RING_CAPACITY: usize = 4096;

/// Capacity of the worker → GUI display ring, in samples.
pub const SCOPE_RING_SECS: f64 = 2.0;

/// What happened in the pipeline, sent from the worker to the output thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputEvent {
    /// A decoder decided.
    Decision(DecisionRecord),
    /// An event from the source (gap, loss, ground truth).
    Source(SourceEvent),
    /// A stimulation event (command, suppression, onset).
    Stim(crate::stimulation::StimEvent),
}

/// A decision with the times needed to measure latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRecord {
    /// Index of the decoder in the session's list.
    pub decoder: u16,
    /// The decision itself.
    pub decision: Decision,
    /// LSL time at which the worker finished the decision.
    pub decided_at: f64,
    /// LSL time at which the chunk that completed the window reached the acquisition thread.
    pub arrival: f64,
}

/// Counters of the pipeline, shared with every thread (all atomics).
pub struct PipelineStats {
    /// Counters of the sample ring (frames in, dropped).
    pub ring: Arc<RingStats>,
    /// Frames through the worker.
    pub frames_processed: AtomicU64,
    /// Chunks through the worker.
    pub chunks_processed: AtomicU64,
    /// Decisions made.
    pub decisions: AtomicU64,
    /// Decisions made, per decoder (in session order).
    pub decisions_per_decoder: Vec<AtomicU64>,
    /// Model calls each decoder failed so far ([`Decoder::failures`]), in session order.
    pub decoder_failures: Vec<AtomicU64>,
    /// Decisions lost because the output ring or decision buffer was full.
    pub decisions_dropped: AtomicU64,
    /// Source events lost because the output ring was full.
    pub events_dropped: AtomicU64,
    /// Non-finite input samples replaced by the filters.
    pub non_finite_samples: AtomicU64,
    /// Gaps reported by the source.
    pub gaps: AtomicU64,
    /// Whether the source is currently lost.
    pub stream_lost: AtomicBool,
    /// Latency from the stamp of the sample that completed a window to its decision.
    pub latency_from_sample: LatencyHistogram,
    /// Latency from the arrival of that sample's chunk to the decision (pure processing and
    /// queueing inside neuroloop).
    pub latency_from_arrival: LatencyHistogram,
    /// Delivery lag of each chunk: from the stamp of its last sample to its arrival in
    /// neuroloop. Transport delay for a live stream; pacing accuracy for a paced replay.
    pub delivery_lag: LatencyHistogram,
    /// Display frames dropped because the GUI did not keep up (not data loss).
    pub scope_dropped: AtomicU64,
    /// Raw monitor frames dropped because the GUI did not keep up (not data loss).
    pub monitor_dropped: AtomicU64,
    /// Frames that could not be handed to the session recorder (its ring was full).
    pub record_dropped: AtomicU64,
}

impl PipelineStats {
    /// Fresh counters around a ring's statistics, for `decoders` decoders.
    pub fn new(ring: Arc<RingStats>, decoders: usize) -> Self {
        PipelineStats {
            ring,
            decisions_per_decoder: (0..decoders).map(|_| AtomicU64::new(0)).collect(),
            decoder_failures: (0..decoders).map(|_| AtomicU64::new(0)).collect(),
            frames_processed: AtomicU64::new(0),
            chunks_processed: AtomicU64::new(0),
            decisions: AtomicU64::new(0),
            decisions_dropped: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            non_finite_samples: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            stream_lost: AtomicBool::new(false),
            latency_from_sample: LatencyHistogram::new(),
            latency_from_arrival: LatencyHistogram::new(),
            delivery_lag: LatencyHistogram::new(),
            scope_dropped: AtomicU64::new(0),
            monitor_dropped: AtomicU64::new(0),
            record_dropped: AtomicU64::new(0),
        }
    }
}

/// Display feeds for the GUI: filtered frames decimated to about
/// [`ScopeFeed::TARGET_RATE_HZ`] (traces), and raw frames at the stream's rate, as they arrive
/// before the front end (spectra and signal quality). Only whole frames are pushed; frames
/// that do not fit are counted, never waited for.
pub struct ScopeFeed {
    producer: HeapProd<f32>,
    raw: HeapProd<f32>,
    channels: usize,
    every: usize,
    phase: usize,
    /// Stamp (`f64` bits) of the newest frame offered to the feeds.
    stamp: Arc<AtomicU64>,
}

/// Consumer end of the display feeds.
pub struct ScopeReceiver {
    /// Interleaved display frames (filtered, decimated).
    pub consumer: HeapCons<f32>,
    /// Interleaved raw frames at the stream's rate.
    pub raw: HeapCons<f32>,
    /// Frame width.
    pub channels: usize,
    /// Rate of the display frames.
    pub rate_hz: f64,
    /// Rate of the raw frames (the stream's).
    pub raw_rate_hz: f64,
    stamp: Arc<AtomicU64>,
}

impl ScopeReceiver {
    /// The stamp (LSL time, or virtual time at maximum speed) of the newest frame the worker
    /// has offered to the feeds, `None` before the first: once both rings are drained, the
    /// newest frame on screen. Places events and decisions on the traces' time axis.
    pub fn latest_stamp(&self) -> Option<f64> {
        let t = f64::from_bits(self.stamp.load(Ordering::Acquire));
        t.is_finite().then_some(t)
    }
}

impl ScopeFeed {
    /// Display rate: enough for traces on screen, far below any EEG rate.
    pub const TARGET_RATE_HZ: f64 = 250.0;

    /// Creates the pair for a stream (allocates).
    pub fn new(channels: usize, sample_rate_hz: f64) -> (ScopeFeed, ScopeReceiver) {
        let every = (sample_rate_hz / Self::TARGET_RATE_HZ).round().max(1.0) as usize;
        let rate_hz = sample_rate_hz / every as f64;
        let capacity = ((SCOPE_RING_SECS * rate_hz) as usize).max(16) * channels;
        let (producer, consumer) = HeapRb::<f32>::new(capacity.max(1)).split();
        let raw_capacity = ((SCOPE_RING_SECS * sample_rate_hz) as usize).max(16) * channels;
        let (raw, raw_consumer) = HeapRb::<f32>::new(raw_capacity.max(1)).split();
        let stamp = Arc::new(AtomicU64::new(f64::NAN.to_bits()));
        (
            ScopeFeed {
                producer,
                raw,
                channels,
                every,
                phase: 0,
                stamp: Arc::clone(&stamp),
            },
            ScopeReceiver {
                consumer,
                raw: raw_consumer,
                channels,
                rate_hz,
                raw_rate_hz: sample_rate_hz,
                stamp,
            },
        )
    }

    /// Records the stamp of the newest frame pushed. Real-time safe: one atomic store.
    fn set_stamp(&self, stamp: f64) {
        self.stamp.store(stamp.to_bits(), Ordering::Release);
    }

    /// Pushes the whole raw frames of `block` that fit; counts the others in `dropped`.
    ///
    /// Real-time safe: lock-free, no allocation.
    fn push_raw(&mut self, block: &[f32], dropped: &AtomicU64) {
        let ch = self.channels.max(1);
        let frames = block.len() / ch;
        let fit = frames.min(self.raw.vacant_len() / ch);
        self.raw.push_slice(&block[..fit * ch]);
        if fit < frames {
            dropped.fetch_add((frames - fit) as u64, Ordering::Relaxed);
        }
    }

    /// Pushes every `every`-th filtered frame of `block` that fits; counts the others in
    /// `dropped`.
    ///
    /// Real-time safe: lock-free, no allocation.
    fn push_display(&mut self, block: &[f32], dropped: &AtomicU64) {
        let ch = self.channels.max(1);
        for frame in block.chunks_exact(ch) {
            if self.phase == 0 {
                if self.producer.vacant_len() >= ch {
                    self.producer.push_slice(frame);
                } else {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.phase = (self.phase + 1) % self.every;
        }
    }
}

/// Errors setting up the worker.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A decoder could not be prepared for this stream.
    #[error("decoder `{name}` cannot run on this stream: {source}")]
    Decoder {
        /// Decoder name.
        name: String,
        /// Why.
        source: DecoderError,
    },
    /// The front-end filters could not be designed for this stream.
    #[error("the front-end filters cannot run on this stream: {0}")]
    FrontEnd(#[from] neuroloop_dsp::DspError),
}

/// Waits until `ready` holds, waking the output thread meanwhile. Only for lossless
/// (maximum-speed) runs: a live worker never waits.
fn wait_for_room(ready: impl Fn() -> bool, output_thread: Option<&Thread>) {
    while !ready() {
        if let Some(t) = output_thread {
            t.unpark();
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The worker. See the module documentation.
pub struct Worker {
    reader: SampleReader,
    channels: usize,
    front_end: FilterChain,
    common_average: bool,
    /// The channels the common average is taken over and subtracted from: the EEG ones.
    eeg: Vec<bool>,
    decoders: Vec<Box<dyn Decoder>>,
    values: Vec<f32>,
    stamps: Vec<f64>,
    decisions: DecisionBuffer,
    buffer_drops_reported: u64,
    output: HeapProd<OutputEvent>,
    output_waker: Option<Thread>,
    scope: Option<ScopeFeed>,
    record: Option<RecordFeed>,
    lossless: bool,
    stats: Arc<PipelineStats>,
    stim: Option<crate::stimulation::StimController>,
    /// Stimulus onsets from the window (the speller), LSL time.
    onsets: Option<HeapCons<f64>>,
    /// Which of the source's annotations mark a stimulus onset (replayed speller sessions).
    onset_annotations: Vec<bool>,
    /// Whether SSVEP ground truth marks the onsets (the simulator).
    truth_onsets: bool,
}

/// Which counter a lost output event goes to.
#[derive(Clone, Copy)]
enum EventKind {
    Decision,
    Event,
}

/// Hands `event` to the output thread (waiting for room when `lossless`); counts it in
/// `dropped` when the ring is full. Real-time safe unless `lossless`.
fn push_output(
    output: &mut HeapProd<OutputEvent>,
    lossless: bool,
    waker: Option<&Thread>,
    dropped: &AtomicU64,
    event: OutputEvent,
) -> bool {
    if lossless {
        wait_for_room(|| output.vacant_len() > 0, waker);
    }
    if output.try_push(event).is_ok() {
        true
    } else {
        dropped.fetch_add(1, Ordering::Relaxed);
        false
    }
}

impl Worker {
    /// Prepares filters and decoders for `meta` and allocates every buffer. Returns the worker
    /// and the consumer end of its output ring.
    pub fn new(
        reader: SampleReader,
        meta: &StreamMeta,
        front_end: &FrontEnd,
        mut decoders: Vec<Box<dyn Decoder>>,
        stats: Arc<PipelineStats>,
        scope: Option<ScopeFeed>,
    ) -> Result<(Worker, HeapCons<OutputEvent>), PipelineError> {
        let shape = reader.shape();
        let channels = shape.channels;
        let fs = meta.sample_rate_hz;
        let mut chain = FilterChain::new(front_end.specs(fs));
        chain.prepare(fs, channels, shape.max_chunk_frames)?;
        let ctx = DecoderContext {
            sample_rate_hz: fs,
            channel_labels: meta.channel_labels.clone(),
            max_block_frames: shape.max_chunk_frames,
            eeg: meta.eeg_mask(),
        };
        for d in &mut decoders {
            d.prepare(&ctx).map_err(|source| PipelineError::Decoder {
                name: d.name().to_string(),
                source,
            })?;
        }
        let (output, output_rx) = HeapRb::<OutputEvent>::new(OUTPUT_RING_CAPACITY).split();
        Ok((
            Worker {
                reader,
                channels,
                front_end: chain,
                common_average: front_end.common_average,
                eeg: meta.eeg_mask(),
                decoders,
                values: vec![0.0; shape.max_chunk_frames * channels],
                stamps: vec![0.0; shape.max_chunk_frames],
                decisions: DecisionBuffer::with_capacity(DecisionBuffer::DEFAULT_CAPACITY),
                buffer_drops_reported: 0,
                output,
                output_waker: None,
                scope,
                record: None,
                lossless: false,
                stats,
                stim: None,
                onsets: None,
                onset_annotations: Vec::new(),
                truth_onsets: true,
            },
            output_rx,
        ))
    }

    /// Turns decisions into stimuli under `controller`'s policy.
    pub fn set_stimulation(&mut self, controller: crate::stimulation::StimController) {
        self.stim = Some(controller);
    }

    /// For sources without a clock of their own (maximum-speed simulation or replay): the
    /// worker then waits for room in the recording and output rings instead of dropping, as
    /// the acquisition loop does for the sample ring. Never set for live sources, where the
    /// worker must not wait on anything.
    pub fn set_lossless(&mut self, lossless: bool) {
        self.lossless = lossless;
    }

    /// Copies every raw chunk (before any filtering) to a session recorder.
    pub fn set_record_feed(&mut self, feed: RecordFeed) {
        self.record = Some(feed);
    }

    /// Stimulus onsets pushed by the window (the speller) into this ring reach every decoder.
    pub fn set_onset_ring(&mut self, onsets: HeapCons<f64>) {
        self.onsets = Some(onsets);
    }

    /// Which of the source's annotation texts mark a stimulus onset
    /// ([`neuroloop_acquisition::Source::onset_annotations`]): those annotations reach every
    /// decoder as onsets. `truth_onsets`: whether the source's SSVEP ground truth sets them
    /// instead (the simulator's attended targets; false for a source that marks its onsets
    /// itself, by annotations or [`SourceEvent::Onset`]).
    pub fn set_onsets(&mut self, annotations: Vec<bool>, truth_onsets: bool) {
        self.onset_annotations = annotations;
        self.truth_onsets = truth_onsets;
    }

    /// Registers the thread consuming the output ring, to be unparked when events are pushed.
    pub fn set_output_thread(&mut self, thread: Thread) {
        self.output_waker = Some(thread);
    }

    /// Human-readable description of the front-end chain actually applied.
    pub fn describe_front_end(&self) -> String {
        let mut s = self.front_end.describe();
        if self.common_average {
            let eeg = self.eeg.iter().filter(|&&e| e).count();
            if eeg == self.eeg.len() {
                s.push_str(" + common average reference");
            } else {
                s.push_str(&format!(
                    " + common average reference of the {eeg} EEG channels"
                ));
            }
        }
        s
    }

    /// Hands a stimulus onset (LSL time) to every decoder.
    fn stimulus_onset(&mut self, onset: f64) {
        for d in &mut self.decoders {
            d.stimulus_onset(onset);
        }
    }

    /// Acts on one source event and forwards it to the output thread (waiting for room in
    /// lossless runs); returns whether it was forwarded.
    fn handle_event(&mut self, event: SourceEvent) -> bool {
        match event {
            SourceEvent::Gap { .. } => {
                self.stats.gaps.fetch_add(1, Ordering::Relaxed);
                // Windows spanning a hole would mix unrelated data: start afresh.
                for d in &mut self.decoders {
                    d.reset();
                }
                self.front_end.reset();
            }
            SourceEvent::Jump { .. } => {
                // The user moved the replay: as after a gap, but not a fault of the stream.
                for d in &mut self.decoders {
                    d.reset();
                }
                self.front_end.reset();
            }
            SourceEvent::StreamLost { .. } => {
                self.stats.stream_lost.store(true, Ordering::Relaxed);
            }
            SourceEvent::Reconnected { .. } => {
                self.stats.stream_lost.store(false, Ordering::Relaxed);
            }
            SourceEvent::Truth(t) => {
                if let neuroloop_acquisition::TruthKind::SsvepTarget { .. } = t.kind
                    && self.truth_onsets
                {
                    self.stimulus_onset(t.onset);
                }
            }
            SourceEvent::Onset { at } => self.stimulus_onset(at),
            SourceEvent::Annotation { at, index } => {
                if self.onset_annotations.get(index as usize) == Some(&true) {
                    self.stimulus_onset(at);
                }
            }
        }
        // Like decisions: consumer-paced (lossless) runs wait for room, live runs drop and
        // count.
        push_output(
            &mut self.output,
            self.lossless,
            self.output_waker.as_ref(),
            &self.stats.events_dropped,
            OutputEvent::Source(event),
        )
    }

    /// The channels each decoder reads (indices into the stream's), as they prepared them.
    pub fn decoder_inputs(&self) -> Vec<Vec<usize>> {
        self.decoders.iter().map(|d| d.input_channels()).collect()
    }

    /// Processes every complete chunk and event waiting in the ring; returns the number of
    /// chunks processed.
    ///
    /// Real-time safe: no allocation, no blocking; called on the worker thread.
    pub fn step(&mut self) -> usize {
        let mut chunks = 0;
        let mut pushed_output = false;
        while let Some(onset) = self.onsets.as_mut().and_then(|r| r.try_pop()) {
            self.stimulus_onset(onset);
        }
        while let Some(header) = self.reader.pop_chunk(&mut self.values, &mut self.stamps) {
            chunks += 1;
            let n = header.frames;
            // Events that belong before or inside this chunk (ground truth, gaps) first, so a
            // backlog of chunks sees them in order.
            while let Some(event) = self.reader.pop_event_until(self.stamps[n - 1]) {
                pushed_output |= self.handle_event(event);
            }
            self.stats
                .delivery_lag
                .record_secs(header.arrival - self.stamps[n - 1]);
            self.feed_raw(n);
            self.filter(n);
            pushed_output |= self.decode(n, header.arrival);
            if let Some(scope) = &mut self.scope {
                let block = &self.values[..n * self.channels];
                scope.push_display(block, &self.stats.scope_dropped);
                scope.set_stamp(self.stamps[n - 1]);
            }
            self.stats
                .frames_processed
                .fetch_add(n as u64, Ordering::Relaxed);
            self.stats.chunks_processed.fetch_add(1, Ordering::Relaxed);
        }
        while let Some(event) = self.reader.pop_event() {
            pushed_output |= self.handle_event(event);
        }
        while let Some(e) = self.stim.as_mut().and_then(|s| s.poll_onset()) {
            pushed_output |= self.push(OutputEvent::Stim(e), EventKind::Event);
        }
        if pushed_output && let Some(t) = &self.output_waker {
            t.unpark();
        }
        self.fold_buffer_drops();
        chunks
    }

    /// Hands the first `n` frames, raw, to the recording and the raw display feed. A recorder
    /// that let go (its file failed: the output thread reports why) is fed no more; the
    /// session goes on. Real-time safe unless lossless.
    #[inline]
    fn feed_raw(&mut self, n: usize) {
        let (values, stamps) = (&self.values[..n * self.channels], &self.stamps[..n]);
        if let Some(rec) = &mut self.record
            && rec.is_open()
        {
            if self.lossless {
                wait_for_room(
                    || rec.has_room(n) || !rec.is_open(),
                    self.output_waker.as_ref(),
                );
            }
            if !rec.push(values, stamps) && rec.is_open() {
                self.stats
                    .record_dropped
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
        }
        if let Some(scope) = &mut self.scope {
            scope.push_raw(values, &self.stats.monitor_dropped);
        }
    }

    /// The front end on the first `n` frames, in place, then the stimulation's artefact watch.
    #[inline]
    fn filter(&mut self, n: usize) {
        let channels = self.channels;
        let block = &mut self.values[..n * channels];
        let report = self.front_end.process_interleaved(block);
        if report.non_finite > 0 {
            self.stats
                .non_finite_samples
                .fetch_add(report.non_finite as u64, Ordering::Relaxed);
        }
        if self.common_average {
            neuroloop_dsp::reref::common_average_among_interleaved(block, &self.eeg);
        }
        if let Some(stim) = &mut self.stim {
            stim.scan_block(block, &self.stamps[..n], channels);
        }
    }

    /// Every decoder on the filtered first `n` frames; their decisions, stamped, to the output
    /// thread and the stimulation policy. Whether anything was pushed.
    #[inline]
    fn decode(&mut self, n: usize, arrival: f64) -> bool {
        let block = &self.values[..n * self.channels];
        let stamps = &self.stamps[..n];
        for (i, d) in self.decoders.iter_mut().enumerate() {
            self.decisions.set_decoder(i as u16);
            d.process(block, stamps, &mut self.decisions);
            if let Some(c) = self.stats.decoder_failures.get(i) {
                c.store(d.failures(), Ordering::Relaxed);
            }
        }
        let decided_at = local_clock();
        let mut pushed = false;
        for k in 0..self.decisions.items().len() {
            let (decoder, decision) = self.decisions.items()[k];
            self.count_decision(decoder, decision.sample_time, decided_at, arrival);
            let record = DecisionRecord {
                decoder,
                decision,
                decided_at,
                arrival,
            };
            pushed |= self.push(OutputEvent::Decision(record), EventKind::Decision);
            if let Some(e) = self
                .stim
                .as_mut()
                .and_then(|s| s.on_decision(decoder, &decision))
            {
                pushed |= self.push(OutputEvent::Stim(e), EventKind::Event);
            }
        }
        self.decisions.clear();
        pushed
    }

    /// A decision's latencies and counts.
    #[inline]
    fn count_decision(&self, decoder: u16, sample_time: f64, decided_at: f64, arrival: f64) {
        let stats = &self.stats;
        stats
            .latency_from_sample
            .record_secs(decided_at - sample_time);
        stats.latency_from_arrival.record_secs(decided_at - arrival);
        stats.decisions.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = stats.decisions_per_decoder.get(usize::from(decoder)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands `event` to the output thread, counting it as a lost decision or event when the
    /// ring is full.
    #[inline]
    fn push(&mut self, event: OutputEvent, kind: EventKind) -> bool {
        let dropped = match kind {
            EventKind::Decision => &self.stats.decisions_dropped,
            EventKind::Event => &self.stats.events_dropped,
        };
        push_output(
            &mut self.output,
            self.lossless,
            self.output_waker.as_ref(),
            dropped,
            event,
        )
    }

    /// Decision-buffer overflow, folded into the shared counter once per step.
    #[inline]
    fn fold_buffer_drops(&mut self) {
        let buffer_drops = self.decisions.dropped();
        if buffer_drops > self.buffer_drops_reported {
            self.stats
                .decisions_dropped
                .fetch_add(buffer_drops - self.buffer_drops_reported, Ordering::Relaxed);
            self.buffer_drops_reported = buffer_drops;
        }
    }

    /// Runs [`Worker::step`] until `stop` is set and the ring is drained, sleeping (parked)
    /// while no data is waiting; the acquisition thread unparks it on every chunk.
    pub fn run(mut self, stop: &AtomicBool) {
        self.reader.register_current_thread();
        loop {
            let stopping = stop.load(Ordering::Acquire);
            let processed = self.step();
            if stopping && processed == 0 {
                break;
            }
            if processed == 0 {
                // The timeout only bounds how late a stop request is noticed.
                std::thread::park_timeout(Duration::from_millis(50));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_feeds_take_whole_frames_and_count_the_rest() {
        // 3 channels at 1 kHz: display every 4th frame, raw every frame.
        let (mut feed, mut rx) = ScopeFeed::new(3, 1000.0);
        assert_eq!((rx.rate_hz, rx.raw_rate_hz), (250.0, 1000.0));
        let dropped = AtomicU64::new(0);
        let frames = (SCOPE_RING_SECS * 1000.0) as usize;
        let block: Vec<f32> = (0..frames * 3).map(|i| i as f32).collect();
        feed.push_raw(&block, &dropped);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        assert_eq!(rx.raw.occupied_len(), frames * 3);
        // Full: a 10-frame block is dropped whole, never split.
        feed.push_raw(&block[..30], &dropped);
        assert_eq!(dropped.load(Ordering::Relaxed), 10);
        assert_eq!(rx.raw.occupied_len() % 3, 0);
        // One frame read makes room for exactly one.
        let mut frame = [0.0f32; 3];
        assert_eq!(rx.raw.pop_slice(&mut frame), 3);
        assert_eq!(frame, [0.0, 1.0, 2.0]);
        feed.push_raw(&block[..6], &dropped);
        assert_eq!(dropped.load(Ordering::Relaxed), 11);
        assert_eq!(rx.raw.occupied_len(), frames * 3);

        let shown = AtomicU64::new(0);
        feed.push_display(&block[..24], &shown);
        assert_eq!(rx.consumer.occupied_len(), 2 * 3, "frames 0 and 4 of 8");
        assert_eq!(rx.consumer.pop_slice(&mut frame), 3);
        assert_eq!(frame, [0.0, 1.0, 2.0]);
        assert_eq!(rx.consumer.pop_slice(&mut frame), 3);
        assert_eq!(frame, [12.0, 13.0, 14.0]);
        assert_eq!(shown.load(Ordering::Relaxed), 0);
    }
}
