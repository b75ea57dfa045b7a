//! XDF reader checks against the example files' documented values and against golden numbers
//! produced by pyxdf (`tests/golden/generate.py`).

mod common;

use common::{as_f64, as_usize, assert_close, data_path, golden};
use neuroloop_formats::xdf::{self, ChannelFormat, ReadOptions, XdfValues};

#[test]
fn minimal_xdf_matches_documented_values() {
    let Some(path) = data_path("xdf/xdf_example_files/minimal.xdf") else {
        return;
    };
    let file = xdf::read_with(&path, &ReadOptions::raw()).unwrap();
    assert_eq!(file.streams.len(), 2);

    let eeg = &file.streams[0];
    assert_eq!(eeg.id, 0);
    let header = &eeg.header;
    assert_eq!(header.name, "SendDataC");
    assert_eq!(header.stream_type, "EEG");
    assert_eq!(header.channel_count, 3);
    assert_eq!(header.nominal_srate_hz, 10.0);
    assert_eq!(header.channel_format, ChannelFormat::Int16);
    // The header text is compared through the same parse, since it has more digits than an f64.
    assert_eq!(header.created_at_s, "50942.723319709003".parse().ok());
    assert_eq!(header.uid, "xdfwriter_11_int");
    assert!(header.channels.is_empty());
    assert!(header.xml.contains("<uid>xdfwriter_11_int</uid>"));
    let footer = eeg.footer.as_ref().unwrap();
    assert_eq!(footer.first_timestamp_s, Some(5.1));
    assert_eq!(footer.last_timestamp_s, Some(5.9));
    assert_eq!(footer.sample_count, Some(9));
    let expected: [[i16; 3]; 9] = [
        [192, 255, 238],
        [12, 22, 32],
        [13, 23, 33],
        [14, 24, 34],
        [15, 25, 35],
        [12, 22, 32],
        [13, 23, 33],
        [14, 24, 34],
        [15, 25, 35],
    ];
    let XdfValues::Int16(values) = &eeg.values else {
        panic!("int16 stream decoded as {:?}", eeg.values.format());
    };
    assert_eq!(values, &expected.concat());
    for (index, timestamp) in eeg.timestamps_s.iter().enumerate() {
        assert_close(
            *timestamp,
            5.1 + 0.1 * index as f64,
            1e-12,
            "raw time stamp",
        );
    }
    let offsets: Vec<(f64, f64)> = eeg
        .clock_offsets
        .iter()
        .map(|offset| (offset.collection_time_s, offset.offset_s))
        .collect();
    assert_eq!(offsets, vec![(6.1, -0.1), (7.1, -0.1)]);

    let strings = &file.streams[1];
    assert_eq!(strings.id, 0x02C0_FFEE);
    assert_eq!(strings.header.name, "SendDataString");
    assert_eq!(strings.header.stream_type, "StringMarker");
    assert_eq!(strings.header.channel_format, ChannelFormat::String);
    assert!(strings.clock_offsets.is_empty());
    let XdfValues::String(texts) = &strings.values else {
        panic!("string stream decoded as numbers");
    };
    assert!(texts[0].starts_with("<?xml") && texts[0].contains("<sample_count>9</sample_count>"));
    assert_eq!(
        &texts[1..],
        [
            "Hello", "World", "from", "LSL", "Hello", "World", "from", "LSL"
        ]
    );

    // With synchronisation the constant -0.1 s offset applies to every EEG time stamp; the
    // string stream has no offsets and stays as recorded.
    let synced = xdf::read(&path).unwrap();
    for (raw, corrected) in eeg.timestamps_s.iter().zip(&synced.streams[0].timestamps_s) {
        assert_close(*corrected, raw - 0.1, 1e-12, "synchronised time stamp");
    }
    assert_eq!(synced.streams[1].timestamps_s, strings.timestamps_s);
}

fn options(config: &str) -> ReadOptions {
    match config {
        "raw" => ReadOptions::raw(),
        "sync" => ReadOptions::default(),
        "sync_dejitter" => ReadOptions {
            dejitter_timestamps: true,
            ..ReadOptions::default()
        },
        other => panic!("unknown configuration {other}"),
    }
}

