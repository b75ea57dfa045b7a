//! Golden-vector tests: designs and outputs against scipy.signal, read from the fixtures that
//! `dsp/tests/golden/generate.py` writes. Errors are relative to the reference signal's peak
//! magnitude (`max |rust - scipy| / max |scipy|`), since pointwise relative error is undefined
//! at zero crossings.

use std::path::PathBuf;

use neuroloop_dsp::decimate::{Decimator, decimate_causal, decimate_zero_phase};
use neuroloop_dsp::filter::{
    FilterChain, FilterKind, FilterSpec, Sos, design_chain, sosfilt, sosfiltfilt,
};
use neuroloop_dsp::phase::analytic_signal;
use neuroloop_dsp::spectrum::Welch;
use serde_json::Value;

/// Agreement required with scipy on the f64 path.
const TOLERANCE: f64 = 1e-6;

struct Golden {
    manifest: Value,
    data: Vec<f64>,
}

impl Golden {
    fn load() -> Golden {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap())
                .unwrap();
        let bytes = std::fs::read(dir.join("golden.bin")).unwrap();
        let data = bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        Golden { manifest, data }
    }

    fn array(&self, reference: &Value) -> &[f64] {
        let offset = reference[0].as_u64().unwrap() as usize;
        let len = reference[1].as_u64().unwrap() as usize;
        &self.data[offset..offset + len]
    }

    fn input(&self, case: &Value) -> Vec<f64> {
        let name = case["input"].as_str().unwrap();
        let x = self.array(&self.manifest["inputs"][name]);
        match case["len"].as_u64() {
            Some(n) => x[..n as usize].to_vec(),
            None => x.to_vec(),
        }
    }

    fn cases(&self, group: &str) -> &[Value] {
        self.manifest[group].as_array().unwrap()
    }
}

/// `max |actual - expected| / max |expected|`.
fn rel_err(actual: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let scale = expected
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-300);
    actual
        .iter()
        .zip(expected)
        .fold(0.0f64, |m, (a, e)| m.max((a - e).abs()))
        / scale
}

fn spec_from_json(v: &Value) -> FilterSpec {
    let f = |k: &str| v[k].as_f64().unwrap();
    let order = v["order"].as_u64().unwrap_or(2) as usize;
    let kind = match v["kind"].as_str().unwrap() {
        "highpass" => FilterKind::HighPass {
            cutoff_hz: f("cutoff_hz"),
        },
        "lowpass" => FilterKind::LowPass {
            cutoff_hz: f("cutoff_hz"),
        },
        "bandpass" => FilterKind::BandPass {
            low_hz: f("low_hz"),
            high_hz: f("high_hz"),
        },
        "bandstop" => FilterKind::BandStop {
            low_hz: f("low_hz"),
            high_hz: f("high_hz"),
        },
        "notch" => FilterKind::Notch {
            freq_hz: f("freq_hz"),
            quality: f("quality"),
            harmonics: v["harmonics"].as_u64().unwrap() as usize,
        },
        other => panic!("unknown kind {other}"),
    };
    FilterSpec { kind, order }
}

fn specs_of(case: &Value) -> Vec<FilterSpec> {
    case["specs"]
        .as_array()
        .unwrap()
        .iter()
        .map(spec_from_json)
        .collect()
}

/// Sections of a golden case as rows.
fn rows(flat: &[f64]) -> Vec<[f64; 6]> {
    flat.chunks_exact(6)
        .map(|r| r.try_into().unwrap())
        .collect()
}

#[test]
fn designs_match_scipy_section_by_section() {
    let g = Golden::load();
    let mut worst = 0.0f64;
    for case in g.cases("filters") {
        let fs = case["fs"].as_f64().unwrap();
        let ours = design_chain(&specs_of(case), fs).unwrap();
        let theirs = rows(g.array(&case["sos"]));
        let name = case["name"].as_str().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}: section count");
        for (a, b) in ours.sections().iter().zip(&theirs) {
            let err = rel_err(a, b);
            worst = worst.max(err);
            assert!(err < 1e-9, "{name}: section {a:?} vs scipy {b:?}");
        }
    }
    println!("worst section coefficient relative error: {worst:.3e}");
}

