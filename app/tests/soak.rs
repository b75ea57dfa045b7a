//! Soak: an hour of simulated sleep (8 channels at 250 Hz) at maximum speed through the spindle
//! detector, the slow-oscillation trigger and the stimulation policy (dry run), recorded to
//! XDF: memory stays flat, nothing is dropped, and the recording holds every frame and every
//! stimulus as pyxdf reads it. `neuroloop bench --soak-hours 8` is the full night
//! (docs/PERFORMANCE.md). Alone in its test binary: another test's threads would move the
//! process's memory.

use neuroloop_tests::python_with;

#[test]
fn an_hour_of_sleep_at_maximum_speed_keeps_memory_flat_and_records_every_frame() {
    let dir = std::env::temp_dir().join(format!("neuroloop-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("soak.xdf");
    let r = neuroloop::bench::soak(1.0, Some(&rec)).unwrap();
    println!("{r:?}");
    assert!((r.data_hours - 1.0).abs() < 1e-3, "{r:?}");
    assert_eq!(r.frames_dropped, 0);
    assert!(r.decisions > 300 && r.stimuli > 100, "{r:?}");
    assert!(r.samples.len() >= 2, "{r:?}");
    assert!(
        r.rss_growth_mib < 2.0,
        "RSS grew {:.2} MiB",
        r.rss_growth_mib
    );
    assert_eq!(r.recorded_frames, 900_000);
    assert!(r.recording_bytes > 900_000 * 8 * 4, "{r:?}");

    // An independent reader: pyxdf loads the file; the EEG stream has every frame and the
    // event stream every stimulus the session commanded.
    if let Some(py) = python_with(&["pyxdf"]) {
        let script = r#"
import json, sys
import pyxdf
streams, _ = pyxdf.load_xdf(sys.argv[1])
out = []
for s in streams:
    info = s["info"]
    values = s["time_series"]
    commanded = 0
    if info["channel_format"][0] == "string":
        commanded = sum(1 for v in values if str(v[0]).startswith("stim/commanded"))
    out.append({"name": info["name"][0], "channels": int(info["channel_count"][0]),
                "samples": len(s["time_stamps"]), "commanded": commanded})
print(json.dumps(out))
"#;
        let output = std::process::Command::new(py)
            .arg("-c")
            .arg(script)
            .arg(&rec)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pyxdf failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let streams: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("pyxdf's summary");
        println!("{streams}");
        let streams = streams.as_array().unwrap();
        let eeg = streams
            .iter()
            .find(|s| s["channels"] == 8)
            .expect("an 8-channel EEG stream");
        assert_eq!(eeg["samples"], 900_000, "{eeg}");
        let commanded: u64 = streams
            .iter()
            .map(|s| s["commanded"].as_u64().unwrap())
            .sum();
        assert_eq!(commanded, r.stimuli);
    }
    std::fs::remove_dir_all(&dir).ok();
}
