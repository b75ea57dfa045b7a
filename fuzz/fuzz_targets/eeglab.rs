//! Feeds arbitrary bytes to the EEGLAB `.set` parser and converts what parses.
//!
//! The first byte chooses the case: even, the whole rest is a `.set` file without a `.fdt`
//! (embedded samples, or the "not given" error); odd, the next two bytes give where the rest
//! splits into `.set` bytes and `.fdt` bytes, so the size checks of the data file are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neuroloop_formats::eeglab;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let result = if mode % 2 == 0 || rest.len() < 2 {
        eeglab::parse(rest, None)
    } else {
        let split = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        let (set, fdt) = rest.split_at(split.min(rest.len()));
        eeglab::parse(set, Some(fdt))
    };
    if let Ok(file) = result {
        let _ = file.to_recording();
    }
});
