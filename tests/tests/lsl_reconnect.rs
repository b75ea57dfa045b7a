//! A stream that vanishes and comes back: the inlet declares it lost, picks it up again,
//! marks the gap, and nothing crashes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neuroloop_acquisition::lsl_io::{LslInletConfig, LslSource, SignalOutlet};
use neuroloop_acquisition::{ReadStatus, Source, SourceEvent, StreamMeta};
use neuroloop_tests::{init_lsl, unique_name};

fn meta(name: &str) -> StreamMeta {
    StreamMeta {
        channel_kinds: Vec::new(),
        line_hz: None,
        line_source: "",
        set_aside: Vec::new(),
        name: name.into(),
        content_type: "EEG".into(),
        channel_labels: vec!["Cz".into(), "Pz".into()],
        sample_rate_hz: 100.0,
        source_id: format!("{name}-fixed-source-id"),
        hostname: String::new(),
    }
}

/// Publishes `frames` frames at 100 Hz in real time, counting from `first`.
fn publish(name: &str, first: usize, frames: usize, connected: &AtomicBool) {
    let mut out = SignalOutlet::new(&meta(name), 10).unwrap();
    let deadline = lsl::local_clock() + 10.0;
    while !out.has_consumers() && lsl::local_clock() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "DBG consumers={} at {}",
        out.has_consumers(),
        lsl::local_clock()
    );
    connected.store(true, Ordering::Release);
    for k in first..first + frames {
        out.push_chunk(&[k as f32, 0.0], &[lsl::local_clock()])
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    // The outlet is dropped here: the stream vanishes from the network.
}

#[test]
fn lost_stream_is_reported_and_recovered_with_a_gap() {
    init_lsl();
    let name = unique_name("nl-flaky");
    let connected = Arc::new(AtomicBool::new(false));
    let first = {
        let (name, c) = (name.clone(), Arc::clone(&connected));
        std::thread::spawn(move || publish(&name, 0, 100, &c))
    };
    let mut src = LslSource::open(LslInletConfig {
        name: Some(name.clone()),
        stall_timeout_secs: 0.5,
        resolve_timeout_secs: 10.0,
        ..LslInletConfig::default()
    })
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::<SourceEvent>::new()));
    let mut values = vec![0.0f32; src.max_chunk_frames() * 2];
    let mut stamps = vec![0.0f64; src.max_chunk_frames()];
    let mut seen = Vec::new();
    let mut read_for = |src: &mut LslSource, secs: f64, seen: &mut Vec<f32>| {
        let end = lsl::local_clock() + secs;
        while lsl::local_clock() < end {
            let ev = Arc::clone(&events);
            let status = src
                .read(
                    &mut values,
                    &mut stamps,
                    &mut |e| ev.lock().unwrap().push(e),
                    Duration::from_millis(50),
                )
                .expect("reading never fails while the stream is away");
            if let ReadStatus::Frames(n) = status {
                seen.extend((0..n).map(|i| values[2 * i]));
            }
        }
    };
    // First life of the stream, then its absence.
    read_for(&mut src, 1.5, &mut seen);
    first.join().unwrap();
    read_for(&mut src, 1.5, &mut seen);
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SourceEvent::StreamLost { .. })),
        "the stall is reported: {:?}",
        events.lock().unwrap()
    );
    // Second life, same source_id: liblsl recovers the inlet.
    connected.store(false, Ordering::Release);
    let second = {
        let (name, c) = (name.clone(), Arc::clone(&connected));
        std::thread::spawn(move || publish(&name, 1000, 100, &c))
    };
    read_for(&mut src, 4.0, &mut seen);
    second.join().unwrap();
    let events = events.lock().unwrap().clone();
    assert!(
        seen.contains(&5.0),
        "samples of the first life arrived: {events:?}"
    );
    assert!(
        seen.iter().any(|&v| v >= 1000.0),
        "samples of the second life arrived after recovery"
    );
    let lost = events
        .iter()
        .position(|e| matches!(e, SourceEvent::StreamLost { .. }))
        .unwrap();
    let back = events
        .iter()
        .position(|e| matches!(e, SourceEvent::Reconnected { .. }))
        .expect("reconnection is reported");
    assert!(back > lost);
    let gap = events
        .iter()
        .find_map(|e| match e {
            SourceEvent::Gap { missing_secs, .. } => Some(*missing_secs),
            _ => None,
        })
        .expect("the hole is marked as a gap");
    assert!(gap > 0.5, "gap of {gap} s");
    // The second life ends too (the publisher stops after a second), so the inlet may declare
    // a second loss; every loss is counted and reported.
    let reported = events
        .iter()
        .filter(|e| matches!(e, SourceEvent::StreamLost { .. }))
        .count();
    assert!(reported >= 1);
    assert_eq!(src.losses(), reported as u64);
}
