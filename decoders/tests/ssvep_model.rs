//! The shipped SSVEP network loads, computes what its card recorded at training time, decodes
//! a stream onset-locked (one decision per flicker, at the card's window), and a card that does
//! not fit its network is refused with the fix.

use std::path::PathBuf;

use neuroloop_decoders::onnx::{ModelCard, OnnxModel};
use neuroloop_decoders::ssvep::SsvepNet;
use neuroloop_decoders::ssvep::net::SSVEP_NET_CARD;
use neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder;
use neuroloop_decoders::{DecisionBuffer, Decoder, DecoderContext};

mod common;
use common::runtime_or_skip;

fn shipped() -> ModelCard {
    ModelCard::shipped(SSVEP_NET_CARD).expect("the shipped card reads")
}

/// A copy of the shipped card in a temporary folder, edited by `edit`.
fn edited_card(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    common::edited_card(name, SSVEP_NET_CARD, "ssvep-net.onnx", edit)
}

#[test]
fn the_shipped_card_describes_its_network() {
    let card = shipped();
    assert_eq!(card.name, "ssvep-net");
    let c = card.ssvep.clone().expect("an SSVEP model");
    assert_eq!(c.targets_hz, [13.0, 17.0, 21.0]);
    assert_eq!(
        card.input.shape,
        [
            1,
            c.bands_hz.len() as i64,
            c.channels.len() as i64,
            c.window_frames() as i64
        ]
    );
    assert_eq!(card.output.shape, [1, 3]);
    for key in [
        "accuracy_nested_loso",
        "accuracy_in_sample",
        "accuracy_in_sample_fbcca",
        "trials",
    ] {
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
    let mut net = SsvepNet::load(&card).unwrap();
    let mut proba = [0.0; 3];
    let mut x = common::check_golden(&card, |x| {
        assert!(net.predict(x, &mut proba));
        assert!((proba.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{proba:?}");
        Some(proba[0])
    });
    // Non-finite input: no probabilities, no crash.
    x[7] = f32::INFINITY;
    assert!(!net.predict(&x, &mut proba));
    // A flat window has no correlations to weigh: no probabilities either.
    let flat = vec![0.0f32; x.len()];
    assert!(!net.predict(&flat, &mut proba));
}

/// Deterministic noise in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// A stream with the card's channels (plus one it does not use, in another order) holding
/// noise, and from each onset a 5-s flicker response at its target's frequency growing over
/// 0.5 s (as on the recordings the network was trained on): the decoder gives one decision
/// per onset, at the card's window, for the flickered target.
#[test]
fn the_network_decodes_each_flicker_from_its_onset() {
    if !runtime_or_skip() {
        return;
    }
    let net = SsvepNet::shipped().unwrap();
    let cfg = net.config().clone();
    let mut decoder = SsvepOnsetDecoder::net(net, 0.2);
    assert_eq!(decoder.name(), "ssvep-net");
    assert_eq!(decoder.class_names(), ["13Hz", "17Hz", "21Hz"]);
    let fs = cfg.sample_rate_hz;
    let mut labels: Vec<String> = cfg.channels.iter().rev().cloned().collect();
    labels.insert(2, "Cz".into());
    let n = labels.len();
    decoder
        .prepare(&DecoderContext {
            sample_rate_hz: fs,
            channel_labels: labels.clone(),
            max_block_frames: 32,
            eeg: Vec::new(),
        })
        .unwrap();
    // Trials every 8 s from 2 s: targets 1, 0, 2, 1.
    let trials = [(2.0, 1usize), (10.0, 0), (18.0, 2), (26.0, 1)];
    let frames = (34.0 * fs) as usize;
    let mut noise = Noise(7);
    let mut out = DecisionBuffer::with_capacity(8);
    let mut decisions = Vec::new();
    let mut block = vec![0.0f32; 32 * n];
    let mut stamps = vec![0.0f64; 32];
    let mut reported = 0;
    let mut t = 0usize;
    while t + 32 <= frames {
        for (k, s) in stamps.iter_mut().enumerate() {
            let time = (t + k) as f64 / fs;
            *s = 100.0 + time;
            let active = trials
                .iter()
                .find(|&&(onset, _)| time >= onset && time < onset + 5.0);
            for c in 0..n {
                let mut v = 2.0 * noise.next();
                if let Some(&(onset, target)) = active {
                    let f = cfg.targets_hz[target];
                    let gain = ((time - onset) / 0.5).min(1.0);
                    let phase = std::f64::consts::TAU * f * time + 0.3 * c as f64;
                    v += (gain * (phase.sin() + 0.4 * (2.0 * phase).sin())) as f32;
                }
                block[k * n + c] = v;
            }
        }
        // Each onset is reported once its block is due, as the speller reports it.
        while reported < trials.len() && 100.0 + trials[reported].0 <= stamps[31] {
            decoder.stimulus_onset(100.0 + trials[reported].0);
            reported += 1;
        }
        out.clear();
        decoder.process(&block, &stamps, &mut out);
        decisions.extend(out.items().iter().map(|(_, d)| *d));
        t += 32;
    }
    assert_eq!(decisions.len(), trials.len(), "{decisions:?}");
    for (d, &(onset, target)) in decisions.iter().zip(&trials) {
        assert_eq!(d.class as usize, target, "{d:?}");
        assert!((d.window_secs - cfg.window_secs as f32).abs() < 1e-6);
        // Decided on the window's last sample: 2 s after the onset.
        assert!(
            (d.sample_time - (100.0 + onset + cfg.window_secs)).abs() <= 1.5 / fs,
            "{d:?}"
        );
        assert!(d.score > 0.5 && d.score <= 1.0, "{d:?}");
    }
}

#[test]
fn a_card_or_stream_that_does_not_fit_the_network_is_refused_with_the_fix() {
    if !runtime_or_skip() {
        return;
    }
    // The [ssvep] window no longer matches the input shape.
    let path = edited_card("window", |t| {
        t.replace("window_secs = 2.0", "window_secs = 3.0")
    });
    let text = SsvepNet::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("[1, bands, channels, window samples]"),
        "{text}"
    );
    // Four targets for a three-output network.
    let path = edited_card("targets", |t| {
        t.replace(
            "targets_hz = [13.0, 17.0, 21.0]",
            "targets_hz = [13.0, 17.0, 21.0, 25.0]",
        )
    });
    let text = SsvepNet::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("[1, targets]"), "{text}");
    // A band above the Nyquist frequency.
    let path = edited_card("band", |t| t.replace("[40.0, 88.0]", "[40.0, 200.0]"));
    let text = SsvepNet::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("usable band-passes"), "{text}");
    // Not an SSVEP card at all.
    let text = SsvepNet::load(&ModelCard::shipped("mi-net.toml").unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("no [ssvep] table"), "{text}");
    // The graph itself disagrees with the card.
    let path = edited_card("graph", |t| {
        t.replace("shape = [1, 3]", "shape = [1, 4]").replace(
            "targets_hz = [13.0, 17.0, 21.0]",
            "targets_hz = [13.0, 17.0, 21.0, 25.0]",
        )
    });
    let text = OnnxModel::load(&ModelCard::read(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(text.contains("retrain"), "{text}");
    // A stream at another rate, or without the card's channels, is refused at prepare.
    let cfg = SsvepNet::shipped().unwrap().config().clone();
    for (rate, labels, want) in [
        (250.0, cfg.channels.clone(), "the stream runs at 250 Hz"),
        (
            cfg.sample_rate_hz,
            vec!["Cz".to_string(), "Pz".to_string()],
            "is not in the stream",
        ),
    ] {
        let mut decoder = SsvepOnsetDecoder::net(SsvepNet::shipped().unwrap(), 0.2);
        let err = decoder
            .prepare(&DecoderContext {
                sample_rate_hz: rate,
                channel_labels: labels,
                max_block_frames: 32,
                eeg: Vec::new(),
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
}
