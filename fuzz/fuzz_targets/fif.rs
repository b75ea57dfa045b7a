//! Feeds arbitrary bytes to the FIF raw-file and events-file parsers and converts what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::fif;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = fif::parse(data) {
        let mut recording = file.to_recording();
        if let Ok(events) = fif::parse_events(data) {
            fif::add_events(
                &mut recording,
                &events,
                file.first_sample,
                file.sample_rate_hz,
            );
        }
    }
    let _ = fif::parse_events(data);
});
