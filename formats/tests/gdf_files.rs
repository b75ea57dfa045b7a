//! GDF reader checks: every shared GDF file against golden numbers from MNE
//! (`tests/golden/generate_gdf.py`), the s01 recording sample by sample against the NPY export
//! of the same data, synthetic files for what the shared files do not exercise (GDF 2.x
//! features, mode-3 events, 24-bit and mixed data types) and malformed input.

mod common;

use common::{as_f64, as_usize, data_path, golden};
use neuroloop_formats::gdf::{self, GdfDataType, GdfFile, GdfProblem, RecordDuration};
use neuroloop_formats::{ChannelKind, npy};

/// Volts per unit of a declared unit, as the comparison with MNE (which returns volts) needs.
fn volts_per_unit(unit: &str) -> f64 {
    match unit {
        "V" => 1.0,
        "mV" => 1e-3,
        "uV" => 1e-6,
        "nV" => 1e-9,
        _ => 1.0,
    }
}

/// Relative difference with a floor far below any sample value, so tiny values are compared
/// relatively too.
fn relative_error(actual: f64, expected: f64) -> f64 {
    (actual - expected).abs() / expected.abs().max(1e-300)
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value.as_array().unwrap().iter().map(as_f64).collect()
}

#[test]
fn every_gdf_file_matches_mne() {
    let golden = golden("gdf.json");
    for (relative, expected) in golden.as_object().unwrap() {
        let Some(path) = data_path(relative) else {
            continue;
        };
        let file = gdf::read(&path).unwrap_or_else(|error| panic!("{error}"));
        let context = relative.as_str();
        let labels: Vec<&str> = file.channels.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, strings(&expected["ch_names"]), "{context}");
        assert_eq!(
            file.sample_rate_hz(),
            as_f64(&expected["sfreq"]),
            "{context}"
        );
        let n_samples = as_usize(&expected["n_samples"]);
        for (channel, &unit_factor) in file.channels.iter().zip(&numbers(&expected["unit_factor"]))
        {
            assert_eq!(
                channel.digital.len(),
                n_samples,
                "{context} {}",
                channel.label
            );
            assert_eq!(channel.sample_rate_hz, as_f64(&expected["sfreq"]));
            assert_eq!(
                volts_per_unit(&channel.physical_dimension),
                unit_factor,
                "{context}"
            );
        }
        let (value_error, sum_error) = check_values(&file, expected, context);
        let onset_error = check_annotations(&file, expected, context);
        assert_eq!(
            file.start_time.is_none(),
            expected["meas_date"].is_null(),
            "{context}"
        );
        let events_in_file = file
            .event_table
            .as_ref()
            .map_or(0, |table| table.events.len());
        assert_eq!(
            events_in_file,
            as_usize(&expected["events_in_file"]),
            "{context}"
        );
        println!(
            "{context}: largest relative error of values {value_error:e}, of sums and sums of \
             squares {sum_error:e}; largest onset error {onset_error:e} s"
        );
    }
}

