//! Recorded files as a source: XDF, EDF/BDF, BrainVision, GDF, EEGLAB, FIF or NPY replayed
//! through the live pipeline.
//!
//! The whole recording is decoded and converted to interleaved `f32` frames when the source is
//! built (start-up); `read` then only copies slices, like an amplifier handing over chunks.
//! Timestamps are the file's own (XDF) or nominal sample times (EDF, NPY), moved onto the LSL
//! clock: at real-time pacing the first frame is stamped with the clock at the first read, so
//! latencies mean the same as with a live stream; at maximum speed the stamps are the file's
//! time since its first sample (or a given origin), so runs are bit-reproducible.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use neuroloop_formats::{ChannelKind, Recording};

use crate::clock::local_clock;
use crate::cues::{DEFAULT_CUE_SECS, FileCues};
use crate::event::{SourceEvent, TruthEvent, TruthKind, is_onset_marker};
use crate::meta::StreamMeta;
use crate::replay::ReplayControl;
use crate::source::{Pacing, ReadStatus, Source, SourceError, wait_until_due};

/// A recording replayed as a stream.
pub struct FileSource {
    meta: StreamMeta,
    /// Interleaved frames, `frames × channels`.
    values: Vec<f32>,
    /// File time of each frame, seconds, starting at 0.
    times: Vec<f64>,
    pacing: Pacing,
    chunk_frames: usize,
    next: usize,
    /// LSL time of file time 0 (set at the first read unless given).
    origin: Option<f64>,
    gap_threshold_secs: f64,
    /// Annotation onsets in file time (sorted) with their text index.
    annotations: Vec<(f64, u32)>,
    /// Duration of each annotation of `annotations`, s (0 when the file gives none).
    annotation_secs: Vec<f64>,
    annotation_texts: Vec<String>,
    /// Per annotation text, whether it marks a stimulus onset (see [`FileSource::with_cues`]).
    onset_texts: Vec<bool>,
    /// Per annotation of `annotations`, the SSVEP trial and the motor-imagery trial starting
    /// there (see [`FileSource::with_cues`]): what it holds and its length in file seconds.
    trials: [Vec<Option<(TruthKind, f64)>>; 2],
    next_annotation: usize,
    /// Pause, speed and seek requests (paced replays).
    control: Arc<ReplayControl>,
    /// Where the clock and the file were last lined up: (LSL time, file time, speed). Set at
    /// the first paced read and again after a pause, a speed change or a jump.
    anchor: Option<(f64, f64, f64)>,
    /// Whether the clock has been lined up once.
    anchored: bool,
    /// File time a jump left, reported with the first samples at the new place.
    pending_jump: Option<f64>,
}

impl FileSource {
    /// Default chunk: 10 ms of data, as from an amplifier.
    pub const DEFAULT_CHUNK_SECS: f64 = 0.01;

