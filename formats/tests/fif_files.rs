//! The FIF reader against MNE 1.13: the real SSVEP exoskeleton raw and events files (golden
//! numbers in `golden/fif.json`, from `golden/generate_fif.py`, and the sample-exact NPY export
//! of the same recording), files written by MNE and files built here byte by byte, read by
//! MNE at test time; then malformed inputs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_f64, as_usize, data_path, golden, python, scratch_dir};
use neuroloop_formats::fif::{self, FifDataType, FifProblem};
use neuroloop_formats::{ChannelKind, FileError, npy};

const RAW: &str = "formats_real_gdf_fif/s01_2012.07.06-19.02.16_raw.fif";
const EVENTS: &str = "formats_real_gdf_fif/s01_2012.07.06-19.02.16-eve.fif";
const NPY: &str = "ssvep_exoskeleton_kalunga2016/npy/s01_2012.07.06-19.02.16.npy";

fn kind_of_type(name: &str) -> ChannelKind {
    ChannelKind::from_type_name(name).unwrap_or(ChannelKind::Misc)
}

#[test]
fn raw_file_matches_mne_golden_numbers() {
    let Some(path) = data_path(RAW) else { return };
    let golden = golden("fif.json");
    let expected = &golden["raw"];
    let file = fif::read(&path).unwrap();
    assert_eq!(file.sample_rate_hz, as_f64(&expected["sfreq"]));
    assert_eq!(file.first_sample, expected["first_samp"].as_i64().unwrap());
    assert_eq!(file.sample_count(), as_usize(&expected["n_samples"]));
    assert_eq!(file.line_freq_hz, expected["line_freq"].as_f64());
    assert_eq!(file.line_freq_hz, Some(50.0));
    assert_eq!(file.lowpass_hz, expected["lowpass"].as_f64());
    assert_eq!(file.highpass_hz, expected["highpass"].as_f64());
    assert_eq!(expected["orig_format"], "single");
    assert_eq!(file.data_type, FifDataType::Float32);
    let date = file.meas_date.unwrap();
    let timestamp = date.seconds as f64 + date.microseconds as f64 * 1e-6;
    assert_eq!(timestamp, as_f64(&expected["meas_date_timestamp"]));
    let start = file.start_time().unwrap();
    let iso = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        start.year, start.month, start.day, start.hour, start.minute, start.second
    );
    assert_eq!(iso, expected["meas_date_iso"].as_str().unwrap());
    let indices: Vec<usize> = expected["sample_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_usize)
        .collect();
    let channels = expected["channels"].as_array().unwrap();
    assert_eq!(file.channels.len(), channels.len());
    let mut max_relative_sum_error = 0f64;
    for ((channel, data), want) in file.channels.iter().zip(&file.data).zip(channels) {
        let name = want["name"].as_str().unwrap();
        assert_eq!(channel.name, name);
        assert_eq!(
            i64::from(channel.kind_code),
            want["kind_code"].as_i64().unwrap()
        );
        assert_eq!(channel.kind, kind_of_type(want["type"].as_str().unwrap()));
        assert_eq!(
            i64::from(channel.unit_code),
            want["unit_code"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(channel.unit_mul),
            want["unit_mul"].as_i64().unwrap()
        );
        assert_eq!(channel.unit, "V");
        assert_eq!(f64::from(channel.cal), as_f64(&want["cal"]));
        assert_eq!(f64::from(channel.range), as_f64(&want["range"]));
        for (&index, value) in indices.iter().zip(want["values"].as_array().unwrap()) {
            assert_eq!(data[index], as_f64(value), "{name}[{index}]");
        }
        let sum: f64 = data.iter().sum();
        let squares: f64 = data.iter().map(|v| v * v).sum();
        for (got, key) in [(sum, "sum"), (squares, "sum_of_squares")] {
            let want = as_f64(&want[key]);
            let relative = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
            max_relative_sum_error = max_relative_sum_error.max(relative);
            assert!(relative < 1e-12, "{name} {key}: {got} vs {want}");
        }
    }
    assert!(expected["annotations"].as_array().unwrap().is_empty());
    assert!(file.annotations.is_empty());
    eprintln!("FIF golden: largest relative error of sums {max_relative_sum_error:e}");
}

#[test]
fn raw_file_holds_the_npy_values_exactly() {
    let (Some(raw_path), Some(npy_path)) = (data_path(RAW), data_path(NPY)) else {
        return;
    };
    let file = fif::read(&raw_path).unwrap();
    let array = npy::read(&npy_path).unwrap();
    assert_eq!(array.shape, vec![57024, 8]);
    assert_eq!(file.channels.len(), 8);
    let labels: Vec<&str> = file.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        labels,
        ["Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4"]
    );
    let mut max_abs_error = 0f64;
    for (index, data) in file.data.iter().enumerate() {
        let column = array.column(index).unwrap();
        assert_eq!(data.len(), column.len(), "channel {index}");
        for (sample, (&got, &want)) in data.iter().zip(&column).enumerate() {
            max_abs_error = max_abs_error.max((got - want).abs());
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "channel {index} sample {sample}"
            );
        }
    }
    eprintln!("FIF vs NPY: largest absolute difference {max_abs_error:e}");
}

