//! Throughput of the front-end chain on a 64-channel, 1 kHz stream: 50 Hz notch (Q 30),
//! Butterworth band-pass 1–40 Hz of order 4 (8 poles), then common average reference.
//!
//! One iteration processes one second of data (1000 frames × 64 channels = 64 000 samples)
//! in 32-frame chunks, as an LSL inlet delivers it; criterion reports samples per second as
//! "elements". `dsp/benches/scipy_peer.py` measures the same work in scipy and prints the
//! ratio from criterion's saved estimate.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::phase::{PhaseConfig, PhaseEstimate, PhaseEstimator};
use neuroloop_dsp::reref::common_average_interleaved;
use neuroloop_dsp::spectrum::Welch;

const FS: f64 = 1000.0;
const CHANNELS: usize = 64;
const FRAMES: usize = 1000;
const CHUNK: usize = 32;

fn chain() -> FilterChain {
    let mut chain = FilterChain::new(vec![
        FilterSpec::notch(50.0, 30.0, 1),
        FilterSpec::bandpass(1.0, 40.0, 4),
    ]);
    chain
        .prepare(FS, CHANNELS, CHUNK)
        .expect("the benchmark chain is valid");
    chain
}

/// One second of a deterministic multi-channel test signal.
fn one_second() -> Vec<f32> {
    (0..FRAMES * CHANNELS)
        .map(|i| {
            let (f, c) = (i / CHANNELS, i % CHANNELS);
            let t = f as f32 / FS as f32;
            50.0 * c as f32
                + 20.0 * (2.0 * std::f32::consts::PI * 10.0 * t + c as f32).sin()
                + 10.0 * (2.0 * std::f32::consts::PI * 50.0 * t).sin()
                + ((i * 7919) % 997) as f32 * 0.01
        })
        .collect()
}

fn bench_front_end(c: &mut Criterion) {
    let input = one_second();
    let mut group = c.benchmark_group("filter_chain");
    group.throughput(Throughput::Elements((FRAMES * CHANNELS) as u64));

    let mut front_end = chain();
    let mut block = input.clone();
    group.bench_function("64ch_1kHz_notch_bandpass4_car", |b| {
        b.iter(|| {
            block.copy_from_slice(&input);
            for chunk in block.chunks_mut(CHUNK * CHANNELS) {
                front_end.process_interleaved(chunk);
                common_average_interleaved(chunk, CHANNELS);
            }
            black_box(&block);
        });
    });

    let mut filters_only = chain();
    group.bench_function("64ch_1kHz_notch_bandpass4", |b| {
        b.iter(|| {
            block.copy_from_slice(&input);
            for chunk in block.chunks_mut(CHUNK * CHANNELS) {
                filters_only.process_interleaved(chunk);
            }
            black_box(&block);
        });
    });

    let mut wide_chain = chain();
    let wide_input: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
    let mut wide = wide_input.clone();
    group.bench_function("64ch_1kHz_notch_bandpass4_f64", |b| {
        b.iter(|| {
            wide.copy_from_slice(&wide_input);
            for chunk in wide.chunks_mut(CHUNK * CHANNELS) {
                wide_chain.process_interleaved_f64(chunk);
            }
            black_box(&wide);
        });
    });
    group.finish();
}

fn bench_analysis(c: &mut Criterion) {
    let input = one_second();
    let mut group = c.benchmark_group("analysis");

    // Welch PSD of one second of all 64 channels (channel-major), 256-sample segments.
    let mut welch = Welch::prepare(FS, 256, 128).expect("valid Welch settings");
    let mut channel_major = vec![0.0f32; input.len()];
    for (i, &v) in input.iter().enumerate() {
        channel_major[(i % CHANNELS) * FRAMES + i / CHANNELS] = v;
    }
    let mut psd = vec![0.0; welch.bins() * CHANNELS];
    group.throughput(Throughput::Elements((FRAMES * CHANNELS) as u64));
    group.bench_function("welch_64ch_1s_nperseg256", |b| {
        b.iter(|| {
            welch
                .psd_channel_major(&channel_major, CHANNELS, &mut psd)
                .expect("window is long enough");
            black_box(&psd);
        });
    });

    // Slow-oscillation phase of one channel for one second.
    let mut phase = PhaseEstimator::new(PhaseConfig::slow_oscillation());
    phase.prepare(FS).expect("valid phase settings");
    let mono: Vec<f32> = input.iter().step_by(CHANNELS).copied().collect();
    let mut out = vec![PhaseEstimate::default(); FRAMES];
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("phase_1ch_1s", |b| {
        b.iter(|| {
            phase
                .process_block(&mono, &mut out)
                .expect("buffer is large enough");
            black_box(&out);
        });
    });
    group.finish();
}

criterion_group!(benches, bench_front_end, bench_analysis);
criterion_main!(benches);
