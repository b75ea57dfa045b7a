//! Sleep-spindle evaluation on the DREAMS spindles database.
//!
//! `neuroloop eval spindles --dreams DIR` streams every excerpt found in DIR
//! (`excerptN.txt`, the database's text layout) through the causal detector exactly as a live
//! session feeds it (chunks of 0.1 s with sample stamps from 0), and scores the declared
//! spindles against each expert scoring present (`Visual_scoringK_excerptN.txt`):
//!
//! - the sampling rate is the sample count over the excerpts' documented length of 1800 s
//!   (it must agree with the rate the database documents for that excerpt);
//! - a detection and an expert spindle match when their intersection over union is at least
//!   0.2; pairs are taken one-to-one, greedily by decreasing IoU (ties: earlier expert, then
//!   earlier detection);
//! - precision, recall and F1 per excerpt and pooled (counts summed over excerpts);
//! - detection delay: for each matched pair, the time the detector declared the spindle
//!   minus the expert's onset; the median is reported.
//!
//! Every spindle the detector declares counts, including ones it later flags as too long:
//! a closed loop has already stimulated on them. The same protocol runs YASA's
//! `spindles_detect` in `scripts/reference/spindles_dreams.py`; its committed spans are
//! re-scored here with this module's matcher and printed side by side, with the detections the
//! database's authors published (`Automatic_detection_excerptN.txt`) when present.

use std::path::{Path, PathBuf};

use neuroloop_decoders::onnx::{ModelCard, load_spindle_net};
use neuroloop_decoders::sleep::{
    NetFrontEnd, NetFrontEndConfig, SpindleConfig, SpindleDetector, SpindleEngine, SpindleEvent,
    SpindleEventKind, Verdict,
};
use neuroloop_formats::dreams;
use serde::{Deserialize, Serialize};

use super::{create_dump_folder, dump_index_json, write_file};
use crate::error::{OfflineError, Result};

/// Length of every DREAMS excerpt.
pub const EXCERPT_SECS: f64 = 1800.0;
/// Least intersection over union for a detection to match an expert spindle.
pub const MIN_IOU: f64 = 0.2;
/// Chunk the excerpts are streamed in, s.
pub const CHUNK_SECS: f64 = 0.1;
/// YASA's detections on the same excerpts (`scripts/reference/spindles_dreams.py`).
pub const DREAMS_REFERENCE_JSON: &str =
    include_str!("../../reference/spindles_dreams_reference.json");

/// A time span in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Start, s.
    pub start: f64,
    /// End, s.
    pub end: f64,
}

impl Span {
    /// Intersection over union with `other` (0 when disjoint).
    pub fn iou(&self, other: &Span) -> f64 {
        let inter = self.end.min(other.end) - self.start.max(other.start);
        if inter <= 0.0 {
            return 0.0;
        }
        inter / (self.end.max(other.end) - self.start.min(other.start))
    }
}

/// One-to-one matching of `detected` to `truth`: pairs with IoU ≥ `min_iou`, taken greedily by
/// decreasing IoU (ties: earlier truth, then earlier detection). Returns `(truth, detected)`
/// index pairs.
pub fn match_events(truth: &[Span], detected: &[Span], min_iou: f64) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, d) in detected.iter().enumerate() {
            let v = t.iou(d);
            if v >= min_iou {
                pairs.push((v, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut used_t = vec![false; truth.len()];
    let mut used_d = vec![false; detected.len()];
    let mut out = Vec::new();
    for (_, i, j) in pairs {
        if !used_t[i] && !used_d[j] {
            used_t[i] = true;
            used_d[j] = true;
            out.push((i, j));
        }
    }
    out.sort_unstable();
    out
}

/// Counts and scores of detections against one scorer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EventScore {
    /// Expert spindles.
    pub expert: usize,
    /// Detected spindles.
    pub detected: usize,
    /// Matched pairs.
    pub matched: usize,
    /// matched / detected.
    pub precision: f64,
    /// matched / expert.
    pub recall: f64,
    /// 2 matched / (detected + expert).
    pub f1: f64,
}

impl EventScore {
    /// Scores from counts.
    pub fn new(expert: usize, detected: usize, matched: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        EventScore {
            expert,
            detected,
            matched,
            precision: ratio(matched, detected),
            recall: ratio(matched, expert),
            f1: ratio(2 * matched, detected + expert),
        }
    }

    /// Sums counts.
    pub fn pooled<'a>(scores: impl IntoIterator<Item = &'a EventScore>) -> Self {
        let (mut e, mut d, mut m) = (0, 0, 0);
        for s in scores {
            e += s.expert;
            d += s.detected;
            m += s.matched;
        }
        EventScore::new(e, d, m)
    }
}

/// One scorer's view of one excerpt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorerResult {
    /// Scorer number (1 or 2).
    pub scorer: u32,
    /// The detector's score.
    pub detector: EventScore,
    /// Declaration time minus expert onset, per matched pair, s.
    pub delays_secs: Vec<f64>,
    /// YASA's score (from the committed reference spans), when the reference covers it.
    pub yasa: Option<EventScore>,
    /// The database authors' automatic detections, when their file is present.
    pub authors: Option<EventScore>,
}

