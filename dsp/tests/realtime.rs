//! Behaviour the worker thread relies on: block boundaries do not matter, reset is exact,
//! non-finite input is reported and never poisons the state, overflow recovers.

use neuroloop_dsp::decimate::Decimator;
use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::filterbank::FilterBank;
use neuroloop_dsp::window::RingWindow;

const CHANNELS: usize = 4;
const FS: f64 = 250.0;

fn front_end() -> FilterChain {
    let mut chain = FilterChain::new(vec![
        FilterSpec::notch(50.0, 30.0, 2),
        FilterSpec::highpass(1.0, 2),
        FilterSpec::bandpass(1.0, 40.0, 4),
    ]);
    chain.prepare(FS, CHANNELS, 64).unwrap();
    chain
}

/// Deterministic EEG-ish interleaved test block with a DC offset per channel.
fn signal(frames: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..frames * CHANNELS)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let (f, c) = (i / CHANNELS, i % CHANNELS);
            let t = f as f32 / FS as f32;
            100.0 * c as f32
                + 20.0 * (2.0 * std::f32::consts::PI * 10.0 * t).sin()
                + 8.0 * (2.0 * std::f32::consts::PI * 50.0 * t).sin()
                + 10.0 * noise
        })
        .collect()
}

#[test]
fn block_and_sample_processing_agree_exactly() {
    let x = signal(1000);

    let mut whole = x.clone();
    front_end().process_interleaved(&mut whole);

    let mut by_frame = x.clone();
    let mut chain = front_end();
    for frame in by_frame.chunks_mut(CHANNELS) {
        chain.process_interleaved(frame);
    }
    assert_eq!(whole, by_frame);

    let mut uneven = x.clone();
    let mut chain = front_end();
    let mut rest = uneven.as_mut_slice();
    for (i, frames) in [1usize, 7, 64, 3, 33, 12].iter().cycle().enumerate() {
        if rest.is_empty() || i > 10_000 {
            break;
        }
        let take = (frames * CHANNELS).min(rest.len());
        let (head, tail) = rest.split_at_mut(take);
        chain.process_interleaved(head);
        rest = tail;
    }
    assert_eq!(whole, uneven);

    // The f64 path agrees with the f32 one up to the f32 rounding of the output.
    let mut wide: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    front_end().process_interleaved_f64(&mut wide);
    for (a, b) in whole.iter().zip(&wide) {
        assert_eq!(*a, *b as f32);
    }
}