    /// Reads `path` (any format [`neuroloop_formats::read_recording`] knows) and prepares it
    /// for replay. `channels` selects channels by label (empty: every channel at the
    /// recording's main sampling rate). `chunk_frames = 0` picks 10 ms.
    pub fn open(
        path: impl AsRef<Path>,
        channels: &[String],
        pacing: Pacing,
        chunk_frames: usize,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let recording = neuroloop_formats::read_recording(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self::from_recording(&recording, &name, channels, pacing, chunk_frames)
    }

    /// Prepares an in-memory recording for replay; `name` names the stream (the file name).
    /// Voltages are delivered in microvolts whatever unit the file stores them in.
    pub fn from_recording(
        recording: &Recording,
        name: &str,
        channels: &[String],
        pacing: Pacing,
        chunk_frames: usize,
    ) -> Result<Self, SourceError> {
        let unusable = |reason: String| SourceError::Unusable {
            name: name.to_string(),
            reason,
        };
        let selected = select_channels(recording, channels).map_err(unusable)?;
        let fs = recording.channels[selected[0]].sample_rate_hz;
        let frames = selected
            .iter()
            .map(|&c| recording.data[c].len())
            .min()
            .unwrap_or(0);
        if frames == 0 {
            return Err(unusable(
                "the selected channels hold no samples; choose another file or stream".into(),
            ));
        }
        let values = interleaved_microvolts(recording, &selected, frames);
        let times = file_times(recording, frames, fs).map_err(unusable)?;
        let chunk_frames = if chunk_frames == 0 {
            ((fs * Self::DEFAULT_CHUNK_SECS).round() as usize).max(1)
        } else {
            chunk_frames
        };
        let meta = stream_meta(recording, &selected, name, fs);
        let (annotation_texts, annotations, annotation_secs) = annotation_index(recording);
        let speed = match pacing {
            Pacing::Speed(f) => f,
            Pacing::Max => 1.0,
        };
        let control = Arc::new(ReplayControl::new(
            speed,
            times.last().copied().unwrap_or(0.0),
        ));
        Ok(FileSource {
            onset_texts: annotation_texts
                .iter()
                .map(|t| is_onset_marker(t))
                .collect(),
            trials: [vec![None; annotations.len()], vec![None; annotations.len()]],
            annotations,
            annotation_secs,
            annotation_texts,
            next_annotation: 0,
            control,
            anchor: None,
            anchored: false,
            pending_jump: None,
            meta,
            values,
            times,
            pacing,
            chunk_frames,
            next: 0,
            origin: None,
            gap_threshold_secs: (5.0 / fs).max(0.05),
        })
    }

    /// Makes the file's cues ground truth and its stimulus onsets onsets, so decisions are
    /// scored against the recording as against the simulator and onset-locked decoders start
    /// their trials where the recording's did.
    ///
    /// A motor-imagery cue is an annotation of this application's own (`cue/mi class=NAME …
    /// duration_s=D`, or the simulator's recorded `truth/mi …`), or one whose whole label
    /// `cues.mi` names (`("T1", LeftHand)`); each is delivered as a [`SourceEvent::Truth`]
    /// trial lasting the text's `duration_s`, else the annotation's duration, else
    /// [`DEFAULT_CUE_SECS`].
    ///
    /// Stimulus onsets are those of [`FileCues::is_onset`]; each SSVEP trial
    /// ([`FileCues::ssvep_trials`]) is delivered as a [`SourceEvent::Truth`] at its onset.
    pub fn with_cues(mut self, cues: &FileCues) -> Self {
        let paradigm = self
            .annotation_texts
            .iter()
            .any(|t| t.starts_with("cue/mi "));
        let own = if paradigm { "cue/mi " } else { "truth/mi " };
        self.onset_texts = self
            .annotation_texts
            .iter()
            .map(|text| cues.is_onset(text))
            .collect();
        let annotations: Vec<(f64, f64, &str)> = self
            .annotations
            .iter()
            .zip(&self.annotation_secs)
            .map(|(&(onset, index), &secs)| {
                (onset, secs, self.annotation_texts[index as usize].as_str())
            })
            .collect();
        let ssvep = cues
            .ssvep_trials(&annotations)
            .into_iter()
            .map(|t| {
                let t = t?;
                let index = t
                    .target
                    .and_then(|k| u16::try_from(k).ok())
                    .unwrap_or(TruthKind::NO_TARGET_INDEX);
                let freq_hz = t.freq_hz as f32;
                Some((TruthKind::SsvepTarget { index, freq_hz }, t.secs))
            })
            .collect();
        let mi = annotations
            .iter()
            .map(|&(_, stated, text)| {
                let (class, secs) = cues.mi_cue(text, own)?;
                let secs = secs
                    .or((stated > 0.0).then_some(stated))
                    .unwrap_or(DEFAULT_CUE_SECS);
                Some((TruthKind::MotorImagery { class }, secs))
            })
            .collect();
        self.trials = [ssvep, mi];
        self
    }

    /// Stamps file time 0 as `origin` (LSL time) instead of the clock at the first read (real
    /// time) or 0 (maximum speed).
    pub fn with_time_origin(mut self, origin: f64) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The replay's controls (pause, speed, seek, position).
    pub fn control(&self) -> Arc<ReplayControl> {
        Arc::clone(&self.control)
    }

    /// Acts on the controls of a paced replay before a read: moves to a requested place
    /// (reported by the next read that delivers), lines the clock up again after a pause, a
    /// jump or a new speed. Returns whether the replay is paused (nothing to read now).
    fn follow_controls(&mut self) -> bool {
        if self.pacing == Pacing::Max {
            return false;
        }
        if let Some(secs) = self.control.take_seek() {
            let from = self.times.get(self.next).or(self.times.last()).copied();
            // The first sample at or after that file time.
            self.next = self
                .times
                .partition_point(|&t| t < secs)
                .min(self.times.len().saturating_sub(1));
            let to = self.times[self.next];
            self.next_annotation = self.annotations.partition_point(|&(onset, _)| onset < to);
            self.control.set_position(to);
            self.anchor = None;
            if self.pending_jump.is_none() {
                self.pending_jump = from;
            }
        }
        if self.control.paused() {
            self.anchor = None;
            return true;
        }
        if self
            .anchor
            .is_some_and(|(_, _, factor)| factor != self.control.speed())
        {
            self.anchor = None;
        }
        false
    }

    /// The clock and file lined up: file time 0 at the origin (given, or the clock at the
    /// first read) until the first pause, jump or speed change; then the next frame at the
    /// clock's present.
    fn anchor(&mut self) -> (f64, f64, f64) {
        let factor = self.control.speed();
        *self.anchor.get_or_insert_with(|| match self.origin {
            None => (*self.origin.insert(local_clock()), 0.0, factor),
            Some(origin) if self.next == 0 && !self.anchored => (origin, 0.0, factor),
            Some(_) => (local_clock(), self.times[self.next], factor),
        })
    }
}

/// Picks the channels to replay: the named ones (which must share a rate), or all channels at
/// the rate most EEG channels have (EDF files often mix EEG with slower signals: a PSG's
/// respiration, EMG, temperature and event channels at 1 Hz outnumber its EEG at 100 Hz).
fn select_channels(recording: &Recording, wanted: &[String]) -> Result<Vec<usize>, String> {
    if recording.channels.is_empty() {
        return Err(if recording.annotations.is_empty() {
            "it holds no signal: choose a recording with channels".into()
        } else {
            format!(
                "it holds only annotations ({} of them, e.g. a hypnogram or an events file), no signal to replay: replay the recording they belong to",
                recording.annotations.len()
            )
        });
    }
    let selected: Vec<usize> = if wanted.is_empty() {
        // (rate, EEG channels, channels) for each rate in the file.
        let mut rates: Vec<(f64, usize, usize)> = Vec::new();
        for ch in &recording.channels {
            let eeg = usize::from(ch.kind == ChannelKind::Eeg);
            match rates.iter_mut().find(|(r, _, _)| *r == ch.sample_rate_hz) {
                Some((_, e, n)) => {
                    *e += eeg;
                    *n += 1;
                }
                None => rates.push((ch.sample_rate_hz, eeg, 1)),
            }
        }
        // Most EEG channels first, then most channels; among equals the higher rate.
        let (rate, _, _) = rates
            .iter()
            .copied()
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)).then(a.0.total_cmp(&b.0)))
            .unwrap_or((0.0, 0, 0));
        (0..recording.channels.len())
            .filter(|&c| recording.channels[c].sample_rate_hz == rate)
            .collect()
    } else {
        let mut out = Vec::with_capacity(wanted.len());
        for label in wanted {
            match recording.channel_index(label) {
                Some(c) => out.push(c),
                None => {
                    let have: Vec<&str> =
                        recording.channels.iter().map(|c| c.label.trim()).collect();
                    return Err(format!(
                        "it has no channel `{label}`; its channels are {}",
                        have.join(", ")
                    ));
                }
            }
        }
        let rate = recording.channels[out[0]].sample_rate_hz;
        if let Some(&c) = out
            .iter()
            .find(|&&c| recording.channels[c].sample_rate_hz != rate)
        {
            return Err(format!(
                "channel `{}` is sampled at {} Hz but `{}` at {rate} Hz; choose channels with \
                 one sampling rate",
                recording.channels[c].label.trim(),
                recording.channels[c].sample_rate_hz,
                recording.channels[out[0]].label.trim()
            ));
        }
        out
    };
    let rate = recording.channels[selected[0]].sample_rate_hz;
    if !(rate.is_finite() && rate > 0.0) {
        return Err(format!(
            "its sampling rate is {rate} Hz (unknown or irregular); a replay needs a regular \
             rate. NPY arrays carry no rate: convert them to EDF or XDF with the rate set"
        ));
    }
    Ok(selected)
}

