//! Motor-imagery calibration data: trials cut from recorded sessions whose cues are marker
//! annotations, for `neuroloop mi fit`.
//!
//! A cue is any annotation of the form `<prefix>/mi class=<name> ...`: the simulator's ground
//! truth (`truth/mi class=left_hand duration_s=4`, recorded by `--record`) and the cue markers
//! of a calibration paradigm (`cue/mi class=left_hand ...`). Classes are ordered as the
//! simulator orders them (left_hand, right_hand, feet, rest), other names after them
//! alphabetically.

use std::path::PathBuf;

use anyhow::{Context, bail};
use neuroloop_acquisition::MiClass;
use neuroloop_decoders::mi::model::MiProtocol;

use crate::eval::mi::{MiTrials, cut_trials};

/// The class named by a cue annotation, if it is one.
pub fn cue_class_name(text: &str) -> Option<&str> {
    let (head, rest) = text.split_once(' ')?;
    if !head.ends_with("/mi") {
        return None;
    }
    rest.split_whitespace()
        .find_map(|kv| kv.strip_prefix("class="))
        .filter(|c| !c.is_empty())
}

/// How calibration trials are cut.
#[derive(Debug, Clone)]
pub struct CalibrationCut {
    /// Channels to use (empty: every channel of the first recording).
    pub channels: Vec<String>,
    /// Band-pass.
    pub band_hz: (f64, f64),
    /// Window length.
    pub window_secs: f64,
    /// Window start after the cue.
    pub cue_offset_secs: f64,
}

impl Default for CalibrationCut {
    fn default() -> Self {
        CalibrationCut {
            channels: Vec::new(),
            band_hz: (8.0, 30.0),
            window_secs: 2.0,
            cue_offset_secs: 0.5,
        }
    }
}

/// Reads calibration recordings (XDF, EDF/BDF) and cuts one trial per cue.
pub fn load_calibration(files: &[PathBuf], cut: &CalibrationCut) -> anyhow::Result<MiTrials> {
    let mut recordings = Vec::new();
    for f in files {
        let r = neuroloop_formats::read_recording(f)
            .with_context(|| format!("reading calibration recording {}", f.display()))?;
        recordings.push(r);
    }
    let Some(first) = recordings.first() else {
        bail!("give at least one calibration recording");
    };
    let rate = first
        .common_sample_rate_hz()
        .or_else(|| first.channels.first().map(|c| c.sample_rate_hz))
        .context("the first recording has no channels")?;
    let channels = if cut.channels.is_empty() {
        first.channels.iter().map(|c| c.label.clone()).collect()
    } else {
        cut.channels.clone()
    };
    let mut names: Vec<String> = recordings
        .iter()
        .flat_map(|r| r.annotations.iter())
        .filter_map(|a| cue_class_name(&a.label).map(str::to_string))
        .collect();
    let rank = |n: &str| {
        MiClass::ALL
            .iter()
            .position(|c| c.name() == n)
            .unwrap_or(MiClass::ALL.len())
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    names.dedup();
    if names.len() < 2 {
        bail!(
            "the recordings hold cues of {} class(es) ({}); a decoder needs at least two: record a calibration with `<prefix>/mi class=NAME` cue markers (e.g. `neuroloop demo --scenario mi --record FILE.xdf`)",
            names.len(),
            names.join(", ")
        );
    }
    let protocol = MiProtocol {
        band_hz: cut.band_hz,
        window_secs: cut.window_secs,
        ..MiProtocol::new(channels, rate)
    };
    let mut out = MiTrials {
        protocol,
        class_names: names.clone(),
        trials: Vec::new(),
        labels: Vec::new(),
        source: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let classify = |text: &str| {
        let name = cue_class_name(text)?;
        names.iter().position(|n| n == name)
    };
    for (r, f) in recordings.iter().zip(files) {
        let protocol = out.protocol.clone();
        cut_trials(r, &protocol, &classify, cut.cue_offset_secs, &mut out)
            .with_context(|| format!("cutting trials from {}", f.display()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_markers_name_their_class() {
        assert_eq!(
            cue_class_name("truth/mi class=left_hand duration_s=4"),
            Some("left_hand")
        );
        assert_eq!(cue_class_name("cue/mi class=feet"), Some("feet"));
        assert_eq!(cue_class_name("truth/ssvep target=1 freq_hz=8"), None);
        assert_eq!(cue_class_name("T1"), None);
        assert_eq!(cue_class_name("cue/mi class="), None);
    }
}
