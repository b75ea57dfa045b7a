//! Session recording: the raw EEG as it arrived, every decision and every source event, written
//! to one XDF file while the session runs.
//!
//! The worker copies each raw chunk into a lock-free ring ([`RecordFeed`]) before filtering; the
//! output thread drains it into the file together with the decisions and events it already
//! handles. The file is valid after every chunk and synced at least once a second, so a crash or
//! a kill loses at most the last second. Chunks that do not fit the ring (the disk stalled for
//! longer than the ring holds) are counted and reported, never dropped silently.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use neuroloop_acquisition::lsl_io::truth_marker;
use neuroloop_acquisition::{SourceEvent, StreamMeta};
use neuroloop_formats::XdfWriteError;
use neuroloop_formats::xdf::{ChannelFormat, StreamHeader, StreamId, XdfWriter};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// Seconds of wall-clock time the ring between worker and recorder bridges (a disk stall of
/// this long loses nothing).
pub const RECORD_RING_SECS: f64 = 10.0;
/// Upper bound of the ring, in samples (64 MiB of `f32`).
const RECORD_RING_MAX_SAMPLES: usize = 16 << 20;
/// Clock offsets are written this often (LabRecorder writes them every 5 s).
const CLOCK_OFFSET_INTERVAL_SECS: f64 = 5.0;

/// Worker end of the recording feed.
pub struct RecordFeed {
    values: HeapProd<f32>,
    stamps: HeapProd<f64>,
    channels: usize,
}

/// Recorder end of the recording feed.
pub struct RecordReceiver {
    values: HeapCons<f32>,
    stamps: HeapCons<f64>,
    channels: usize,
}

/// Creates the feed for a stream delivered at `speed` times real time (1 for live streams),
/// holding [`RECORD_RING_SECS`] of wall-clock time, within a 64 MiB bound (allocates).
pub fn record_feed(
    channels: usize,
    sample_rate_hz: f64,
    speed: f64,
) -> (RecordFeed, RecordReceiver) {
    let wanted = (RECORD_RING_SECS * speed.max(1.0) * sample_rate_hz) as usize;
    let frames = wanted
        .min(RECORD_RING_MAX_SAMPLES / channels.max(1))
        .max(1024);
    let (vp, vc) = HeapRb::<f32>::new(frames * channels).split();
    let (sp, sc) = HeapRb::<f64>::new(frames).split();
    (
        RecordFeed {
            values: vp,
            stamps: sp,
            channels,
        },
        RecordReceiver {
            values: vc,
            stamps: sc,
            channels,
        },
    )
}

impl RecordFeed {
    /// Whether a chunk of `frames` frames fits now.
    pub fn has_room(&self, frames: usize) -> bool {
        self.values.vacant_len() >= frames * self.channels && self.stamps.vacant_len() >= frames
    }

    /// Whether the recorder still reads the feed (it lets go when its file fails, e.g. on a
    /// full disk; the worker then stops feeding it instead of waiting for room forever).
    ///
    /// Real-time safe: one atomic load.
    pub fn is_open(&self) -> bool {
        self.values.read_is_held()
    }

    /// Copies a raw interleaved chunk into the feed whole, or returns `false` if it does not fit.
    ///
    /// Real-time safe: no allocation, no blocking.
    pub fn push(&mut self, values: &[f32], stamps: &[f64]) -> bool {
        if self.values.vacant_len() < values.len() || self.stamps.vacant_len() < stamps.len() {
            return false;
        }
        debug_assert_eq!(values.len(), stamps.len() * self.channels);
        // Values first: the recorder takes frames only once their stamps are visible.
        self.values.push_slice(values);
        self.stamps.push_slice(stamps);
        true
    }
}

impl RecordReceiver {
    /// Frames waiting to be written.
    pub fn frames_waiting(&self) -> usize {
        self.stamps.occupied_len()
    }

    /// Discards everything waiting (a consumer that only measures the feed).
    pub fn discard(&mut self) {
        self.stamps.clear();
        self.values.clear();
    }
}

/// Writes a session to XDF. Lives on the output thread.
pub struct SessionRecorder {
    writer: XdfWriter,
    feed: RecordReceiver,
    eeg: StreamId,
    decisions: StreamId,
    events: StreamId,
    /// Frame times of a stimulus window, added with the first frame.
    frames_stream: Option<StreamId>,
    source_id: String,
    values: Vec<f32>,
    stamps: Vec<f64>,
    text: String,
    last_offsets: f64,
    frames: u64,
    annotation_texts: Vec<String>,
}

