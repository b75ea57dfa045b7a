//! Cost of one motor-imagery decision at 64 channels and 1 kHz (2-s windows), and of the
//! linear algebra inside it: the congruence `P C P` seen from a reference point and the
//! symmetric eigenproblems the Riemannian methods solve (eigenvalues only for the
//! minimum-distance-to-mean classifier, with eigenvectors for the tangent space).
//!
//! `decision_block` is the streaming decoder's cost for the 10-frame block that completes a
//! decision (band-pass, sliding moments, shrinkage, classification), measured warm; the
//! blocks between decisions are pushed untimed.
//!
//! `predict` here includes the window's covariance from its samples (64 × 2000), which the
//! streaming decoder instead keeps as sliding moments; the `neuroloop bench` rows time the
//! streaming path end to end.

use std::hint::black_box;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, Side};
use neuroloop_decoders::mi::model::{MiProtocol, TrainingInfo};
use neuroloop_decoders::mi::spd::SymEigenvalues;
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiMethod, MiModel, MiPredictor};
use neuroloop_decoders::{DecisionBuffer, Decoder, DecoderContext};

const CHANNELS: usize = 64;
const RATE_HZ: f64 = 1000.0;

/// Deterministic uniform noise in [-0.5, 0.5).
fn noise(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
}

/// Channel-major windows of two classes that differ in the variance of one channel each.
fn trials(protocol: &MiProtocol, labels: &[usize], seed: u64) -> Vec<Vec<f32>> {
    let (rows, len) = (protocol.window_rows(), protocol.window_frames());
    let mut state = seed;
    labels
        .iter()
        .map(|&y| {
            (0..rows * len)
                .map(|i| {
                    noise(&mut state)
                        * if i / len == (1 + 2 * y) % rows {
                            3.0
                        } else {
                            1.0
                        }
                })
                .collect()
        })
        .collect()
}

/// A well-conditioned SPD matrix: the covariance of 4 s of noise.
fn spd(seed: u64) -> Mat<f64> {
    let mut state = seed;
    let x = Mat::<f64>::from_fn(CHANNELS, 4000, |_, _| f64::from(noise(&mut state)));
    let mut c = Mat::zeros(CHANNELS, CHANNELS);
    matmul(
        c.as_mut(),
        Accum::Replace,
        x.as_ref(),
        x.transpose(),
        1.0 / 4000.0,
        Par::Seq,
    );
    c
}

fn bench_linear_algebra(c: &mut Criterion) {
    let (a, p) = (spd(1), spd(2));
    let mut group = c.benchmark_group("mi_linalg_64");
    let (mut tmp, mut inner) = (
        Mat::zeros(CHANNELS, CHANNELS),
        Mat::zeros(CHANNELS, CHANNELS),
    );
    group.bench_function("congruence_pcp", |b| {
        b.iter(|| {
            matmul(
                tmp.as_mut(),
                Accum::Replace,
                p.as_ref(),
                a.as_ref(),
                1.0,
                Par::Seq,
            );
            matmul(
                inner.as_mut(),
                Accum::Replace,
                tmp.as_ref(),
                p.as_ref(),
                1.0,
                Par::Seq,
            );
            black_box(&inner);
        });
    });
    let mut eig = SymEigenvalues::new(CHANNELS);
    let mut values = vec![0.0; CHANNELS];
    group.bench_function("eigenvalues", |b| {
        b.iter(|| black_box(eig.compute(black_box(a.as_ref()), &mut values)));
    });
    group.bench_function("eigendecomposition_faer", |b| {
        b.iter(|| black_box(a.self_adjoint_eigen(Side::Lower).is_ok()));
    });
    group.finish();
}

fn bench_decision(c: &mut Criterion) {
    let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
    let channels: Vec<String> = (0..CHANNELS).map(|i| format!("E{i}")).collect();
    let mut group = c.benchmark_group("mi_predict_64ch_1kHz_2s");
    group.sample_size(30);
    for method in [MiMethod::CspLda, MiMethod::TsLr, MiMethod::Mdm] {
        let protocol = MiProtocol::new(channels.clone(), RATE_HZ).for_method(method);
        let train = trials(&protocol, &labels, 1);
        let model = MiModel::fit(
            method,
            protocol.clone(),
            vec!["left_hand".into(), "right_hand".into()],
            &train,
            &labels,
            TrainingInfo::default(),
        )
        .expect("the benchmark calibration fits");
        let mut predictor = MiPredictor::new(model).expect("a fitted model is valid");
        let window = trials(&protocol, &[1], 7).remove(0);
        let mut proba = [0.0; 2];
        group.bench_function(method.name(), |b| {
            b.iter(|| black_box(predictor.predict(black_box(&window), &mut proba)));
        });
    }
    group.finish();
}

fn bench_streaming(c: &mut Criterion) {
    const BLOCK: usize = 10;
    let labels: Vec<usize> = (0..20).map(|i| i % 2).collect();
    let channels: Vec<String> = (0..CHANNELS).map(|i| format!("E{i}")).collect();
    let mut group = c.benchmark_group("mi_decision_block_64ch_1kHz_2s");
    group.sample_size(50);
    for method in [MiMethod::CspLda, MiMethod::TsLr, MiMethod::Mdm] {
        let protocol = MiProtocol::new(channels.clone(), RATE_HZ).for_method(method);
        let train = trials(&protocol, &labels, 1);
        let model = MiModel::fit(
            method,
            protocol,
            vec!["left_hand".into(), "right_hand".into()],
            &train,
            &labels,
            TrainingInfo::default(),
        )
        .expect("the benchmark calibration fits");
        let cfg = MiDecoderConfig::default();
        let step = (cfg.step_secs * RATE_HZ).round() as usize;
        let mut decoder = MiDecoder::new(model, cfg).expect("a fitted model is valid");
        decoder
            .prepare(&DecoderContext {
                sample_rate_hz: RATE_HZ,
                channel_labels: channels.clone(),
                max_block_frames: BLOCK,
                eeg: Vec::new(),
            })
            .expect("the stream matches the model");
        let mut state = 3;
        // One step of interleaved noise, replayed; its blocks are fed in turn.
        let data: Vec<f32> = (0..step * CHANNELS).map(|_| noise(&mut state)).collect();
        let mut out = DecisionBuffer::with_capacity(4);
        let mut frame = 0u64;
        let mut feed = |decoder: &mut MiDecoder, out: &mut DecisionBuffer, block: usize| {
            let start = block * BLOCK * CHANNELS;
            let stamps: Vec<f64> = (0..BLOCK)
                .map(|i| (frame + i as u64) as f64 / RATE_HZ)
                .collect();
            frame += BLOCK as u64;
            decoder.process(&data[start..start + BLOCK * CHANNELS], &stamps, out);
        };
        // Fill the first window.
        for i in 0..2 * RATE_HZ as usize / BLOCK {
            feed(&mut decoder, &mut out, i % (step / BLOCK));
        }
        group.bench_function(method.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for i in 0..step / BLOCK - 1 {
                        feed(&mut decoder, &mut out, i);
                    }
                    out.clear();
                    let t = Instant::now();
                    feed(&mut decoder, &mut out, step / BLOCK - 1);
                    total += t.elapsed();
                    assert_eq!(out.items().len(), 1, "the timed block completes a decision");
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_linear_algebra,
    bench_decision,
    bench_streaming
);
criterion_main!(benches);
