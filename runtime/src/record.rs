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
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Frames that did not fit while the recorder read the feed (shared with the receiver,
    /// which attributes them to its files).
    dropped: Arc<AtomicU64>,
}

/// Recorder end of the recording feed.
pub struct RecordReceiver {
    values: HeapCons<f32>,
    stamps: HeapCons<f64>,
    channels: usize,
    dropped: Arc<AtomicU64>,
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
    let dropped = Arc::new(AtomicU64::new(0));
    (
        RecordFeed {
            values: vp,
            stamps: sp,
            channels,
            dropped: Arc::clone(&dropped),
        },
        RecordReceiver {
            values: vc,
            stamps: sc,
            channels,
            dropped,
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

    /// Copies a raw interleaved chunk into the feed whole, or returns `false` if it does not
    /// fit (its frames then count as dropped while the recorder reads the feed).
    ///
    /// Real-time safe: no allocation, no blocking.
    pub fn push(&mut self, values: &[f32], stamps: &[f64]) -> bool {
        if self.values.vacant_len() < values.len() || self.stamps.vacant_len() < stamps.len() {
            if self.is_open() {
                self.dropped
                    .fetch_add(stamps.len() as u64, Ordering::Relaxed);
            }
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
    /// Frames the worker could not put into the feed so far ([`RecordFeed::push`]).
    pub fn frames_dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames waiting to be written.
    pub fn frames_waiting(&self) -> usize {
        self.stamps.occupied_len()
    }

    /// Discards every complete frame waiting. Frame by frame, like a reader: the worker
    /// pushes a chunk's values before its stamps, so values whose stamps are not visible yet
    /// stay for the next call and the two rings never fall out of step.
    pub fn discard(&mut self) {
        let n = self.stamps.occupied_len();
        self.stamps.skip(n);
        self.values.skip(n * self.channels);
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
        Self::create_or_return(path, meta, feed, annotation_texts).map_err(|failed| failed.0)
    }

    /// [`SessionRecorder::create`], handing the feed back when the file cannot be made.
    fn create_or_return(
        path: &Path,
        meta: &StreamMeta,
        feed: RecordReceiver,
        annotation_texts: Vec<String>,
    ) -> Result<SessionRecorder, Box<(XdfWriteError, RecordReceiver)>> {
        let now = neuroloop_acquisition::clock::local_clock();
        let (writer, [eeg, decisions, events]) = match Self::open_file(path, meta, now) {
            Ok(opened) => opened,
            Err(e) => return Err(Box::new((e, feed))),
        };
        let frames = ((RECORD_RING_SECS * meta.sample_rate_hz) as usize).max(1024);
        Ok(SessionRecorder {
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
            last_offsets: now,
            frames: 0,
            annotation_texts,
        })
    }

    /// Creates the file with its three stream headers and first clock offsets.
    fn open_file(
        path: &Path,
        meta: &StreamMeta,
        now: f64,
    ) -> Result<(XdfWriter, [StreamId; 3]), XdfWriteError> {
        let mut writer = XdfWriter::create(path)?;
        let mut eeg = StreamHeader::new(
            &meta.name,
            &meta.content_type,
            u32::try_from(meta.channels()).unwrap_or(u32::MAX),
            meta.sample_rate_hz,
            ChannelFormat::Float32,
        )
        .with_channel_labels(&meta.channel_labels);
        // Each channel's kind goes with it, so a replay of the recording keeps ECG apart.
        for (channel, kind) in eeg.channels.iter_mut().zip(&meta.channel_kinds) {
            channel.channel_type = kind.name().to_ascii_uppercase();
        }
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
        for id in [eeg, decisions, events] {
            writer.write_clock_offset(id, now, 0.0)?;
        }
        Ok((writer, [eeg, decisions, events]))
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.writer.path().to_path_buf()
    }

    /// EEG frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames its feed has dropped since the feed was made (not only while this file was
    /// open: see [`RecordingStatus::frames_dropped`]).
    pub fn feed_dropped(&self) -> u64 {
        self.feed.frames_dropped()
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
    pub fn frame(&mut self, f: &neuroloop_stimuli::frame::FrameTime) -> Result<(), XdfWriteError> {
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
            SourceEvent::Jump {
                from_secs, to_secs, ..
            } => {
                let _ = write!(
                    self.text,
                    "replay jump from_s={from_secs:.3} to_s={to_secs:.3}"
                );
            }
            SourceEvent::Truth(t) => self.text.push_str(&truth_marker(&t)),
            SourceEvent::Onset { .. } => self.text.push_str("stimulus onset"),
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

    /// Bytes in the file so far.
    pub fn bytes(&self) -> u64 {
        self.writer.bytes_written()
    }

    /// Writes what is left, the stream footers, and syncs the file.
    pub fn finish(self) -> Result<u64, XdfWriteError> {
        self.close().0
    }

    /// [`SessionRecorder::finish`], handing back the feed for a later recording.
    pub fn close(mut self) -> (Result<u64, XdfWriteError>, RecordReceiver) {
        let drained = self.drain_samples();
        let SessionRecorder {
            writer,
            feed,
            frames,
            ..
        } = self;
        (
            drained.and_then(|()| writer.finish()).map(|()| frames),
            feed,
        )
    }

    /// Gives up the file as it is (after a write error: every chunk written before stays
    /// readable) and hands back the feed.
    pub fn abandon(self) -> RecordReceiver {
        self.feed
    }
}

/// The UTC time now as `YYYYMMDD-HHMMSS`, for file and folder names.
pub fn file_stamp() -> String {
    neuroloop_formats::xdf::utc_datetime(std::time::SystemTime::now())
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .map(|c| if c == 'T' { '-' } else { c })
        .collect()
}

/// Where a recording started now goes: `dir/neuroloop-YYYYMMDD-HHMMSS.xdf` (UTC), with `-2`,
/// `-3`… added when that name is taken.
pub fn recording_path(dir: &Path) -> PathBuf {
    unused_path(dir, "neuroloop", ".xdf")
}

/// `dir/stem.ext`, or `dir/stem-2.ext`, `-3`… when taken (a paradigm run repeated in one
/// folder keeps the earlier files).
pub fn free_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let mut path = dir.join(format!("{stem}.{ext}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.{ext}"));
        n += 1;
    }
    path
}

/// A name in `dir` nothing has yet: `prefix-YYYYMMDD-HHMMSS` (UTC) then `suffix` (e.g.
/// `.xdf`, or empty for a folder), with `-2`, `-3`… before the suffix when taken.
pub fn unused_path(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let stamp = file_stamp();
    let mut path = dir.join(format!("{prefix}-{stamp}{suffix}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{prefix}-{stamp}-{n}{suffix}"));
        n += 1;
    }
    path
}

/// One recording file of a session, as the window shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStatus {
    /// The XDF file.
    pub path: PathBuf,
    /// EEG frames written.
    pub frames: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// Frames lost while it was open (the disk did not keep up): missing from the file, as a
    /// gap or at its end.
    pub frames_dropped: u64,
    /// Sampling rate of the recorded stream (for the duration).
    pub sample_rate_hz: f64,
    /// Whether it is still being written.
    pub open: bool,
    /// Whether it was opened with the session and not stopped before the session ended: it
    /// should then hold every frame the session processed.
    pub whole_session: bool,
}

impl RecordingStatus {
    /// Seconds of EEG written.
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate_hz > 0.0 {
            self.frames as f64 / self.sample_rate_hz
        } else {
            0.0
        }
    }
}

/// The output thread's recording: the file being written, if any, and in sessions whose window
/// starts and stops recordings ([`Recording::on_demand`]) the feed, kept and emptied while no
/// file is open. Every file of the session is listed in [`Recording::files`].
pub struct Recording {
    meta: StreamMeta,
    annotation_texts: Vec<String>,
    active: Option<SessionRecorder>,
    /// The feed while no file is open (on-demand sessions).
    idle: Option<RecordReceiver>,
    /// Whether files can be started and stopped while the session runs.
    demand: bool,
    /// Every file of the session, oldest first; the open one, if any, last.
    pub files: Vec<RecordingStatus>,
    /// The feed's dropped frames when the open file was opened.
    dropped_at_open: u64,
}

impl Recording {
    /// No recording at all (the worker has no feed).
    pub fn none(meta: StreamMeta) -> Self {
        Recording {
            meta,
            annotation_texts: Vec::new(),
            active: None,
            idle: None,
            demand: false,
            files: Vec::new(),
            dropped_at_open: 0,
        }
    }

