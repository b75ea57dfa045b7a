//! XDF writer checks: round trip through this crate's reader, interoperability with pyxdf,
//! and survival of a recording process that is killed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{python, scratch_dir};
use neuroloop_formats::xdf::{
    self, ChannelFormat, ReadOptions, StreamHeader, WriterOptions, XdfValues, XdfWriter,
};

/// Writes one stream of every channel format, clock offsets and a boundary.
fn write_sample_file(path: &std::path::Path, finish: bool) {
    let mut writer = XdfWriter::create(path).unwrap();
    let eeg = writer
        .add_stream(
            &StreamHeader::new("EEG amp", "EEG", 3, 250.0, ChannelFormat::Float32)
                .with_channel_labels(&["C3", "Cz", "C4"]),
        )
        .unwrap();
    let doubles = writer
        .add_stream(&StreamHeader::new(
            "doubles",
            "Misc",
            1,
            100.0,
            ChannelFormat::Double64,
        ))
        .unwrap();
    let int8 = writer
        .add_stream(&StreamHeader::new(
            "i8",
            "Misc",
            2,
            10.0,
            ChannelFormat::Int8,
        ))
        .unwrap();
    let int16 = writer
        .add_stream(&StreamHeader::new(
            "i16",
            "Misc",
            2,
            10.0,
            ChannelFormat::Int16,
        ))
        .unwrap();
    let int32 = writer
        .add_stream(&StreamHeader::new(
            "i32",
            "Misc",
            1,
            0.0,
            ChannelFormat::Int32,
        ))
        .unwrap();
    let int64 = writer
        .add_stream(&StreamHeader::new(
            "i64",
            "Misc",
            1,
            0.0,
            ChannelFormat::Int64,
        ))
        .unwrap();
    let markers = writer
        .add_stream(&StreamHeader::new(
            "markers <&>",
            "Markers",
            2,
            0.0,
            ChannelFormat::String,
        ))
        .unwrap();
    let empty = writer
        .add_stream(&StreamHeader::new(
            "never used",
            "EEG",
            4,
            500.0,
            ChannelFormat::Float32,
        ))
        .unwrap();
    let _ = empty;

    for block in 0..4 {
        let base = 100.0 + f64::from(block) * 0.04;
        let timestamps: Vec<f64> = (0..10).map(|i| base + f64::from(i) * 0.004).collect();
        let values: Vec<f32> = (0..30)
            .map(|i| (block * 30 + i) as f32 * 0.5 - 7.25)
            .collect();
        writer.write_samples(eeg, &values, &timestamps).unwrap();
        writer
            .write_clock_offset(eeg, base, -0.0125 + 1e-6 * f64::from(block))
            .unwrap();
    }
    writer
        .write_samples(
            doubles,
            &[std::f64::consts::PI, -1e300, 1e-300],
            &[1.0, 1.01, 1.02],
        )
        .unwrap();
    writer
        .write_samples(int8, &[i8::MIN, i8::MAX, 0, -1], &[2.0, 2.1])
        .unwrap();
    writer
        .write_samples(int16, &[i16::MIN, i16::MAX, 7, -7], &[3.0, 3.1])
        .unwrap();
    writer.write_boundary().unwrap();
    writer
        .write_samples(int32, &[i32::MIN, i32::MAX], &[4.0, 4.5])
        .unwrap();
    writer
        .write_samples(int64, &[i64::MIN, i64::MAX, 1 << 60], &[5.0, 5.5, 6.0])
        .unwrap();
    writer
        .write_samples(
            markers,
            &["start", "Grüße, \"quoted\"", "", "end ✓"],
            &[7.0, 8.0],
        )
        .unwrap();
    writer.write_clock_offset(markers, 7.5, 0.25).unwrap();
    if finish {
        writer.finish().unwrap();
    }
}