#[test]
fn every_xdf_file_matches_pyxdf() {
    let Some(root) = data_path("xdf") else {
        return;
    };
    let golden = golden("xdf.json");
    let golden = golden.as_object().unwrap();
    let mut on_disk = Vec::new();
    collect_xdf(&root, &mut on_disk);
    assert_eq!(
        on_disk.len(),
        golden.len(),
        "golden numbers cover every XDF file"
    );
    let mut worst_deviation_s: f64 = 0.0;
    for (relative, configs) in golden {
        let Some(path) = data_path(relative) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        for (config, expected_streams) in configs.as_object().unwrap() {
            let file = xdf::parse_with(&bytes, &options(config)).unwrap();
            let expected_streams = expected_streams.as_array().unwrap();
            assert_eq!(file.streams.len(), expected_streams.len(), "{relative}");
            for expected in expected_streams {
                let id = u32::try_from(expected["id"].as_u64().unwrap()).unwrap();
                let context = format!("{relative} [{config}] stream {id}");
                let stream = file.stream_by_id(id).unwrap();
                assert_eq!(
                    stream.header.name,
                    expected["name"].as_str().unwrap(),
                    "{context}"
                );
                assert_eq!(
                    stream.header.stream_type,
                    expected["type"].as_str().unwrap()
                );
                assert_eq!(
                    stream.header.channel_format.as_str(),
                    expected["channel_format"].as_str().unwrap()
                );
                assert_eq!(stream.channel_count(), as_usize(&expected["channel_count"]));
                assert_eq!(
                    stream.header.nominal_srate_hz,
                    as_f64(&expected["nominal_srate"])
                );
                assert_eq!(
                    stream.sample_count(),
                    as_usize(&expected["sample_count"]),
                    "{context}"
                );
                assert_eq!(
                    stream.clock_offsets.len(),
                    as_usize(&expected["clock_offset_count"]),
                    "{context}"
                );
                for (index, timestamp) in expected["timestamp_indices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(expected["timestamps"].as_array().unwrap())
                {
                    // The clock fit is iterative, so last-digit differences in arithmetic
                    // order show up as nanoseconds; a microsecond is far below any EEG
                    // sample period.
                    let deviation =
                        (stream.timestamps_s[as_usize(index)] - as_f64(timestamp)).abs();
                    assert!(
                        deviation <= 1e-6,
                        "{context} time stamp {index}: off by {deviation} s"
                    );
                    worst_deviation_s = worst_deviation_s.max(deviation);
                }
                assert_close(
                    stream.effective_srate_hz,
                    as_f64(&expected["effective_srate"]),
                    1e-6,
                    &format!("{context} effective rate"),
                );
                let ranges = |value: &serde_json::Value| -> Vec<(usize, usize)> {
                    value
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|pair| (as_usize(&pair[0]), as_usize(&pair[1])))
                        .collect()
                };
                let clock_segments: Vec<(usize, usize)> = stream
                    .clock_segments
                    .iter()
                    .map(|r| (r.first, r.last))
                    .collect();
                let segments: Vec<(usize, usize)> =
                    stream.segments.iter().map(|r| (r.first, r.last)).collect();
                assert_eq!(
                    clock_segments,
                    ranges(&expected["clock_segments"]),
                    "{context}"
                );
                assert_eq!(segments, ranges(&expected["segments"]), "{context}");
                check_values(stream, expected, &context);
            }
        }
    }
    eprintln!("largest time stamp deviation from pyxdf: {worst_deviation_s:e} s");
}

