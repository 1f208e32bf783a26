//! Keeping the monitor small: it stays for the container's whole life, so its memory
//! counts once per running container (the target: below conmon's PSS).
//!
//! After the container started (and after each health check, which runs berth's exec
//! path), [`shed`] gives back what the poll loop does not need: clean pages of the
//! binary and libraries, the dead part of the stack, SQLite's caches and free heap.
//! `bench/monitor-mem.sh` measures the result.

use std::io::BufRead;

use crate::Engine;

/// Bytes below the stack pointer of the function that trims the stack left alone: they
/// hold the frames of the calls it makes (`madvise` is a bare system call stub).
const STACK_MARGIN: usize = 4 * 1024;

/// The most mappings whose pages are dropped (a monitor has about 40).
const MAX_RANGES: usize = 128;

/// Gives back the memory the monitor touched while starting and no longer needs. Called
/// right before the monitor sleeps, since any code that runs afterwards maps its pages
/// back in (the kernel maps 64 KiB, or a whole large folio, around each page fault).
pub(super) fn shed(engine: &Engine) {
    engine.store().release_memory();
    let mut ranges = Vec::with_capacity(MAX_RANGES);
    let stack = droppable(&mut ranges);
    release(&ranges, stack);
    drop(ranges);
    // Last, so the buffers used to read smaps go back too.
    // SAFETY: returns freed heap memory to the kernel; no pointers are affected.
    unsafe { libc::malloc_trim(0) };
}

/// One mapping of /proc/self/smaps, as far as [`droppable`] cares.
struct Mapping {
    start: usize,
    end: usize,
    /// File-backed, private and read-only: candidates for dropping if all clean.
    file_ro: bool,
    stack: bool,
    /// A dirty, anonymous or swapped page was seen.
    dirty: bool,
}

/// Reads /proc/self/smaps into `out`: the ranges of read-only private file mappings
/// without a single dirty or anonymous page (mostly berth's own code and read-only
/// data: argument parsing, SQLite, the runtime). Returns the stack's range.
///
/// Clean pages of such mappings would otherwise count fully in the monitor's PSS until
/// the kernel reclaims them. For those, `MADV_DONTNEED` just unmaps page-cache pages,
/// which fault back in unchanged if ever used again. Nothing is dropped while reading:
/// the reading code would fault its own pages back in.
fn droppable(out: &mut Vec<(usize, usize)>) -> Option<(usize, usize)> {
    // Read line by line: the whole file (100 KiB and more) would itself be heap that
    // the monitor then keeps, fragmented.
    let file = fs_err::File::open("/proc/self/smaps").ok()?;
    let mut reader = std::io::BufReader::with_capacity(4096, file);
    let mut line = String::new();
    let mut current: Option<Mapping> = None;
    let mut stack = None;
    let mut done = |m: Mapping, out: &mut Vec<(usize, usize)>| {
        if m.stack {
            stack = Some((m.start, m.end));
        } else if m.file_ro && !m.dirty && out.len() < MAX_RANGES {
            out.push((m.start, m.end));
        }
    };
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
                done(m, out);
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
        done(m, out);
    }
    stack
}

/// Drops the pages of `ranges`, and of the stack below this function's frame (less a
/// margin). Below the stack pointer nothing is live (the x86-64 ABI's red zone is 128
/// bytes, well inside the margin); those pages come back zeroed when the stack grows.
#[inline(never)]
fn release(ranges: &[(usize, usize)], stack: Option<(usize, usize)>) {
    let page = 4096;
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let below_sp = stack
        .filter(|(start, end)| (*start..*end).contains(&sp))
        .map(|(start, _)| (start, sp.saturating_sub(STACK_MARGIN) & !(page - 1)));
    for &(start, end) in ranges.iter().chain(below_sp.iter()) {
        if end > start {
            // SAFETY: either one of our own file-backed mappings with no private (COW)
            // or anonymous pages, so discarding its pages loses nothing, or the part of
            // our stack below the live frames.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
}