#[test]
fn written_file_round_trips_through_the_reader() {
    let path = scratch_dir("round_trip").join("all_formats.xdf");
    write_sample_file(&path, true);
    let file = xdf::read_with(&path, &ReadOptions::raw()).unwrap();
    assert_eq!(file.streams.len(), 8);
    assert_eq!(file.boundary_count, 1);
    assert_eq!(file.version.as_deref(), Some("1.0"));

    let eeg = file.stream_by_name("EEG amp").unwrap();
    assert_eq!(eeg.header.channel_labels(), vec!["C3", "Cz", "C4"]);
    assert_eq!(eeg.header.nominal_srate_hz, 250.0);
    assert_eq!(eeg.sample_count(), 40);
    let XdfValues::Float32(values) = &eeg.values else {
        panic!("float32 expected");
    };
    let expected: Vec<f32> = (0..120).map(|i| i as f32 * 0.5 - 7.25).collect();
    assert_eq!(values, &expected);
    assert_eq!(eeg.timestamps_s[11], 100.04 + 0.004);
    assert_eq!(eeg.clock_offsets.len(), 4);
    let footer = eeg.footer.as_ref().unwrap();
    assert_eq!(footer.sample_count, Some(40));
    assert_eq!(footer.first_timestamp_s, Some(100.0));
    assert_eq!(footer.last_timestamp_s, eeg.timestamps_s.last().copied());

    let check = |name: &str, expected: XdfValues| {
        assert_eq!(
            file.stream_by_name(name).unwrap().values,
            expected,
            "{name}"
        );
    };
    check(
        "doubles",
        XdfValues::Double64(vec![std::f64::consts::PI, -1e300, 1e-300]),
    );
    check("i8", XdfValues::Int8(vec![i8::MIN, i8::MAX, 0, -1]));
    check("i16", XdfValues::Int16(vec![i16::MIN, i16::MAX, 7, -7]));
    check("i32", XdfValues::Int32(vec![i32::MIN, i32::MAX]));
    check("i64", XdfValues::Int64(vec![i64::MIN, i64::MAX, 1 << 60]));
    check(
        "markers <&>",
        XdfValues::String(
            ["start", "Grüße, \"quoted\"", "", "end ✓"]
                .map(str::to_owned)
                .to_vec(),
        ),
    );
    let empty = file.stream_by_name("never used").unwrap();
    assert_eq!(empty.sample_count(), 0);
    assert_eq!(empty.footer.as_ref().unwrap().sample_count, Some(0));
}

#[test]
fn writer_rejects_mismatched_samples() {
    let path = scratch_dir("writer_rejects").join("bad.xdf");
    let mut writer = XdfWriter::create(&path).unwrap();
    let id = writer
        .add_stream(&StreamHeader::new(
            "s",
            "EEG",
            2,
            100.0,
            ChannelFormat::Float32,
        ))
        .unwrap();
    let wrong_type = writer
        .write_samples(id, &[1.0_f64, 2.0], &[0.0])
        .unwrap_err();
    assert!(
        wrong_type
            .to_string()
            .contains("values are double64 but the stream is float32")
    );
    let wrong_count = writer
        .write_samples(id, &[1.0_f32, 2.0, 3.0], &[0.0])
        .unwrap_err();
    assert!(
        wrong_count
            .to_string()
            .contains("3 values for 1 time stamps and 2 channels")
    );
    let bad_rate = writer
        .add_stream(&StreamHeader::new(
            "s",
            "EEG",
            2,
            f64::NAN,
            ChannelFormat::Float32,
        ))
        .unwrap_err();
    assert!(bad_rate.to_string().contains("nominal rate"));
    // Nothing bad reached the file.
    writer.finish().unwrap();
    let file = xdf::read(&path).unwrap();
    assert_eq!(file.streams[0].sample_count(), 0);
}

#[test]
fn recording_without_footers_is_still_valid() {
    let path = scratch_dir("no_footers").join("unfinished.xdf");
    write_sample_file(&path, false);
    let file = xdf::read(&path).unwrap();
    assert!(file.streams.iter().all(|stream| stream.footer.is_none()));
    assert_eq!(file.stream_by_name("EEG amp").unwrap().sample_count(), 40);
    // A chunk cut in half (power lost during a write) is an error by default and is dropped
    // when the caller asks for the intact part.
    let bytes = std::fs::read(&path).unwrap();
    let cut = &bytes[..bytes.len() - 5];
    let error = xdf::parse(cut).unwrap_err();
    assert!(error.to_string().contains("truncated chunk"), "{error}");
    let options = ReadOptions {
        tolerate_truncated_tail: true,
        ..ReadOptions::default()
    };
    let recovered = xdf::parse_with(cut, &options).unwrap();
    assert!(recovered.truncated_tail_offset.is_some());
    assert_eq!(
        recovered.stream_by_name("EEG amp").unwrap().sample_count(),
        40
    );
}