impl Source for FileSource {
    fn meta(&self) -> &StreamMeta {
        &self.meta
    }

    fn max_chunk_frames(&self) -> usize {
        self.chunk_frames
    }

    fn read(
        &mut self,
        values: &mut [f32],
        stamps: &mut [f64],
        events: &mut dyn FnMut(SourceEvent),
        max_wait: Duration,
    ) -> Result<ReadStatus, SourceError> {
        let total = self.times.len();
        if self.follow_controls() {
            std::thread::sleep(max_wait.min(Duration::from_millis(20)));
            return Ok(ReadStatus::Idle);
        }
        if self.next >= total {
            return Ok(ReadStatus::Ended);
        }
        // Stamps are `origin + (t - t0) * scale`: file time `t0` lined up with LSL time
        // `origin`, at `1 / scale` times real time.
        let (origin, t0, scale) = match self.pacing {
            Pacing::Max => (*self.origin.get_or_insert(0.0), 0.0, 1.0),
            Pacing::Speed(_) => {
                // At a speed-up the stamps follow the clock, so latencies stay meaningful.
                let (wall, t0, factor) = self.anchor();
                self.anchored = true;
                (wall, t0, 1.0 / factor)
            }
        };
        let stamp = |t: f64| origin + (t - t0) * scale;
        let start = self.next;
        let end = (start + self.chunk_frames).min(total);
        if matches!(self.pacing, Pacing::Speed(_)) {
            // The chunk is released when its last sample would have been measured.
            if !wait_until_due(stamp(self.times[end - 1]), max_wait) {
                return Ok(ReadStatus::Idle);
            }
        }
        let channels = self.meta.channels();
        let n = end - start;
        values[..n * channels].copy_from_slice(&self.values[start * channels..end * channels]);
        let jumped_from = self.pending_jump.take();
        if let Some(from_secs) = jumped_from {
            events(SourceEvent::Jump {
                at: stamp(self.times[start]),
                from_secs,
                to_secs: self.times[start],
            });
        }
        for (i, s) in stamps[..n].iter_mut().enumerate() {
            let t = self.times[start + i];
            if start + i > 0 && (i > 0 || jumped_from.is_none()) {
                let prev = self.times[start + i - 1];
                if t - prev > self.gap_threshold_secs {
                    events(SourceEvent::Gap {
                        at: stamp(t),
                        missing_secs: t - prev - 1.0 / self.meta.sample_rate_hz,
                    });
                }
            }
            *s = stamp(t);
        }
        // Annotations whose onset falls before the end of this chunk, stamped at their onset.
        let chunk_end = self.times[end - 1];
        while let Some(&(onset, index)) = self.annotations.get(self.next_annotation) {
            if onset > chunk_end {
                break;
            }
            events(SourceEvent::Annotation {
                at: stamp(onset),
                index,
            });
            for trials in &self.trials {
                if let Some(&Some((kind, secs))) = trials.get(self.next_annotation) {
                    events(SourceEvent::Truth(TruthEvent {
                        onset: stamp(onset),
                        duration_secs: secs * scale,
                        kind,
                    }));
                }
            }
            self.next_annotation += 1;
        }
        self.next = end;
        self.control
            .set_position(self.times.get(end).copied().unwrap_or(chunk_end));
        Ok(ReadStatus::Frames(n))
    }