/// One excerpt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcerptResult {
    /// Excerpt number.
    pub excerpt: u32,
    /// Sampling rate, Hz.
    pub sample_rate_hz: f64,
    /// Detected spindles (accepted ones), s.
    pub detections: Vec<Span>,
    /// Onsets declared (stimulation triggers), accepted at their end or not.
    pub triggers: usize,
    /// Per scorer present.
    pub scorers: Vec<ScorerResult>,
    /// Wall time the detector took for the excerpt, s.
    pub detector_secs: f64,
}

/// Pooled view of one scorer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledResult {
    /// Scorer number.
    pub scorer: u32,
    /// Excerpts included.
    pub excerpts: Vec<u32>,
    /// The detector's pooled score.
    pub detector: EventScore,
    /// Median detection delay over matched pairs, s.
    pub median_delay_secs: Option<f64>,
    /// Onsets declared over the same excerpts.
    pub triggers: usize,
    /// Share of those onsets that belong to a matched spindle.
    pub trigger_precision: f64,
    /// YASA pooled over the same excerpts, when the reference covers all of them.
    pub yasa: Option<EventScore>,
    /// The authors' detections pooled over the same excerpts, when all files are present.
    pub authors: Option<EventScore>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpindleReport {
    /// Detector name.
    pub detector: String,
    /// Its settings.
    pub settings: serde_json::Value,
    /// Shortest spindle the detector accepts, s.
    pub min_duration_secs: f64,
    /// Longest spindle the detector accepts, s.
    pub max_duration_secs: f64,
    /// Per excerpt.
    pub excerpts: Vec<ExcerptResult>,
    /// Per scorer, pooled.
    pub pooled: Vec<PooledResult>,
    /// Signal seconds processed per wall second, over all excerpts.
    pub speed_x_realtime: f64,
    /// YASA's version in the reference.
    pub yasa_version: String,
    /// Scorer 2's spindles scored against scorer 1's (as if scorer 2 were a detector), over
    /// the excerpts both scored: how far two experts agree.
    pub inter_scorer: Option<EventScore>,
}

impl SpindleReport {
    /// The pooled result against `scorer`.
    pub fn pooled(&self, scorer: u32) -> Option<&PooledResult> {
        self.pooled.iter().find(|p| p.scorer == scorer)
    }
}

#[derive(Debug, Deserialize)]
struct Reference {
    versions: std::collections::BTreeMap<String, String>,
    excerpts: Vec<ReferenceExcerpt>,
}

#[derive(Debug, Deserialize)]
struct ReferenceExcerpt {
    excerpt: u32,
    yasa_spans: Vec<(f64, f64)>,
}

/// Excerpt numbers with an `excerptN.txt` in `dir`, ascending.
pub fn find_excerpts(dir: &Path) -> Result<Vec<u32>> {
    let entries = std::fs::read_dir(dir).map_err(|source| OfflineError::ListFolder {
        path: dir.to_path_buf(),
        hint: "pass the DREAMS folder",
        source,
    })?;
    let mut numbers: Vec<u32> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("excerpt")?
                .strip_suffix(".txt")?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    if numbers.is_empty() {
        return Err(OfflineError::data(format!(
            "no excerptN.txt in {}: pass the folder holding the DREAMS spindles text files",
            dir.display()
        )));
    }
    Ok(numbers)
}

