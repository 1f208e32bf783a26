//! Keeping the monitor small: it stays for the container's whole life, so its memory
//! counts once per running container (the target: below conmon's PSS).

/// Drops from this process the clean file-backed pages it touched while starting
/// (mostly berth's own code: argument parsing, SQLite, the runtime). They are not
/// needed by the poll loop and would otherwise count fully in the monitor's PSS, as no
/// other process maps this binary. Only mappings without a single dirty or anonymous
/// page are touched: for those, `MADV_DONTNEED` just unmaps page-cache pages, which
/// fault back in unchanged if ever used again.
pub(super) fn shed_clean_pages() {
    let smaps = fs_err::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut current: Option<(usize, usize)> = None;
    let mut clean = true;
    let flush = |range: Option<(usize, usize)>, clean: bool| {
        if let Some((start, end)) = range
            && clean
        {
            // SAFETY: the range is one of our own file-backed mappings with no private
            // (COW) or anonymous pages, so discarding its pages loses nothing.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    };
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            flush(current.take(), clean);
            let perms = words.next().unwrap_or("");
            let path = words.nth(3).unwrap_or("");
            clean = path.starts_with('/') && perms.ends_with('p') && !perms.contains('w');
            current = Some((start, end));
            continue;
        }
        let value = words
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if matches!(
            first,
            "Private_Dirty:" | "Shared_Dirty:" | "Anonymous:" | "Swap:"
        ) && value != 0
        {
            clean = false;
        }
    }
    flush(current.take(), clean);
    // SAFETY: returns freed heap memory to the kernel; no pointers are affected.
    unsafe { libc::malloc_trim(0) };
}