fn check_values(stream: &xdf::XdfStream, expected: &serde_json::Value, context: &str) {
    let count = stream.sample_count();
    if count == 0 {
        return;
    }
    let rows = [
        (0, &expected["first_values"]),
        (count - 1, &expected["last_values"]),
    ];
    if stream.header.channel_format == ChannelFormat::String {
        for (sample, values) in rows {
            for (channel, value) in values.as_array().unwrap().iter().enumerate() {
                assert_eq!(
                    stream.value_str(sample, channel),
                    value.as_str(),
                    "{context}"
                );
            }
        }
        return;
    }
    for (sample, values) in rows {
        for (channel, value) in values.as_array().unwrap().iter().enumerate() {
            assert_eq!(
                stream.value_f64(sample, channel),
                Some(as_f64(value)),
                "{context}"
            );
        }
    }
    for (channel, sum) in expected["channel_sums"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let total: f64 = stream.channel_f64(channel).unwrap().iter().sum();
        assert_close(
            total,
            as_f64(sum),
            1e-9,
            &format!("{context} channel {channel} sum"),
        );
    }
}

fn collect_xdf(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_xdf(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "xdf") {
            out.push(path);
        }
    }
}

#[test]
fn empty_streams_have_no_samples_and_keep_their_headers() {
    let Some(path) = data_path("xdf/xdf_example_files/empty_streams.xdf") else {
        return;
    };
    let file = xdf::read(&path).unwrap();
    let empty_data = file
        .stream_by_name("Empty data stream: test stream 0 counter")
        .unwrap();
    assert_eq!(empty_data.sample_count(), 0);
    assert!(empty_data.values.is_empty());
    assert_eq!(empty_data.header.channel_labels(), vec!["ch:00"]);
    assert_eq!(empty_data.header.channels[0].channel_type, "misc");
    assert_eq!(empty_data.footer.as_ref().unwrap().sample_count, Some(0));
    let counter = file
        .stream_by_name("Data stream: test stream 0 counter")
        .unwrap();
    assert_eq!(
        counter.channel_f64(0).unwrap(),
        (0..10).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(counter.header.source_id, "test_stream.py:191695:0");
    assert_eq!(counter.header.hostname, "kassia");
    let control = file.stream_by_name("ctrl").unwrap();
    assert_eq!(control.value_str(0, 0), Some("{\"state\": 2}"));
}

#[test]
fn clock_resets_split_the_synchronisation() {
    let Some(path) = data_path("xdf/xdf_example_files/clock_resets.xdf") else {
        return;
    };
    let file = xdf::read(&path).unwrap();
    let eeg = file.stream_by_name("BioSemi").unwrap();
    assert_eq!(eeg.sample_count(), 27815);
    let segments: Vec<(usize, usize)> = eeg
        .clock_segments
        .iter()
        .map(|r| (r.first, r.last))
        .collect();
    assert_eq!(segments, vec![(0, 12875), (12876, 27814)]);
    // The raw time stamps jump back by about 652 000 s at the reset; once each half is mapped
    // with its own clock fit the stream runs forwards on the recorder clock.
    assert!(eeg.timestamps_s.windows(2).all(|pair| pair[1] > pair[0]));
    let raw = xdf::read_with(&path, &ReadOptions::raw()).unwrap();
    let raw_eeg = raw.stream_by_name("BioSemi").unwrap();
    assert!(raw_eeg.timestamps_s[12876] < raw_eeg.timestamps_s[12875] - 600_000.0);
}

#[test]
fn xdf_converts_to_a_recording() {
    let Some(path) = data_path("xdf/xdf_example_files/minimal.xdf") else {
        return;
    };
    let file = xdf::read(&path).unwrap();
    let recording = file.to_default_recording().unwrap();
    assert_eq!(recording.channels.len(), 3);
    assert_eq!(recording.channels[0].label, "ch0");
    assert_eq!(recording.common_sample_rate_hz(), Some(10.0));
    assert_eq!(recording.data[1][1], 22.0);
    assert_eq!(recording.annotations.len(), 9);
    assert_eq!(recording.annotations[1].label, "Hello");
    // The EEG stream is shifted by its -0.1 s clock offset to start at 5.0 s; the string stream
    // has no offsets, so its second marker stays at 5.2 s, 0.2 s after the first EEG sample.
    assert_close(recording.annotations[1].onset_s, 0.2, 1e-9, "marker onset");
}