/// Reads a scoring file as spans.
pub fn read_spans(path: &Path) -> Result<Vec<Span>> {
    let scoring = dreams::read_scoring(path)?;
    Ok(scoring
        .annotations
        .iter()
        .map(|a| Span {
            start: a.onset_s,
            end: a.onset_s + a.duration_s,
        })
        .collect())
}

/// Loads excerpt `n` from `dir`: samples and the rate (sample count over 1800 s, checked
/// against the database's documentation).
pub fn load_excerpt(dir: &Path, n: u32) -> Result<(Vec<f64>, f64)> {
    let path = dir.join(format!("excerpt{n}.txt"));
    let signal = dreams::read_signal(&path)?;
    let fs = signal.values.len() as f64 / EXCERPT_SECS;
    if let Some(documented) = dreams::excerpt_sample_rate_hz(n) {
        // Excerpt 6 has 140 extra samples; allow a fraction of a percent.
        if (fs - documented).abs() > 0.005 * documented {
            return Err(OfflineError::data(format!(
                "{} holds {} samples, i.e. {fs:.3} Hz over {EXCERPT_SECS} s, but excerpt {n} is documented at {documented} Hz: the file is truncated or not a DREAMS excerpt",
                path.display(),
                signal.values.len()
            )));
        }
        return Ok((signal.values, documented));
    }
    Ok((signal.values, fs))
}

/// Samples as a live session or a replay carries them: rounded to `f32`.
pub fn as_streamed(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v as f32)).collect()
}

/// Frames in one [`CHUNK_SECS`] chunk at `fs`.
pub fn chunk_frames(fs: f64) -> usize {
    ((CHUNK_SECS * fs).round() as usize).max(1)
}

/// Hands `x` (at `fs`) to `f` in chunks of [`CHUNK_SECS`], each with its stamps (sample index
/// over `fs`, from 0), as a live source would deliver it.
pub fn stream_chunks(x: &[f64], fs: f64, mut f: impl FnMut(&[f64], &[f64])) {
    let chunk = chunk_frames(fs);
    let mut stamps = vec![0.0; chunk];
    for (c, block) in x.chunks(chunk).enumerate() {
        for (i, s) in stamps.iter_mut().enumerate() {
            *s = (c * chunk + i) as f64 / fs;
        }
        f(block, &stamps[..block.len()]);
    }
}

/// A spindle detector to evaluate.
#[derive(Debug, Clone)]
pub enum Detector {
    /// The A7-style detector with these settings.
    A7(SpindleConfig),
    /// The neural detector its model card describes.
    Net(Box<ModelCard>),
}

impl Detector {
    /// A fresh engine (for the neural detector, the model loaded).
    pub fn engine(&self) -> Result<SpindleEngine> {
        Ok(match self {
            Detector::A7(c) => SpindleEngine::A7(SpindleDetector::new(*c)),
            Detector::Net(card) => SpindleEngine::Net(load_spindle_net(card)?),
        })
    }

    /// `a7` or the model's name.
    pub fn name(&self) -> String {
        match self {
            Detector::A7(_) => "a7".to_owned(),
            Detector::Net(card) => card.name.clone(),
        }
    }

    /// Shortest and longest spindle accepted, s.
    pub fn durations(&self) -> (f64, f64) {
        match self {
            Detector::A7(c) => (c.min_duration_secs, c.max_duration_secs),
            Detector::Net(card) => card
                .spindle
                .map_or((0.0, 0.0), |c| (c.min_duration_secs, c.max_duration_secs)),
        }
    }

    /// The settings, as JSON.
    pub fn settings(&self) -> serde_json::Value {
        match self {
            Detector::A7(c) => serde_json::to_value(c).unwrap_or_default(),
            Detector::Net(card) => serde_json::json!({
                "card": card.path.display().to_string(),
                "spindle": card.spindle,
            }),
        }
    }
}

