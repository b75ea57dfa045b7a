//! The bench's LSL loopback: a simulated amplifier on LSL → neuroloop → its marker outlet →
//! a second inlet, every marker timed, beside its pylsl peer.

use neuroloop_tests::init_lsl;

/// `neuroloop bench`'s LSL loopback measures every decision marker that comes back, and its
/// pylsl peer runs here (the project's Python has pylsl) or says why not.
#[test]
fn bench_loopback_times_every_marker_beside_pylsl() {
    init_lsl();
    let l = neuroloop::bench::loopback::run(5.0).expect("the loopback runs");
    // 5 s of data: the first 2-s window, then a decision every 0.2 s.
    assert!(l.markers >= 10, "{l:?}");
    assert!(
        l.p50_ms > 0.0 && l.p50_ms <= l.p99_ms && l.p99_ms <= l.max_ms,
        "{l:?}"
    );
    assert!(
        l.pylsl_hop_p50_ms.is_some() || l.pylsl_note.is_some(),
        "{l:?}"
    );
    eprintln!(
        "loopback p50 {:.3} ms p99 {:.3} ms (n = {}); pylsl hop {:?} ms {:?}",
        l.p50_ms, l.p99_ms, l.markers, l.pylsl_hop_p50_ms, l.pylsl_note
    );
}