#[test]
fn reset_repeats_the_output_exactly() {
    let x = signal(600);
    let mut chain = front_end();
    let mut first = x.clone();
    chain.process_interleaved(&mut first);
    chain.reset();
    let mut second = x.clone();
    chain.process_interleaved(&mut second);
    assert_eq!(first, second);

    let mut dec = Decimator::new(4).unwrap();
    dec.prepare(FS, CHANNELS, 600).unwrap();
    let mut a = vec![0.0f32; 150 * CHANNELS];
    let mut b = a.clone();
    dec.process_interleaved(&x, &mut a).unwrap();
    dec.reset();
    dec.process_interleaved(&x, &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn non_finite_samples_are_counted_held_and_do_not_poison_the_state() {
    let x = signal(500);
    let mut dirty = x.clone();
    // Channel 1 gets NaN, +inf and -inf at frames 100, 101 and 300.
    for (frame, v) in [
        (100, f32::NAN),
        (101, f32::INFINITY),
        (300, f32::NEG_INFINITY),
    ] {
        dirty[frame * CHANNELS + 1] = v;
    }
    let mut chain = front_end();
    let report = chain.process_interleaved(&mut dirty);
    assert_eq!(report.non_finite, 3);
    assert_eq!(report.frames, 500);
    assert_eq!(report.state_resets, 0);
    assert_eq!(chain.non_finite_counts(), &[0, 3, 0, 0]);
    assert!(dirty.iter().all(|v| v.is_finite()));

    // The policy is "hold the last finite sample": identical to filtering that repaired input.
    let mut repaired = x.clone();
    repaired[100 * CHANNELS + 1] = x[99 * CHANNELS + 1];
    repaired[101 * CHANNELS + 1] = x[99 * CHANNELS + 1];
    repaired[300 * CHANNELS + 1] = x[299 * CHANNELS + 1];
    front_end().process_interleaved(&mut repaired);
    assert_eq!(dirty, repaired);

    // Other channels are untouched by channel 1's trouble.
    let mut clean = x.clone();
    front_end().process_interleaved(&mut clean);
    for (i, (a, b)) in dirty.iter().zip(&clean).enumerate() {
        if i % CHANNELS != 1 {
            assert_eq!(a, b);
        }
    }

    // A channel that starts with NaN holds 0 until its first finite sample.
    let mut chain = front_end();
    let mut block = vec![f32::NAN; 2 * CHANNELS];
    let report = chain.process_interleaved(&mut block);
    assert_eq!(report.non_finite, 2 * CHANNELS);
    assert!(block.iter().all(|&v| v == 0.0));
}

#[test]
fn overflowing_state_is_reset_and_reported() {
    let mut chain = FilterChain::new(vec![FilterSpec::highpass(1.0, 4)]);
    chain.prepare(FS, 1, 16).unwrap();
    let mut block = vec![f64::MAX, -f64::MAX, f64::MAX, 0.0, 0.0];
    let report = chain.process_interleaved_f64(&mut block);
    assert!(report.state_resets > 0);
    assert!(block.iter().all(|v| v.is_finite()));
    assert!(chain.state_resets()[0] > 0);
    // Afterwards ordinary input is filtered normally again.
    let mut ones = vec![1.0; 2000];
    chain.process_interleaved_f64(&mut ones);
    assert!(ones.iter().all(|v| v.is_finite()));
    assert!(ones.last().unwrap().abs() < 1e-3);
}

#[test]
fn unprepared_chain_and_partial_frames_are_reported() {
    let mut chain = FilterChain::new(vec![FilterSpec::highpass(1.0, 2)]);
    let mut block = vec![1.0f32; 10];
    let report = chain.process_interleaved(&mut block);
    assert_eq!(report.ignored_samples, 10);
    assert_eq!(block, vec![1.0f32; 10]);

    let mut chain = front_end();
    let mut block = vec![1.0f32; 2 * CHANNELS + 3];
    let report = chain.process_interleaved(&mut block);
    assert_eq!(report.frames, 2);
    assert_eq!(report.ignored_samples, 3);
    assert_eq!(&block[2 * CHANNELS..], &[1.0, 1.0, 1.0]);
}

#[test]
fn decimator_and_filter_bank_ignore_block_boundaries() {
    let x = signal(999);
    let mut whole = Decimator::new(3).unwrap();
    whole.prepare(FS, CHANNELS, 999).unwrap();
    let mut expected = vec![0.0f32; 333 * CHANNELS];
    let r = whole.process_interleaved(&x, &mut expected).unwrap();
    assert_eq!(r.frames, 333);

    let mut split = Decimator::new(3).unwrap();
    split.prepare(FS, CHANNELS, 64).unwrap();
    let mut got = Vec::new();
    let mut out = vec![0.0f32; split.max_output_frames() * CHANNELS];
    for chunk in x.chunks(17 * CHANNELS) {
        let r = split.process_interleaved(chunk, &mut out).unwrap();
        got.extend_from_slice(&out[..r.frames * CHANNELS]);
    }
    assert_eq!(got, expected);

    let mut bank = FilterBank::fbcca(3, 4);
    bank.prepare(FS, CHANNELS, 999).unwrap();
    bank.process_interleaved(&x).unwrap();
    let whole_band: Vec<f32> = bank.band_output(2).to_vec();
    bank.reset();
    let mut pieces = Vec::new();
    for chunk in x.chunks(41 * CHANNELS) {
        bank.process_interleaved(chunk).unwrap();
        pieces.extend_from_slice(bank.band_output(2));
    }
    assert_eq!(pieces, whole_band);
}

#[test]
fn ring_window_holds_the_latest_frames_whatever_the_chunking() {
    let x = signal(300);
    let mut a = RingWindow::new(CHANNELS, 128);
    let mut b = RingWindow::new(CHANNELS, 128);
    a.push_interleaved(&x);
    for chunk in x.chunks(13 * CHANNELS) {
        b.push_interleaved(chunk);
    }
    let mut wa = vec![0.0; CHANNELS * 100];
    let mut wb = wa.clone();
    a.try_latest_channel_major(100, &mut wa).unwrap();
    b.try_latest_channel_major(100, &mut wb).unwrap();
    assert_eq!(wa, wb);
    for c in 0..CHANNELS {
        for i in 0..100 {
            assert_eq!(wa[c * 100 + i], x[(200 + i) * CHANNELS + c]);
        }
    }
}