    fn paced_by_consumer(&self) -> bool {
        self.pacing == Pacing::Max
    }

    fn total_frames(&self) -> Option<u64> {
        Some(self.times.len() as u64)
    }

    fn replay_control(&self) -> Option<Arc<ReplayControl>> {
        matches!(self.pacing, Pacing::Speed(_)).then(|| self.control())
    }

    fn annotation_texts(&self) -> &[String] {
        &self.annotation_texts
    }

    fn onset_annotations(&self) -> Vec<bool> {
        self.onset_texts.clone()
    }

    fn annotation_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.annotation_texts.len()];
        for &(_, index) in &self.annotations {
            counts[index as usize] += 1;
        }
        counts
    }
}

/// The selected channels' first `frames` samples, interleaved, as `f32`. The pipeline works
/// in microvolts (filters' thresholds, quality, display): voltages stored in another unit are
/// converted; other units pass as they are.
fn interleaved_microvolts(recording: &Recording, selected: &[usize], frames: usize) -> Vec<f32> {
    let scales: Vec<f64> = selected
        .iter()
        .map(|&c| microvolts_per_unit(&recording.channels[c].unit))
        .collect();
    let mut values = Vec::with_capacity(frames * selected.len());
    for i in 0..frames {
        values.extend(
            selected
                .iter()
                .zip(&scales)
                .map(|(&c, &scale)| (recording.data[c][i] * scale) as f32),
        );
    }
    values
}

/// File time of each of the first `frames` samples: the stored stamps from the first one, or
/// the sample index at `rate_hz`. Stamps that go backwards are refused with the fix.
fn file_times(recording: &Recording, frames: usize, rate_hz: f64) -> Result<Vec<f64>, String> {
    match &recording.timestamps_s {
        Some(ts) if ts.len() >= frames => {
            let t0 = ts[0];
            if ts[..frames].iter().any(|t| !t.is_finite())
                || ts[..frames].windows(2).any(|w| w[1] < w[0])
            {
                return Err(
                    "its timestamps go backwards or are not numbers; re-export the file \
                            with monotonic timestamps (e.g. dejittered)"
                        .into(),
                );
            }
            Ok(ts[..frames].iter().map(|t| t - t0).collect())
        }
        _ => Ok((0..frames).map(|i| i as f64 / rate_hz).collect()),
    }
}

/// The stream the selected channels of a recording make: labels, kinds, rate, and the mains
/// the recording declares or shows.
fn stream_meta(recording: &Recording, selected: &[usize], name: &str, rate_hz: f64) -> StreamMeta {
    StreamMeta {
        name: name.to_string(),
        content_type: "EEG".into(),
        channel_labels: selected
            .iter()
            .map(|&c| recording.channels[c].label.trim().to_string())
            .collect(),
        sample_rate_hz: rate_hz,
        source_id: format!("file:{name}"),
        hostname: String::new(),
        channel_kinds: selected
            .iter()
            .map(|&c| recording.channels[c].kind)
            .collect(),
        line_hz: recording
            .line_freq_hz
            .or_else(|| detect_line(recording, selected, rate_hz)),
        line_source: if recording.line_freq_hz.is_some() {
            "declared by the recording"
        } else {
            "detected in the recording's first 20 s"
        },
        set_aside: (0..recording.channels.len())
            .filter(|c| !selected.contains(c))
            .map(|c| {
                let ch = &recording.channels[c];
                format!("{} ({} Hz)", ch.label.trim(), ch.sample_rate_hz)
            })
            .collect(),
    }
}