#[test]
fn causal_and_zero_phase_outputs_match_scipy() {
    let g = Golden::load();
    let (mut worst_causal, mut worst_zero) = (0.0f64, 0.0f64);
    for case in g.cases("filters") {
        let name = case["name"].as_str().unwrap();
        let fs = case["fs"].as_f64().unwrap();
        let x = g.input(case);
        let sos = design_chain(&specs_of(case), fs).unwrap();

        let mut y = x.clone();
        sosfilt(&sos, &mut y, None);
        let e = rel_err(&y, g.array(&case["sosfilt"]));
        println!("{name:55} sosfilt {e:.2e}");
        assert!(e <= TOLERANCE, "{name}: sosfilt relative error {e:e}");
        worst_causal = worst_causal.max(e);

        let y = sosfiltfilt(&sos, &x).unwrap();
        let e = rel_err(&y, g.array(&case["sosfiltfilt"]));
        println!("{name:55} sosfiltfilt {e:.2e}");
        assert!(e <= TOLERANCE, "{name}: sosfiltfilt relative error {e:e}");
        worst_zero = worst_zero.max(e);
    }
    println!("worst relative error: sosfilt {worst_causal:.3e}, sosfiltfilt {worst_zero:.3e}");
}

#[test]
fn multichannel_chain_matches_scipy_on_every_channel() {
    let g = Golden::load();
    let mut worst = 0.0f64;
    for case in g.cases("filters") {
        let name = case["name"].as_str().unwrap();
        let fs = case["fs"].as_f64().unwrap();
        let x = g.input(case);
        let expected = g.array(&case["sosfilt"]);
        let channels = 3;
        let mut chain = FilterChain::new(specs_of(case));
        chain.prepare(fs, channels, 64).unwrap();
        // Channel c carries the input scaled by (c + 1), so per-channel state mix-ups show.
        let mut block: Vec<f64> = x
            .iter()
            .flat_map(|&v| (0..channels).map(move |c| v * (c + 1) as f64))
            .collect();
        for chunk in block.chunks_mut(37 * channels) {
            let report = chain.process_interleaved_f64(chunk);
            assert!(report.is_clean());
        }
        for c in 0..channels {
            let y: Vec<f64> = block
                .iter()
                .skip(c)
                .step_by(channels)
                .map(|v| v / (c + 1) as f64)
                .collect();
            let e = rel_err(&y, expected);
            worst = worst.max(e);
            assert!(e <= TOLERANCE, "{name}: channel {c} relative error {e:e}");
        }

        // The offline zero-phase path of the chain is scipy's sosfiltfilt too.
        let mut rows: Vec<f64> = (0..channels)
            .flat_map(|c| x.iter().map(move |v| v * (c + 1) as f64))
            .collect();
        chain.zero_phase_channel_major(&mut rows).unwrap();
        for (c, row) in rows.chunks(x.len()).enumerate() {
            let y: Vec<f64> = row.iter().map(|v| v / (c + 1) as f64).collect();
            let e = rel_err(&y, g.array(&case["sosfiltfilt"]));
            assert!(e <= TOLERANCE, "{name}: zero-phase channel {c} error {e:e}");
        }
    }
    println!("worst multichannel chain relative error: {worst:.3e}");
}

#[test]
fn f32_chain_stays_close_to_scipy() {
    // The pipeline's f32 samples are rounded on the way in and out; the f64 state keeps the
    // error at the level of that rounding.
    let g = Golden::load();
    let mut worst = 0.0f64;
    for case in g.cases("filters") {
        let fs = case["fs"].as_f64().unwrap();
        let x = g.input(case);
        let mut chain = FilterChain::new(specs_of(case));
        chain.prepare(fs, 1, 512).unwrap();
        let mut block: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        chain.process_interleaved(&mut block);
        let y: Vec<f64> = block.iter().map(|&v| f64::from(v)).collect();
        let e = rel_err(&y, g.array(&case["sosfilt"]));
        assert!(e < 1e-5, "{}: f32 error {e:e}", case["name"]);
        worst = worst.max(e);
    }
    println!("worst f32 chain relative error: {worst:.3e}");
}

