//! Keeping the processors awake while a session runs.
//!
//! Between two chunks of EEG the worker thread sleeps; an idle core then drops into a deep
//! power-saving state and takes long to wake and to reach full speed again, so a decision
//! that does half a millisecond of arithmetic right after a wake-up runs noticeably slower
//! than the same arithmetic on a busy core. Linux lets a process bound that wake-up latency
//! for as long as it keeps `/dev/cpu_dma_latency` open with the bound written into it (PM
//! QoS, the mechanism `tuned`'s latency profiles and real-time audio set-ups use). The
//! kernel drops the request when the file is closed, also when the process dies.
//!
//! On the development machine (a 2-CPU virtual machine) holding 0 µs took the 64-channel
//! 1-kHz tangent-space decisions from p50 0.74 / p99 1.07 ms to 0.59 / 0.79 ms
//! (docs/PERFORMANCE.md). It costs power: idle cores poll instead of sleeping, so it is held
//! only while a session runs, and [`WakeLatency::Off`] leaves power management alone.

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;

/// The PM QoS device of Linux.
const DEVICE: &str = "/dev/cpu_dma_latency";

/// How long a processor may take to wake up while a session runs: a bound in microseconds,
/// or no request at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeLatency {
    /// Ask the kernel for at most this many microseconds (0: idle cores only poll).
    Micros(u32),
    /// Make no request.
    Off,
}

impl Default for WakeLatency {
    /// 0 µs: the lowest decision latency, at the cost of idle power while sessions run.
    fn default() -> Self {
        WakeLatency::Micros(0)
    }
}

impl FromStr for WakeLatency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(WakeLatency::Off);
        }
        s.trim_end_matches("us")
            .trim()
            .parse()
            .map(WakeLatency::Micros)
            .map_err(|_| {
                format!("`{s}` is not a wake-up latency: give microseconds (e.g. 0 or 20) or `off`")
            })
    }
}

impl fmt::Display for WakeLatency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WakeLatency::Micros(us) => write!(f, "{us}"),
            WakeLatency::Off => f.write_str("off"),
        }
    }
}

/// A wake-up latency request, held until this value is dropped.
#[derive(Debug)]
pub struct WakeLatencyHold {
    /// The open request (closing it withdraws the request).
    _file: Option<File>,
    status: HoldStatus,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldStatus {
    /// The kernel holds the bound (microseconds).
    Held(u32),
    /// No request was made (`off`).
    Off,
    /// The request could not be made: why, and how to allow it.
    Refused(String),
}

impl WakeLatencyHold {
    /// Requests `latency` from the kernel for as long as the returned value lives. Never
    /// fails: when the request cannot be made (no such device, no permission) the reason and
    /// its fix are in [`WakeLatencyHold::status`] and the session runs without it.
    pub fn request(latency: WakeLatency) -> Self {
        Self::request_at(Path::new(DEVICE), latency)
    }

    fn request_at(device: &Path, latency: WakeLatency) -> Self {
        let WakeLatency::Micros(us) = latency else {
            return WakeLatencyHold {
                _file: None,
                status: HoldStatus::Off,
            };
        };
        let opened = File::options().write(true).open(device).and_then(|mut f| {
            // The device takes a native-endian 32-bit count of microseconds.
            f.write_all(&(us.min(i32::MAX as u32) as i32).to_ne_bytes())?;
            Ok(f)
        });
        match opened {
            Ok(f) => WakeLatencyHold {
                _file: Some(f),
                status: HoldStatus::Held(us),
            },
            Err(e) => {
                let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    "allow it with a udev rule such as KERNEL==\"cpu_dma_latency\", GROUP=\"audio\", MODE=\"0660\" and membership of that group, or turn the hold off to silence this".to_string()
                } else {
                    "this kernel offers no PM QoS device; decisions may be slower after idle periods (turning the hold off silences this)".to_string()
                };
                WakeLatencyHold {
                    _file: None,
                    status: HoldStatus::Refused(format!(
                        "cannot hold the CPU wake-up latency at {us} µs ({}: {e}); {fix}",
                        device.display()
                    )),
                }
            }
        }
    }

    /// What became of the request.
    pub fn status(&self) -> &HoldStatus {
        &self.status
    }

    /// One line for reports: "held at 0 µs", "off" or the reason it was refused.
    pub fn describe(&self) -> String {
        match &self.status {
            HoldStatus::Held(us) => format!("CPU wake-up latency held at {us} µs"),
            HoldStatus::Off => "CPU wake-up latency not requested (off)".into(),
            HoldStatus::Refused(why) => why.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_print_back() {
        assert_eq!("0".parse(), Ok(WakeLatency::Micros(0)));
        assert_eq!("20us".parse(), Ok(WakeLatency::Micros(20)));
        assert_eq!("OFF".parse(), Ok(WakeLatency::Off));
        let err = "soon".parse::<WakeLatency>().unwrap_err();
        assert!(err.contains("microseconds"), "{err}");
        for w in [WakeLatency::Micros(7), WakeLatency::Off] {
            assert_eq!(w.to_string().parse(), Ok(w));
        }
    }

    #[test]
    fn the_bound_is_written_as_a_native_32_bit_integer_and_held_while_alive() {
        let dir = std::env::temp_dir().join(format!("neuroloop-pmqos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let device = dir.join("cpu_dma_latency");
        std::fs::write(&device, b"").unwrap();
        let hold = WakeLatencyHold::request_at(&device, WakeLatency::Micros(20));
        assert_eq!(hold.status(), &HoldStatus::Held(20));
        assert_eq!(std::fs::read(&device).unwrap(), 20i32.to_ne_bytes());
        assert!(hold.describe().contains("20 µs"));
        drop(hold);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_device_or_off_is_reported_not_fatal() {
        let missing = std::env::temp_dir().join("neuroloop-no-such-dir/cpu_dma_latency");
        let hold = WakeLatencyHold::request_at(&missing, WakeLatency::Micros(0));
        match hold.status() {
            HoldStatus::Refused(why) => {
                assert!(
                    why.contains("cpu_dma_latency") && why.contains("off"),
                    "{why}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let off = WakeLatencyHold::request_at(&missing, WakeLatency::Off);
        assert_eq!(off.status(), &HoldStatus::Off);
    }
}