/// Streams `x` (at `fs`) through an A7 detector with `config` (see [`detect_with`]).
pub fn detect(x: &[f64], fs: f64, config: SpindleConfig) -> Result<Vec<SpindleEvent>> {
    detect_with(x, fs, &Detector::A7(config))
}

/// Streams `x` (at `fs`) through `detector` ([`stream_chunks`] of [`as_streamed`] samples) and
/// returns every event, in order: the events `neuroloop replay --spindles` declares.
pub fn detect_with(x: &[f64], fs: f64, detector: &Detector) -> Result<Vec<SpindleEvent>> {
    detect_on(&mut detector.engine()?, x, fs)
}

/// [`detect_with`] on an engine already built (prepared anew for `fs` here), so one engine,
/// and one loaded model, serves every excerpt.
pub fn detect_on(detector: &mut SpindleEngine, x: &[f64], fs: f64) -> Result<Vec<SpindleEvent>> {
    detector.prepare(fs, chunk_frames(fs))?;
    let mut events = Vec::new();
    stream_chunks(&as_streamed(x), fs, |xs, ts| {
        detector.process(xs, ts, &mut |e| events.push(e));
    });
    detector.finish(x.len() as f64 / fs, &mut |e| events.push(e));
    Ok(events)
}

/// One declared run: its final span, when its onset was declared, and the verdict at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Declared {
    /// Final span.
    pub span: Span,
    /// Declaration time of its onset (the trigger).
    pub onset_declared: f64,
    /// Accepted as a spindle or rejected.
    pub verdict: Verdict,
}

/// Pairs onsets with ends, one [`Declared`] per onset.
pub fn spindles_of(events: &[SpindleEvent]) -> Vec<Declared> {
    let mut out = Vec::new();
    let mut onset: Option<f64> = None;
    for e in events {
        match e.kind {
            SpindleEventKind::Onset => onset = Some(e.declared_time),
            SpindleEventKind::End => {
                let declared = onset.take().unwrap_or(e.declared_time);
                out.push(Declared {
                    span: Span {
                        start: e.start_time,
                        end: e.end_time,
                    },
                    onset_declared: declared,
                    verdict: e.verdict,
                });
            }
        }
    }
    out
}

/// Runs the A7 evaluation on every excerpt in `dir`.
pub fn evaluate_dreams(dir: &Path, config: SpindleConfig) -> Result<SpindleReport> {
    evaluate_dreams_with(dir, &Detector::A7(config), None)
}

/// Runs the evaluation of `detector` on every excerpt in `dir`, or on those of `only`.
pub fn evaluate_dreams_with(
    dir: &Path,
    detector: &Detector,
    only: Option<&[u32]>,
) -> Result<SpindleReport> {
    let reference: Reference =
        serde_json::from_str(DREAMS_REFERENCE_JSON).map_err(|source| OfflineError::Json {
            what: "the committed reference is corrupt",
            source,
        })?;
    let mut excerpts = Vec::new();
    let mut inter = Vec::new();
    let (mut signal_secs, mut wall_secs) = (0.0, 0.0);
    let numbers = chosen_excerpts(dir, only)?;
    let mut engine = detector.engine()?;
    for n in numbers {
        if let Some(score) = inter_scorer(dir, n)? {
            inter.push(score);
        }
        let (excerpt, secs) = evaluate_excerpt(dir, n, &mut engine, &reference)?;
        signal_secs += secs;
        wall_secs += excerpt.detector_secs;
        excerpts.push(excerpt);
    }
    let pooled = (1..=2u32)
        .filter_map(|k| pool_scorer(&excerpts, k))
        .collect();
    let (min_duration_secs, max_duration_secs) = detector.durations();
    Ok(SpindleReport {
        detector: detector.name(),
        settings: detector.settings(),
        min_duration_secs,
        max_duration_secs,
        excerpts,
        pooled,
        speed_x_realtime: if wall_secs > 0.0 {
            signal_secs / wall_secs
        } else {
            f64::INFINITY
        },
        yasa_version: reference.versions.get("yasa").cloned().unwrap_or_default(),
        inter_scorer: (!inter.is_empty()).then(|| EventScore::pooled(&inter)),
    })
}