    /// The file given when the session started (`--record`); it is written until the session
    /// ends or a write fails, and none can be started after it.
    pub fn fixed(recorder: SessionRecorder, meta: StreamMeta) -> Self {
        let mut r = Recording::none(meta);
        let dropped = recorder.feed_dropped();
        r.open(recorder, true, dropped);
        r
    }

    /// Recordings started and stopped while the session runs ([`Recording::start`],
    /// [`Recording::stop`]); between them the feed is emptied as it arrives.
    pub fn on_demand(
        meta: StreamMeta,
        annotation_texts: Vec<String>,
        feed: RecordReceiver,
    ) -> Self {
        let mut r = Recording::none(meta);
        r.annotation_texts = annotation_texts;
        r.demand = true;
        r.idle = Some(feed);
        r
    }

    /// Lists `recorder`'s file as open; `dropped_before` is its feed's drop count when the
    /// file's first frame could arrive.
    fn open(&mut self, recorder: SessionRecorder, whole_session: bool, dropped_before: u64) {
        self.dropped_at_open = dropped_before;
        self.files.push(RecordingStatus {
            path: recorder.path(),
            frames: 0,
            frames_dropped: 0,
            bytes: recorder.bytes(),
            sample_rate_hz: self.meta.sample_rate_hz,
            open: true,
            whole_session,
        });
        self.active = Some(recorder);
    }

