//! Interoperability with a real, independent LSL client: pylsl (with its own liblsl build).
//! pylsl must see neuroloop's outlets, and neuroloop must read a pylsl outlet.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use neuroloop_acquisition::lsl_io::{LslInletConfig, LslSource, MarkerOutlet, SignalOutlet};
use neuroloop_acquisition::{ReadStatus, Source, StreamMeta};
use neuroloop_tests::{init_lsl, python_with, unique_name};

/// pylsl resolves neuroloop's EEG and marker outlets by name, checks their metadata and
/// receives samples and markers with their values and timestamps.
#[test]
fn pylsl_reads_neuroloop_outlets() {
    init_lsl();
    let Some(py) = python_with(&["pylsl"]) else {
        return;
    };
    let eeg_name = unique_name("nl-py-eeg");
    let marker_name = unique_name("nl-py-markers");
    let meta = StreamMeta {
        channel_kinds: Vec::new(),
        line_hz: None,
        line_source: "",
        set_aside: Vec::new(),
        name: eeg_name.clone(),
        content_type: "EEG".into(),
        channel_labels: vec!["Fz".into(), "Cz".into(), "Oz".into()],
        sample_rate_hz: 100.0,
        source_id: format!("{eeg_name}-src"),
        hostname: String::new(),
    };
    let mut eeg = SignalOutlet::new(&meta, 10).unwrap();
    let mut markers = MarkerOutlet::new(&marker_name, &format!("{marker_name}-src")).unwrap();

    let script = r#"
import json, sys, pylsl
eeg_name, marker_name = sys.argv[1], sys.argv[2]
eeg = pylsl.resolve_byprop("name", eeg_name, 1, 10.0)[0]
mk = pylsl.resolve_byprop("name", marker_name, 1, 10.0)[0]
ei = pylsl.StreamInlet(eeg); mi = pylsl.StreamInlet(mk)
ei.open_stream(5.0); mi.open_stream(5.0)
info = ei.info(5.0)
ch = info.desc().child("channels").child("channel"); labels = []
while not ch.empty():
    labels.append(ch.child_value("label")); ch = ch.next_sibling()
print("READY", flush=True)
samples, stamps, texts, tstamps = [], [], [], []
while len(samples) < 50 or len(texts) < 3:
    s, t = ei.pull_sample(timeout=0.2)
    if s is not None: samples.append(s); stamps.append(t)
    m, mt = mi.pull_sample(timeout=0.0)
    if m is not None: texts.append(m[0]); tstamps.append(mt)
print(json.dumps({"type": info.type(), "rate": info.nominal_srate(), "channels": info.channel_count(),
    "labels": labels, "marker_type": mk.type(), "samples": samples[:50], "stamps": stamps[:50],
    "markers": texts, "marker_stamps": tstamps}), flush=True)
"#;
    let mut child = Command::new(&py)
        .args(["-c", script, &eeg_name, &marker_name])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    // pylsl is connected: publish 60 frames with known values and stamps, and 3 markers.
    let t0 = lsl::local_clock();
    for k in 0..60 {
        let values = [k as f32, -(k as f32), 0.5];
        eeg.push_chunk(&values, &[t0 + k as f64 / 100.0]).unwrap();
        if k % 20 == 0 {
            markers
                .push(&format!("test marker {k}"), t0 + k as f64 / 100.0)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let json: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(json["type"], "EEG");
    assert_eq!(json["rate"], 100.0);
    assert_eq!(json["channels"], 3);
    assert_eq!(json["labels"], serde_json::json!(["Fz", "Cz", "Oz"]));
    assert_eq!(json["marker_type"], "Markers");
    let samples = json["samples"].as_array().unwrap();
    let stamps = json["stamps"].as_array().unwrap();
    let first = samples[0][0].as_f64().unwrap() as usize;
    for (i, (s, t)) in samples.iter().zip(stamps).enumerate() {
        let k = (first + i) as f64;
        assert_eq!(s[0].as_f64().unwrap(), k);
        assert_eq!(s[1].as_f64().unwrap(), -k);
        // pylsl returns the sender's stamps (no clock correction requested).
        assert!((t.as_f64().unwrap() - (t0 + k / 100.0)).abs() < 1e-6);
    }
    let texts = json["markers"].as_array().unwrap();
    assert_eq!(texts[0], "test marker 0");
    let mt = json["marker_stamps"][0].as_f64().unwrap();
    assert!((mt - t0).abs() < 1e-6);
}

/// neuroloop's inlet reads a pylsl outlet: channel labels from its description, values and
/// stamps as sent.
#[test]
fn neuroloop_reads_a_pylsl_outlet() {
    init_lsl();
    let Some(py) = python_with(&["pylsl"]) else {
        return;
    };
    let name = unique_name("nl-pyout");
    let script = r#"
import sys, time, pylsl
name = sys.argv[1]
info = pylsl.StreamInfo(name, "EEG", 4, 200.0, "float32", name + "-src")
chs = info.desc().append_child("channels")
for l in ["C3", "C4", "O1", "O2"]:
    chs.append_child("channel").append_child_value("label", l)
out = pylsl.StreamOutlet(info)
print("READY", flush=True)
while not out.wait_for_consumers(0.1): pass
time.sleep(0.5)
t0 = pylsl.local_clock()
for k in range(400):
    out.push_sample([k, 2 * k, -k, 0.25], t0 + k / 200.0)
    if k % 10 == 9: time.sleep(0.04)
print(repr(t0), flush=True)
time.sleep(1.0)
"#;
    let mut child = Command::new(&py)
        .args(["-c", script, &name])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    let mut src = LslSource::open(LslInletConfig {
        name: Some(name.clone()),
        resolve_timeout_secs: 10.0,
        ..LslInletConfig::default()
    })
    .expect("neuroloop resolves the pylsl stream");
    assert_eq!(src.meta().channel_labels, vec!["C3", "C4", "O1", "O2"]);
    assert_eq!(src.meta().sample_rate_hz, 200.0);
    let mut values = vec![0.0f32; src.max_chunk_frames() * 4];
    let mut stamps = vec![0.0f64; src.max_chunk_frames()];
    let mut got_values = Vec::new();
    let mut got_stamps = Vec::new();
    let deadline = lsl::local_clock() + 20.0;
    while got_stamps.len() < 400 && lsl::local_clock() < deadline {
        if let ReadStatus::Frames(n) = src
            .read(
                &mut values,
                &mut stamps,
                &mut |_| {},
                Duration::from_millis(100),
            )
            .unwrap()
        {
            got_values.extend_from_slice(&values[..n * 4]);
            got_stamps.extend_from_slice(&stamps[..n]);
        }
    }
    let t0: f64 = lines.next().unwrap().unwrap().parse().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(got_stamps.len(), 400, "all samples arrive");
    for k in 0..400 {
        assert_eq!(got_values[4 * k], k as f32);
        assert_eq!(got_values[4 * k + 1], 2.0 * k as f32);
        assert_eq!(got_values[4 * k + 3], 0.25);
        // Clock-corrected stamps: same machine, so the offset is tiny.
        assert!(
            (got_stamps[k] - (t0 + k as f64 / 200.0)).abs() < 1e-3,
            "stamp {k}: {} vs {}",
            got_stamps[k],
            t0 + k as f64 / 200.0
        );
    }
    assert_eq!(src.gaps(), 0, "pauses of 40 ms between chunks are not gaps");
}