/// The excerpts in `dir`, or those of `only` (each of which must be there).
fn chosen_excerpts(dir: &Path, only: Option<&[u32]>) -> Result<Vec<u32>> {
    let mut numbers = find_excerpts(dir)?;
    if let Some(only) = only {
        if let Some(missing) = only.iter().find(|n| !numbers.contains(n)) {
            return Err(OfflineError::request(format!(
                "excerpt {missing} is not in {}: choose among {numbers:?}",
                dir.display()
            )));
        }
        numbers.retain(|n| only.contains(n));
    }
    Ok(numbers)
}

/// Scorer 2's spindles scored against scorer 1's on excerpt `n`, when both scored it.
fn inter_scorer(dir: &Path, n: u32) -> Result<Option<EventScore>> {
    let (s1, s2) = (
        dir.join(format!("Visual_scoring1_excerpt{n}.txt")),
        dir.join(format!("Visual_scoring2_excerpt{n}.txt")),
    );
    if !(s1.exists() && s2.exists()) {
        return Ok(None);
    }
    let (t1, t2) = (read_spans(&s1)?, read_spans(&s2)?);
    Ok(Some(EventScore::new(
        t1.len(),
        t2.len(),
        match_events(&t1, &t2, MIN_IOU).len(),
    )))
}

/// Streams excerpt `n` through `engine` and scores its spindles against every expert scoring
/// present: the result, and the excerpt's length in seconds.
fn evaluate_excerpt(
    dir: &Path,
    n: u32,
    engine: &mut SpindleEngine,
    reference: &Reference,
) -> Result<(ExcerptResult, f64)> {
    let (x, fs) = load_excerpt(dir, n)?;
    let t0 = std::time::Instant::now();
    let events = detect_on(engine, &x, fs)?;
    let took = t0.elapsed().as_secs_f64();
    let signal_secs = x.len() as f64 / fs;
    let declared = spindles_of(&events);
    let accepted: Vec<&Declared> = declared
        .iter()
        .filter(|d| d.verdict == Verdict::Accepted)
        .collect();
    let detections: Vec<Span> = accepted.iter().map(|d| d.span).collect();
    let yasa: Option<Vec<Span>> = reference.excerpts.iter().find(|r| r.excerpt == n).map(|r| {
        r.yasa_spans
            .iter()
            .map(|&(start, end)| Span { start, end })
            .collect()
    });
    let authors_path = dir.join(format!("Automatic_detection_excerpt{n}.txt"));
    let authors = if authors_path.exists() {
        Some(read_spans(&authors_path)?)
    } else {
        None
    };
    let others = OtherDetections {
        yasa: yasa.as_deref(),
        authors: authors.as_deref(),
    };
    let scorers = score_against_experts(dir, n, &accepted, &detections, others)?;
    let result = ExcerptResult {
        excerpt: n,
        sample_rate_hz: fs,
        triggers: declared.len(),
        detections,
        scorers,
        detector_secs: took,
    };
    Ok((result, signal_secs))
}

/// The detections scored beside the detector's on one excerpt, when known.
#[derive(Clone, Copy)]
struct OtherDetections<'a> {
    /// YASA's, from the committed reference.
    yasa: Option<&'a [Span]>,
    /// The database authors'.
    authors: Option<&'a [Span]>,
}

/// The detector's spindles on excerpt `n` (`accepted`, whose spans are `detections`), and
/// `others`, scored against each expert scoring of it present.
fn score_against_experts(
    dir: &Path,
    n: u32,
    accepted: &[&Declared],
    detections: &[Span],
    others: OtherDetections<'_>,
) -> Result<Vec<ScorerResult>> {
    let mut scorers = Vec::new();
    for k in 1..=2u32 {
        let path = dir.join(format!("Visual_scoring{k}_excerpt{n}.txt"));
        if !path.exists() {
            continue;
        }
        let truth = read_spans(&path)?;
        let pairs = match_events(&truth, detections, MIN_IOU);
        let delays_secs = pairs
            .iter()
            .map(|&(t, d)| accepted[d].onset_declared - truth[t].start)
            .collect();
        let score_of = |det: &[Span]| {
            EventScore::new(
                truth.len(),
                det.len(),
                match_events(&truth, det, MIN_IOU).len(),
            )
        };
        scorers.push(ScorerResult {
            scorer: k,
            detector: EventScore::new(truth.len(), detections.len(), pairs.len()),
            delays_secs,
            yasa: others.yasa.map(score_of),
            authors: others.authors.map(score_of),
        });
    }
    Ok(scorers)
}

