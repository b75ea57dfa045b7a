//! Helpers shared by the tests of the shipped models.

use std::path::PathBuf;

use neuroloop_decoders::onnx::{ModelCard, init, shipped_models_dir};

/// Whether ONNX Runtime is installed; says loudly that the test is skipped when it is not.
pub fn runtime_or_skip() -> bool {
    match init() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
            false
        }
    }
}

/// A copy of the shipped card `card` and its model `model` in a temporary folder named after
/// `tag`, the card's text edited by `edit`; returns the copied card's path.
pub fn edited_card(tag: &str, card: &str, model: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nl-card-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = shipped_models_dir();
    std::fs::copy(src.join(model), dir.join(model)).unwrap();
    let text = std::fs::read_to_string(src.join(card)).unwrap();
    std::fs::write(dir.join(card), edit(text)).unwrap();
    dir.join(card)
}

/// Checks that `first_output` (the model's first output for one input, `None` when it gives
/// none) reproduces every golden output `card` records, on the card's formula-made inputs
/// (every input dimension but the last taken as rows, the last as samples). Returns the
/// first golden input, for further checks.
pub fn check_golden(
    card: &ModelCard,
    mut first_output: impl FnMut(&[f32]) -> Option<f64>,
) -> Vec<f32> {
    let golden = card
        .golden
        .clone()
        .expect("the card records golden outputs");
    assert!(golden.outputs.len() >= 4);
    let dims: Vec<usize> = card
        .input
        .shape
        .iter()
        .map(|&d| d.max(1) as usize)
        .collect();
    let samples = *dims.last().unwrap();
    let rows = dims[..dims.len() - 1].iter().product();
    for (k, want) in golden.outputs.iter().enumerate() {
        let x = golden.input(k, rows, samples);
        let got = first_output(&x).unwrap_or_else(|| panic!("golden window {k}: no output"));
        assert!(
            (got - want).abs() <= 1e-6 + 1e-4 * want.abs(),
            "golden window {k}: the model gives {got}, its card {want}"
        );
    }
    golden.input(0, rows, samples)
}
