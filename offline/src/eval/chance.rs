//! Whether a cross-validated accuracy shows a decoder better than chance: the 95 % Wilson
//! score interval of the accuracy over its trials, compared with the chance level of the
//! classes. A calibration of a few trials can score well above chance by luck; its interval
//! says so, and a model whose interval reaches down to chance is not shown to work.

use serde::Serialize;

/// An accuracy over `trials` with its 95 % interval, beside chance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChanceCheck {
    /// Fraction correct.
    pub accuracy: f64,
    /// Lower end of the 95 % Wilson score interval.
    pub ci_low: f64,
    /// Upper end of that interval.
    pub ci_high: f64,
    /// Trials scored.
    pub trials: usize,
    /// Accuracy of guessing among the classes (1 / classes).
    pub chance: f64,
}

/// z of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

impl ChanceCheck {
    /// `correct` of `trials` with `classes` equally likely classes.
    pub fn new(correct: usize, trials: usize, classes: usize) -> ChanceCheck {
        let chance = 1.0 / classes.max(1) as f64;
        if trials == 0 {
            return ChanceCheck {
                accuracy: 0.0,
                ci_low: 0.0,
                ci_high: 1.0,
                trials,
                chance,
            };
        }
        let n = trials as f64;
        let p = correct.min(trials) as f64 / n;
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
        ChanceCheck {
            accuracy: p,
            ci_low: (centre - half).max(0.0),
            ci_high: (centre + half).min(1.0),
            trials,
            chance,
        }
    }

    /// A fraction `accuracy` of `trials` (a cross-validated accuracy recorded without its
    /// count of correct trials), with `classes` equally likely classes.
    pub fn of_accuracy(accuracy: f64, trials: usize, classes: usize) -> ChanceCheck {
        let correct = (accuracy * trials as f64).round() as usize;
        ChanceCheck::new(correct, trials, classes)
    }

    /// Whether the whole interval lies above chance.
    pub fn above_chance(&self) -> bool {
        self.ci_low > self.chance
    }

    /// `62.5 % (95 % CI 38.6-81.5 %, 16 trials; chance 50 %)`.
    pub fn describe(&self) -> String {
        format!(
            "{:.1} % (95 % CI {:.1}-{:.1} %, {} trials; chance {:.0} %)",
            100.0 * self.accuracy,
            100.0 * self.ci_low,
            100.0 * self.ci_high,
            self.trials,
            100.0 * self.chance
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_their_closed_form_values() {
        // scipy.stats.binomtest(12, 16).proportion_ci(method="wilson") = (0.50502, 0.89818).
        let c = ChanceCheck::new(12, 16, 2);
        assert!((c.ci_low - 0.50502).abs() < 5e-5, "{c:?}");
        assert!((c.ci_high - 0.89818).abs() < 5e-5, "{c:?}");
        assert!(c.above_chance());
        // 16 of 40 in two classes: below chance.
        let c = ChanceCheck::new(16, 40, 2);
        assert!(!c.above_chance());
        // 11 of 16: above chance in a point estimate, not shown by the interval.
        let c = ChanceCheck::new(11, 16, 2);
        assert!(c.accuracy > c.chance && !c.above_chance(), "{c:?}");
        // Four classes: 10 of 20 is well above 25 %.
        assert!(ChanceCheck::new(10, 20, 4).above_chance());
        assert_eq!(
            ChanceCheck::new(0, 0, 2).describe(),
            "0.0 % (95 % CI 0.0-100.0 %, 0 trials; chance 50 %)"
        );
    }
}
