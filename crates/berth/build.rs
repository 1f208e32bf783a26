//! Links the `berth` binary as a non-PIE executable.
//!
//! A detached container's monitor is this binary re-executed, and it stays as long as
//! the container. As a PIE, the dynamic loader rewrites every pointer in `.data.rel.ro`
//! (~560 KiB of vtables, panic locations and string tables) at each start, so those
//! pages become private dirty memory in every monitor, and every berth command pays the
//! ~31,000 relocations at start. Linked at a fixed address they stay clean page-cache
//! pages, shared by all monitors and dropped when idle.
//!
//! Only the executable is affected: the Rust objects stay position-independent, so no
//! dependency is rebuilt. The cost is that the binary's own code and data are not
//! randomised by ASLR (libraries, heap, stack and mmaps still are). The container
//! tools users already run with root make the same choice: Debian's runc, containerd,
//! containerd-shim-runc-v2 (Docker's per-container monitor) and podman are non-PIE
//! executables. bench/README.md has the figures.
fn main() {
    println!("cargo::rustc-link-arg-bin=berth=-no-pie");
}
