//! The shipped motor-imagery network loads, computes what its card recorded at training
//! time, decodes a stream allocation-free like the fitted decoders, and a card that does not
//! fit its network is refused with the fix.

use std::path::PathBuf;

use neuroloop_decoders::mi::net::MI_NET_CARD;
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiNet};
use neuroloop_decoders::onnx::{ModelCard, OnnxModel};
use neuroloop_decoders::{DecisionBuffer, Decoder, DecoderContext};

mod common;
use common::runtime_or_skip;

fn shipped() -> ModelCard {
    ModelCard::shipped(MI_NET_CARD).expect("the shipped card reads")
}

/// A copy of the shipped card in a temporary folder, edited by `edit`.
fn edited_card(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    common::edited_card(name, MI_NET_CARD, "mi-net.onnx", edit)
}

#[test]
fn the_shipped_card_describes_its_network() {
    let card = shipped();
    assert_eq!(card.name, "mi-net");
    let mi = card.mi.clone().expect("a motor-imagery model");
    assert_eq!(mi.class_names, ["left_hand", "right_hand"]);
    let frames = mi.protocol().window_frames() as i64;
    assert_eq!(card.input.shape, [1, mi.channels.len() as i64, frames]);
    assert_eq!(card.output.shape, [1, 2]);
    for key in ["accuracy_imagined", "kappa_imagined", "trials_imagined"] {
        assert!(card.validation_number(key).is_some(), "card lacks {key}");
    }
    assert!(card.training.contains_key("command"));
}

#[test]
fn the_shipped_network_reproduces_its_golden_outputs() {
    if !runtime_or_skip() {
        return;
    }
    let card = shipped();
    let mut net = MiNet::load(&card).unwrap();
    let mut proba = [0.0; 2];
    let mut x = common::check_golden(&card, |x| {
        assert!(net.predict(x, &mut proba));
        assert!((proba[0] + proba[1] - 1.0).abs() < 1e-5, "{proba:?}");
        Some(proba[0])
    });
    // Non-finite input: no probabilities, no crash.
    x[5] = f32::NAN;
    assert!(!net.predict(&x, &mut proba));
}

#[test]
fn the_network_decodes_a_stream_at_every_step() {
    if !runtime_or_skip() {
        return;
    }
    let net = MiNet::shipped().unwrap();
    let cfg = net.config().clone();
    let mut decoder = MiDecoder::with_net(net, MiDecoderConfig::default());
    assert_eq!(decoder.name(), "mi-mi-net");
    let fs = cfg.sample_rate_hz;
    // The card's channels plus two it does not use, in another order.
    let mut labels: Vec<String> = cfg.channels.iter().rev().cloned().collect();
    labels.insert(3, "O1".into());
    labels.push("O2".into());
    let n = labels.len();
    let ctx = DecoderContext {
        sample_rate_hz: fs,
        channel_labels: labels.clone(),
        max_block_frames: 16,
        eeg: Vec::new(),
    };
    decoder.prepare(&ctx).unwrap();
    let mut out = DecisionBuffer::with_capacity(64);
    let mut decisions = Vec::new();
    let secs = 6.0;
    let frames = (secs * fs) as usize;
    let mut block = vec![0.0f32; 16 * n];
    let mut stamps = vec![0.0f64; 16];
    let mut t = 0usize;
    while t < frames {
        for (k, s) in stamps.iter_mut().enumerate() {
            *s = (t + k) as f64 / fs;
            for c in 0..n {
                let x = (t + k) as f64 / fs;
                block[k * n + c] = (10.0
                    * (2.0 * std::f64::consts::PI * (10.0 + c as f64 * 0.3) * x).sin())
                    as f32;
            }
        }
        out.clear();
        decoder.process(&block, &stamps, &mut out);
        decisions.extend(out.items().iter().map(|(_, d)| *d));
        t += 16;
    }
    // Windows full after window_secs, then one decision every 0.25 s.
    let expected = ((secs - cfg.window_secs) / 0.25) as usize;
    assert!(
        decisions.len() + 1 >= expected && decisions.len() <= expected + 1,
        "{} decisions, expected about {expected}",
        decisions.len()
    );
    for d in &decisions {
        assert!(d.score >= 0.5 && d.score <= 1.0, "{d:?}");
        assert!((d.window_secs - cfg.window_secs as f32).abs() < 1e-6);
    }
    // The network sees the signal: the decisions' probabilities vary with the window.
    let (lo, hi) = decisions.iter().fold((1.0f32, 0.0f32), |(lo, hi), d| {
        (lo.min(d.score), hi.max(d.score))
    });
    assert!(hi - lo > 1e-4, "every decision has probability {lo}");
    // A stream without the card's channels is refused at prepare.
    let mut decoder = MiDecoder::with_net(MiNet::shipped().unwrap(), MiDecoderConfig::default());
    let err = decoder
        .prepare(&DecoderContext {
            sample_rate_hz: fs,
            channel_labels: vec!["O1".into(), "O2".into()],
            max_block_frames: 16,
            eeg: Vec::new(),
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not in the stream"), "{err}");
}

#[test]
fn a_card_that_does_not_fit_its_network_is_refused_with_the_fix() {
    if !runtime_or_skip() {
        return;
    }
    // The [mi] window no longer matches the input shape.
    let path = edited_card("window", |t| {
        t.replace("window_secs = 2.0", "window_secs = 3.0")
    });
    let text = MiNet::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("[1, channels, window samples]"), "{text}");
    // Three classes for a two-output network.
    let path = edited_card("classes", |t| {
        t.replace(
            "class_names = [\"left_hand\", \"right_hand\"]",
            "class_names = [\"left_hand\", \"right_hand\", \"feet\"]",
        )
    });
    let text = MiNet::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("[1, classes]"), "{text}");
    // Not a motor-imagery card at all.
    let spindle = ModelCard::shipped("spindle-net.toml").unwrap();
    let text = MiNet::load(&spindle).unwrap_err().to_string();
    assert!(text.contains("no [mi] table"), "{text}");
    // The graph itself disagrees with the card.
    let path = edited_card("graph", |t| {
        t.replace("shape = [1, 2]", "shape = [1, 3]").replace(
            "class_names = [\"left_hand\", \"right_hand\"]",
            "class_names = [\"left_hand\", \"right_hand\", \"feet\"]",
        )
    });
    let card = ModelCard::read(&path).unwrap();
    let text = OnnxModel::load(&card).unwrap_err().to_string();
    assert!(text.contains("retrain"), "{text}");
}
