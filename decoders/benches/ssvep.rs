//! Time to score one SSVEP window against the 40-target benchmark set: 9 channels, 1 s at
//! 250 Hz, five filter-bank sub-bands (the filtering itself is the streaming front end's and
//! not counted). FBCCA computes five canonical correlations per target; TRCA and ensemble
//! TRCA one projection per band and one inner product per target.

use std::f64::consts::{PI, TAU};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use neuroloop_decoders::ssvep::cca::CcaScorer;
use neuroloop_decoders::ssvep::trca::{TrcaKind, TrcaModel, TrcaScorer};

const FS: f64 = 250.0;
const CHANNELS: usize = 9;
const SAMPLES: usize = 250;
const BANDS: usize = 5;
const TARGETS: usize = 40;

/// A deterministic window of target `k`'s response plus pseudo-random noise, per band.
fn window(k: usize, seed: usize) -> Vec<f32> {
    let f = 8.0 + 0.2 * k as f64;
    let phase = 0.5 * PI * k as f64;
    (0..BANDS * CHANNELS * SAMPLES)
        .map(|i| {
            let s = i % SAMPLES;
            let noise = (((i + seed * 7919) * 2_654_435_761) % 1000) as f64 / 1000.0 - 0.5;
            ((TAU * f * s as f64 / FS + phase).sin() + noise) as f32
        })
        .collect()
}

fn bench_scoring(c: &mut Criterion) {
    let weights: Vec<f64> = (1..=BANDS).map(|k| (k as f64).powf(-1.25) + 0.25).collect();
    let trials: Vec<Vec<f32>> = (0..2 * TARGETS).map(|i| window(i % TARGETS, i)).collect();
    let refs: Vec<&[f32]> = trials.iter().map(Vec::as_slice).collect();
    let labels: Vec<usize> = (0..2 * TARGETS).map(|i| i % TARGETS).collect();
    let model = TrcaModel::fit(&refs, &labels, TARGETS, CHANNELS, SAMPLES, &weights)
        .expect("the benchmark calibration fits");
    let test = window(17, 1000);
    let mut out = vec![0.0; TARGETS];
    let mut group = c.benchmark_group("ssvep_window_40_targets_9ch_1s_250Hz_5bands");
    for (name, kind) in [("trca", TrcaKind::Plain), ("etrca", TrcaKind::Ensemble)] {
        let mut scorer = TrcaScorer::new(model.clone(), kind);
        group.bench_function(name, |b| {
            b.iter(|| scorer.score(black_box(&test), &mut out));
        });
    }
    let freqs: Vec<f64> = (0..TARGETS).map(|k| 8.0 + 0.2 * k as f64).collect();
    let mut cca = CcaScorer::new(CHANNELS, SAMPLES, FS, &freqs, 3).expect("valid CCA setup");
    let mut rho = vec![0.0; TARGETS];
    group.bench_function("fbcca", |b| {
        b.iter(|| {
            out.fill(0.0);
            for (band, w) in black_box(&test).chunks(CHANNELS * SAMPLES).zip(&weights) {
                cca.score(band, &mut rho);
                for (o, r) in out.iter_mut().zip(&rho) {
                    *o += w * r * r;
                }
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_scoring);
criterion_main!(benches);