/// The recording's annotation texts (each once) and its annotations as (onset, text index),
/// sorted by onset.
fn annotation_index(recording: &Recording) -> (Vec<String>, Vec<(f64, u32)>, Vec<f64>) {
    let mut texts: Vec<String> = Vec::new();
    let mut annotations: Vec<(f64, u32, f64)> = Vec::new();
    for a in &recording.annotations {
        let index = match texts.iter().position(|t| *t == a.label) {
            Some(i) => i,
            None => {
                texts.push(a.label.clone());
                texts.len() - 1
            }
        };
        if a.onset_s.is_finite() {
            let secs = if a.duration_s.is_finite() {
                a.duration_s.max(0.0)
            } else {
                0.0
            };
            annotations.push((a.onset_s, u32::try_from(index).unwrap_or(u32::MAX), secs));
        }
    }
    annotations.sort_by(|a, b| a.0.total_cmp(&b.0));
    let secs = annotations.iter().map(|a| a.2).collect();
    (
        texts,
        annotations.into_iter().map(|(t, i, _)| (t, i)).collect(),
        secs,
    )
}

/// The mains frequency the selected EEG channels show in their first seconds.
fn detect_line(recording: &Recording, selected: &[usize], rate_hz: f64) -> Option<f64> {
    let eeg: Vec<&[f64]> = selected
        .iter()
        .filter(|&&c| recording.channels[c].kind == ChannelKind::Eeg)
        .map(|&c| recording.data[c].as_slice())
        .collect();
    crate::mains::detect_mains(&eeg, rate_hz)
}

/// Microvolts in one `unit` of a voltage: `V`/`volts`, `mV`/`millivolts`, `uV`/`µV`/
/// `microvolts`, `nV`/`nanovolts`, or a power of ten of volts as MNE writes it into LSL
/// descriptions (`0` volts, `-6` microvolts); 1 for anything else (no unit, `%`, `bpm`),
/// which passes unchanged.
pub fn microvolts_per_unit(unit: &str) -> f64 {
    let unit = unit.trim();
    match unit.to_ascii_lowercase().as_str() {
        "v" | "volt" | "volts" => 1e6,
        "mv" | "millivolt" | "millivolts" => 1e3,
        "nv" | "nanovolt" | "nanovolts" => 1e-3,
        _ => match unit.parse::<i32>() {
            Ok(exponent) if (-12..=3).contains(&exponent) => 10f64.powi(exponent + 6),
            _ => 1.0,
        },
    }
}

#[cfg(test)]
mod unit_tests {
    use super::microvolts_per_unit;

