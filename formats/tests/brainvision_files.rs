//! BrainVision reader checks: the shared files against golden numbers from MNE
//! (`tests/golden/generate_brainvision.py`), synthetic recordings written to a scratch folder
//! (checked by value and, when MNE is available, against MNE reading the same files), and
//! malformed inputs that must produce a clear error rather than a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_f64, as_usize, data_path, golden, python, scratch_dir, skip_notice};
use neuroloop_formats::brainvision::{self, BinaryFormat, BrainVisionFile, DataOrientation};
use neuroloop_formats::{ChannelKind, Recording, StartTime};

/// Volts per unit, the factors MNE applies.
fn volts_per(unit: &str) -> f64 {
    match unit {
        "V" => 1.0,
        "mV" => 1e-3,
        "uV" => 1e-6,
        "nV" => 1e-9,
        other => panic!("not a voltage unit: {other}"),
    }
}

/// Largest absolute and relative deviation seen, for the summary line.
#[derive(Default)]
struct Deviation {
    abs: f64,
    rel: f64,
}

impl Deviation {
    /// Checks `actual` against `expected` to `relative` of its magnitude and records the
    /// deviation.
    fn check(&mut self, actual: f64, expected: f64, relative: f64, context: &str) {
        let abs = (actual - expected).abs();
        let rel = if expected == 0.0 {
            abs
        } else {
            abs / expected.abs()
        };
        assert!(
            abs <= relative * expected.abs() || abs <= 1e-300,
            "{context}: got {actual:e}, expected {expected:e} (relative deviation {rel:e})"
        );
        self.abs = self.abs.max(abs);
        self.rel = self.rel.max(rel);
    }
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn shared_files_match_mne_golden_numbers() {
    let golden = golden("brainvision.json");
    for (relative, expected) in golden.as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            continue;
        };
        let file = brainvision::read(&path).unwrap_or_else(|error| panic!("{error}"));
        let recording = file.to_recording();
        let context = relative.as_str();
        check_channels(&recording, expected, context);
        let (values, sums) = check_values(&recording, expected, context);
        check_annotations(&recording, &expected["annotations"], context);
        check_meas_date(recording.start_time, &expected["meas_date"], context);
        println!(
            "{context}: values max abs {:e} V, max rel {:e}; sums max rel {:e}",
            values.abs, values.rel, sums.rel
        );
    }
}

fn check_channels(recording: &Recording, expected: &serde_json::Value, context: &str) {
    let labels: Vec<String> = recording.channels.iter().map(|c| c.label.clone()).collect();
    assert_eq!(labels, strings(&expected["ch_names"]), "{context}");
    let kinds: Vec<&str> = recording.channels.iter().map(|c| c.kind.name()).collect();
    assert_eq!(kinds, strings(&expected["ch_types"]), "{context}");
    for (channel, unit) in recording.channels.iter().zip(strings(&expected["units"])) {
        let ascii = unit.replace('µ', "u");
        assert_eq!(channel.unit, ascii, "{context} {}", channel.label);
        assert_eq!(
            channel.sample_rate_hz,
            as_f64(&expected["sfreq"]),
            "{context}"
        );
    }
    for samples in &recording.data {
        assert_eq!(samples.len(), as_usize(&expected["n_samples"]), "{context}");
    }
}

