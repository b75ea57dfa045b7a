//! The trigger trade-off of a spindle detector for closed-loop stimulation.
//!
//! A closed loop stimulates when the detector declares a spindle's onset (the trigger). How much
//! evidence it waits for sets both how many triggers land on spindles and how late they come.
//! [`trigger_curve`] runs the detector over the DREAMS excerpts at each setting of that wait
//! (A7: the hops at which all four thresholds must be met, `confirm_hops`; a network: its
//! probability threshold and `confirm_hops`) and reports, against scorer 1 and pooled over the
//! excerpts: the triggers, their precision (the share whose spindle matches one scorer 1
//! marked, as `eval spindles` counts it), the median delay from the expert's onset to the
//! trigger, and the detection F1.
//!
//! The operating point for stimulation is the setting with the highest trigger precision whose
//! median delay is at most [`MAX_DELAY_SECS`]. It is chosen leave one excerpt out: for each
//! excerpt, on the others only, then applied to it; the held-out excerpts' triggers are pooled.

use std::path::Path;

use neuroloop_decoders::sleep::SpindleConfig;
use serde::Serialize;

use super::spindles::{Detector, EventScore, ExcerptResult, evaluate_dreams_with, median_sorted};
use crate::error::{OfflineError, Result};

/// The longest median trigger delay a stimulation operating point may have, s.
pub const MAX_DELAY_SECS: f64 = 0.3;

/// The scorer the curve is measured against.
const SCORER: u32 = 1;

/// One setting's counts on a set of excerpts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TriggerScore {
    /// Onsets declared.
    pub triggers: usize,
    /// Declared spindles that match one scorer 1 marked.
    pub matched: usize,
    /// Accepted detections.
    pub detected: usize,
    /// Scorer 1's spindles.
    pub expert: usize,
    /// matched / triggers.
    pub trigger_precision: f64,
    /// Median of trigger time minus the expert's onset over matched spindles, s (`None`: none
    /// matched).
    pub median_delay_secs: Option<f64>,
    /// Detection F1 against scorer 1.
    pub f1: f64,
}

impl TriggerScore {
    /// Pools `excerpts` (those scorer 1 scored).
    fn of<'a>(excerpts: impl IntoIterator<Item = &'a ExcerptResult>) -> Self {
        let (mut triggers, mut delays, mut scores) = (0, Vec::new(), Vec::new());
        for e in excerpts {
            let Some(r) = e.scorers.iter().find(|r| r.scorer == SCORER) else {
                continue;
            };
            triggers += e.triggers;
            scores.push(r.detector);
            delays.extend_from_slice(&r.delays_secs);
        }
        let pooled = EventScore::pooled(&scores);
        delays.sort_by(f64::total_cmp);
        TriggerScore {
            triggers,
            matched: pooled.matched,
            detected: pooled.detected,
            expert: pooled.expert,
            trigger_precision: if triggers == 0 {
                0.0
            } else {
                pooled.matched as f64 / triggers as f64
            },
            median_delay_secs: median_sorted(&delays),
            f1: pooled.f1,
        }
    }

    /// Whether the median delay is within [`MAX_DELAY_SECS`].
    fn in_time(&self) -> bool {
        self.median_delay_secs
            .is_some_and(|d| d <= MAX_DELAY_SECS + 1e-9)
    }
}

/// One point of the curve: a setting and its pooled score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The setting, e.g. `confirm_hops 3` or `threshold 0.5, confirm_hops 2`.
    pub setting: String,
    /// Pooled over every excerpt.
    pub score: TriggerScore,
}

/// The operating point chosen for one held-out excerpt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutChoice {
    /// The excerpt scored.
    pub excerpt: u32,
    /// The setting chosen on the other excerpts (`None`: no setting met the delay there).
    pub setting: Option<String>,
}

/// The curve and its leave-one-excerpt-out operating point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerCurve {
    /// Detector name.
    pub detector: String,
    /// The largest median delay allowed at the operating point, s.
    pub max_delay_secs: f64,
    /// Every setting, pooled over every excerpt.
    pub points: Vec<CurvePoint>,
    /// The best setting on every excerpt together (in-sample).
    pub best_in_sample: Option<String>,
    /// Per excerpt, the setting chosen without it.
    pub held_out_choices: Vec<HeldOutChoice>,
    /// The held-out excerpts pooled, each scored at the setting chosen without it (the
    /// excerpts where no setting qualified are left out).
    pub held_out: TriggerScore,
    /// The detector's own setting, pooled over every excerpt, for comparison.
    pub default: TriggerScore,
    /// What the numbers are not blind to (a network trained on these excerpts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The settings a curve sweeps for `detector`, each as a detector and its label.
pub fn curve_settings(detector: &Detector) -> Result<Vec<(String, Detector)>> {
    match detector {
        Detector::A7(c) => Ok((1..=8)
            .map(|k| {
                (
                    format!("confirm_hops {k}"),
                    Detector::A7(SpindleConfig {
                        confirm_hops: k,
                        ..*c
                    }),
                )
            })
            .collect()),
        Detector::Net(card) => {
            if card.spindle.is_none() {
                return Err(OfflineError::request(format!(
                    "the card {} has no [spindle] table: it is not a spindle model",
                    card.path.display()
                )));
            }
            let mut out = Vec::new();
            for threshold in [0.3, 0.5, 0.7, 0.9] {
                for hops in [1, 2, 4, 6] {
                    let mut c = card.clone();
                    if let Some(s) = c.spindle.as_mut() {
                        s.threshold = threshold;
                        s.confirm_hops = hops;
                    }
                    out.push((
                        format!("threshold {threshold}, confirm_hops {hops}"),
                        Detector::Net(c),
                    ));
                }
            }
            Ok(out)
        }
    }
}