#[test]
fn decimation_matches_scipy_decimate() {
    let g = Golden::load();
    let mut worst = 0.0f64;
    for case in g.cases("decimate") {
        let q = case["factor"].as_u64().unwrap() as usize;
        let fs = case["fs"].as_f64().unwrap();
        let x = g.input(case);

        let dec = Decimator::new(q).unwrap();
        let theirs = rows(g.array(&case["sos"]));
        let ours: &Sos = dec.sos();
        for (a, b) in ours.sections().iter().zip(&theirs) {
            assert!(rel_err(a, b) < 1e-9, "q={q}: {a:?} vs {b:?}");
        }

        let zero = decimate_zero_phase(&x, q).unwrap();
        let e1 = rel_err(&zero, g.array(&case["zero_phase"]));
        let causal = decimate_causal(&x, q).unwrap();
        let e2 = rel_err(&causal, g.array(&case["causal"]));

        // The streaming decimator, fed in uneven blocks, gives the causal result too.
        let mut dec = Decimator::new(q).unwrap();
        dec.prepare(fs, 1, 64).unwrap();
        let mut streamed = Vec::new();
        let mut out = vec![0.0f32; 64];
        let input: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for chunk in input.chunks(29) {
            let report = dec.process_interleaved(chunk, &mut out).unwrap();
            streamed.extend(out[..report.frames].iter().map(|&v| f64::from(v)));
        }
        let e3 = rel_err(&streamed, g.array(&case["causal"]));
        println!(
            "decimate q={q} @ {fs} Hz: zero-phase {e1:.2e}, causal {e2:.2e}, streamed f32 {e3:.2e}"
        );
        assert!(e1 <= TOLERANCE && e2 <= TOLERANCE, "q={q}: {e1:e} {e2:e}");
        assert!(e3 < 1e-5, "q={q}: streamed {e3:e}");
        worst = worst.max(e1).max(e2);
    }
    println!("worst decimation relative error: {worst:.3e}");
}

#[test]
fn welch_matches_scipy() {
    let g = Golden::load();
    let mut worst = 0.0f64;
    for case in g.cases("welch") {
        let fs = case["fs"].as_f64().unwrap();
        let nperseg = case["nperseg"].as_u64().unwrap() as usize;
        let noverlap = case["noverlap"].as_u64().unwrap() as usize;
        let x = g.input(case);
        let mut welch = Welch::prepare(fs, nperseg, noverlap).unwrap();
        let mut psd = vec![0.0; welch.bins()];
        welch.psd(&x, &mut psd).unwrap();
        let e_f = rel_err(welch.frequencies_hz(), g.array(&case["freqs"]));
        let e = rel_err(&psd, g.array(&case["psd"]));
        println!("welch fs={fs} nperseg={nperseg} noverlap={noverlap}: {e:.2e}");
        assert!(e_f < 1e-12, "frequencies {e_f:e}");
        assert!(e <= TOLERANCE, "welch nperseg={nperseg}: {e:e}");
        worst = worst.max(e);
    }
    println!("worst Welch relative error: {worst:.3e}");
}

#[test]
fn analytic_signal_matches_scipy_hilbert() {
    let g = Golden::load();
    for case in g.cases("hilbert") {
        let x = g.input(case);
        let z = analytic_signal(&x).unwrap();
        let re: Vec<f64> = z.iter().map(|c| c.0).collect();
        let im: Vec<f64> = z.iter().map(|c| c.1).collect();
        let e = rel_err(&re, g.array(&case["re"])).max(rel_err(&im, g.array(&case["im"])));
        println!("hilbert n={}: {e:.2e}", x.len());
        assert!(e <= TOLERANCE, "hilbert n={}: {e:e}", x.len());
    }
}