/// Scorer `k`'s results pooled over the excerpts it scored (`None` when it scored none).
fn pool_scorer(excerpts: &[ExcerptResult], k: u32) -> Option<PooledResult> {
    let rows: Vec<(u32, &ScorerResult)> = excerpts
        .iter()
        .filter_map(|e| {
            e.scorers
                .iter()
                .find(|s| s.scorer == k)
                .map(|s| (e.excerpt, s))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut delays: Vec<f64> = rows
        .iter()
        .flat_map(|(_, s)| s.delays_secs.clone())
        .collect();
    delays.sort_by(f64::total_cmp);
    let all = |f: fn(&ScorerResult) -> Option<EventScore>| -> Option<EventScore> {
        let scores: Option<Vec<EventScore>> = rows.iter().map(|(_, s)| f(s)).collect();
        scores.map(|s| EventScore::pooled(&s))
    };
    let detector = EventScore::pooled(rows.iter().map(|(_, s)| &s.detector));
    let triggers: usize = excerpts
        .iter()
        .filter(|e| rows.iter().any(|(n, _)| *n == e.excerpt))
        .map(|e| e.triggers)
        .sum();
    Some(PooledResult {
        scorer: k,
        triggers,
        trigger_precision: if triggers == 0 {
            0.0
        } else {
            detector.matched as f64 / triggers as f64
        },
        excerpts: rows.iter().map(|(n, _)| *n).collect(),
        detector,
        median_delay_secs: median_sorted(&delays),
        yasa: all(|s| s.yasa),
        authors: all(|s| s.authors),
    })
}

pub(crate) fn median_sorted(v: &[f64]) -> Option<f64> {
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

/// Human-readable table of a report.
pub fn format_report(report: &SpindleReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let f = |o: Option<EventScore>| o.map_or("   -  ".to_owned(), |e| format!("{:.3} ", e.f1));
    let _ = writeln!(
        s,
        "Spindles on DREAMS: detector {} (causal, streamed in {CHUNK_SECS} s chunks) vs YASA {} spindles_detect and the database authors' detections; IoU >= {MIN_IOU}, one-to-one",
        report.detector, report.yasa_version
    );
    let _ = writeln!(
        s,
        "{:>7} {:>6} {:>6} | {:>6} {:>5} {:>5} {:>6} {:>6} {:>6} | {:>9} | {:>6} {:>7}",
        "excerpt",
        "Hz",
        "scorer",
        "expert",
        "det",
        "match",
        "prec",
        "recall",
        "F1",
        "delay med",
        "YASA",
        "authors"
    );
    for e in &report.excerpts {
        for r in &e.scorers {
            let mut d = r.delays_secs.clone();
            d.sort_by(f64::total_cmp);
            let _ = writeln!(
                s,
                "{:>7} {:>6} {:>6} | {:>6} {:>5} {:>5} {:>6.3} {:>6.3} {:>6.3} | {:>9} | {:>6} {:>7}",
                e.excerpt,
                e.sample_rate_hz,
                r.scorer,
                r.detector.expert,
                r.detector.detected,
                r.detector.matched,
                r.detector.precision,
                r.detector.recall,
                r.detector.f1,
                median_sorted(&d).map_or("-".to_owned(), |m| format!("{:.0} ms", 1000.0 * m)),
                f(r.yasa),
                f(r.authors),
            );
        }
    }
    for p in &report.pooled {
        let _ = writeln!(
            s,
            "{:>7} {:>6} {:>6} | {:>6} {:>5} {:>5} {:>6.3} {:>6.3} {:>6.3} | {:>9} | {:>6} {:>7}",
            "pooled",
            "",
            p.scorer,
            p.detector.expert,
            p.detector.detected,
            p.detector.matched,
            p.detector.precision,
            p.detector.recall,
            p.detector.f1,
            p.median_delay_secs
                .map_or("-".to_owned(), |m| format!("{:.0} ms", 1000.0 * m)),
            f(p.yasa),
            f(p.authors),
        );
    }
    for p in &report.pooled {
        let _ = writeln!(
            s,
            "scorer {}: {} onsets declared (triggers), {:.1} % of them on a matched spindle",
            p.scorer,
            p.triggers,
            100.0 * p.trigger_precision
        );
    }
    if let Some(i) = &report.inter_scorer {
        let _ = writeln!(
            s,
            "inter-scorer agreement: scorer 2 against scorer 1 on the excerpts both scored, F1 {:.3} ({} vs {} spindles, {} matched); scorer 2's spindles taken as triggers would have a trigger precision of {:.3} against scorer 1",
            i.f1, i.detected, i.expert, i.matched, i.precision
        );
    }
    let _ = writeln!(
        s,
        "spindles = runs accepted at their end ({}-{} s); delay = onset declaration - expert onset, over matched spindles; detector speed {:.0}x real time",
        report.min_duration_secs, report.max_duration_secs, report.speed_x_realtime
    );
    s
}

/// `DIR/spindles_dreams` when DIR is a data folder holding it, else DIR.
pub fn resolve_dreams_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("spindles_dreams");
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// What [`dump_features`] wrote for one excerpt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpedExcerpt {
    /// Excerpt number.
    pub excerpt: u32,
    /// The excerpt's own rate, Hz.
    pub sample_rate_hz: f64,
    /// File name (in the dump folder).
    pub file: String,
    /// Front-end samples written.
    pub samples: usize,
}

/// The index of a feature dump (`index.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDump {
    /// The front end that produced it.
    pub front_end: NetFrontEndConfig,
    /// Layout of each file.
    pub layout: String,
    /// Per excerpt.
    pub excerpts: Vec<DumpedExcerpt>,
}

/// Streams every excerpt in `dir` through the neural detector's front end exactly as
/// detection does ([`stream_chunks`] of [`as_streamed`] samples) and writes its output to
/// `out/excerptN.f32` (little-endian `f32`, four per front-end sample: the three model
/// channels and 1.0 when valid, else 0.0), with `out/index.json`. The training script reads
/// these, so the model trains on exactly what it will see.
pub fn dump_features(dir: &Path, front_end: NetFrontEndConfig, out: &Path) -> Result<FeatureDump> {
    create_dump_folder(out)?;
    let mut excerpts = Vec::new();
    for n in find_excerpts(dir)? {
        let (x, fs) = load_excerpt(dir, n)?;
        let mut front = NetFrontEnd::new(front_end);
        front.prepare(fs, chunk_frames(fs))?;
        let mut bytes = Vec::with_capacity(x.len() * 16);
        let mut samples = 0usize;
        let mut bad_time = None;
        stream_chunks(&as_streamed(&x), fs, |xs, ts| {
            front.process(xs, ts, &mut |s| {
                let expected = samples as f64 / front_end.rate_hz;
                if (s.time - expected).abs() > 1e-6 && bad_time.is_none() {
                    bad_time = Some((samples, s.time));
                }
                for v in s.values {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                bytes.extend_from_slice(&(if s.valid { 1.0f32 } else { 0.0 }).to_le_bytes());
                samples += 1;
            });
        });
        if let Some((k, t)) = bad_time {
            return Err(OfflineError::data(format!(
                "excerpt {n}: front-end sample {k} is stamped {t} s, off the model rate's grid"
            )));
        }
        let file = format!("excerpt{n}.f32");
        write_file(&out.join(&file), &bytes)?;
        excerpts.push(DumpedExcerpt {
            excerpt: n,
            sample_rate_hz: fs,
            file,
            samples,
        });
    }
    let dump = FeatureDump {
        front_end,
        layout: "f32 little-endian, 4 per sample: wide/rms, sigma/rms, log10(rms)-1.5, valid"
            .to_owned(),
        excerpts,
    };
    write_file(&out.join("index.json"), dump_index_json(&dump)?.as_bytes())?;
    Ok(dump)
}
