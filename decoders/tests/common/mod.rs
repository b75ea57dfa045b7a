//! Helpers shared by the tests of the shipped models.

use std::path::PathBuf;

use neuroloop_decoders::onnx::{init, shipped_models_dir};

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
