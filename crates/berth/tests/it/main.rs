//! berth's integration tests: the real binary, real containers, temporary roots.
//! One test binary with modules keeps link times down (style.md).

mod common;
mod containers;
mod images;
mod networks;
mod oci;
mod oci_limits;