    #[test]
    fn voltages_in_any_unit_become_microvolts() {
        for (unit, scale) in [
            ("V", 1e6),
            ("volts", 1e6),
            ("mV", 1e3),
            ("uV", 1.0),
            ("µV", 1.0),
            ("microvolts", 1.0),
            ("nV", 1e-3),
            ("0", 1e6),
            ("-6", 1.0),
            ("-9", 1e-3),
            ("", 1.0),
            ("%", 1.0),
            ("bpm", 1.0),
        ] {
            assert!((microvolts_per_unit(unit) - scale).abs() < 1e-12, "{unit}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MiClass;
    use neuroloop_formats::ChannelInfo;

    fn recording(rates: &[f64], seconds: f64) -> Recording {
        Recording {
            channels: rates
                .iter()
                .enumerate()
                .map(|(i, &r)| ChannelInfo::new(format!("C{i}"), "uV", r))
                .collect(),
            data: rates
                .iter()
                .enumerate()
                .map(|(c, &r)| {
                    (0..(r * seconds) as usize)
                        .map(|i| (c * 1000 + i) as f64)
                        .collect()
                })
                .collect(),
            ..Recording::default()
        }
    }

    fn drain(src: &mut FileSource) -> (Vec<f32>, Vec<f64>, Vec<SourceEvent>) {
        let ch = src.meta().channels();
        let (mut v, mut s) = (
            vec![0.0; src.max_chunk_frames() * ch],
            vec![0.0; src.max_chunk_frames()],
        );
        let (mut values, mut stamps, mut events) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            match src
                .read(
                    &mut v,
                    &mut s,
                    &mut |e| events.push(e),
                    Duration::from_millis(50),
                )
                .unwrap()
            {
                ReadStatus::Frames(n) => {
                    values.extend_from_slice(&v[..n * ch]);
                    stamps.extend_from_slice(&s[..n]);
                }
                ReadStatus::Idle => {}
                ReadStatus::Ended => return (values, stamps, events),
            }
        }
    }

    #[test]
    fn replays_every_frame_interleaved_with_file_time_stamps() {
        let rec = recording(&[100.0, 100.0, 10.0], 2.0);
        let mut src = FileSource::from_recording(&rec, "x.edf", &[], Pacing::Max, 7).unwrap();
        // The slow channel is left out: two channels at the main rate remain.
        assert_eq!(src.meta().channel_labels, ["C0", "C1"]);
        let (values, stamps, events) = drain(&mut src);
        assert_eq!(stamps.len(), 200);
        assert!(events.is_empty());
        for i in 0..200 {
            assert_eq!(values[2 * i], i as f32);
            assert_eq!(values[2 * i + 1], (1000 + i) as f32);
            assert!((stamps[i] - i as f64 / 100.0).abs() < 1e-12);
        }
    }

    #[test]
    fn holes_in_file_timestamps_are_marked_as_gaps() {
        let mut rec = recording(&[100.0], 1.0);
        let mut ts: Vec<f64> = (0..100).map(|i| 50.0 + i as f64 / 100.0).collect();
        for t in &mut ts[60..] {
            *t += 2.0;
        }
        rec.timestamps_s = Some(ts);
        let mut src = FileSource::from_recording(&rec, "x.xdf", &[], Pacing::Max, 0)
            .unwrap()
            .with_time_origin(10.0);
        let (_, stamps, events) = drain(&mut src);
        assert!((stamps[0] - 10.0).abs() < 1e-12);
        assert!((stamps[60] - 12.6).abs() < 1e-9);
        assert_eq!(events.len(), 1);
        let SourceEvent::Gap { at, missing_secs } = events[0] else {
            panic!("{events:?}")
        };
        assert!((at - 12.6).abs() < 1e-9 && (missing_secs - 2.0).abs() < 1e-9);
    }

    #[test]
    fn annotations_are_emitted_with_the_chunk_that_reaches_them() {
        let mut rec = recording(&[100.0], 2.0);
        for (onset, label) in [(1.5, "spindle"), (0.25, "lights off"), (1.0, "spindle")] {
            rec.annotations.push(neuroloop_formats::Annotation {
                onset_s: onset,
                duration_s: 0.5,
                label: label.into(),
            });
        }
        let mut src = FileSource::from_recording(&rec, "x.edf", &[], Pacing::Max, 10).unwrap();
        assert_eq!(src.annotation_texts(), ["spindle", "lights off"]);
        let (_, _, events) = drain(&mut src);
        let got: Vec<(f64, u32)> = events
            .iter()
            .map(|e| match *e {
                SourceEvent::Annotation { at, index } => (at, index),
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [(0.25, 1), (1.0, 0), (1.5, 0)]);
    }

    /// A 30-s recording with these annotations (onset, duration, label), its cues named.
    fn cued(labels: &[(f64, f64, &str)], cues: &FileCues) -> FileSource {
        let mut rec = recording(&[100.0], 30.0);
        for &(onset, secs, label) in labels {
            rec.annotations.push(neuroloop_formats::Annotation {
                onset_s: onset,
                duration_s: secs,
                label: label.into(),
            });
        }
        FileSource::from_recording(&rec, "x.gdf", &[], Pacing::Max, 10)
            .unwrap()
            .with_cues(cues)
    }

    fn truths_of(mut src: FileSource) -> Vec<TruthEvent> {
        let (_, _, events) = drain(&mut src);
        events
            .into_iter()
            .filter_map(|e| match e {
                SourceEvent::Truth(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn motor_imagery_cues_become_ground_truth_trials() {
        let truths = |labels: &[(f64, f64, &str)], cues: &[(String, MiClass)]| {
            let cues = FileCues {
                mi: cues.to_vec(),
                ..FileCues::default()
            };
            truths_of(cued(labels, &cues))
        };
        let t = |onset: f64, duration_secs: f64, class: MiClass| TruthEvent {
            onset,
            duration_secs,
            kind: TruthKind::MotorImagery { class },
        };
        // A file's own labels, named: the annotation's duration, else the default.
        let cues = [
            ("T1".to_string(), MiClass::LeftHand),
            ("T2".to_string(), MiClass::RightHand),
        ];
        let got = truths(
            &[(1.0, 4.1, "T1"), (6.0, 0.0, " T2 "), (8.0, 4.1, "T0")],
            &cues,
        );
        assert_eq!(
            got,
            [
                t(1.0, 4.1, MiClass::LeftHand),
                t(6.0, DEFAULT_CUE_SECS, MiClass::RightHand)
            ]
        );
        // The paradigm's cues without naming, their text's duration first; the simulator's
        // truth beside them is not counted twice.
        let got = truths(
            &[
                (1.0, 0.0, "cue/mi class=feet trial=1 duration_s=3"),
                (1.0, 0.0, "truth/mi class=feet duration_s=3"),
                (5.0, 2.0, "cue/mi class=rest trial=2"),
                (7.0, 0.0, "cue/mi class=tongue trial=3 duration_s=3"),
            ],
            &[],
        );
        assert_eq!(
            got,
            [t(1.0, 3.0, MiClass::Feet), t(5.0, 2.0, MiClass::Rest)]
        );
        // A recorded simulator session: its truth markers.
        let got = truths(&[(2.0, 0.0, "truth/mi class=left_hand duration_s=4")], &[]);
        assert_eq!(got, [t(2.0, 4.0, MiClass::LeftHand)]);
        // Nothing that is not a cue.
        assert!(truths(&[(2.0, 1.0, "T1")], &[]).is_empty());
    }

    #[test]
    fn ssvep_cues_and_onsets_become_trials_at_the_onsets() {
        let t = |onset: f64, duration_secs: f64, freq_hz: f32| TruthEvent {
            onset,
            duration_secs,
            kind: TruthKind::SsvepTarget {
                index: TruthKind::NO_TARGET_INDEX,
                freq_hz,
            },
        };
        let named = |ssvep: &[(&str, f64)], onsets: &[&str]| FileCues {
            ssvep: ssvep.iter().map(|&(l, f)| (l.to_string(), f)).collect(),
            onsets: onsets.iter().map(|l| l.to_string()).collect(),
            ..FileCues::default()
        };
        // An OpenViBE session: class code, start of trial half a second later, end of trial;
        // events one sample long. A rest trial (33024, not named) is an onset without a trial.
        let sample = 1.0 / 256.0;
        let kalunga = [
            (1.0, sample, "33025"),
            (1.5, sample, "32779"),
            (6.5, sample, "32780"),
            (7.5, sample, "33024"),
            (8.0, sample, "32779"),
            (13.0, sample, "32780"),
            (14.0, sample, "33026"),
            (14.5, sample, "32779"),
        ];
        let cues = named(&[("33025", 13.0), ("33026", 21.0)], &["32779"]);
        let src = cued(&kalunga, &cues);
        let onsets: Vec<&str> = src
            .annotation_texts()
            .iter()
            .zip(src.onset_annotations())
            .filter(|(_, o)| *o)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(onsets, ["32779"]);
        assert_eq!(src.annotation_counts(), [1, 3, 2, 1, 1]);
        // Each trial lasts until the next annotation (the end of trial; the last, with none
        // after it, the default).
        assert_eq!(
            truths_of(src),
            [t(1.5, 5.0, 13.0), t(14.5, DEFAULT_CUE_SECS, 21.0)]
        );
        // The class code after the onset, in the same trial, and a stated duration.
        let got = truths_of(cued(
            &[(2.0, 3.0, "onset"), (2.1, 0.0, "A"), (9.0, 3.0, "onset")],
            &named(&[("A", 8.5)], &["onset"]),
        ));
        assert_eq!(got, [t(2.0, 3.0, 8.5)]);
        // Without onset labels, each cue is its own onset.
        let src = cued(
            &[(1.0, 0.0, "A"), (4.0, 0.0, "B")],
            &named(&[("A", 8.0), ("B", 10.0)], &[]),
        );
        assert_eq!(src.onset_annotations(), [true, true]);
        assert_eq!(
            truths_of(src),
            [t(1.0, 3.0, 8.0), t(4.0, DEFAULT_CUE_SECS, 10.0)]
        );
        // A recorded simulator session: its truth markers are onsets and trials, unnamed.
        let src = cued(
            &[(2.0, 0.0, "truth/ssvep target=1 freq_hz=12 duration_s=4")],
            &FileCues::default(),
        );
        assert_eq!(src.onset_annotations(), [true]);
        assert_eq!(
            truths_of(src),
            [TruthEvent {
                onset: 2.0,
                duration_secs: 4.0,
                kind: TruthKind::SsvepTarget {
                    index: 1,
                    freq_hz: 12.0
                }
            }]
        );
        // Nothing named, nothing cued.
        let src = cued(&kalunga, &FileCues::default());
        assert!(!src.onset_annotations().contains(&true));
        assert!(truths_of(src).is_empty());
    }

    #[test]
    fn a_psg_replays_its_eeg_rate_and_names_the_slower_signals() {
        // A Sleep-EDF night's layout: two EEG and one EOG at 100 Hz, four slow signals at 1 Hz.
        let mut rec = recording(&[100.0, 100.0, 100.0, 1.0, 1.0, 1.0, 1.0], 2.0);
        for (ch, label) in rec.channels.iter_mut().zip([
            "EEG Fpz-Cz",
            "EEG Pz-Oz",
            "EOG horizontal",
            "Resp oro-nasal",
            "EMG submental",
            "Temp rectal",
            "Event marker",
        ]) {
            *ch = ChannelInfo::new(label, "uV", ch.sample_rate_hz);
        }
        let src = FileSource::from_recording(&rec, "psg.edf", &[], Pacing::Max, 0).unwrap();
        let meta = src.meta();
        assert_eq!(meta.sample_rate_hz, 100.0);
        assert_eq!(
            meta.channel_labels,
            ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"]
        );
        assert_eq!(meta.eeg_mask(), [true, true, false]);
        assert_eq!(
            meta.set_aside,
            [
                "Resp oro-nasal (1 Hz)",
                "EMG submental (1 Hz)",
                "Temp rectal (1 Hz)",
                "Event marker (1 Hz)"
            ]
        );
        // Without kinds to tell them apart, the rate most channels have wins.
        let plain = recording(&[100.0, 1.0, 1.0], 2.0);
        let src = FileSource::from_recording(&plain, "x.edf", &[], Pacing::Max, 0).unwrap();
        assert_eq!(src.meta().sample_rate_hz, 1.0);
    }

    #[test]
    fn bad_selections_name_the_problem() {
        let rec = recording(&[100.0, 10.0], 1.0);
        let err = |chs: &[&str]| {
            let chs: Vec<String> = chs.iter().map(|s| s.to_string()).collect();
            FileSource::from_recording(&rec, "x.edf", &chs, Pacing::Max, 0)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&["Cz"]).contains("no channel `Cz`; its channels are C0, C1"));
        assert!(err(&["C0", "C1"]).contains("10 Hz"));
        let npy = recording(&[0.0], 0.0);
        let e = FileSource::from_recording(&npy, "x.npy", &[], Pacing::Max, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("regular rate"), "{e}");
    }

    #[test]
    fn real_time_replay_follows_the_file_clock() {
        let rec = recording(&[200.0], 0.5);
        let mut src = FileSource::from_recording(&rec, "x.edf", &[], Pacing::REAL_TIME, 0).unwrap();
        let t0 = local_clock();
        let (_, stamps, _) = drain(&mut src);
        let elapsed = local_clock() - t0;
        assert_eq!(stamps.len(), 100);
        // Stamps are the clock at the first read plus file time.
        assert!((stamps[99] - stamps[0] - 0.495).abs() < 1e-9);
        assert!(elapsed > 0.45 && elapsed < 2.0, "elapsed {elapsed}");
    }

    #[test]
    fn a_replay_pauses_moves_and_changes_speed_while_it_runs() {
        // 20 s at 200 Hz (values count samples), 10 ms chunks, replayed at 100x.
        let rec = recording(&[200.0], 20.0);
        let mut src =
            FileSource::from_recording(&rec, "x.edf", &[], Pacing::Speed(100.0), 0).unwrap();
        let control = src.replay_control().expect("a paced replay has controls");
        let (mut v, mut s) = (vec![0.0f32; 2], vec![0.0f64; 2]);
        let mut events = Vec::new();
        macro_rules! read {
            ($src:expr, $events:expr) => {
                $src.read(
                    &mut v,
                    &mut s,
                    &mut |e| $events.push(e),
                    Duration::from_millis(50),
                )
                .unwrap()
            };
        }
        assert_eq!(read!(src, events), ReadStatus::Frames(2));
        // Paused: nothing flows.
        control.set_paused(true);
        assert!(control.paused());
        for _ in 0..3 {
            assert_eq!(read!(src, events), ReadStatus::Idle);
        }
        // Moved while paused: the position follows at once; the jump is reported with the
        // first samples at the new place, which decoders then start afresh from.
        control.seek_secs(10.0);
        assert_eq!(read!(src, events), ReadStatus::Idle);
        // The file's length is its last sample's time.
        assert_eq!(control.position_secs(), (10.0, 19.995));
        control.set_paused(false);
        let before = local_clock();
        assert_eq!(read!(src, events), ReadStatus::Frames(2));
        assert_eq!(v[0], 2000.0, "sample 2000 is at 10 s");
        let jump = events
            .iter()
            .find_map(|e| match *e {
                SourceEvent::Jump {
                    from_secs,
                    to_secs,
                    at,
                } => Some((from_secs, to_secs, at)),
                _ => None,
            })
            .expect("a jump event");
        assert!((jump.0 - 0.01).abs() < 1e-12 && jump.1 == 10.0, "{jump:?}");
        // Stamped at the clock's present, after the earlier samples.
        assert!(jump.2 >= before - 1e-3 && s[0] > 0.0);
        assert!(!events.iter().any(|e| matches!(e, SourceEvent::Gap { .. })));
        // A new speed: samples 5 ms apart in file time are 5/2 ms apart at 2x.
        control.set_speed(2.0);
        assert_eq!(read!(src, events), ReadStatus::Frames(2));
        assert!((s[1] - s[0] - 0.0025).abs() < 1e-9, "{:?}", s);
        // Stamps never go back.
        let last = s[1];
        // Faster than the buffers were sized for: ignored.
        control.set_speed(100.0);
        assert_eq!(control.speed(), 2.0);
        control.set_speed(10.0);
        assert_eq!(read!(src, events), ReadStatus::Frames(2));
        assert!(s[0] > last);
        // Maximum-speed runs have nothing to control.
        let max = FileSource::from_recording(&rec, "x.edf", &[], Pacing::Max, 0).unwrap();
        assert!(max.replay_control().is_none());
    }
}
