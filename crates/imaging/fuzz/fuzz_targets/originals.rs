//! Whole files: JPEG, RAW containers (TIFF, ISO-BMFF, RAF), PNG, TIFF and garbage must give
//! a rendition or an error, never a panic, hang or outsized allocation.
#![no_main]

use imaging::Recipe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imaging::probe(data);
    let _ = imaging::render(
        data,
        &Recipe {
            long_edge: 32,
            ..Recipe::web()
        },
    );
});
