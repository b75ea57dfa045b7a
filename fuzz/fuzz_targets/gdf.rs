//! Feeds arbitrary bytes to the GDF parser and converts what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::gdf;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = gdf::parse(data) {
        let _ = file.to_recording();
    }
});