/// Values at the stored indices (to 1e-12 relative) and per-channel sums and sums of squares
/// (to 1e-10: numpy sums pairwise, this test in order).
fn check_values(
    recording: &Recording,
    expected: &serde_json::Value,
    context: &str,
) -> (Deviation, Deviation) {
    let indices: Vec<usize> = expected["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_usize)
        .collect();
    let mut values = Deviation::default();
    let mut sums = Deviation::default();
    for (c, (channel, samples)) in recording.channels.iter().zip(&recording.data).enumerate() {
        let context = format!("{context} channel {}", channel.label);
        let scale = volts_per(&channel.unit);
        let wanted = expected["values_v"][c].as_array().unwrap();
        for (&index, value) in indices.iter().zip(wanted) {
            let context = format!("{context} sample {index}");
            values.check(samples[index] * scale, as_f64(value), 1e-12, &context);
        }
        let sum: f64 = samples.iter().map(|&v| v * scale).sum();
        let sum_sq: f64 = samples.iter().map(|&v| (v * scale) * (v * scale)).sum();
        sums.check(sum, as_f64(&expected["sum_v"][c]), 1e-10, &context);
        sums.check(sum_sq, as_f64(&expected["sum_sq_v2"][c]), 1e-10, &context);
    }
    (values, sums)
}

fn check_annotations(recording: &Recording, expected: &serde_json::Value, context: &str) {
    let expected = expected.as_array().unwrap();
    assert_eq!(recording.annotations.len(), expected.len(), "{context}");
    for (annotation, wanted) in recording.annotations.iter().zip(expected) {
        assert_eq!(
            annotation.label,
            wanted["description"].as_str().unwrap(),
            "{context}"
        );
        assert!((annotation.onset_s - as_f64(&wanted["onset"])).abs() < 1e-12);
        assert!((annotation.duration_s - as_f64(&wanted["duration"])).abs() < 1e-12);
    }
}

fn check_meas_date(start: Option<StartTime>, expected: &serde_json::Value, context: &str) {
    if expected.is_null() {
        assert_eq!(start, None, "{context}");
        return;
    }
    let start = start.unwrap_or_else(|| panic!("{context}: no start time"));
    let fields = [
        u64::from(start.year),
        u64::from(start.month),
        u64::from(start.day),
        u64::from(start.hour),
        u64::from(start.minute),
        u64::from(start.second),
        u64::from(start.nanosecond / 1000),
    ];
    let wanted: Vec<u64> = expected["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(fields.to_vec(), wanted, "{context}");
}

#[test]
fn analyzer_export_keeps_nanovolts_and_its_start_time() {
    let Some(path) = data_path("formats_mne_testing_data/Brainvision/Analyzer_nV_Export.vhdr")
    else {
        return;
    };
    let file = brainvision::read(&path).unwrap();
    assert_eq!(file.header.version, 2);
    assert_eq!(file.header.binary_format, BinaryFormat::Float32);
    // DataPoints says 64 but the data file holds 2 samples; the data size decides, as in MNE.
    assert_eq!(file.header.data_points, Some(64));
    assert_eq!(file.sample_count(), 2);
    assert_eq!(file.markers.len(), 2);
    assert_eq!(file.markers[1].channel, Some(0));
    let recording = neuroloop_formats::read_recording(&path).unwrap();
    assert!(recording.channels.iter().all(|c| c.unit == "nV"));
    assert_eq!(
        recording.start_time,
        Some(StartTime {
            year: 2018,
            month: 6,
            day: 14,
            hour: 18,
            minute: 23,
            second: 36,
            nanosecond: 100_000,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Synthetic recordings

/// A version-1 header for `channels` (`Ch<n>=` values) at 250 Hz.
fn vhdr(stem: &str, format: &str, orientation: &str, channels: &[&str]) -> String {
    let mut text = format!(
        "Brain Vision Data Exchange Header File Version 1.0\r\n\
         ; written by the neuroloop tests\r\n\r\n\
         [Common Infos]\r\nCodepage=UTF-8\r\nDataFile={stem}.eeg\r\nMarkerFile={stem}.vmrk\r\n\
         DataFormat=BINARY\r\nDataOrientation={orientation}\r\nDataType=TIMEDOMAIN\r\n\
         NumberOfChannels={}\r\nSamplingInterval=4000\r\n\r\n\
         [Binary Infos]\r\nBinaryFormat={format}\r\n\r\n\
         [Channel Infos]\r\n; Each entry: Ch<Channel number>=<Name>,<Reference channel name>,\r\n",
        channels.len()
    );
    for (index, channel) in channels.iter().enumerate() {
        text.push_str(&format!("Ch{}={channel}\r\n", index + 1));
    }
    text.push_str("\r\n[Comment]\r\nA: free text = not parsed\r\n");
    text
}

const VMRK: &str = "Brain Vision Data Exchange Marker File, Version 1.0\r\n\r\n\
    [Common Infos]\r\nCodepage=UTF-8\r\nDataFile=rec.eeg\r\n\r\n\
    [Marker Infos]\r\n\
    ; Each entry: Mk<Marker number>=<Type>,<Description>,<Position in data points>,\r\n\
    Mk1=New Segment,,1,1,0,20240229235958123456\r\n\
    Mk2=Stimulus,S  1,3,1,0\r\n\
    Mk3=Response,R\\1 2,2,0,0\r\n\
    Mk4=Comment,long one,2,3,1\r\n\
    Mk5=New Segment,,4,1,0,20240301000000000000\r\n";

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn le_bytes_i32(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn le_bytes_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn le_bytes_i16(values: &[i16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// INT_32, multiplexed, three channels with different resolutions and units, and markers.
fn write_int32_recording(dir: &Path) -> PathBuf {
    let channels = ["Fp1,,0.1,µV", "HEOGL,,0.5,nV", "Temp\\1skin,,,C"];
    write(dir, "rec.vmrk", VMRK);
    // Four samples × three channels, sample-major.
    let values = [1, -2, 3, 10, -20, 30, 100, -200, 300, i32::MAX, i32::MIN, 0];
    write(dir, "rec.eeg", le_bytes_i32(&values));
    write(
        dir,
        "rec.vhdr",
        vhdr("rec", "INT_32", "MULTIPLEXED", &channels),
    )
}

#[test]
fn int32_multiplexed_with_resolutions_units_and_markers() {
    let dir = scratch_dir("brainvision_int32");
    let path = write_int32_recording(&dir);
    let file = brainvision::read(&path).unwrap();
    assert_eq!(file.header.orientation, DataOrientation::Multiplexed);
    assert_eq!(file.raw[1], [-2.0, -20.0, -200.0, f64::from(i32::MIN)]);
    let recording = file.to_recording();
    let labels: Vec<&str> = recording
        .channels
        .iter()
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(labels, ["Fp1", "HEOGL", "Temp,skin"]);
    let units: Vec<&str> = recording.channels.iter().map(|c| c.unit.as_str()).collect();
    assert_eq!(units, ["uV", "nV", "C"]);
    let kinds: Vec<ChannelKind> = recording.channels.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChannelKind::Eeg, ChannelKind::Eog, ChannelKind::Misc]
    );
    assert_eq!(recording.common_sample_rate_hz(), Some(250.0));
    assert_eq!(
        recording.data[0],
        [0.1, 1.0, 10.0, f64::from(i32::MAX) * 0.1]
    );
    assert_eq!(recording.data[2], [3.0, 30.0, 300.0, 0.0]);

    // The first New Segment only dates the recording; the second is an annotation. Sorted by
    // onset, then duration.
    let annotations: Vec<(f64, f64, &str)> = recording
        .annotations
        .iter()
        .map(|a| (a.onset_s, a.duration_s, a.label.as_str()))
        .collect();
    assert_eq!(
        annotations,
        [
            (0.004, 0.0, "Response/R, 2"),
            (0.004, 0.012, "Comment/long one"),
            (0.008, 0.004, "Stimulus/S  1"),
            (0.012, 0.004, "New Segment/"),
        ]
    );
    assert_eq!(
        recording.start_time,
        Some(StartTime {
            year: 2024,
            month: 2,
            day: 29,
            hour: 23,
            minute: 59,
            second: 58,
            nanosecond: 123_456_000,
        })
    );
}

#[test]
fn float32_and_int16_vectorized_are_read_channel_by_channel() {
    let dir = scratch_dir("brainvision_vectorized");
    // Channel-major: all samples of channel 1, then of channel 2.
    write(
        dir.as_path(),
        "f.eeg",
        le_bytes_f32(&[0.5, 1.5, 2.5, -1.0, -2.0, -3.0]),
    );
    let path = write(
        &dir,
        "f.vhdr",
        vhdr("f", "IEEE_FLOAT_32", "VECTORIZED", &["C3,,2,mV", "C4,,,V"]),
    );
    let recording = brainvision::read_recording(&path).unwrap();
    assert_eq!(
        recording.data,
        [vec![1.0, 3.0, 5.0], vec![-1.0, -2.0, -3.0]]
    );
    assert_eq!(recording.channels[0].unit, "mV");
    assert_eq!(recording.channels[1].unit, "V");
    // No marker file (MarkerFile names one that does not exist): no annotations, no error.
    assert!(recording.annotations.is_empty());
    assert_eq!(recording.start_time, None);

    write(&dir, "s.eeg", le_bytes_i16(&[1, 2, -1, -2, 7, i16::MIN]));
    let path = write(
        &dir,
        "s.vhdr",
        vhdr("s", "INT_16", "VECTORIZED", &["A", "B", "C"]),
    );
    let recording = brainvision::read_recording(&path).unwrap();
    assert_eq!(
        recording.data,
        [vec![1.0, 2.0], vec![-1.0, -2.0], vec![7.0, -32768.0]]
    );
    // A line without a unit field is in microvolts.
    assert!(recording.channels.iter().all(|c| c.unit == "uV"));
}

#[test]
fn big_endian_data_is_read_when_the_header_says_so() {
    let header = vhdr("b", "INT_16", "MULTIPLEXED", &["A", "B"]).replace(
        "BinaryFormat=INT_16",
        "BinaryFormat=INT_16\r\nUseBigEndianOrder=YES",
    );
    let data: Vec<u8> = [1i16, -300].iter().flat_map(|v| v.to_be_bytes()).collect();
    let file = brainvision::parse(header.as_bytes(), &data, None).unwrap();
    assert!(file.header.big_endian);
    assert_eq!(file.raw, [vec![1.0], vec![-300.0]]);
}

#[test]
fn escaped_commas_in_names_references_and_markers_are_restored() {
    let header = vhdr("e", "INT_16", "MULTIPLEXED", &["Fp1\\1left,Ref\\1a,0.5,uV"]);
    let markers = "[Marker Infos]\nMk1=Stimulus,S\\1 1,1,0,0\n";
    let file = brainvision::parse(header.as_bytes(), &[4, 0], Some(markers.as_bytes())).unwrap();
    assert_eq!(file.header.channels[0].name, "Fp1,left");
    assert_eq!(file.header.channels[0].reference, "Ref,a");
    assert_eq!(file.physical(0), Some(vec![2.0]));
    // Not a New Segment, so the first marker is kept.
    assert_eq!(file.annotations()[0].label, "Stimulus/S, 1");
}

#[test]
fn annotations_are_cropped_to_the_data_like_mne() {
    let header = vhdr("k", "INT_16", "MULTIPLEXED", &["A"]);
    // Two samples at 250 Hz: the data spans 0 to 8 ms.
    let markers = "[Marker Infos]\n\
        Mk1=Stimulus,before,0,1,0\n\
        Mk2=Stimulus,straddles start,0,3,0\n\
        Mk3=Stimulus,runs past the end,2,5,0\n\
        Mk4=Stimulus,at the end,3,0,0\n\
        Mk5=Stimulus,after the end,4,1,0\n";
    let file = brainvision::parse(header.as_bytes(), &[0; 4], Some(markers.as_bytes())).unwrap();
    assert_eq!(file.markers.len(), 5);
    let annotations = file.annotations();
    let annotations: Vec<(f64, f64, &str)> = annotations
        .iter()
        .map(|a| (a.onset_s, a.duration_s, &a.label["Stimulus/".len()..]))
        .collect();
    assert_eq!(
        annotations,
        [
            (0.0, 0.0, "before"),
            (0.0, 0.008, "straddles start"),
            (0.004, 0.004, "runs past the end"),
            (0.008, 0.0, "at the end"),
        ]
    );
}

#[test]
fn missing_marker_file_means_no_annotations() {
    let dir = scratch_dir("brainvision_no_markers");
    write(&dir, "rec.eeg", le_bytes_i16(&[1, 2]));
    let path = write(
        &dir,
        "rec.vhdr",
        vhdr("rec", "INT_16", "MULTIPLEXED", &["A"]),
    );
    let file = brainvision::read(&path).unwrap();
    assert_eq!(file.marker_path, None);
    assert!(file.markers.is_empty());
    // Without a MarkerFile entry at all.
    let text = vhdr("rec", "INT_16", "MULTIPLEXED", &["A"]).replace("MarkerFile=rec.vmrk\r\n", "");
    let path = write(&dir, "rec.vhdr", text);
    assert!(brainvision::read(&path).unwrap().markers.is_empty());
}

#[test]
fn renamed_recording_falls_back_to_same_stem_files() {
    let dir = scratch_dir("brainvision_renamed");
    // The header still names the files of the recording before it was renamed.
    let text = vhdr("old_name", "INT_16", "MULTIPLEXED", &["A"]);
    let path = write(&dir, "sub-01.vhdr", text);
    write(&dir, "sub-01.eeg", le_bytes_i16(&[5, 6, 7]));
    write(
        &dir,
        "sub-01.vmrk",
        "[Marker Infos]\nMk1=Stimulus,S  9,2,1,0\n",
    );
    let file = brainvision::read(&path).unwrap();
    assert_eq!(
        file.data_path.as_deref(),
        Some(dir.join("sub-01.eeg").as_path())
    );
    assert_eq!(
        file.marker_path.as_deref(),
        Some(dir.join("sub-01.vmrk").as_path())
    );
    assert_eq!(file.raw, [vec![5.0, 6.0, 7.0]]);
    assert_eq!(file.annotations()[0].label, "Stimulus/S  9");
    // The named file wins when it exists.
    write(&dir, "old_name.eeg", le_bytes_i16(&[1]));
    assert_eq!(brainvision::read(&path).unwrap().raw, [vec![1.0]]);
}

#[test]
fn latin1_header_with_micro_sign_and_mne_channel_kinds() {
    let text = vhdr(
        "l",
        "INT_16",
        "MULTIPLEXED",
        &["ECG,,1,\u{B5}V", "STI 014,,1,uV", "Caf\u{E9},,1,\u{B5}V"],
    );
    // Encode as Latin-1: every character here is below U+0100.
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert!(std::str::from_utf8(&bytes).is_err());
    let header = brainvision::parse_header(&bytes).unwrap();
    assert_eq!(header.channels[2].name, "Café");
    let file = brainvision::parse(&bytes, &[0; 6], None).unwrap();
    let recording = file.to_recording();
    assert_eq!(recording.channels[0].unit, "uV");
    assert_eq!(recording.channels[0].kind, ChannelKind::Ecg);
    assert_eq!(recording.channels[1].kind, ChannelKind::Stim);
}

/// MNE reads the synthetic recordings too; values (in volts), annotations and the start
/// time must agree.
#[test]
fn synthetic_recordings_match_mne() {
    let Some(python) = python() else {
        return;
    };
    let dir = scratch_dir("brainvision_mne");
    let int32 = write_int32_recording(&mkdir(&dir, "int32"));
    let vectorized_dir = mkdir(&dir, "vectorized");
    write(
        &vectorized_dir,
        "v.eeg",
        le_bytes_f32(&[0.5, 1.5, 2.5, -1.0, -2.0, -3.0]),
    );
    write(&vectorized_dir, "v.vmrk", VMRK);
    let vectorized = write(
        &vectorized_dir,
        "v.vhdr",
        vhdr(
            "v",
            "IEEE_FLOAT_32",
            "VECTORIZED",
            &["C3\\1x,,2,mV", "C4,,,V"],
        ),
    );
    let script = r#"
import json, sys
try:
    import mne
except ImportError:
    print("NO-MNE"); sys.exit(0)
out = []
for path in sys.argv[1:]:
    raw = mne.io.read_raw_brainvision(path, preload=True, verbose="error")
    d = raw.info["meas_date"]
    out.append({"ch_names": raw.ch_names, "ch_types": raw.get_channel_types(),
                "data": raw.get_data().tolist(),
                "annotations": [[float(a["onset"]), float(a["duration"]), a["description"]]
                                for a in raw.annotations],
                "meas_date": None if d is None else [d.year, d.month, d.day, d.hour,
                                                     d.minute, d.second, d.microsecond]})
print(json.dumps(out))
"#;
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&int32)
        .arg(&vectorized)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    if stdout.trim() == "NO-MNE" {
        skip_notice("MNE is not installed in the Python environment");
        return;
    }
    let expected: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for (path, expected) in [int32, vectorized].iter().zip(expected.as_array().unwrap()) {
        compare_with_mne(
            &brainvision::read(path).unwrap(),
            expected,
            &path.display().to_string(),
        );
    }
}

fn mkdir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn compare_with_mne(file: &BrainVisionFile, expected: &serde_json::Value, context: &str) {
    let recording = file.to_recording();
    let labels: Vec<String> = recording.channels.iter().map(|c| c.label.clone()).collect();
    assert_eq!(labels, strings(&expected["ch_names"]), "{context}");
    // MNE calls a channel with a non-voltage unit misc and HEOGL eog, like this reader; it has
    // no ECG or stim heuristics beyond `STI 014`, which these files do not use.
    let kinds: Vec<&str> = recording.channels.iter().map(|c| c.kind.name()).collect();
    assert_eq!(kinds, strings(&expected["ch_types"]), "{context}");
    let mut deviation = Deviation::default();
    for (c, (channel, samples)) in recording.channels.iter().zip(&recording.data).enumerate() {
        // MNE applies no scale to a unit it does not know (here `C`).
        let scale = if channel.unit == "C" {
            1.0
        } else {
            volts_per(&channel.unit)
        };
        let wanted = expected["data"][c].as_array().unwrap();
        assert_eq!(samples.len(), wanted.len(), "{context}");
        for (&value, wanted) in samples.iter().zip(wanted) {
            deviation.check(value * scale, as_f64(wanted), 1e-12, context);
        }
    }
    let annotations: Vec<(f64, f64, String)> = recording
        .annotations
        .iter()
        .map(|a| (a.onset_s, a.duration_s, a.label.clone()))
        .collect();
    let wanted: Vec<(f64, f64, String)> = expected["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                as_f64(&a[0]),
                as_f64(&a[1]),
                a[2].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // MNE crops annotations to the data; these all lie inside it, so nothing was dropped.
    assert_eq!(annotations, wanted, "{context}");
    let meas_date = match expected["meas_date"].as_array() {
        Some(fields) => serde_json::json!({ "fields": fields }),
        None => serde_json::Value::Null,
    };
    check_meas_date(recording.start_time, &meas_date, context);
}

// ---------------------------------------------------------------------------------------------
// Malformed inputs

fn error_text(header: &str, data: &[u8]) -> String {
    match brainvision::parse(header.as_bytes(), data, None) {
        Ok(_) => panic!("accepted:\n{header}"),
        Err(error) => error.to_string(),
    }
}

/// Byte offset of the line that starts with `prefix`.
fn line_offset(text: &str, prefix: &str) -> u64 {
    let at = text
        .find(&format!("\n{prefix}"))
        .unwrap_or_else(|| panic!("{prefix} not in header"));
    (at + 1) as u64
}

#[test]
fn a_file_that_is_not_a_brainvision_header_is_refused() {
    let text = "0       patient X recording Y\n[Common Infos]\n";
    let error = brainvision::parse_header(text.as_bytes()).unwrap_err();
    assert_eq!(error.offset(), Some(0));
    let message = error.to_string();
    assert!(message.contains("not a BrainVision header"), "{message}");
    assert!(message.contains("0       patient X"), "{message}");
    assert!(brainvision::parse_header(b"").is_err());
}

#[test]
fn each_missing_common_infos_key_is_named() {
    let good = vhdr("m", "INT_16", "MULTIPLEXED", &["A"]);
    for key in [
        "DataFile",
        "DataFormat",
        "DataOrientation",
        "NumberOfChannels",
        "SamplingInterval",
    ] {
        let start = good.find(&format!("\n{key}=")).unwrap() + 1;
        let end = start + good[start..].find('\n').unwrap() + 1;
        let text = format!("{}{}", &good[..start], &good[end..]);
        let error = brainvision::parse(text.as_bytes(), &[0, 0], None).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("[Common Infos] (line 4) has no {key} entry")),
            "{message}"
        );
        assert_eq!(error.offset(), Some(line_offset(&text, "[Common Infos]")));
    }
    let text = good.replace("[Common Infos]", "[Something Else]");
    assert!(error_text(&text, &[]).contains("the header has no [Common Infos] section"));
    let text = good.replace("[Binary Infos]", "[Binary]");
    assert!(error_text(&text, &[]).contains("no [Binary Infos] section"));
}

#[test]
fn channel_count_must_match_the_channel_lines() {
    let text = vhdr("c", "INT_16", "MULTIPLEXED", &["A", "B"])
        .replace("NumberOfChannels=2", "NumberOfChannels=3");
    let error = brainvision::parse_header(text.as_bytes()).unwrap_err();
    assert_eq!(error.offset(), Some(line_offset(&text, "NumberOfChannels")));
    let message = error.to_string();
    assert!(
        message.contains("NumberOfChannels is 3 but [Channel Infos] describes 2 channels"),
        "{message}"
    );
    let text = vhdr("c", "INT_16", "MULTIPLEXED", &["A", "B"]).replace("Ch2=B", "Ch3=B");
    let message = error_text(&text, &[]);
    assert!(
        message.contains("channel number 3 is outside 1..=NumberOfChannels"),
        "{message}"
    );
    let text = vhdr("c", "INT_16", "MULTIPLEXED", &["A", "B"]).replace("Ch2=B", "Ch01=B");
    assert!(error_text(&text, &[]).contains("channel number 1 is described twice"));
    let text = vhdr("c", "INT_16", "MULTIPLEXED", &["A"])
        .replace("NumberOfChannels=1", "NumberOfChannels=0");
    assert!(error_text(&text, &[]).contains("there must be at least one channel"));
    let text = vhdr("c", "INT_16", "MULTIPLEXED", &["A,,x,uV"]);
    assert!(error_text(&text, &[]).contains("the resolution is not a finite number"));
}

#[test]
fn data_that_is_not_whole_frames_is_refused_and_names_the_data_file() {
    let dir = scratch_dir("brainvision_bad_size");
    write(&dir, "rec.eeg", [0u8; 10]);
    let path = write(
        &dir,
        "rec.vhdr",
        vhdr("rec", "INT_32", "MULTIPLEXED", &["A", "B"]),
    );
    let error = brainvision::read(&path).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("rec.eeg"), "{message}");
    assert!(
        message.contains("data size 10 bytes is not a multiple of the 8-byte frame"),
        "{message}"
    );
    assert_eq!(error.offset(), Some(8));
}

#[test]
fn missing_data_file_is_named() {
    let dir = scratch_dir("brainvision_no_data");
    let text = vhdr("gone", "INT_16", "MULTIPLEXED", &["A"]);
    let path = write(&dir, "rec.vhdr", &text);
    let error = brainvision::read(&path).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("rec.vhdr"), "{message}");
    assert!(
        message.contains("data file \"gone.eeg\" (DataFile) does not exist, nor does"),
        "{message}"
    );
    assert_eq!(error.offset(), Some(line_offset(&text, "DataFile")));
    let error = neuroloop_formats::read_recording(&path).unwrap_err();
    assert!(error.to_string().contains("gone.eeg"));
}

#[test]
fn unsupported_variants_are_refused_by_name() {
    let good = vhdr("u", "INT_16", "MULTIPLEXED", &["A"]);
    let cases = [
        (
            good.replace("DataFormat=BINARY", "DataFormat=ASCII"),
            "DataFormat=ASCII is not supported; this reader reads BINARY data",
        ),
        (
            good.replace("BinaryFormat=INT_16", "BinaryFormat=UINT_16"),
            "BinaryFormat=UINT_16 is not supported; this reader reads INT_16, INT_32 and IEEE_FLOAT_32",
        ),
        (
            good.replace("DataOrientation=MULTIPLEXED", "DataOrientation=DIAGONAL"),
            "DataOrientation=DIAGONAL is not supported",
        ),
        (
            good.replace("DataType=TIMEDOMAIN", "DataType=FREQUENCYDOMAIN"),
            "DataType=FREQUENCYDOMAIN is not supported",
        ),
        (
            good.replace("SamplingInterval=4000", "SamplingInterval=0"),
            "SamplingInterval=\"0\" is unusable",
        ),
        (
            good.replace("SamplingInterval=4000", "SamplingInterval=fast"),
            "SamplingInterval=\"fast\" is unusable: not a number",
        ),
        (
            good.replace("DataFile=u.eeg", "DataFile=u.eeg\r\ndatafile=v.eeg"),
            "datafile is given a second time in [Common Infos]",
        ),
        (
            good.replace(
                "[Channel Infos]",
                "[Channel Infos]\r\nthis line is not an entry",
            ),
            "expected key=value, found \"this line is not an entry\"",
        ),
        (
            format!("{good}[Binary Infos]\r\nBinaryFormat=INT_32\r\n")
                .replace("[Comment]", "[Other]"),
            "[Binary Infos] appears a second time",
        ),
    ];
    for (text, expected) in cases {
        let message = error_text(&text, &[0, 0]);
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
        assert!(
            message.starts_with("<in-memory data>: BrainVision byte offset "),
            "{message}"
        );
    }
}

#[test]
fn malformed_marker_file_is_refused_with_its_line() {
    let dir = scratch_dir("brainvision_bad_markers");
    write(&dir, "rec.eeg", [0u8; 2]);
    let path = write(
        &dir,
        "rec.vhdr",
        vhdr("rec", "INT_16", "MULTIPLEXED", &["A"]),
    );
    write(
        &dir,
        "rec.vmrk",
        "[Marker Infos]\nMk1=Stimulus,S 1,first,1,0\n",
    );
    let message = brainvision::read(&path).unwrap_err().to_string();
    assert!(message.contains("rec.vmrk"), "{message}");
    assert!(
        message.contains("line 2: marker Mk1 is unusable: the position is not a whole number"),
        "{message}"
    );
    write(&dir, "rec.vmrk", "[Marker Infos]\nMk1=Stimulus\n");
    let message = brainvision::read(&path).unwrap_err().to_string();
    assert!(message.contains("needs at least a type, a description and a position"));
    // A marker without a size has none; a zero date has no start time.
    write(
        &dir,
        "rec.vmrk",
        "[Marker Infos]\nMk1=New Segment,,1,,0,00000000000000000000\nMk2=Stimulus,S 1,1\n",
    );
    let file = brainvision::read(&path).unwrap();
    assert_eq!(file.start_time, None);
    assert_eq!(file.annotations()[0].duration_s, 0.0);
}

/// Every prefix of a valid header, marker file and data file, and single-byte corruptions of
/// the header, either parse or fail with an error; none panics.
#[test]
fn truncated_and_corrupted_inputs_never_panic() {
    let header = vhdr("p", "INT_32", "VECTORIZED", &["A\\1b,,0.1,µV", "B,,,nV"]);
    let data = le_bytes_i32(&[1, 2, 3, 4, 5, 6]);
    let header = header.as_bytes();
    for end in 0..=header.len() {
        let _ = brainvision::parse(
            &header[..end],
            &data,
            Some(&VMRK.as_bytes()[..end.min(VMRK.len())]),
        );
    }
    for end in 0..=data.len() {
        let result = brainvision::parse(header, &data[..end], None);
        assert_eq!(result.is_ok(), end % 8 == 0, "data cut at {end}");
    }
    for at in 0..header.len() {
        for byte in [b'\n', b'=', b'[', b']', b',', b'0', 0xFF] {
            let mut corrupted = header.to_vec();
            corrupted[at] = byte;
            if let Ok(file) = brainvision::parse(&corrupted, &data, Some(VMRK.as_bytes())) {
                let _ = file.to_recording();
            }
        }
    }
}
