//! Real audio output through cpal and ALSA, without a sound card: an ALSA `file` plugin as the
//! default device writes every frame the stream plays to a WAV file, and the burst onsets in
//! that file are compared with the commanded times.
//!
//! ALSA reads `~/.asoundrc`, so each check runs in a child process of this test binary with
//! `HOME` pointing at a temporary folder holding the configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use neuroloop_stimuli::audio::{ClockMode, Placement, StimCommand, stim_queue};
use neuroloop_stimuli::device::{AudioConfig, open_default_output};

const CHILD: &str = "NEUROLOOP_AUDIO_CHILD";
/// LSL time of output frame 0 in the free-running clock the file output uses.
const ORIGIN: f64 = 100.0;
/// Commanded burst times, seconds after frame 0.
const TARGETS: [f64; 5] = [0.2, 0.35, 0.5125, 0.75, 1.0];

fn temp_home(tag: &str, asoundrc: &str) -> PathBuf {
    let home = std::env::temp_dir().join(format!("neuroloop-alsa-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".asoundrc"), asoundrc).unwrap();
    home
}

/// Runs test `name` of this binary as a child with `HOME = home`.
fn run_child(name: &str, home: &Path) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("HOME", home)
        .output()
        .unwrap()
}

fn fake() -> fn() -> f64 {
    || 0.0
}

#[test]
fn child_play_bursts() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    let (mut tx, rx) = stim_queue(16);
    for (i, t) in TARGETS.iter().enumerate() {
        assert!(tx.send(StimCommand {
            id: i as u64,
            target_time: ORIGIN + t,
            amplitude: 0.2,
        }));
    }
    let out = open_default_output(
        AudioConfig {
            clock: ClockMode::Free { origin: ORIGIN },
            ..AudioConfig::default()
        },
        rx,
        fake(),
    )
    .unwrap();
    let mut lines = vec![format!(
        "device {} rate {} channels {} format {}",
        out.device, out.sample_rate_hz, out.channels, out.sample_format
    )];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = 0;
    while got < TARGETS.len() && Instant::now() < deadline {
        match tx.try_report() {
            Some(r) => {
                got += 1;
                lines.push(format!(
                    "report {} {} {:?} {}",
                    r.id, r.onset_frame, r.placement, r.onset_time
                ));
                assert_eq!(r.placement, Placement::OnTime);
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    // Let the last burst play out, then stop.
    let end = out.stats.frames.load(std::sync::atomic::Ordering::Relaxed);
    while out.stats.frames.load(std::sync::atomic::Ordering::Relaxed)
        < end + (0.1 * out.sample_rate_hz) as u64
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(out);
    std::fs::write(home.join("reports.txt"), lines.join("\n")).unwrap();
}

/// Samples of channel 0 of a WAV written by ALSA's file plugin (16-bit PCM or 32-bit float);
/// the header's lengths may be unfinished, so the data run to the end of the file.
fn read_wav(path: &Path) -> (u32, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[0..4], b"RIFF", "not a WAV file");
    let mut pos = 12;
    let (mut format, mut channels, mut rate, mut bits) = (0u16, 0u16, 0u32, 0u16);
    loop {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            format = u16::from_le_bytes([bytes[body], bytes[body + 1]]);
            channels = u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]);
            rate = u32::from_le_bytes(bytes[body + 4..body + 8].try_into().unwrap());
            bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
        }
        if id == b"data" {
            pos = body;
            break;
        }
        pos = body + len;
    }
    let data = &bytes[pos..];
    let width = usize::from(bits / 8);
    let frame = width * usize::from(channels);
    let samples = data
        .chunks_exact(frame)
        .map(|f| match (format, bits) {
            (1, 16) => f32::from(i16::from_le_bytes([f[0], f[1]])) / 32768.0,
            (3, 32) => f32::from_le_bytes(f[0..4].try_into().unwrap()),
            (1, 32) => i32::from_le_bytes(f[0..4].try_into().unwrap()) as f32 / 2_147_483_648.0,
            other => panic!("unexpected WAV format {other:?}"),
        })
        .collect();
    (rate, samples)
}

#[test]
fn bursts_land_on_their_commanded_frames_in_the_wav() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = temp_home("wav", "");
    let wav = dir.join("out.wav");
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"{}\"\n  format \"wav\"\n}}\n",
            wav.display()
        ),
    )
    .unwrap();
    let out = run_child("child_play_bursts", &dir);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = std::fs::read_to_string(dir.join("reports.txt")).unwrap();
    println!("{reports}");
    let (rate, x) = read_wav(&wav);
    let fs = f64::from(rate);
    let mut worst = 0.0f64;
    for line in reports.lines().filter(|l| l.starts_with("report")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id: usize = f[1].parse().unwrap();
        let frame: usize = f[2].parse().unwrap();
        let commanded = (TARGETS[id] * fs).round() as usize;
        assert_eq!(frame, commanded, "reported onset of burst {id}");
        // In the file: silence up to the onset, then sound within the first ramp.
        let first = (commanded - 200..commanded + 200)
            .find(|&i| x[i] != 0.0)
            .unwrap_or_else(|| panic!("burst {id} not found near frame {commanded}"));
        assert!(x[commanded - 200..commanded].iter().all(|v| *v == 0.0));
        let error_ms = (first as f64 - commanded as f64) / fs * 1000.0;
        worst = worst.max(error_ms.abs());
        assert!(
            error_ms.abs() <= 1.0,
            "burst {id}: onset {error_ms:.3} ms off"
        );
    }
    println!("worst onset error in the WAV: {worst:.3} ms ({rate} Hz)");
    assert_eq!(
        reports.lines().filter(|l| l.starts_with("report")).count(),
        TARGETS.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn child_open_missing_device() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (_tx, rx) = stim_queue(4);
    let err = open_default_output(AudioConfig::default(), rx, fake()).unwrap_err();
    println!("ERROR: {err}");
}

#[test]
fn a_missing_device_is_a_clear_error() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    // The default device is a sound card that does not exist.
    let dir = temp_home("missing", "pcm.!default {\n  type hw\n  card 37\n}\n");
    let out = run_child("child_open_missing_device", &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.split_once("ERROR: ").map(|(_, e)| e))
        .unwrap_or_else(|| panic!("no error reported:\n{text}"));
    assert!(
        line.contains("no usable output") && line.contains("dry-run"),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