impl SessionRecorder {
    /// Creates the file and its three streams: the EEG (float32, as received), the decisions
    /// (the LSL marker text, one marker per decision) and the source events (gaps, losses,
    /// ground truth, a replayed file's annotations, whose texts are `annotation_texts`).
    pub fn create(
        path: &Path,
        meta: &StreamMeta,
        feed: RecordReceiver,
        annotation_texts: Vec<String>,
    ) -> Result<SessionRecorder, XdfWriteError> {
        let mut writer = XdfWriter::create(path)?;
        let mut eeg = StreamHeader::new(
            &meta.name,
            &meta.content_type,
            u32::try_from(meta.channels()).unwrap_or(u32::MAX),
            meta.sample_rate_hz,
            ChannelFormat::Float32,
        )
        .with_channel_labels(&meta.channel_labels);
        eeg.source_id.clone_from(&meta.source_id);
        eeg.hostname.clone_from(&meta.hostname);
        let eeg = writer.add_stream(&eeg)?;
        let mut decisions = StreamHeader::new(
            "neuroloop-decisions",
            "Markers",
            1,
            0.0,
            ChannelFormat::String,
        );
        decisions.source_id = format!("{}-decisions", meta.source_id);
        let decisions = writer.add_stream(&decisions)?;
        let mut events =
            StreamHeader::new("neuroloop-events", "Markers", 1, 0.0, ChannelFormat::String);
        events.source_id = format!("{}-events", meta.source_id);
        let events = writer.add_stream(&events)?;
        let frames = ((RECORD_RING_SECS * meta.sample_rate_hz) as usize).max(1024);
        let mut recorder = SessionRecorder {
            writer,
            eeg,
            decisions,
            events,
            frames_stream: None,
            source_id: meta.source_id.clone(),
            values: vec![0.0; frames * feed.channels],
            stamps: vec![0.0; frames],
            feed,
            text: String::with_capacity(256),
            last_offsets: f64::NEG_INFINITY,
            frames: 0,
            annotation_texts,
        };
        recorder.tick(neuroloop_acquisition::clock::local_clock())?;
        Ok(recorder)
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.writer.path().to_path_buf()
    }

    /// EEG frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes every complete frame waiting in the feed as one Samples chunk.
    pub fn drain_samples(&mut self) -> Result<(), XdfWriteError> {
        let channels = self.feed.channels;
        loop {
            let n = self.feed.stamps.occupied_len().min(self.stamps.len());
            if n == 0 {
                return Ok(());
            }
            let got = self.feed.stamps.pop_slice(&mut self.stamps[..n]);
            let got_values = self
                .feed
                .values
                .pop_slice(&mut self.values[..got * channels]);
            debug_assert_eq!(got_values, got * channels);
            self.writer.write_samples(
                self.eeg,
                &self.values[..got * channels],
                &self.stamps[..got],
            )?;
            self.frames += got as u64;
        }
    }

    /// Records a decision marker, stamped like the published LSL marker.
    pub fn decision(&mut self, text: &str, stamp: f64) -> Result<(), XdfWriteError> {
        self.writer.write_samples(self.decisions, &[text], &[stamp])
    }

    /// Records a text event (e.g. a stimulus) on the event stream.
    pub fn text_event(&mut self, text: &str, stamp: f64) -> Result<(), XdfWriteError> {
        self.writer.write_samples(self.events, &[text], &[stamp])
    }

    /// Records a presented frame on the `neuroloop-frames` stream (created with the first
    /// frame): three float64 channels `index`, `present_time` (predicted presentation on the LSL
    /// clock, also the sample's stamp) and `missed` (refreshes dropped before this frame).
    pub fn frame(&mut self, f: &crate::speller::FrameTime) -> Result<(), XdfWriteError> {
        let id = match self.frames_stream {
            Some(id) => id,
            None => {
                let mut header = StreamHeader::new(
                    "neuroloop-frames",
                    "FrameTimes",
                    3,
                    0.0,
                    ChannelFormat::Double64,
                )
                .with_channel_labels(&[
                    "index".to_string(),
                    "present_time".to_string(),
                    "missed".to_string(),
                ]);
                header.source_id = format!("{}-frames", self.source_id);
                let id = self.writer.add_stream(&header)?;
                self.writer.write_clock_offset(
                    id,
                    neuroloop_acquisition::clock::local_clock(),
                    0.0,
                )?;
                self.frames_stream = Some(id);
                id
            }
        };
        self.writer.write_samples(
            id,
            &[f.index as f64, f.present, f64::from(f.missed)],
            &[f.present],
        )
    }

    /// Records a source event.
    pub fn event(&mut self, event: &SourceEvent) -> Result<(), XdfWriteError> {
        self.text.clear();
        match *event {
            SourceEvent::Gap { missing_secs, .. } => {
                let _ = write!(self.text, "gap missing_s={missing_secs:.6}");
            }
            SourceEvent::StreamLost { .. } => self.text.push_str("stream-lost"),
            SourceEvent::Reconnected { .. } => self.text.push_str("reconnected"),
            SourceEvent::Truth(t) => self.text.push_str(&truth_marker(&t)),
            SourceEvent::Annotation { index, .. } => {
                let label = self.annotation_texts.get(index as usize);
                self.text
                    .push_str(label.map_or("annotation", String::as_str));
            }
        }
        let text = std::mem::take(&mut self.text);
        let result = self
            .writer
            .write_samples(self.events, &[text.as_str()], &[event.time()]);
        self.text = text;
        result
    }

    /// Writes clock offsets when due. Every stream is stamped on this process's LSL clock
    /// (the inlet already applied the amplifier's clock offset), so the offset is 0.
    pub fn tick(&mut self, now: f64) -> Result<(), XdfWriteError> {
        if now - self.last_offsets < CLOCK_OFFSET_INTERVAL_SECS {
            return Ok(());
        }
        self.last_offsets = now;
        for id in [self.eeg, self.decisions, self.events]
            .into_iter()
            .chain(self.frames_stream)
        {
            self.writer.write_clock_offset(id, now, 0.0)?;
        }
        Ok(())
    }

    /// Writes what is left, the stream footers, and syncs the file.
    pub fn finish(mut self) -> Result<u64, XdfWriteError> {
        self.drain_samples()?;
        let frames = self.frames;
        self.writer.finish()?;
        Ok(frames)
    }
}
