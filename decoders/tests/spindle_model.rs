//! The shipped neural spindle model loads, computes what its card recorded at training time,
//! and every way a model and its card can disagree is reported with the fix.

use std::path::PathBuf;

use neuroloop_decoders::onnx::{
    ModelCard, ModelError, OnnxModel, SPINDLE_NET_CARD, load_spindle_net,
};

mod common;
use common::runtime_or_skip;

fn shipped() -> ModelCard {
    ModelCard::shipped(SPINDLE_NET_CARD).expect("the shipped card reads")
}

/// A copy of the shipped card in a temporary folder, edited by `edit`.
fn edited_card(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    common::edited_card(name, SPINDLE_NET_CARD, "spindle-net.onnx", edit)
}

#[test]
fn the_shipped_card_describes_its_model() {
    let card = shipped();
    assert_eq!(card.name, "spindle-net");
    assert_eq!(card.input.shape, [1, 3, 100]);
    let spindle = card.spindle.expect("a spindle model");
    assert_eq!(spindle.front_end.window_samples(), 100);
    assert!(spindle.threshold > 0.0 && spindle.threshold < 1.0);
    for key in [
        "loeo.f1_scorer1",
        "loeo.median_delay_ms_scorer1",
        "shipped.f1_scorer1",
        "shipped.median_delay_ms_scorer1",
    ] {
        assert!(card.validation_number(key).is_some(), "card lacks {key}");
    }
    assert!(card.training.contains_key("command"));
}

#[test]
fn the_shipped_model_reproduces_its_golden_outputs() {
    if !runtime_or_skip() {
        return;
    }
    let card = shipped();
    let mut model = OnnxModel::load(&card).unwrap();
    common::check_golden(&card, |x| model.run(x).ok().map(|y| f64::from(y[0])));
}

#[test]
fn a_card_whose_shape_does_not_match_the_model_is_refused_with_the_fix() {
    if !runtime_or_skip() {
        return;
    }
    let path = edited_card("shape", |t| {
        t.replace("shape = [1, 3, 100]", "shape = [1, 3, 200]")
            .replace("window_secs = 1.0", "window_secs = 2.0")
    });
    let card = ModelCard::read(&path).unwrap();
    let err = load_spindle_net(&card).unwrap_err();
    assert!(matches!(err, ModelError::Shape { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("[1, 3, 100]") && text.contains("[1, 3, 200]") && text.contains("retrain"),
        "{text}"
    );
}

#[test]
fn a_front_end_that_does_not_fit_the_input_is_refused() {
    let path = edited_card("front", |t| {
        t.replace("window_secs = 1.0", "window_secs = 1.5")
    });
    let card = ModelCard::read(&path).unwrap();
    let text = load_spindle_net(&card).unwrap_err().to_string();
    assert!(text.contains("does not fit its front end"), "{text}");
}

#[test]
fn a_missing_model_file_and_a_broken_card_are_named() {
    if !runtime_or_skip() {
        return;
    }
    let path = edited_card("missing", |t| t.replace("spindle-net.onnx", "absent.onnx"));
    let card = ModelCard::read(&path).unwrap();
    let text = OnnxModel::load(&card).unwrap_err().to_string();
    assert!(
        text.contains("absent.onnx") && text.contains("does not exist"),
        "{text}"
    );

    let path = edited_card("broken", |t| t.replace("[input]", "[inputs]"));
    let text = ModelCard::read(&path).unwrap_err().to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("training scripts"),
        "{text}"
    );

    let path = edited_card("garbage", |t| t);
    std::fs::write(path.with_file_name("spindle-net.onnx"), b"not a model").unwrap();
    let card = ModelCard::read(&path).unwrap();
    let text = OnnxModel::load(&card).unwrap_err().to_string();
    assert!(text.contains("could not be loaded"), "{text}");
}

#[test]
fn a_wrong_input_length_is_an_error_not_a_crash() {
    if !runtime_or_skip() {
        return;
    }
    let mut model = OnnxModel::load(&shipped()).unwrap();
    let text = model.run(&[0.0; 7]).unwrap_err().to_string();
    assert!(text.contains("7 input values"), "{text}");
}