/// Child half of `killed_recording_keeps_every_written_chunk`: records until killed.
#[test]
#[ignore = "run as a child process by killed_recording_keeps_every_written_chunk"]
fn child_records_until_killed() {
    let Some(path) = std::env::var_os("NEUROLOOP_XDF_CHILD_OUTPUT") else {
        return;
    };
    let options = WriterOptions {
        sync_interval: std::time::Duration::from_millis(50),
        ..WriterOptions::default()
    };
    let mut writer = XdfWriter::create_with(path, options).unwrap();
    let id = writer
        .add_stream(&StreamHeader::new(
            "live",
            "EEG",
            2,
            100.0,
            ChannelFormat::Float32,
        ))
        .unwrap();
    for chunk in 0_u32.. {
        let t0 = f64::from(chunk) * 0.1;
        let timestamps: Vec<f64> = (0..10).map(|i| t0 + f64::from(i) * 0.01).collect();
        let values: Vec<f32> = (0..20).map(|i| (chunk * 20 + i) as f32).collect();
        writer.write_samples(id, &values, &timestamps).unwrap();
        println!("chunk {chunk} written");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn killed_recording_keeps_every_written_chunk() {
    let path = scratch_dir("killed").join("killed.xdf");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_records_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("NEUROLOOP_XDF_CHILD_OUTPUT", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut confirmed = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("chunk ") {
            confirmed += 1;
            if confirmed == 60 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(confirmed, 60, "child stopped early");
    let file = xdf::read(&path).unwrap();
    let live = file.stream_by_name("live").unwrap();
    assert!(live.footer.is_none());
    // Every chunk the child reported as written is in the file (and possibly a few more).
    assert!(
        live.sample_count() >= 600,
        "{} samples",
        live.sample_count()
    );
    assert_eq!(live.sample_count() % 10, 0);
    let channel = live.channel_f64(1).unwrap();
    assert!(
        channel
            .iter()
            .enumerate()
            .all(|(i, v)| *v == (2 * i + 1) as f64)
    );
}

const PYXDF_DUMP: &str = r#"
import json, sys
import numpy as np
import pyxdf
path, sync = sys.argv[1], sys.argv[2] == "sync"
streams, _ = pyxdf.load_xdf(path, synchronize_clocks=sync, dejitter_timestamps=False)
out = {}
for s in streams:
    fmt = s["info"]["channel_format"][0]
    if fmt == "string":
        series = [list(row) for row in s["time_series"]]
    elif fmt.startswith("int"):
        series = np.asarray(s["time_series"]).astype(int).tolist()
    else:
        series = np.asarray(s["time_series"], dtype=np.float64).tolist()
    out[s["info"]["name"][0]] = {
        "format": fmt,
        "time_stamps": [float(t) for t in s["time_stamps"]],
        "series": series,
        "has_footer": "footer" in s,
    }
print(json.dumps(out))
"#;

fn pyxdf_load(path: &std::path::Path, sync: bool) -> Option<serde_json::Value> {
    let python = python()?;
    let output = Command::new(&python)
        .args(["-c", PYXDF_DUMP])
        .arg(path)
        .arg(if sync { "sync" } else { "raw" })
        .output()
        .unwrap();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named") {
            common::skip_notice(&format!(
                "pyxdf is not installed for {}: {stderr}",
                python.display()
            ));
            return None;
        }
        panic!("pyxdf failed on {}: {stderr}", path.display());
    }
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

fn compare_with_pyxdf(path: &std::path::Path, expect_footers: bool) {
    for sync in [false, true] {
        let Some(loaded) = pyxdf_load(path, sync) else {
            return;
        };
        let options = if sync {
            ReadOptions::default()
        } else {
            ReadOptions::raw()
        };
        let file = xdf::read_with(path, &options).unwrap();
        let loaded = loaded.as_object().unwrap();
        assert_eq!(loaded.len(), file.streams.len());
        for stream in &file.streams {
            let theirs = &loaded[&stream.header.name];
            let context = format!("{} (sync {sync})", stream.header.name);
            assert_eq!(theirs["format"], stream.header.channel_format.as_str());
            assert_eq!(
                theirs["has_footer"].as_bool(),
                Some(expect_footers),
                "{context}"
            );
            let stamps: Vec<f64> = theirs["time_stamps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_f64().unwrap())
                .collect();
            if sync {
                assert_eq!(stamps.len(), stream.timestamps_s.len());
                for (a, b) in stamps.iter().zip(&stream.timestamps_s) {
                    assert!((a - b).abs() < 1e-9, "{context}: {a} vs {b}");
                }
            } else {
                assert_eq!(stamps, stream.timestamps_s, "{context}");
            }
            let rows = theirs["series"].as_array().unwrap();
            assert_eq!(rows.len(), stream.sample_count(), "{context}");
            for (sample, row) in rows.iter().enumerate() {
                for (channel, value) in row.as_array().unwrap().iter().enumerate() {
                    match stream.header.channel_format {
                        ChannelFormat::String => {
                            assert_eq!(value.as_str(), stream.value_str(sample, channel));
                        }
                        ChannelFormat::Int64 => {
                            let XdfValues::Int64(ours) = &stream.values else {
                                unreachable!()
                            };
                            assert_eq!(value.as_i64(), Some(ours[sample]), "{context}");
                        }
                        _ => assert_eq!(
                            value.as_f64(),
                            stream.value_f64(sample, channel),
                            "{context}"
                        ),
                    }
                }
            }
        }
    }
}

#[test]
fn pyxdf_reads_written_file_identically() {
    let path = scratch_dir("pyxdf_interop").join("all_formats.xdf");
    write_sample_file(&path, true);
    compare_with_pyxdf(&path, true);
}

#[test]
fn pyxdf_reads_unfinished_recording() {
    let path = scratch_dir("pyxdf_unfinished").join("unfinished.xdf");
    write_sample_file(&path, false);
    compare_with_pyxdf(&path, false);
}