/// Whether `a` and `b` declare the same triggers (the same detector and settings).
fn same_trigger(a: &Detector, b: &Detector) -> bool {
    match (a, b) {
        (Detector::A7(x), Detector::A7(y)) => x == y,
        (Detector::Net(x), Detector::Net(y)) => x.path == y.path && x.spindle == y.spindle,
        _ => false,
    }
}

/// The best setting on `excerpts` of `runs` (index into `runs`): the highest trigger precision
/// among those whose median delay is within [`MAX_DELAY_SECS`] (a tie goes to the earlier).
fn best(runs: &[(String, Vec<ExcerptResult>)], keep: impl Fn(u32) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (_, excerpts)) in runs.iter().enumerate() {
        let s = TriggerScore::of(excerpts.iter().filter(|e| keep(e.excerpt)));
        if s.in_time() && best.is_none_or(|(_, p)| s.trigger_precision > p) {
            best = Some((i, s.trigger_precision));
        }
    }
    best.map(|(i, _)| i)
}

/// Runs every setting of `detector` over the excerpts in `dir`: the curve and its
/// leave-one-excerpt-out operating point. `own` holds the detector's own run over every excerpt
/// (as [`evaluate_dreams_with`] gives it); a setting equal to the detector's own reuses it.
pub fn trigger_curve(
    dir: &Path,
    detector: &Detector,
    own: &[ExcerptResult],
) -> Result<TriggerCurve> {
    let settings = curve_settings(detector)?;
    let own_in_sweep = settings.iter().any(|(_, d)| same_trigger(d, detector));
    let mut runs = Vec::new();
    for (label, d) in settings {
        let excerpts = if same_trigger(&d, detector) {
            own.to_vec()
        } else {
            evaluate_dreams_with(dir, &d, None)?.excerpts
        };
        runs.push((label, excerpts));
    }
    let points = runs
        .iter()
        .map(|(label, excerpts)| CurvePoint {
            setting: label.clone(),
            score: TriggerScore::of(excerpts),
        })
        .collect();
    // The detector's own setting is a candidate too when the sweep does not hold it.
    if !own_in_sweep {
        runs.push(("the detector's own setting".to_owned(), own.to_vec()));
    }
    let mut held_out_choices = Vec::new();
    let mut held: Vec<&ExcerptResult> = Vec::new();
    for n in own.iter().map(|e| e.excerpt) {
        let choice = best(&runs, |e| e != n);
        if let Some(i) = choice {
            held.extend(runs[i].1.iter().filter(|e| e.excerpt == n));
        }
        held_out_choices.push(HeldOutChoice {
            excerpt: n,
            setting: choice.map(|i| runs[i].0.clone()),
        });
    }
    Ok(TriggerCurve {
        detector: detector.name(),
        max_delay_secs: MAX_DELAY_SECS,
        points,
        best_in_sample: best(&runs, |_| true).map(|i| runs[i].0.clone()),
        held_out_choices,
        held_out: TriggerScore::of(held),
        default: TriggerScore::of(own),
        note: in_sample_note(detector),
    })
}

/// For a network whose card lists recordings that influenced it: a warning that the curve is
/// in-sample on those of them scored here.
fn in_sample_note(detector: &Detector) -> Option<String> {
    let Detector::Net(card) = detector else {
        return None;
    };
    let p = card.provenance.as_ref()?;
    (!p.influenced.is_empty()).then(|| {
        format!(
            "the network's card lists {} recording(s) that influenced it ({}): on those, the curve and its operating point are in-sample",
            p.influenced.len(),
            p.influenced.join(", ")
        )
    })
}

/// The curve as text.
pub fn format_curve(c: &TriggerCurve) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let ms = |d: Option<f64>| d.map_or("-".to_owned(), |d| format!("{:.0} ms", 1000.0 * d));
    let _ = writeln!(
        out,
        "\ntrigger trade-off of {} vs scorer 1, pooled (trigger precision = declared onsets whose spindle matches one scorer 1 marked):",
        c.detector
    );
    let _ = writeln!(
        out,
        "{:<44} {:>8} {:>10} {:>10} {:>6}",
        "setting", "triggers", "precision", "delay med", "F1"
    );
    let row = |out: &mut String, label: &str, s: &TriggerScore| {
        let _ = writeln!(
            out,
            "{:<44} {:>8} {:>10.3} {:>10} {:>6.3}",
            label,
            s.triggers,
            s.trigger_precision,
            ms(s.median_delay_secs),
            s.f1
        );
    };
    for p in &c.points {
        row(&mut out, &p.setting, &p.score);
    }
    let _ = writeln!(
        out,
        "operating point (best precision with median delay <= {:.0} ms), chosen leave one excerpt out:",
        1000.0 * c.max_delay_secs
    );
    for h in &c.held_out_choices {
        let _ = writeln!(
            out,
            "  excerpt {}: {}",
            h.excerpt,
            h.setting
                .as_deref()
                .unwrap_or("no setting meets the delay on the other excerpts")
        );
    }
    row(&mut out, "  held-out excerpts pooled", &c.held_out);
    row(&mut out, "  the detector's own setting", &c.default);
    if let Some(note) = &c.note {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