/// Compares the values at the golden indices (to 1e-13 relative) and the sums (to 1e-9,
/// since numpy sums pairwise); returns the largest relative errors seen.
fn check_values(file: &GdfFile, expected: &serde_json::Value, context: &str) -> (f64, f64) {
    let indices: Vec<usize> = expected["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_usize)
        .collect();
    let (mut value_error, mut sum_error) = (0.0_f64, 0.0_f64);
    for (c, channel) in file.channels.iter().enumerate() {
        let volts = volts_per_unit(&channel.physical_dimension);
        let physical: Vec<f64> = channel.physical().iter().map(|v| v * volts).collect();
        for (&index, expected) in indices.iter().zip(numbers(&expected["values"][c])) {
            let error = relative_error(physical[index], expected);
            assert!(
                error <= 1e-13,
                "{context} channel {c} sample {index}: {error:e}"
            );
            value_error = value_error.max(error);
        }
        let sum: f64 = physical.iter().sum();
        let sum_of_squares: f64 = physical.iter().map(|v| v * v).sum();
        for (actual, key) in [(sum, "sums"), (sum_of_squares, "sums_of_squares")] {
            let error = relative_error(actual, as_f64(&expected[key][c]));
            assert!(error <= 1e-9, "{context} channel {c} {key}: {error:e}");
            sum_error = sum_error.max(error);
        }
    }
    (value_error, sum_error)
}

/// Compares the annotations with MNE's: same count and labels, onsets to 1 µs (MNE rounds
/// them to microseconds). Durations: mode-1 events have none, which this reader reports as 0
/// and MNE as one sample.
fn check_annotations(file: &GdfFile, expected: &serde_json::Value, context: &str) -> f64 {
    let annotations = file.annotations();
    let mne = &expected["annotations"];
    assert_eq!(
        annotations
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>(),
        strings(&mne["description"]),
        "{context}"
    );
    let mode_1 = file
        .event_table
        .as_ref()
        .is_some_and(|table| table.mode == 1);
    let one_sample_s = 1.0 / file.sample_rate_hz();
    let mut onset_error = 0.0_f64;
    for ((annotation, onset_s), duration_s) in annotations
        .iter()
        .zip(numbers(&mne["onset"]))
        .zip(numbers(&mne["duration"]))
    {
        let error = (annotation.onset_s - onset_s).abs();
        assert!(
            error <= 1e-6,
            "{context}: onset {} vs {onset_s}",
            annotation.onset_s
        );
        onset_error = onset_error.max(error);
        if mode_1 {
            assert_eq!(annotation.duration_s, 0.0, "{context}");
            assert!((duration_s - one_sample_s).abs() < 1e-9, "{context}");
        } else {
            assert!(
                (annotation.duration_s - duration_s).abs() <= 1e-6,
                "{context}"
            );
        }
    }
    onset_error
}

#[test]
fn ssvep_recordings_are_read_as_openvibe_wrote_them() {
    let Some(path) = data_path("formats_real_gdf_fif/s01_2012.07.06-19.02.16.gdf") else {
        return;
    };
    let file = gdf::read(&path).unwrap();
    assert_eq!(file.header.version, "1.25");
    assert!(!file.header.is_v2());
    assert_eq!(file.header.record_count, 57_024);
    assert_eq!(
        file.header.record_duration,
        RecordDuration::Rational {
            numerator_s: 1,
            denominator: 256
        }
    );
    assert!(
        file.channels
            .iter()
            .all(|c| c.data_type == GdfDataType::Float64)
    );
    let table = file.event_table.as_ref().unwrap();
    assert_eq!((table.mode, table.stored_sample_rate_hz), (1, 0.0));
    assert_eq!(table.sample_rate_hz, 256.0);
    assert_eq!(table.events.len(), 98);
    // The last event (32770, experiment stop) lies after the last sample; MNE drops it.
    assert_eq!(table.events[97].code, 32770);
    assert_eq!(file.start_time, None);

    let recording = neuroloop_formats::read_recording(&path).unwrap();
    assert_eq!(recording.channels.len(), 8);
    for channel in &recording.channels {
        assert_eq!(channel.unit, "uV");
        assert_eq!(channel.kind, ChannelKind::Eeg);
        assert_eq!(channel.sample_rate_hz, 256.0);
    }
    assert_eq!(recording.annotations.len(), 97);
    let count = |code: &str| {
        recording
            .annotations
            .iter()
            .filter(|a| a.label == code)
            .count()
    };
    assert_eq!(count("32769"), 1);
    assert_eq!((count("32779"), count("32780")), (32, 32));
    assert_eq!(
        count("33024") + count("33025") + count("33026") + count("33027"),
        32
    );
    assert_eq!(recording.annotations[0].onset_s, 3324.0 / 256.0);
}

#[test]
fn s01_samples_equal_the_npy_export() {
    let (Some(gdf_path), Some(npy_path)) = (
        data_path("formats_real_gdf_fif/s01_2012.07.06-19.02.16.gdf"),
        data_path("ssvep_exoskeleton_kalunga2016/npy/s01_2012.07.06-19.02.16.npy"),
    ) else {
        return;
    };
    let recording = gdf::read_recording(&gdf_path).unwrap();
    let array = npy::read(&npy_path).unwrap();
    assert_eq!((array.rows(), array.columns()), (57_024, 8));
    let mut largest = 0.0_f64;
    for (c, (channel, samples)) in recording.channels.iter().zip(&recording.data).enumerate() {
        // The export holds microvolts as float32, so each value is ours rounded to float32:
        // at most half a float32 step (2^-24 relative) away.
        assert_eq!(channel.unit, "uV");
        let exported = array.column(c).unwrap();
        assert_eq!(samples.len(), exported.len());
        for (i, (&ours, &theirs)) in samples.iter().zip(&exported).enumerate() {
            let error = (ours - theirs).abs();
            assert!(
                error <= theirs.abs() * f64::from(f32::EPSILON) / 2.0,
                "channel {c} sample {i}: {ours} vs {theirs}"
            );
            assert_eq!(ours as f32, theirs as f32, "channel {c} sample {i}");
            largest = largest.max(relative_error(ours, theirs));
        }
    }
    println!("s01 vs npy: largest relative difference {largest:e} (float32 rounding)");
}

#[test]
fn single_channel_gdf2_is_read_in_millivolts() {
    let Some(path) = data_path("formats_mne_testing_data/GDF/test_1ch.gdf") else {
        return;
    };
    let file = gdf::read(&path).unwrap();
    assert_eq!(file.header.version, "2.10");
    assert!(file.header.is_v2());
    let channel = &file.channels[0];
    assert_eq!(channel.physical_dimension_code, Some(4274));
    assert_eq!(channel.physical_dimension, "mV");
    assert_eq!(channel.data_type, GdfDataType::Float32);
    assert_eq!(
        (channel.sample_rate_hz, channel.digital.len()),
        (150.0, 4500)
    );
    // No sensor type is declared, so the label decides (MNE calls every GDF channel EEG).
    assert_eq!(channel.kind, ChannelKind::Ecg);
    assert!(file.event_table.is_none());
}

// ---------------------------------------------------------------------------------------------
// Synthetic files

/// One channel of a synthetic file.
struct Channel {
    label: &'static str,
    transducer: &'static str,
    unit: &'static str,
    unit_code: u16,
    range: (f64, f64, f64, f64),
    samples_per_record: u32,
    data_type: u32,
}

fn channel(label: &'static str, data_type: u32, samples_per_record: u32) -> Channel {
    Channel {
        label,
        transducer: "",
        unit: "uV",
        unit_code: 4275,
        range: (-100.0, 100.0, -1000.0, 1000.0),
        samples_per_record,
        data_type,
    }
}

fn put(buffer: &mut [u8], offset: usize, bytes: &[u8]) {
    buffer[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// A GDF file of `version` ("1.25", "2.10", "2.22", ...) with the given channels, record
/// count, duration (`numerator/denominator`, or seconds for 2.21 and later), data bytes and
/// raw event table.
fn build(
    version: &str,
    channels: &[Channel],
    records: i64,
    duration: (u32, u32),
    data: &[u8],
    events: &[u8],
) -> Vec<u8> {
    let v2 = version.starts_with('2');
    let ns = channels.len();
    let header_bytes = 256 * (ns + 1);
    let mut file = vec![0u8; header_bytes];
    put(&mut file, 0, format!("GDF {version}").as_bytes());
    put(&mut file, 8, b"X X");
    put(&mut file, 236, &records.to_le_bytes());
    if version >= "2.21" {
        put(
            &mut file,
            244,
            &(f64::from(duration.0) / f64::from(duration.1)).to_le_bytes(),
        );
    } else {
        put(&mut file, 244, &duration.0.to_le_bytes());
        put(&mut file, 248, &duration.1.to_le_bytes());
    }
    if v2 {
        put(&mut file, 184, &((header_bytes / 256) as u16).to_le_bytes());
        put(&mut file, 252, &(ns as u16).to_le_bytes());
    } else {
        put(&mut file, 168, b"20120706190216  ");
        put(&mut file, 184, &(header_bytes as i64).to_le_bytes());
        put(&mut file, 252, &(ns as u32).to_le_bytes());
    }
    for (k, c) in channels.iter().enumerate() {
        let at = |start: usize, width: usize| 256 + start * ns + width * k;
        put(&mut file, at(0, 16), c.label.as_bytes());
        put(&mut file, at(16, 80), c.transducer.as_bytes());
        put(&mut file, at(104, 8), &c.range.0.to_le_bytes());
        put(&mut file, at(112, 8), &c.range.1.to_le_bytes());
        if v2 {
            put(&mut file, at(96, 6), c.unit.as_bytes());
            put(&mut file, at(102, 2), &c.unit_code.to_le_bytes());
            put(&mut file, at(120, 8), &c.range.2.to_le_bytes());
            put(&mut file, at(128, 8), &c.range.3.to_le_bytes());
            put(&mut file, at(204, 4), &40.0_f32.to_le_bytes());
        } else {
            put(&mut file, at(96, 8), c.unit.as_bytes());
            put(&mut file, at(120, 8), &(c.range.2 as i64).to_le_bytes());
            put(&mut file, at(128, 8), &(c.range.3 as i64).to_le_bytes());
            put(&mut file, at(136, 80), b"HP: 0.1Hz LP: 40Hz");
        }
        put(&mut file, at(216, 4), &c.samples_per_record.to_le_bytes());
        put(&mut file, at(220, 4), &c.data_type.to_le_bytes());
    }
    file.extend_from_slice(data);
    file.extend_from_slice(events);
    file
}

/// A raw event table: `(position, type, channel, duration)`; mode 1 omits the last two.
fn event_table(v2: bool, mode: u8, rate: u32, events: &[(u32, u16, u16, u32)]) -> Vec<u8> {
    let n = events.len() as u32;
    let mut table = vec![mode];
    if v2 {
        table.extend_from_slice(&n.to_le_bytes()[..3]);
        table.extend_from_slice(&(rate as f32).to_le_bytes());
    } else {
        table.extend_from_slice(&rate.to_le_bytes()[..3]);
        table.extend_from_slice(&n.to_le_bytes());
    }
    events
        .iter()
        .for_each(|e| table.extend_from_slice(&e.0.to_le_bytes()));
    events
        .iter()
        .for_each(|e| table.extend_from_slice(&e.1.to_le_bytes()));
    if mode & 2 != 0 {
        events
            .iter()
            .for_each(|e| table.extend_from_slice(&e.2.to_le_bytes()));
        events
            .iter()
            .for_each(|e| table.extend_from_slice(&e.3.to_le_bytes()));
    }
    table
}

/// Two int16 channels, 2 samples per record, 3 records of 1/2 s (4 Hz), a mode-1 event table.
fn small_v1() -> Vec<u8> {
    let data: Vec<u8> = (0..12i16)
        .flat_map(|v| (v * 100 - 500).to_le_bytes())
        .collect();
    let events = event_table(false, 1, 0, &[(1, 33025, 0, 0), (5, 32779, 0, 0)]);
    build(
        "1.25",
        &[channel("Oz", 3, 2), channel("EOG", 3, 2)],
        3,
        (1, 2),
        &data,
        &events,
    )
}

#[test]
fn synthetic_v1_file_is_read_field_by_field() {
    let file = gdf::parse(&small_v1()).unwrap();
    assert_eq!(file.header.patient, "X X");
    let start = file.start_time.unwrap();
    assert_eq!(
        (start.year, start.month, start.day, start.hour),
        (2012, 7, 6, 19)
    );
    let [oz, eog] = &file.channels[..] else {
        panic!()
    };
    assert_eq!(oz.sample_rate_hz, 4.0);
    assert_eq!(oz.prefiltering, "HP: 0.1Hz LP: 40Hz");
    // Records interleave the channels: record r holds Oz[2r], Oz[2r+1], EOG[2r], EOG[2r+1].
    assert_eq!(oz.digital, [-500.0, -400.0, -100.0, 0.0, 300.0, 400.0]);
    assert_eq!(eog.digital, [-300.0, -200.0, 100.0, 200.0, 500.0, 600.0]);
    assert_eq!(oz.physical()[5], 40.0);
    assert_eq!((oz.kind, eog.kind), (ChannelKind::Eeg, ChannelKind::Eog));
    let recording = file.to_recording();
    let onsets: Vec<(f64, f64, &str)> = recording
        .annotations
        .iter()
        .map(|a| (a.onset_s, a.duration_s, a.label.as_str()))
        .collect();
    assert_eq!(onsets, [(0.0, 0.0, "33025"), (1.0, 0.0, "32779")]);
}

#[test]
fn synthetic_v2_file_reads_codes_filters_durations_and_mode_3_events() {
    let mut eeg = channel("ECG", 16, 4);
    eeg.transducer = "EEG: Ag-AgCl electrodes";
    eeg.range = (-1.0, 1.0, -1.0, 1.0);
    let mut volts = channel("Resp", 279, 2);
    volts.unit_code = 4256;
    volts.unit = "";
    volts.range = (-8_388_608.0, 8_388_607.0, -8_388_608.0, 8_388_607.0);
    let mut data = Vec::new();
    for record in 0..2 {
        for i in 0..4 {
            data.extend_from_slice(&((record * 4 + i) as f32 * 0.25).to_le_bytes());
        }
        data.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x80]);
    }
    // Event rate 8 Hz, twice the fastest channel: position 9 is 1 s after the first sample.
    let events = event_table(true, 3, 8, &[(9, 0x7FFE, 1, 4), (17, 1, 0, 0)]);
    let file = gdf::parse(&build("2.22", &[eeg, volts], 2, (1, 1), &data, &events)).unwrap();
    assert!(matches!(file.header.record_duration, RecordDuration::Seconds(s) if s == 1.0));
    let [eeg, volts] = &file.channels[..] else {
        panic!()
    };
    assert_eq!(eeg.kind, ChannelKind::Eeg);
    assert_eq!(eeg.physical_dimension, "uV");
    assert_eq!(eeg.filters.unwrap().lowpass_hz, 40.0);
    assert_eq!(eeg.digital, [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]);
    assert_eq!(volts.physical_dimension, "V");
    assert_eq!(volts.data_type, GdfDataType::Int24);
    assert_eq!(volts.digital, [-1.0, -8_388_607.0, -1.0, -8_388_607.0]);
    assert_eq!(volts.physical(), volts.digital);
    let table = file.event_table.as_ref().unwrap();
    assert_eq!(table.sample_rate_hz, 8.0);
    assert_eq!(
        (table.events[0].channel, table.events[0].duration_samples),
        (1, 4)
    );
    let annotations = file.annotations();
    assert_eq!(annotations.len(), 2);
    assert_eq!(
        (annotations[0].onset_s, annotations[0].duration_s),
        (1.0, 0.5)
    );
    assert_eq!(annotations[0].label, "32766");
    // The second event starts exactly at the end of the data: MNE keeps it.
    assert_eq!(annotations[1].onset_s, 2.0);
}

#[test]
fn events_reaching_past_the_data_are_clipped() {
    let data = vec![0u8; 4 * 3];
    let events = event_table(false, 3, 0, &[(3, 1, 0, 10), (4, 2, 0, 1)]);
    let file = gdf::parse(&build(
        "1.25",
        &[channel("Cz", 3, 2)],
        3,
        (1, 2),
        &data,
        &events,
    ))
    .unwrap();
    let annotations = file.annotations();
    // Data: 6 samples at 4 Hz = 1.5 s. Event 1 starts at 0.5 s and would last 2.5 s.
    assert_eq!(
        (annotations[0].onset_s, annotations[0].duration_s),
        (0.5, 1.0)
    );
    assert_eq!(
        (annotations[1].onset_s, annotations[1].duration_s),
        (0.75, 0.25)
    );
}

#[test]
fn unknown_record_count_reads_every_complete_record() {
    let mut bytes = small_v1();
    put(&mut bytes, 236, &(-1i64).to_le_bytes());
    let file = gdf::parse(&bytes).unwrap();
    // Nothing says where the data ends, so the 20-byte event table is read as 2 more records
    // of 8 bytes (and 4 bytes are left over).
    assert!(file.header.record_count_was_unknown);
    assert_eq!(file.header.record_count, 5);
    assert!(file.event_table.is_none());
}

// ---------------------------------------------------------------------------------------------
// Malformed input

/// The problem and byte offset of a parse error, after checking that the message names both.
fn failure(bytes: &[u8]) -> (GdfProblem, u64) {
    let error = gdf::parse(bytes).expect_err("malformed input must be rejected");
    let message = error.to_string();
    let offset = error.offset().unwrap();
    assert!(
        message.starts_with(&format!("<in-memory data>: GDF byte offset {offset}: ")),
        "{message}"
    );
    (error.problem().unwrap().clone(), offset)
}

#[test]
fn truncated_fixed_header_is_reported() {
    let (problem, offset) = failure(&small_v1()[..100]);
    assert_eq!(offset, 0);
    assert_eq!(
        problem,
        GdfProblem::Truncated {
            what: "fixed header",
            needed: 256,
            available: 100
        }
    );
}

#[test]
fn truncated_channel_headers_are_reported() {
    let (problem, offset) = failure(&small_v1()[..600]);
    assert_eq!(offset, 256);
    assert_eq!(
        problem,
        GdfProblem::Truncated {
            what: "channel headers",
            needed: 512,
            available: 344
        }
    );
    assert!(
        problem
            .to_string()
            .contains("truncated channel headers: needs 512 bytes")
    );
}

#[test]
fn wrong_version_string_is_rejected() {
    for version in [&b"GDF 3.00"[..], b"0       ", b"GDF 1,25", b"GDF2.10 "] {
        let mut bytes = small_v1();
        put(&mut bytes, 0, version);
        let (problem, offset) = failure(&bytes);
        assert_eq!(offset, 0);
        assert!(
            matches!(problem, GdfProblem::BadVersion { .. }),
            "{problem}"
        );
        assert!(
            problem
                .to_string()
                .starts_with("not a GDF 1.x or 2.x file: version field is")
        );
    }
}

#[test]
fn channel_count_beyond_the_header_is_rejected() {
    let mut bytes = small_v1();
    put(&mut bytes, 252, &3u32.to_le_bytes());
    let (problem, offset) = failure(&bytes);
    assert_eq!(offset, 252);
    assert_eq!(
        problem,
        GdfProblem::ChannelCountOutOfRange {
            count: 3,
            header_bytes: 768,
            max_channels: 2
        }
    );
    let mut bytes = small_v1();
    put(&mut bytes, 252, &u32::MAX.to_le_bytes());
    assert_eq!(failure(&bytes).1, 252);
}

#[test]
fn record_count_beyond_the_file_is_rejected() {
    let mut bytes = small_v1();
    put(&mut bytes, 236, &1_000_000i64.to_le_bytes());
    let (problem, offset) = failure(&bytes);
    assert_eq!(offset, 236);
    assert_eq!(
        problem,
        GdfProblem::RecordCountOutOfRange {
            records: 1_000_000,
            record_bytes: 8,
            needed: 8_000_000,
            available: 44
        }
    );
    put(&mut bytes, 236, &i64::MAX.to_le_bytes());
    assert_eq!(failure(&bytes).1, 236);
    put(&mut bytes, 236, &(-7i64).to_le_bytes());
    assert_eq!(
        failure(&bytes),
        (GdfProblem::NegativeRecordCount { value: -7 }, 236)
    );
}

#[test]
fn event_table_cut_short_is_reported() {
    let bytes = small_v1();
    let table_offset: usize = 768 + 24;
    let (problem, offset) = failure(&bytes[..bytes.len() - 1]);
    assert_eq!(offset, table_offset as u64);
    assert_eq!(
        problem,
        GdfProblem::Truncated {
            what: "event table",
            needed: 20,
            available: 19
        }
    );
    let (problem, offset) = failure(&bytes[..table_offset + 3]);
    assert_eq!(offset, table_offset as u64);
    assert!(matches!(
        problem,
        GdfProblem::Truncated {
            what: "event table header",
            ..
        }
    ));
    // A count far beyond the file is caught before anything is allocated.
    let mut bytes = small_v1();
    put(&mut bytes, table_offset + 4, &u32::MAX.to_le_bytes());
    assert!(matches!(
        failure(&bytes).0,
        GdfProblem::Truncated {
            what: "event table",
            ..
        }
    ));
}

#[test]
fn unsupported_fields_are_named() {
    let mut bytes = small_v1();
    // Data type of channel 1: field start 220 · 2 channels + 4 · 1.
    put(&mut bytes, 256 + 440 + 4, &18u32.to_le_bytes());
    let (problem, offset) = failure(&bytes);
    assert_eq!(
        (problem, offset),
        (
            GdfProblem::UnsupportedDataType {
                channel: 1,
                code: 18
            },
            700
        )
    );

    let mut bytes = small_v1();
    put(&mut bytes, 248, &0u32.to_le_bytes());
    let (problem, offset) = failure(&bytes);
    assert_eq!(offset, 248);
    assert_eq!(
        problem.to_string(),
        "data record duration 1/0 is not a positive number of seconds"
    );

    let mut bytes = small_v1();
    put(&mut bytes, 768 + 24, &[2]);
    assert_eq!(
        failure(&bytes),
        (GdfProblem::UnsupportedEventMode { mode: 2 }, 792)
    );

    let mut bytes = small_v1();
    put(&mut bytes, 184, &(-256i64).to_le_bytes());
    assert_eq!(
        failure(&bytes),
        (GdfProblem::NegativeHeaderLength { value: -256 }, 184)
    );
}

#[test]
fn no_prefix_or_corruption_of_a_file_panics() {
    let bytes = small_v1();
    for length in 0..=bytes.len() {
        let _ = gdf::parse(&bytes[..length]).map(|file| file.to_recording());
    }
    for position in 0..bytes.len() {
        for value in [0x00, 0x7F, 0x80, 0xFF] {
            let mut corrupted = bytes.clone();
            corrupted[position] = value;
            let _ = gdf::parse(&corrupted).map(|file| file.to_recording());
        }
    }
}

#[test]
fn truncated_real_file_reports_where_it_ends() {
    let Some(path) = data_path("formats_real_gdf_fif/s01_2012.07.06-19.02.16.gdf") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let (problem, offset) = failure(&bytes[..1000]);
    assert_eq!(offset, 256);
    assert!(matches!(
        problem,
        GdfProblem::Truncated {
            what: "channel headers",
            ..
        }
    ));
    let (problem, offset) = failure(&bytes[..bytes.len() / 2]);
    assert_eq!(offset, 236);
    assert!(matches!(
        problem,
        GdfProblem::RecordCountOutOfRange {
            records: 57_024,
            ..
        }
    ));
    let (problem, _) = failure(&bytes[..bytes.len() - 10]);
    assert!(matches!(
        problem,
        GdfProblem::Truncated {
            what: "event table",
            ..
        }
    ));
}