    /// The open file's recorder.
    pub fn recorder(&mut self) -> Option<&mut SessionRecorder> {
        self.active.as_mut()
    }

    /// EEG frames in the open file (or the last one).
    pub fn frames(&self) -> u64 {
        self.files.last().map_or(0, |f| f.frames)
    }

    /// Starts a new file at `path`: frames that arrive from now on go into it. Fails with a
    /// message naming the fix when a file is already open, the session cannot start
    /// recordings, or the file cannot be created.
    pub fn start(&mut self, path: &Path) -> Result<(), String> {
        self.start_file(path, false)
    }

    /// [`Recording::start`] before the session's first frame: the file is expected to hold
    /// the whole session (unless stopped).
    pub fn start_with_session(&mut self, path: &Path) -> Result<(), String> {
        self.start_file(path, true)
    }

    fn start_file(&mut self, path: &Path, whole_session: bool) -> Result<(), String> {
        if let Some(rec) = &self.active {
            return Err(format!(
                "already recording to {}: stop it first",
                rec.path().display()
            ));
        }
        let Some(mut feed) = self.idle.take() else {
            return Err(
                "this session cannot start recordings while it runs (it has no window): record it from its start".into(),
            );
        };
        // What arrived before the request is not part of the recording; what is dropped from
        // now on is missing from it.
        feed.discard();
        let dropped_before = feed.frames_dropped();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            self.idle = Some(feed);
            return Err(format!(
                "the recording folder {} cannot be created ({e}): choose a writable folder",
                dir.display()
            ));
        }
        match SessionRecorder::create_or_return(
            path,
            &self.meta,
            feed,
            self.annotation_texts.clone(),
        ) {
            Ok(rec) => {
                self.open(rec, whole_session, dropped_before);
                Ok(())
            }
            Err(failed) => {
                let (e, feed) = *failed;
                self.idle = Some(feed);
                Err(format!(
                    "the recording {} could not be created: {e}; choose a writable folder",
                    path.display()
                ))
            }
        }
    }

    /// Closes the open file (footers written, synced); an on-demand session keeps the feed
    /// for the next one.
    /// Returns the finished file's status, or the error.
    pub fn stop(&mut self) -> Result<Option<RecordingStatus>, String> {
        if self.active.is_some()
            && let Some(last) = self.files.last_mut()
        {
            // Stopped before the session's end: it holds part of the session by design.
            last.whole_session = false;
        }
        self.close()
    }

    /// Closes the open file at the end of the session; the error, if finishing failed.
    pub fn finish(&mut self) -> Option<String> {
        self.close().err()
    }

    fn close(&mut self) -> Result<Option<RecordingStatus>, String> {
        let Some(rec) = self.active.take() else {
            return Ok(None);
        };
        let path = rec.path();
        let (frames_before, bytes_before) = (rec.frames(), rec.bytes());
        let dropped = rec.feed_dropped().saturating_sub(self.dropped_at_open);
        let (result, feed) = rec.close();
        if self.demand {
            self.idle = Some(feed);
        }
        let mut status = self.files.last_mut();
        if let Some(f) = status.as_mut() {
            f.open = false;
            f.frames = frames_before;
            f.bytes = bytes_before;
            f.frames_dropped = dropped;
        }
        match result {
            Ok(frames) => Ok(status.map(|f| {
                f.frames = frames;
                if let Ok(m) = std::fs::metadata(&f.path) {
                    f.bytes = m.len();
                }
                f.clone()
            })),
            Err(e) => Err(format!(
                "finishing the recording {} failed: {e}; everything written before is readable",
                path.display()
            )),
        }
    }

