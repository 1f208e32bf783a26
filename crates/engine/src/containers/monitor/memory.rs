//! Keeping the monitor small: it stays for the container's whole life, so its memory
//! counts once per running container (the target: below conmon's PSS).
//!
//! After the container started (and after each health check, which runs berth's exec
//! path), [`shed`] gives back what the poll loop does not need: clean pages of the
//! binary and libraries, the dead part of the stack, SQLite's caches and free heap.
//! `bench/monitor-mem.sh` measures the result.

use std::io::BufRead;

use crate::Engine;

/// Bytes below the current stack pointer left alone when trimming the stack: they hold
/// the frames of the calls made while trimming (`madvise`'s own return address).
const STACK_MARGIN: usize = 16 * 1024;

/// Gives back the memory the monitor touched while starting and no longer needs.
pub(super) fn shed(engine: &Engine) {
    engine.store().release_memory();
    let here = 0u8;
    shed_pages(std::ptr::addr_of!(here) as usize);
    // Last, so the buffer `shed_pages` read smaps into goes back too.
    // SAFETY: returns freed heap memory to the kernel; no pointers are affected.
    unsafe { libc::malloc_trim(0) };
}

/// One mapping of /proc/self/smaps, as far as [`shed_pages`] cares.
struct Mapping {
    start: usize,
    end: usize,
    /// File-backed, private and read-only: candidates for dropping if all clean.
    file_ro: bool,
    stack: bool,
    /// A dirty, anonymous or swapped page was seen.
    dirty: bool,
}

/// Drops clean file-backed pages and the stack below `sp` (less a margin).
///
/// Clean pages of read-only private file mappings (mostly berth's own code: argument
/// parsing, SQLite, the runtime) would otherwise count fully in the monitor's PSS until
/// the kernel reclaims them. Only mappings without a single dirty or anonymous page are
/// touched: for those, `MADV_DONTNEED` just unmaps page-cache pages, which fault back
/// in unchanged if ever used again. Below the stack pointer nothing is live (the x86-64
/// ABI's red zone is 128 bytes, well inside the margin); those pages come back zeroed
/// when the stack grows again.
fn shed_pages(sp: usize) {
    // Read line by line: the whole file (100 KiB and more) would itself be heap that
    // the monitor then keeps, fragmented.
    let Ok(file) = fs_err::File::open("/proc/self/smaps") else {
        return;
    };
    let mut reader = std::io::BufReader::with_capacity(4096, file);
    let mut line = String::new();
    let mut current: Option<Mapping> = None;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            if let Some(m) = current.take() {
                release(&m, sp);
            }
            let perms = words.next().unwrap_or("");
            let path = words.nth(3).unwrap_or("");
            current = Some(Mapping {
                start,
                end,
                file_ro: path.starts_with('/') && perms.ends_with('p') && !perms.contains('w'),
                stack: path == "[stack]",
                dirty: false,
            });
            continue;
        }
        let value = words
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if let Some(m) = &mut current
            && matches!(
                first,
                "Private_Dirty:" | "Shared_Dirty:" | "Anonymous:" | "Swap:"
            )
            && value != 0
        {
            m.dirty = true;
        }
    }
    if let Some(m) = current.take() {
        release(&m, sp);
    }
}

fn release(m: &Mapping, sp: usize) {
    let page = 4096;
    let (start, end) = if m.stack && (m.start..m.end).contains(&sp) {
        (m.start, (sp.saturating_sub(STACK_MARGIN)) & !(page - 1))
    } else if m.file_ro && !m.dirty {
        (m.start, m.end)
    } else {
        return;
    };
    if end > start {
        // SAFETY: either one of our own file-backed mappings with no private (COW) or
        // anonymous pages, so discarding its pages loses nothing, or the part of our
        // stack below the live frames (see `shed_pages`).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}
