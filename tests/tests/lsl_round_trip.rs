//! The whole loop on loopback LSL, in one process:
//! simulator → LSL EEG outlet → neuroloop inlet → filters → SSVEP decoder → LSL marker outlet →
//! a second inlet. Decisions must come back stamped with the stamp of the sample that
//! completed their window, one step apart, and mostly right.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsl::Pullable;
use neuroloop_acquisition::lsl_io::{LslInletConfig, VirtualAmplifier, run_virtual_amplifier};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_acquisition::{Pacing, TruthEvent, TruthKind};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use neuroloop_runtime::outputs::TruthMapping;
use neuroloop_runtime::{Session, SessionConfig, SessionDecoder, SourceSpec};
use neuroloop_tests::{init_lsl, unique_name};

const RATE_HZ: f64 = 250.0;
const WINDOW_SECS: f64 = 1.0;
const STEP_SECS: f64 = 0.2;

struct Received {
    text: String,
    stamp: f64,
    received_at: f64,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn decisions_return_over_lsl_stamped_with_their_samples() {
    init_lsl();
    let amp_name = unique_name("nl-amp");
    let marker_name = unique_name("nl-markers");
    let scenario = SsvepScenario {
        trial_secs: 3.0,
        rest_secs: 0.5,
        ..SsvepScenario::default()
    };
    let targets: Vec<f64> = scenario.targets.iter().map(|t| t.freq_hz).collect();
    let amp = VirtualAmplifier {
        sim: SimConfig {
            sample_rate_hz: RATE_HZ,
            scenario: Scenario::Ssvep(scenario),
            seed: 11,
            ..SimConfig::default()
        },
        name: amp_name.clone(),
        chunk_frames: 5,
        duration_secs: Some(12.0),
        pacing: Pacing::REAL_TIME,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::<f64>::new()));
    let truths = Arc::new(Mutex::new(Vec::<TruthEvent>::new()));
    let amp_thread = {
        let (stop, sent, truths) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&truths));
        std::thread::spawn(move || {
            run_virtual_amplifier(&amp, &stop, |_, stamps, t| {
                sent.lock().unwrap().extend_from_slice(stamps);
                truths.lock().unwrap().extend_from_slice(t);
            })
            .expect("virtual amplifier")
        })
    };

    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig {
        targets_hz: targets.clone(),
        window_secs: WINDOW_SECS,
        step_secs: STEP_SECS,
        ..SsvepCcaConfig::default()
    });
    let source = SourceSpec::Lsl(LslInletConfig {
        name: Some(amp_name.clone()),
        resolve_timeout_secs: 10.0,
        ..LslInletConfig::default()
    });
    let session = Session::start(
        SessionConfig::new(source)
            .decoder(SessionDecoder::new(decoder, TruthMapping::None))
            .markers(Some(marker_name.clone())),
    )
    .expect("session starts on the LSL stream");

    // The second inlet: reads neuroloop's markers like LabRecorder would.
    let receiver_stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let stop = Arc::clone(&receiver_stop);
        let name = marker_name.clone();
        std::thread::spawn(move || {
            let found = lsl::resolve_byprop("name", &name, 1, 10.0).expect("resolve markers");
            let info = found.first().expect("neuroloop's marker stream is visible");
            assert_eq!(info.stream_type(), "Markers");
            assert_eq!(info.channel_format(), lsl::ChannelFormat::String);
            assert_eq!(info.nominal_srate(), lsl::IRREGULAR_RATE);
            let inlet = lsl::StreamInlet::new(info, 360, 0, true).unwrap();
            inlet
                .set_postprocessing(&[lsl::ProcessingOption::ClockSync])
                .unwrap();
            inlet.open_stream(5.0).unwrap();
            let mut got = Vec::new();
            let mut buf: Vec<String> = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let ts = inlet.pull_sample_buf(&mut buf, 0.1).unwrap();
                if ts != 0.0 {
                    got.push(Received {
                        text: buf[0].clone(),
                        stamp: ts,
                        received_at: lsl::local_clock(),
                    });
                }
            }
            got
        })
    };

    let summary = amp_thread.join().unwrap();
    // Let the last windows through the pipeline and the marker stream.
    std::thread::sleep(Duration::from_millis(500));
    let outcome = session.stop();
    receiver_stop.store(true, Ordering::Release);
    let received = receiver.join().unwrap();
    assert!(outcome.acquisition_error.is_none(), "{outcome:?}");

    let sent = sent.lock().unwrap().clone();
    let truths = truths.lock().unwrap().clone();
    assert_eq!(summary.frames, (12.0 * RATE_HZ) as u64);
    // 12 s of data, first decision after 1 s, then every 0.2 s: ~55; the marker inlet
    // connects a little after the first decisions.
    assert!(
        received.len() >= 40,
        "only {} markers came back",
        received.len()
    );

    let step_frames = (STEP_SECS * RATE_HZ).round() as i64;
    let mut last_index: Option<i64> = None;
    let (mut scored, mut correct) = (0, 0);
    let mut transport_ms = Vec::new();
    for r in &received {
        assert!(r.text.starts_with("ssvep-cca "), "{}", r.text);
        // The marker stamp is the stamp of a sample that was sent.
        let idx = sent.partition_point(|&s| s < r.stamp - 1e-3);
        let nearest = sent[idx.min(sent.len() - 1)];
        assert!(
            (nearest - r.stamp).abs() < 1e-3,
            "marker at {} matches no sample (nearest {nearest})",
            r.stamp
        );
        let index = idx as i64;
        if let Some(prev) = last_index {
            assert_eq!(
                (index - prev) % step_frames,
                0,
                "decisions must be a whole number of steps apart"
            );
        }
        last_index = Some(index);
        transport_ms.push((r.received_at - r.stamp) * 1e3);
        let class: usize = field(&r.text, "index").unwrap().parse().unwrap();
        let latency: f64 = field(&r.text, "latency_ms").unwrap().parse().unwrap();
        assert!(latency >= 0.0);
        let start = r.stamp - WINDOW_SECS;
        if let Some(t) = truths
            .iter()
            .find(|t| start >= t.onset && r.stamp <= t.onset + t.duration_secs)
        {
            let TruthKind::SsvepTarget { index, .. } = t.kind else {
                panic!("SSVEP scenario has SSVEP truth")
            };
            scored += 1;
            correct += usize::from(class == usize::from(index));
        }
    }
    transport_ms.sort_by(f64::total_cmp);
    eprintln!(
        "{} markers; {correct}/{scored} correct; sample stamp -> marker received: median {:.2} ms, max {:.2} ms",
        received.len(),
        transport_ms[transport_ms.len() / 2],
        transport_ms[transport_ms.len() - 1]
    );
    assert!(scored >= 15, "{scored} decisions inside trials");
    // Plumbing check, not the decoder's evaluation: four targets make chance 25 %, and 2-s CCA
    // on the simulator's 3 µV responses in 10 µV background scores about 65-75 %.
    assert!(
        correct as f64 >= 0.5 * scored as f64,
        "{correct}/{scored} correct"
    );
}