    /// Gives up the open file after the write error `e` (what was written stays a valid
    /// file) and returns the message for the user. An on-demand session keeps its feed, so a
    /// new file can be started elsewhere; a fixed recording lets the worker stop feeding it.
    pub fn fail(&mut self, e: &XdfWriteError) -> Option<String> {
        let rec = self.active.take()?;
        let path = rec.path();
        if let Some(f) = self.files.last_mut() {
            f.frames = rec.frames();
            f.bytes = std::fs::metadata(&path).map_or(rec.bytes(), |m| m.len());
            f.frames_dropped = rec.feed_dropped().saturating_sub(self.dropped_at_open);
        }
        let feed = rec.abandon();
        if self.demand {
            self.idle = Some(feed);
        }
        if let Some(f) = self.files.last_mut() {
            f.open = false;
        }
        Some(format!(
            "recording to {} stopped: {e}; the file holds everything up to this point (free \
             disk space or choose another recording path)",
            path.display()
        ))
    }

    /// Writes the frames waiting in the feed and the clock offsets when due, or empties the
    /// feed while no file is open; keeps [`Recording::files`] current. A write error closes
    /// the file ([`Recording::fail`]) and is returned as the message for the user.
    pub fn service(&mut self, now: f64) -> Option<String> {
        if let Some(feed) = self.idle.as_mut() {
            feed.discard();
        }
        let rec = self.active.as_mut()?;
        match rec.drain_samples().and_then(|()| rec.tick(now)) {
            Ok(()) => {
                let (frames, bytes) = (rec.frames(), rec.bytes());
                let dropped = rec.feed_dropped().saturating_sub(self.dropped_at_open);
                if let Some(f) = self.files.last_mut() {
                    f.frames = frames;
                    f.bytes = bytes;
                    f.frames_dropped = dropped;
                }
                None
            }
            Err(e) => self.fail(&e),
        }
    }
}

