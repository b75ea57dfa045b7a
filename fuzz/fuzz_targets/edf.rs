//! Feeds arbitrary bytes to the EDF/BDF parser and converts what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::edf;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = edf::parse(data) {
        let _ = file.to_recording();
    }
});
