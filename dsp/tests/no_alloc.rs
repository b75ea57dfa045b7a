//! Proves that the real-time methods neither allocate nor free once prepared: a global
//! allocator wrapper counts every allocation, reallocation and deallocation made by the
//! current thread while a closure runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use neuroloop_dsp::decimate::Decimator;
use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::filterbank::FilterBank;
use neuroloop_dsp::phase::{PhaseConfig, PhaseEstimate, PhaseEstimator};
use neuroloop_dsp::quality::{ChannelQuality, QualityConfig, QualityMonitor};
use neuroloop_dsp::reref::{
    BipolarMontage, ChannelSelection, common_average_interleaved,
    common_average_masked_interleaved, reference_channel_interleaved,
};
use neuroloop_dsp::spectrum::{Welch, band_power};
use neuroloop_dsp::window::RingWindow;

thread_local! {
    /// Heap operations by this thread while counting is armed.
    static OPERATIONS: Cell<usize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

struct CountingAllocator;

fn note() {
    // `try_with` because the allocator also runs while thread-locals are being destroyed.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = OPERATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Heap operations performed by `f` on this thread.
fn heap_operations(f: impl FnOnce()) -> usize {
    OPERATIONS.with(|n| n.set(0));
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    OPERATIONS.with(Cell::get)
}

#[test]
fn the_counter_sees_allocations() {
    let n = heap_operations(|| {
        let v: Vec<u8> = Vec::with_capacity(10);
        std::hint::black_box(&v);
    });
    assert_eq!(n, 2, "one allocation and one deallocation");
}

#[test]
fn prepared_processors_do_not_allocate() {
    let fs = 1000.0;
    let channels = 64;
    let frames = 32;
    let mut block: Vec<f32> = (0..frames * channels)
        .map(|i| ((i * 37) % 101) as f32 - 50.0)
        .collect();
    block[5] = f32::NAN;

    // Everything below is prepared (and allowed to allocate) before counting starts.
    let mut chain = FilterChain::new(vec![
        FilterSpec::notch(50.0, 30.0, 1),
        FilterSpec::bandpass(1.0, 40.0, 4),
    ]);
    chain.prepare(fs, channels, frames).unwrap();
    let mut replacement = chain
        .design_replacement(vec![
            FilterSpec::notch(60.0, 30.0, 1),
            FilterSpec::bandpass(2.0, 30.0, 4),
        ])
        .unwrap();
    let mut wide: Vec<f64> = block.iter().map(|&v| f64::from(v)).collect();
    let mut window = RingWindow::new(channels, 2000);
    let mut latest = vec![0.0f32; channels * 1000];
    let mut welch = Welch::prepare(fs, 256, 128).unwrap();
    let mut psd = vec![0.0; welch.bins() * channels];
    let mut phase = PhaseEstimator::new(PhaseConfig::slow_oscillation());
    phase.prepare(fs).unwrap();
    let mono: Vec<f32> = block.iter().step_by(channels).copied().collect();
    let mut estimates = vec![PhaseEstimate::default(); frames];
    let mut decimator = Decimator::new(4).unwrap();
    decimator.prepare(fs, channels, frames).unwrap();
    let mut decimated = vec![0.0f32; decimator.max_output_frames() * channels];
    let mut bank = FilterBank::fbcca(5, 4);
    bank.prepare(fs, channels, frames).unwrap();
    let mut monitor =
        QualityMonitor::prepare(QualityConfig::default(), fs, channels, 1000).unwrap();
    let mut quality = vec![ChannelQuality::default(); channels];
    let selection = ChannelSelection::new((0..channels).step_by(2).collect(), channels).unwrap();
    let montage = BipolarMontage::new(vec![(0, 1), (2, 3)], channels).unwrap();
    let mut selected = vec![0.0f32; frames * channels];
    let include: Vec<bool> = (0..channels).map(|c| c != 3).collect();
    let mut b = block.clone();

    let ops = heap_operations(|| {
        for _ in 0..50 {
            b.copy_from_slice(&block);
            chain.process_interleaved(&mut b);
            chain.process_interleaved_f64(&mut wide);
            common_average_interleaved(&mut b, channels);
            common_average_masked_interleaved(&mut b, &include).unwrap();
            reference_channel_interleaved(&mut b, channels, 0).unwrap();
            selection.select_interleaved(&b, &mut selected).unwrap();
            montage.apply_interleaved(&b, &mut selected).unwrap();
            window.push_interleaved(&b);
            window.latest_channel_major(1000, &mut latest);
            window.copy_range_channel_major(0, 10, &mut latest).ok();
            phase.process_block(&mono, &mut estimates).unwrap();
            decimator.process_interleaved(&b, &mut decimated).unwrap();
            bank.process_interleaved(&b).unwrap();
            std::hint::black_box(bank.band_output(4));
        }
        window.try_latest_channel_major(1000, &mut latest).unwrap();
        welch
            .psd_channel_major(&latest, channels, &mut psd)
            .unwrap();
        welch.psd(&latest[..1000], &mut psd).unwrap();
        band_power(&psd, welch.frequencies_hz(), 8.0, 12.0).unwrap();
        monitor.assess_channel_major(&latest, &mut quality).unwrap();
        // Real-time errors do not allocate either.
        assert!(window.try_latest_channel_major(5000, &mut latest).is_err());
        chain.replace_coefficients(&mut replacement).unwrap();
        chain.process_interleaved(&mut block);
        chain.reset();
        phase.reset();
        decimator.reset();
        bank.reset();
        window.clear();
    });
    assert_eq!(ops, 0, "heap operations on the real-time path");
    // The replaced coefficients, now in `replacement`, are dropped here, outside the counted
    // region.
    assert!(replacement.describe().starts_with("notch 50 Hz"));
    drop(replacement);
}