#[test]
fn events_file_matches_mne_read_events() {
    let Some(path) = data_path(EVENTS) else {
        return;
    };
    let golden = golden("fif.json");
    let events = fif::read_events(&path).unwrap();
    let expected: Vec<(u64, i32, i32)> = golden["events"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let e = e.as_array().unwrap();
            (
                e[0].as_u64().unwrap(),
                e[1].as_i64().unwrap() as i32,
                e[2].as_i64().unwrap() as i32,
            )
        })
        .collect();
    assert_eq!(events.len(), 32);
    assert_eq!(events, expected);
    let codes: std::collections::BTreeSet<i32> = events.iter().map(|e| e.2).collect();
    assert_eq!(codes.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn raw_file_gets_the_events_beside_it_as_annotations() {
    let (Some(raw_path), Some(_)) = (data_path(RAW), data_path(EVENTS)) else {
        return;
    };
    let golden = golden("fif.json");
    let recording = neuroloop_formats::read_recording(&raw_path).unwrap();
    let expected = golden["events"]["annotations"].as_array().unwrap();
    assert_eq!(recording.annotations.len(), expected.len());
    for (got, want) in recording.annotations.iter().zip(expected) {
        assert_eq!(got.label, want["label"].as_str().unwrap());
        assert_eq!(got.onset_s, as_f64(&want["onset_s"]));
        assert_eq!(got.duration_s, 0.0);
    }
    assert_eq!(recording.common_sample_rate_hz(), Some(256.0));
    assert!(
        recording
            .channels
            .iter()
            .all(|c| c.kind == ChannelKind::Eeg && c.unit == "V")
    );
    let start = recording.start_time.unwrap();
    assert_eq!((start.year, start.month, start.day), (2012, 7, 6));
    assert_eq!((start.hour, start.minute, start.second), (17, 2, 16));

    // Alone, the raw file has no annotations.
    let dir = scratch_dir("fif_raw_alone");
    let alone = dir.join("s01_raw.fif");
    std::fs::copy(&raw_path, &alone).unwrap();
    let recording = fif::read_recording(&alone).unwrap();
    assert!(recording.annotations.is_empty());
}

#[test]
fn events_file_alone_is_refused_with_a_pointer_to_the_raw_file() {
    let Some(path) = data_path(EVENTS) else {
        return;
    };
    let error = neuroloop_formats::read_recording(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("this is an events file: replay the raw file beside it"),
        "{message}"
    );
    assert!(message.contains("-eve.fif"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Files written by MNE, and files built here and read by MNE.

/// Writes raw files with MNE (every buffer format, calibration and range, first sample,
/// measurement date, annotations with and without a time origin, long channel names, bad
/// channels, an events file, a split recording) into argv[1].
const MNE_WRITE: &str = r#"
import datetime, sys, os
import mne, numpy as np
out = sys.argv[1]
info = mne.create_info(['EEG a very long channel name', 'EOG left', 'ECG', 'STI 014'], 100.,
                       ['eeg', 'eog', 'ecg', 'stim'])
with info._unlock():
    info['line_freq'] = 60.
    info['chs'][0]['cal'] = 1e-7
    info['chs'][0]['range'] = 2.0
    info['chs'][2]['unit_mul'] = -3
    info['bads'] = ['EOG left']
rng = np.random.RandomState(0)
data = rng.randn(4, 1000) * 1e-5
data[3] = (np.arange(1000) // 100) % 3
raw = mne.io.RawArray(data, info, first_samp=250, verbose='error')
date = datetime.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc)
raw.set_meas_date(date)
raw.set_annotations(mne.Annotations([1.0, 2.5, 9.0], [0.5, 0.0, 0.25], ['a:b', 'stim', 'end'],
                                    orig_time=None))
for fmt in ['short', 'int', 'single', 'double']:
    raw.save(os.path.join(out, fmt + '_raw.fif'), fmt=fmt, overwrite=True, verbose='error')
orig = raw.copy()
orig.set_annotations(mne.Annotations([13.0, 20.0], [1.0, 0.0], ['x', 'y'],
                                     orig_time=date - datetime.timedelta(seconds=10)))
orig.save(os.path.join(out, 'orig-raw.fif'), overwrite=True, verbose='error')
nodate = raw.copy().set_meas_date(None)
nodate.set_annotations(mne.Annotations([0.75], [0.5], ['n'], orig_time=None))
nodate.save(os.path.join(out, 'nodate_raw.fif'), overwrite=True, verbose='error')
mne.write_events(os.path.join(out, 'short-eve.fif'),
                 np.array([[300, 0, 5], [700, 5, 7], [1249, 0, 12]]), overwrite=True)
big = mne.io.RawArray(np.zeros((2, 1_400_000)), mne.create_info(2, 1000., 'eeg'), verbose='error')
big.save(os.path.join(out, 'split_raw.fif'), split_size='10MB', overwrite=True, verbose='error')
"#;

/// Reads each FIF raw file given with MNE and prints one JSON summary per file.
const MNE_READ: &str = r#"
import json, sys
import mne
out = {}
for path in sys.argv[1:]:
    raw = mne.io.read_raw_fif(path, preload=True, verbose='error')
    date = raw.info['meas_date']
    out[path] = dict(
        names=raw.ch_names,
        kinds=[int(c['kind']) for c in raw.info['chs']],
        units=[int(c['unit']) for c in raw.info['chs']],
        unit_muls=[int(c['unit_mul']) for c in raw.info['chs']],
        sfreq=raw.info['sfreq'], first_samp=int(raw.first_samp),
        line_freq=raw.info['line_freq'], bads=raw.info['bads'],
        meas_date=None if date is None else date.timestamp(),
        data=raw.get_data().tolist(),
        annotations=[[float(o - raw.first_time), float(d), str(s)] for o, d, s in
                     zip(raw.annotations.onset, raw.annotations.duration,
                         raw.annotations.description)],
    )
print(json.dumps(out))
"#;

fn run_python(script: &str, args: &[&Path]) -> Option<String> {
    let python = python()?;
    let output = Command::new(&python)
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named") {
            common::skip_notice(&format!("MNE is not installed for {}", python.display()));
            return None;
        }
        panic!("MNE failed: {stderr}");
    }
    Some(String::from_utf8(output.stdout).unwrap())
}

/// Compares this reader's view of `path` with MNE's summary of it.
fn assert_matches_mne(path: &Path, mne: &serde_json::Value) {
    let file = fif::read(path).unwrap_or_else(|e| panic!("{e}"));
    let context = path.display();
    let names: Vec<&str> = mne["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let got_names: Vec<&str> = file.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(got_names, names, "{context}");
    for (index, channel) in file.channels.iter().enumerate() {
        assert_eq!(
            i64::from(channel.kind_code),
            mne["kinds"][index].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(channel.unit_code),
            mne["units"][index].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(channel.unit_mul),
            mne["unit_muls"][index].as_i64().unwrap()
        );
    }
    assert_eq!(file.sample_rate_hz, as_f64(&mne["sfreq"]), "{context}");
    assert_eq!(
        file.first_sample,
        mne["first_samp"].as_i64().unwrap(),
        "{context}"
    );
    assert_eq!(file.line_freq_hz, mne["line_freq"].as_f64(), "{context}");
    let bads: Vec<&str> = mne["bads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(file.bad_channels, bads, "{context}");
    match mne["meas_date"].as_f64() {
        Some(timestamp) => {
            let date = file.meas_date.unwrap();
            let got = date.seconds as f64 + date.microseconds as f64 * 1e-6;
            assert!(
                (got - timestamp).abs() < 1e-6,
                "{context}: {got} vs {timestamp}"
            );
        }
        None => assert_eq!(file.meas_date, None, "{context}"),
    }
    let rows = mne["data"].as_array().unwrap();
    assert_eq!(file.data.len(), rows.len());
    for (channel, (got, want)) in file.data.iter().zip(rows).enumerate() {
        let want = want.as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{context} channel {channel}");
        for (sample, (got, want)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                *got,
                as_f64(want),
                "{context} channel {channel} sample {sample}"
            );
        }
    }
    let annotations = mne["annotations"].as_array().unwrap();
    assert_eq!(
        file.annotations.len(),
        annotations.len(),
        "{context}: {:?}",
        file.annotations
    );
    for (got, want) in file.annotations.iter().zip(annotations) {
        // MNE keeps annotation times to the microsecond.
        assert!(
            (got.onset_s - as_f64(&want[0])).abs() < 1e-6,
            "{context}: {got:?} vs {want}"
        );
        assert!(
            (got.duration_s - as_f64(&want[1])).abs() < 1e-6,
            "{context}: {got:?} vs {want}"
        );
        assert_eq!(got.description, want[2].as_str().unwrap(), "{context}");
    }
}

fn mne_summaries(paths: &[PathBuf]) -> Option<serde_json::Value> {
    let args: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let text = run_python(MNE_READ, &args)?;
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn files_written_by_mne_read_as_mne_reads_them() {
    let dir = scratch_dir("fif_written_by_mne");
    if run_python(MNE_WRITE, &[&dir]).is_none() {
        return;
    }
    let names = [
        "short_raw.fif",
        "int_raw.fif",
        "single_raw.fif",
        "double_raw.fif",
    ];
    let mut paths: Vec<PathBuf> = names.iter().map(|name| dir.join(name)).collect();
    paths.push(dir.join("orig-raw.fif"));
    paths.push(dir.join("nodate_raw.fif"));
    let Some(summaries) = mne_summaries(&paths) else {
        return;
    };
    for path in &paths {
        assert_matches_mne(path, &summaries[path.to_str().unwrap()]);
    }
    let types = [
        FifDataType::DauPack16,
        FifDataType::Int32,
        FifDataType::Float32,
        FifDataType::Float64,
    ];
    for (path, data_type) in paths.iter().zip(types) {
        assert_eq!(fif::read(path).unwrap().data_type, data_type);
    }

    let short = fif::read(&paths[0]).unwrap();
    let units: Vec<&str> = short.channels.iter().map(|c| c.unit.as_str()).collect();
    assert_eq!(units, ["V", "V", "mV", "V"]);
    let kinds: Vec<ChannelKind> = short.channels.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChannelKind::Eeg,
            ChannelKind::Eog,
            ChannelKind::Ecg,
            ChannelKind::Stim
        ]
    );
    let start = short.start_time().unwrap();
    // 2020-01-02 03:04:05.678901 UTC plus first_samp 250 at 100 Hz.
    assert_eq!((start.hour, start.minute, start.second), (3, 4, 8));
    assert_eq!(start.nanosecond, 178_901_000);

    // The events file beside `short_raw.fif` is `short-eve.fif`; its samples include
    // first_samp (250).
    assert_eq!(
        fif::read_events(dir.join("short-eve.fif")).unwrap(),
        [(300, 0, 5), (700, 5, 7), (1249, 0, 12)]
    );
    let recording = neuroloop_formats::read_recording(&paths[0]).unwrap();
    let events: Vec<(f64, &str)> = recording
        .annotations
        .iter()
        .filter(|a| a.label.chars().all(|c| c.is_ascii_digit()))
        .map(|a| (a.onset_s, a.label.as_str()))
        .collect();
    assert_eq!(events, [(0.5, "5"), (4.5, "7"), (9.99, "12")]);
    assert_eq!(recording.annotations.len(), 6);

    let error = fif::read(dir.join("split_raw.fif"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("split recording that continues in"),
        "{error}"
    );
}

/// A FIF file assembled tag by tag.
struct Fif {
    bytes: Vec<u8>,
}

const FLOAT: u32 = 4;
const INT: u32 = 3;
const SHORT: u32 = 2;
const DOUBLE: u32 = 5;
const STRING: u32 = 10;
const DAU_PACK16: u32 = 16;

fn be_ints(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn be_floats(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn be_doubles(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn be_shorts(values: &[i16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A channel definition: kind, unit, unit multiplier, cal, range, name.
struct Channel<'a> {
    name: &'a str,
    kind: i32,
    unit: i32,
    unit_mul: i32,
    cal: f32,
    range: f32,
}

fn eeg(name: &str) -> Channel<'_> {
    Channel {
        name,
        kind: 2,
        unit: 107,
        unit_mul: 0,
        cal: 1.0,
        range: 1.0,
    }
}

impl Fif {
    /// File id, directory pointer (-1: no directory) and free list, as MNE starts a file.
    fn new() -> Self {
        let mut fif = Fif { bytes: Vec::new() };
        let id = be_ints(&[0x10003, 1, 2, 1_341_594_136, 0]);
        fif.tag(100, 31, &id);
        fif.tag(101, INT, &be_ints(&[-1]));
        fif
    }

    fn tag_with_next(&mut self, kind: i32, type_code: u32, data: &[u8], next: i32) -> u64 {
        let pos = self.bytes.len() as u64;
        self.bytes.extend(kind.to_be_bytes());
        self.bytes.extend(type_code.to_be_bytes());
        self.bytes.extend((data.len() as i32).to_be_bytes());
        self.bytes.extend(next.to_be_bytes());
        self.bytes.extend(data);
        pos
    }

    fn tag(&mut self, kind: i32, type_code: u32, data: &[u8]) -> u64 {
        self.tag_with_next(kind, type_code, data, 0)
    }

    fn int(&mut self, kind: i32, values: &[i32]) -> u64 {
        self.tag(kind, INT, &be_ints(values))
    }

    fn float(&mut self, kind: i32, values: &[f32]) -> u64 {
        self.tag(kind, FLOAT, &be_floats(values))
    }

    fn start(&mut self, block: i32) -> u64 {
        self.int(104, &[block])
    }

    fn end(&mut self, block: i32) {
        self.int(105, &[block]);
    }

    fn channel(&mut self, scan: i32, channel: &Channel<'_>) {
        let mut data = be_ints(&[scan, scan, channel.kind]);
        data.extend(be_floats(&[channel.range, channel.cal]));
        data.extend(be_ints(&[1]));
        data.extend(be_floats(&[0.0; 12]));
        data.extend(be_ints(&[channel.unit, channel.unit_mul]));
        let mut name = [0u8; 16];
        let bytes = channel.name.as_bytes();
        name[..bytes.len().min(15)].copy_from_slice(&bytes[..bytes.len().min(15)]);
        data.extend(name);
        self.tag(203, 30, &data);
    }

    /// Opens the measurement block and writes its info block; returns the info block offset.
    fn measurement(
        &mut self,
        rate_hz: Option<f32>,
        meas_date: &[i32],
        channels: &[Channel<'_>],
    ) -> u64 {
        self.start(100);
        let info = self.start(101);
        if !meas_date.is_empty() {
            self.int(204, meas_date);
        }
        self.int(200, &[channels.len() as i32]);
        if let Some(rate) = rate_hz {
            self.float(201, &[rate]);
        }
        self.float(235, &[50.0]);
        for (index, channel) in channels.iter().enumerate() {
            self.channel(index as i32 + 1, channel);
        }
        self.end(101);
        info
    }

    /// Closes the file with the NOP tag MNE ends files with (`next` = -1).
    fn finish(mut self) -> Vec<u8> {
        self.tag_with_next(108, 0, &[], -1);
        self.bytes
    }
}

/// Two EEG channels at 100 Hz with one float buffer; returns the bytes and the offsets of
/// the info block and of the buffer.
fn two_channel_file(rate_hz: Option<f32>, buffer: &[f32]) -> (Vec<u8>, u64, u64) {
    let mut fif = Fif::new();
    let info = fif.measurement(rate_hz, &[1_341_594_136, 0], &[eeg("Cz"), eeg("Pz")]);
    fif.start(102);
    let buffer_pos = fif.tag(300, FLOAT, &be_floats(buffer));
    fif.end(102);
    fif.end(100);
    (fif.finish(), info, buffer_pos)
}

/// Skips (one before the data, which moves the first sample, one inside and one at the end,
/// which is ignored), calibration, an annotations block with a time origin (one annotation
/// crossing the start of the data, one inside, one after the end), 16-bit packed and short buffers.
fn skips_file() -> Vec<u8> {
    let mut fif = Fif::new();
    let mut scaled = eeg("C3");
    scaled.cal = 0.5;
    scaled.range = 2e-6;
    let mut ecg = eeg("ECG");
    ecg.kind = 402;
    ecg.unit_mul = -6;
    fif.measurement(Some(100.0), &[1_600_000_000, 250_000], &[scaled, ecg]);
    fif.start(3810);
    fif.float(3568, &[1.4, 1.5, 5.0]);
    fif.float(3569, &[1.5, 1.55, 5.5]);
    fif.tag(206, STRING, b"crossing:inside:after");
    fif.tag(204, DOUBLE, &be_doubles(&[1_600_000_000.0, 0.0]));
    fif.end(3810);
    fif.start(102);
    fif.int(208, &[100]);
    fif.int(301, &[2]);
    let first: Vec<i16> = (0..20).collect();
    fif.tag(300, SHORT, &be_shorts(&first));
    fif.int(301, &[1]);
    let second: Vec<i16> = (100..110).collect();
    fif.tag(300, DAU_PACK16, &be_shorts(&second));
    fif.int(301, &[3]);
    fif.end(102);
    fif.end(100);
    fif.finish()
}

/// No measurement date (MNE's "none" marker) and annotations without a time origin.
fn no_date_file() -> Vec<u8> {
    let mut fif = Fif::new();
    fif.measurement(Some(200.0), &[0, i32::MAX], &[eeg("Fz")]);
    fif.start(3810);
    fif.float(3568, &[1.0]);
    fif.float(3569, &[1.5]);
    fif.tag(206, STRING, b"blink");
    fif.end(3810);
    fif.start(102);
    fif.int(208, &[50]);
    let values: Vec<f32> = (0..400).map(|v| v as f32 * 0.25).collect();
    fif.float(300, &values);
    fif.end(102);
    fif.end(100);
    fif.finish()
}

#[test]
fn files_built_here_read_as_mne_reads_them() {
    let dir = scratch_dir("fif_built_here");
    let files = [
        ("skips_raw.fif", skips_file()),
        ("nodate_raw.fif", no_date_file()),
        (
            "two_raw.fif",
            two_channel_file(Some(100.0), &[1.0, 2.0, 3.0, 4.0]).0,
        ),
    ];
    let mut paths = Vec::new();
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    // The expectations hold without MNE too.
    let skips = fif::parse(&files[0].1).unwrap();
    assert_eq!(skips.first_sample, 120);
    assert_eq!(skips.sample_count(), 10 + 5 + 5);
    let cal = f64::from(2e-6f32) * 0.5;
    assert_eq!(skips.data[0][..3], [0.0, 2.0 * cal, 4.0 * cal]);
    assert!(skips.data[0][10..15].iter().all(|&v| v == 0.0));
    assert_eq!(skips.data[1][15], 101.0);
    assert_eq!(skips.channels[1].unit, "uV");
    assert_eq!(skips.channels[1].kind, ChannelKind::Ecg);
    let labels: Vec<&str> = skips
        .annotations
        .iter()
        .map(|a| a.description.as_str())
        .collect();
    assert_eq!(labels, ["crossing", "inside", "BAD_ACQ_SKIP"]);
    assert_eq!(skips.annotations[0].onset_s, 0.0);
    let no_date = fif::parse(&files[1].1).unwrap();
    assert_eq!(no_date.meas_date, None);
    assert_eq!(no_date.annotations[0].onset_s, 0.75);

    let Some(summaries) = mne_summaries(&paths) else {
        return;
    };
    for path in &paths {
        assert_matches_mne(path, &summaries[path.to_str().unwrap()]);
    }
}

// ---------------------------------------------------------------------------------------
// Malformed input.

fn parse_problem(bytes: &[u8]) -> (u64, FifProblem, String) {
    let error = fif::parse(bytes).unwrap_err();
    let message = error.to_string();
    match error {
        FileError::Malformed {
            offset, problem, ..
        } => (offset, problem, message),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn text_is_not_a_fif_file() {
    let (offset, problem, message) = parse_problem(b"this is not a FIF file at all");
    assert_eq!(offset, 0);
    assert!(matches!(problem, FifProblem::NotFif { .. }));
    assert!(message.contains("not a FIF file"), "{message}");
    let (_, problem, message) = parse_problem(&[0x1f, 0x8b, 8, 0, 0, 0]);
    assert_eq!(problem, FifProblem::Compressed);
    assert!(message.contains("gzip"), "{message}");
}

#[test]
fn truncated_tag_header_reports_offset() {
    let (mut bytes, ..) = two_channel_file(Some(100.0), &[1.0, 2.0]);
    bytes.pop();
    let nop = bytes.len() - 15;
    let (offset, problem, message) = parse_problem(&bytes);
    assert_eq!(offset, nop as u64);
    assert_eq!(
        problem,
        FifProblem::Truncated {
            what: "tag header",
            needed: 16,
            available: 15
        }
    );
    assert!(
        message.contains(&format!("FIF byte offset {nop}: truncated tag header")),
        "{message}"
    );
}

#[test]
fn tag_size_beyond_the_file_is_rejected() {
    let (bytes, _, buffer) = two_channel_file(Some(100.0), &[1.0, 2.0, 3.0, 4.0]);
    // Cut the file inside the data buffer.
    let cut = &bytes[..buffer as usize + 16 + 6];
    let (offset, problem, message) = parse_problem(cut);
    assert_eq!(offset, buffer);
    assert_eq!(
        problem,
        FifProblem::TagBeyondFile {
            kind: 300,
            size: 16,
            available: 6
        }
    );
    assert!(
        message.contains("declares 16 data bytes but only 6 remain"),
        "{message}"
    );
}

#[test]
fn buffer_size_must_match_the_channel_count() {
    let (bytes, _, buffer) = two_channel_file(Some(100.0), &[1.0, 2.0, 3.0]);
    let (offset, problem, message) = parse_problem(&bytes);
    assert_eq!(offset, buffer);
    assert!(matches!(
        problem,
        FifProblem::BufferSizeMismatch {
            size: 12,
            nchan: 2,
            bytes_per_value: 4
        }
    ));
    assert!(
        message.contains("does not hold whole samples of 2 channels"),
        "{message}"
    );
}

#[test]
fn missing_sampling_rate_is_named() {
    let (bytes, info, _) = two_channel_file(None, &[1.0, 2.0]);
    let (offset, problem, message) = parse_problem(&bytes);
    assert_eq!(offset, info);
    assert_eq!(
        problem,
        FifProblem::Missing {
            what: "sampling rate (FIFF_SFREQ)"
        }
    );
    assert!(
        message.ends_with("no sampling rate (FIFF_SFREQ)"),
        "{message}"
    );
}

#[test]
fn channel_count_must_match_the_definitions() {
    let mut fif = Fif::new();
    fif.start(100);
    fif.start(101);
    let nchan = fif.int(200, &[3]);
    fif.float(201, &[100.0]);
    fif.channel(1, &eeg("Cz"));
    fif.end(101);
    fif.end(100);
    let (offset, problem, _) = parse_problem(&fif.finish());
    assert_eq!(offset, nchan);
    assert_eq!(
        problem,
        FifProblem::ChannelCountMismatch {
            nchan: 3,
            definitions: 1
        }
    );
}

#[test]
fn skips_longer_than_the_data_allows_are_refused() {
    let mut fif = Fif::new();
    fif.measurement(Some(100.0), &[], &[eeg("Cz")]);
    let raw = fif.start(102);
    fif.float(300, &[1.0, 2.0]);
    fif.int(301, &[i32::MAX]);
    fif.float(300, &[3.0, 4.0]);
    fif.end(102);
    fif.end(100);
    let (offset, problem, message) = parse_problem(&fif.finish());
    assert_eq!(offset, raw);
    assert!(
        matches!(problem, FifProblem::SkipTooLong { stored: 4, .. }),
        "{problem:?}"
    );
    assert!(message.contains("refusing to fill"), "{message}");
}

#[test]
fn next_pointer_backwards_is_rejected_rather_than_looping() {
    let mut fif = Fif::new();
    let looping = fif.tag_with_next(108, 0, &[], 20);
    let (offset, problem, _) = parse_problem(&fif.finish());
    assert_eq!(offset, looping);
    assert_eq!(
        problem,
        FifProblem::BadNextPointer {
            kind: 108,
            next: 20
        }
    );
}

#[test]
fn deeply_nested_blocks_do_not_overflow_the_stack() {
    let mut fif = Fif::new();
    for _ in 0..200_000 {
        fif.start(999);
    }
    let (_, problem, _) = parse_problem(&fif.finish());
    assert_eq!(
        problem,
        FifProblem::Missing {
            what: "measurement block (FIFFB_MEAS)"
        }
    );
}

#[test]
fn event_lists_must_hold_triplets() {
    let mut fif = Fif::new();
    fif.start(361);
    let list = fif.int(3561, &[10, 0, 1, 20]);
    fif.end(361);
    let bytes = fif.finish();
    match fif::parse_events(&bytes).unwrap_err() {
        FileError::Malformed {
            offset, problem, ..
        } => {
            assert_eq!(offset, list);
            assert_eq!(problem, FifProblem::BadEventList { values: 4 });
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        fif::parse(&bytes).unwrap_err().problem(),
        Some(FifProblem::EventsFile)
    ));
}

#[test]
fn every_prefix_of_a_valid_file_fails_cleanly() {
    for bytes in [skips_file(), no_date_file()] {
        fif::parse(&bytes).unwrap();
        for cut in 0..bytes.len() {
            let _ = fif::parse(&bytes[..cut]);
            let _ = fif::parse_events(&bytes[..cut]);
        }
        // Flipping any byte must not panic either.
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0xA5;
            if let Ok(file) = fif::parse(&damaged) {
                let _ = file.to_recording();
            }
        }
    }
}

#[test]
fn extreme_rate_and_first_sample_give_no_start_time_rather_than_overflow() {
    // Found by fuzzing: a first-sample offset of ~1e45 ns overflowed the start time.
    let mut fif = Fif::new();
    fif.measurement(Some(1e-30), &[1_341_594_136, 0], &[eeg("Cz")]);
    fif.start(102);
    fif.int(208, &[1_000_000]);
    fif.float(300, &[1.0]);
    fif.end(102);
    fif.end(100);
    let file = fif::parse(&fif.finish()).unwrap();
    assert_eq!(file.start_time(), None);
    assert_eq!(file.to_recording().start_time, None);
}