impl Drop for Recording {
    /// A recording dropped before the session finished it (a start-up that failed after the
    /// file was created) still gets its footers.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_run_gets_the_next_free_name() {
        let dir = std::env::temp_dir().join(format!("neuroloop-free-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(free_path(&dir, "feedback", "xdf"), dir.join("feedback.xdf"));
        std::fs::write(dir.join("feedback.xdf"), b"").unwrap();
        assert_eq!(
            free_path(&dir, "feedback", "xdf"),
            dir.join("feedback-2.xdf")
        );
        std::fs::write(dir.join("feedback-2.xdf"), b"").unwrap();
        assert_eq!(
            free_path(&dir, "feedback", "xdf"),
            dir.join("feedback-3.xdf")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    fn meta() -> StreamMeta {
        StreamMeta {
            channel_kinds: Vec::new(),
            line_hz: None,
            line_source: "",
            set_aside: Vec::new(),
            name: "test-eeg".into(),
            content_type: "EEG".into(),
            channel_labels: vec!["C3".into(), "C4".into()],
            sample_rate_hz: 100.0,
            source_id: "test".into(),
            hostname: String::new(),
        }
    }

    /// Pushes `frames` frames numbered from `first` (value = frame index) into the feed.
    fn push(feed: &mut RecordFeed, first: usize, frames: usize) {
        let values: Vec<f32> = (first..first + frames)
            .flat_map(|i| [i as f32, -(i as f32)])
            .collect();
        let stamps: Vec<f64> = (first..first + frames).map(|i| i as f64 / 100.0).collect();
        assert!(feed.push(&values, &stamps));
    }

    fn eeg_values(path: &Path) -> Vec<f64> {
        let xdf = neuroloop_formats::xdf::read(path).unwrap();
        let eeg = xdf.stream_by_name("test-eeg").unwrap();
        assert!(
            eeg.footer.is_some(),
            "{} was closed with footers",
            path.display()
        );
        eeg.channel_f64(0).unwrap()
    }

    #[test]
    fn recordings_start_and_stop_while_the_feed_runs_and_each_holds_its_own_frames() {
        let dir = std::env::temp_dir().join(format!("neuroloop-rec-demand-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut feed, rx) = record_feed(2, 100.0, 1.0);
        let mut rec = Recording::on_demand(meta(), Vec::new(), rx);
        // Before any recording the feed is emptied, never filled up.
        push(&mut feed, 0, 50);
        assert_eq!(rec.service(1.0), None);
        assert!(feed.has_room(1000));
        // A folder that cannot be made: named, and the feed survives for the next attempt.
        let blocker = dir.join("file");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&blocker, b"").unwrap();
        let err = rec.start(&blocker.join("sub/a.xdf")).unwrap_err();
        assert!(err.contains("choose a writable folder"), "{err}");
        // Frames waiting when a recording starts are not part of it.
        push(&mut feed, 50, 10);
        let first = dir.join("first.xdf");
        rec.start(&first).unwrap();
        assert!(
            rec.start(&dir.join("again.xdf"))
                .unwrap_err()
                .contains("stop it first")
        );
        push(&mut feed, 60, 40);
        assert_eq!(rec.service(2.0), None);
        assert_eq!(
            rec.files.last().map(|f| (f.frames, f.open)),
            Some((40, true))
        );
        push(&mut feed, 100, 5);
        let done = rec.stop().unwrap().unwrap();
        assert_eq!((done.frames, done.open), (45, false));
        assert_eq!(done.bytes, std::fs::metadata(&first).unwrap().len());
        assert!((done.duration_secs() - 0.45).abs() < 1e-9);
        // Between recordings the feed is emptied again; a second file gets only its frames.
        push(&mut feed, 105, 20);
        assert_eq!(rec.service(3.0), None);
        let second = dir.join("second.xdf");
        rec.start(&second).unwrap();
        push(&mut feed, 125, 7);
        assert_eq!(rec.finish(), None);
        assert_eq!(
            eeg_values(&first),
            (60..105).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(
            eeg_values(&second),
            (125..132).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(rec.files.len(), 2);
        assert!(rec.files.iter().all(|f| !f.open));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Frames the feed could not take are counted for the file open at the time, not for
    /// the files before or after it.
    #[test]
    fn dropped_frames_count_for_the_file_open_when_they_were_lost() {
        let dir = std::env::temp_dir().join(format!("neuroloop-rec-drops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 10 s at 100 Hz, at least 1024 frames: exactly 1024.
        let (mut feed, rx) = record_feed(2, 100.0, 1.0);
        let mut rec = Recording::on_demand(meta(), Vec::new(), rx);
        rec.start(&dir.join("first.xdf")).unwrap();
        push(&mut feed, 0, 1024);
        assert!(
            !feed.push(&[0.0; 6], &[10.24, 10.25, 10.26]),
            "the ring is full"
        );
        assert_eq!(rec.service(1.0), None);
        assert_eq!(
            (rec.files[0].frames, rec.files[0].frames_dropped),
            (1024, 3)
        );
        rec.stop().unwrap();
        // Lost while no file is open: counted for no file.
        push(&mut feed, 1100, 1024);
        assert!(!feed.push(&[0.0; 2], &[20.0]));
        rec.start(&dir.join("second.xdf")).unwrap();
        push(&mut feed, 2000, 10);
        let second = rec.stop().unwrap().unwrap();
        assert_eq!((second.frames, second.frames_dropped), (10, 0));
        assert_eq!(rec.files[0].frames_dropped, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fixed_recording_cannot_be_restarted_and_names_the_option() {
        let dir = std::env::temp_dir().join(format!("neuroloop-rec-fixed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mut feed, rx) = record_feed(2, 100.0, 1.0);
        let path = dir.join("fixed.xdf");
        let mut rec = Recording::fixed(
            SessionRecorder::create(&path, &meta(), rx, Vec::new()).unwrap(),
            meta(),
        );
        push(&mut feed, 0, 30);
        assert_eq!(rec.service(1.0), None);
        rec.stop().unwrap();
        let err = rec.start(&dir.join("more.xdf")).unwrap_err();
        assert!(err.contains("record it from its start"), "{err}");
        assert_eq!(eeg_values(&path).len(), 30);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recording_names_carry_the_utc_time_and_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("neuroloop-rec-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = recording_path(&dir);
        let name = a.file_name().unwrap().to_str().unwrap().to_string();
        // neuroloop-YYYYMMDD-HHMMSS.xdf
        assert_eq!(name.len(), "neuroloop-20261204-134500.xdf".len(), "{name}");
        assert!(
            name.starts_with("neuroloop-20") && name.ends_with(".xdf"),
            "{name}"
        );
        std::fs::write(&a, b"").unwrap();
        let b = recording_path(&dir);
        assert_ne!(a, b);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
