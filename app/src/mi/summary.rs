//! What a motor-imagery run did: the calibration and its cross-validation, the model used and
//! how it compares with chance, and the feedback trials with their confusion matrix; shown at
//! the end of the run and saved beside its last recording as JSON.

use std::path::{Path, PathBuf};

use neuroloop_acquisition::MiClass;
use neuroloop_offline::eval::chance::ChanceCheck;
use serde::Serialize;

/// One method's cross-validation on the calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    /// The method.
    pub method: String,
    /// Held-out accuracy.
    pub accuracy: f64,
    /// Cohen's kappa.
    pub kappa: f64,
}

/// The feedback run's trials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackScore {
    /// Trials scored.
    pub trials: usize,
    /// Trials decoded as cued.
    pub correct: usize,
    /// The accuracy with its 95 % interval beside chance.
    pub accuracy: ChanceCheck,
    /// Rows: the cued class (in `classes` order); columns: the decoded class, then "none"
    /// (no decision covered the trial).
    pub confusion: Vec<Vec<usize>>,
    /// The feedback recording.
    pub recording: Option<String>,
}

/// A motor-imagery run, as far as it went.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct MiSummary {
    /// Classes cued.
    pub classes: Vec<String>,
    /// Calibration trials recorded (0: none).
    pub calibration_trials: usize,
    /// The calibration recording.
    pub calibration_recording: Option<String>,
    /// Cross-validation of each method fitted on the calibration.
    pub cross_validation: Vec<MethodScore>,
    /// The method of the model used for feedback.
    pub model_method: Option<String>,
    /// Where the fitted model was saved.
    pub model_path: Option<String>,
    /// The model's cross-validated accuracy against chance.
    pub model_check: Option<ChanceCheck>,
    /// Whether the user chose feedback from a model not shown above chance.
    pub confirmed_below_chance: bool,
    /// The feedback run, when one ended.
    pub feedback: Option<FeedbackScore>,
}

impl MiSummary {
    /// The feedback run's score from its trials (cued, decoded).
    pub fn score_feedback(
        classes: &[MiClass],
        results: &[(MiClass, Option<MiClass>)],
        recording: Option<&Path>,
    ) -> FeedbackScore {
        let k = classes.len();
        let mut confusion = vec![vec![0usize; k + 1]; k];
        for &(cued, decoded) in results {
            let Some(row) = classes.iter().position(|&c| c == cued) else {
                continue;
            };
            let col = decoded
                .and_then(|d| classes.iter().position(|&c| c == d))
                .unwrap_or(k);
            confusion[row][col] += 1;
        }
        let correct = (0..k).map(|i| confusion[i][i]).sum();
        FeedbackScore {
            trials: results.len(),
            correct,
            accuracy: ChanceCheck::new(correct, results.len(), k),
            confusion,
            recording: recording.map(|p| p.display().to_string()),
        }
    }

    /// Saves the summary as JSON beside the recording (`NAME.summary.json`).
    pub fn save_beside(&self, recording: &Path) -> std::io::Result<PathBuf> {
        neuroloop_runtime::report::SessionReport::save_json_beside(recording, self)
    }
}

/// The confusion matrix as a grid: cued classes down, decoded classes (and "none") across.
pub fn confusion_ui(ui: &mut egui::Ui, classes: &[MiClass], score: &FeedbackScore) {
    egui::Grid::new("mi-confusion")
        .striped(true)
        .show(ui, |ui| {
            ui.label(egui::RichText::new("cued \\ decoded").strong());
            for c in classes {
                ui.label(egui::RichText::new(c.name()).strong());
            }
            ui.label(egui::RichText::new("none").strong());
            ui.end_row();
            for (row, cued) in classes.iter().enumerate() {
                ui.label(egui::RichText::new(cued.name()).strong());
                for (col, n) in score.confusion[row].iter().enumerate() {
                    let text = egui::RichText::new(n.to_string()).monospace();
                    ui.label(if col == row { text.strong() } else { text });
                }
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_trials_fill_the_confusion_matrix() {
        let (l, r) = (MiClass::LeftHand, MiClass::RightHand);
        let results = [
            (l, Some(l)),
            (l, Some(r)),
            (r, Some(r)),
            (r, None),
            (r, Some(r)),
        ];
        let s = MiSummary::score_feedback(&[l, r], &results, None);
        assert_eq!(s.confusion, vec![vec![1, 1, 0], vec![0, 2, 1]]);
        assert_eq!((s.correct, s.trials), (3, 5));
        assert_eq!(s.accuracy.chance, 0.5);
    }
}
