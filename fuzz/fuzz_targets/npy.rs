//! Feeds arbitrary bytes to the NPY parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::npy;

fuzz_target!(|data: &[u8]| {
    if let Ok(array) = npy::parse(data) {
        let _ = array.column(0);
    }
});
