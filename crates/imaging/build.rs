//! Compiles `csrc/rawcrop.c`, a small shim over libjpeg's own API (raw plane decoding of a
//! column range, which TurboJPEG does not offer), against the headers of the libjpeg-turbo
//! that `turbojpeg-sys` builds. turbojpeg-sys declares `links = "turbojpeg"` and prints
//! `cargo:include=`, which Cargo hands us as `DEP_TURBOJPEG_INCLUDE`; linking needs
//! nothing more, since its static library carries the whole libjpeg API.

fn main() {
    println!("cargo:rerun-if-changed=csrc/rawcrop.c");
    println!("cargo:rerun-if-env-changed=DEP_TURBOJPEG_INCLUDE");
    let includes = std::env::var("DEP_TURBOJPEG_INCLUDE").unwrap_or_default();
    let mut build = cc::Build::new();
    build.file("csrc/rawcrop.c").warnings(true).opt_level(2);
    let mut found = false;
    for dir in includes.split(',').filter(|d| !d.is_empty()) {
        found |= std::path::Path::new(dir).join("jpeglib.h").exists();
        build.include(dir);
    }
    if !found {
        panic!(
            "jpeglib.h not found in turbojpeg-sys's include paths ({includes:?}); \
             imaging needs turbojpeg-sys built from source (its `cmake` feature)"
        );
    }
    build.compile("hs_rawcrop");
}
