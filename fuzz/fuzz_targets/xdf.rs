//! Feeds arbitrary bytes to the XDF parser, with and without time-stamp post-processing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::xdf::{self, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // Dejittering and clock synchronisation run over whatever the chunks contained, so they
    // are exercised too; a truncated tail is accepted half of the time.
    let options = ReadOptions {
        dejitter_timestamps: data.len() % 2 == 0,
        tolerate_truncated_tail: data.len() % 3 == 0,
        ..ReadOptions::default()
    };
    if let Ok(file) = xdf::parse_with(data, &options) {
        for index in 0..file.streams.len() {
            let _ = file.to_recording(index);
        }
    }
});
