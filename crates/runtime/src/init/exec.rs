//! Finding the program to run and explaining why it cannot run.
//!
//! `execve` says ENOENT both for a missing file and for a file whose interpreter is
//! missing; users then stare at a file that clearly exists. We look at the file and say
//! which it is: a `\r` in the shebang, a missing ELF interpreter, another architecture.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why a program cannot be executed; the exit status Docker uses for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecProblem {
    /// Message for the user.
    pub message: String,
    /// 127 for "not found", 126 for "found but cannot execute".
    pub status: i32,
}

/// Resolves `arg0` the way execvp would with the container's PATH.
pub fn find_program(arg0: &str, env: &[String]) -> Result<PathBuf, ExecProblem> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match fs_err::symlink_metadata(&p) {
            Ok(_) => check_runnable(&p).map(|()| p),
            Err(_) => Err(ExecProblem {
                message: format!("exec: {arg0:?}: no such file or directory"),
                status: 127,
            }),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = Path::new(dir).join(arg0);
        if let Ok(md) = fs_err::metadata(&cand)
            && md.is_file()
        {
            if md.permissions().mode() & 0o111 != 0 {
                return check_runnable(&cand).map(|()| cand);
            }
            denied.get_or_insert(cand);
        }
    }
    if let Some(d) = denied {
        return Err(ExecProblem {
            message: format!("exec: {:?}: permission denied", d.display()),
            status: 126,
        });
    }
    Err(ExecProblem {
        message: format!("exec: {arg0:?}: executable file not found in $PATH"),
        status: 127,
    })
}

/// Looks inside a file that exists for reasons execve would fail.
pub fn check_runnable(p: &Path) -> Result<(), ExecProblem> {
    let problem = |m: String, status| Err(ExecProblem { message: m, status });
    let md = match fs_err::metadata(p) {
        Ok(m) => m,
        Err(_) => {
            return problem(
                format!(
                    "exec: {:?}: no such file or directory (it is a dangling symlink)",
                    p.display()
                ),
                127,
            );
        }
    };
    if md.is_dir() {
        return problem(format!("exec: {:?}: is a directory", p.display()), 126);
    }
    if md.permissions().mode() & 0o111 == 0 {
        return problem(
            format!(
                "exec: {:?}: permission denied (the file is not executable)",
                p.display()
            ),
            126,
        );
    }
    let mut head = [0u8; 512];
    let n = match fs_err::File::open(p).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => n,
        Err(_) => return Ok(()), // execute-only files: let execve decide
    };
    let head = &head[..n];
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = rest.split(|b| *b == b'\n').next().unwrap_or(rest);
        let text = String::from_utf8_lossy(line);
        let interp = text
            .trim_start()
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .to_string();
        if interp.ends_with('\r') {
            return problem(
                format!(
                    "exec: {:?}: its interpreter {:?} does not exist\nhint: the file has Windows line endings; its first line ends in \\r (convert it with dos2unix)",
                    p.display(),
                    interp.trim_end_matches('\r')
                ),
                127,
            );
        }
        if !interp.is_empty() && fs_err::metadata(&interp).is_err() {
            return problem(
                format!(
                    "exec: {:?}: its interpreter {interp:?} (from the #! line) does not exist in the container",
                    p.display()
                ),
                127,
            );
        }
        return Ok(());
    }
    if head.starts_with(b"\x7fELF") {
        return check_elf(p, head);
    }
    Ok(())
}

fn check_elf(p: &Path, head: &[u8]) -> Result<(), ExecProblem> {
    if head.len() < 64 {
        return Ok(());
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    let host = host_machine();
    if head[5] == 1 && host != 0 && machine != host && !(host == 62 && machine == 3) {
        return Err(ExecProblem {
            message: format!(
                "exec: {:?}: exec format error: the program is for another architecture ({}) than this host ({})",
                p.display(),
                machine_name(machine),
                machine_name(host)
            ),
            status: 126,
        });
    }
    if let Some(interp) = elf_interpreter(p)
        && fs_err::metadata(&interp).is_err()
    {
        return Err(ExecProblem {
            message: format!(
                "exec: {:?}: no such file or directory: its ELF interpreter {interp:?} is missing in the container\nhint: the program was linked for another libc (e.g. glibc on a musl image); use a static build or an image with that libc",
                p.display()
            ),
            status: 127,
        });
    }
    Ok(())
}

fn host_machine() -> u16 {
    if cfg!(target_arch = "x86_64") {
        62
    } else if cfg!(target_arch = "aarch64") {
        183
    } else {
        0
    }
}

fn machine_name(m: u16) -> String {
    match m {
        3 => "x86".into(),
        62 => "x86-64".into(),
        40 => "arm".into(),
        183 => "arm64".into(),
        243 => "riscv".into(),
        21 => "ppc64".into(),
        22 => "s390x".into(),
        other => format!("machine {other}"),
    }
}

/// PT_INTERP of a little-endian ELF file.
fn elf_interpreter(p: &Path) -> Option<String> {
    // The headers and PT_INTERP sit at the start of the file; don't read a whole
    // (possibly large) binary just to look at them.
    let mut data = vec![0u8; 16 * 1024];
    let n = fs_err::File::open(p)
        .and_then(|mut f| f.read(&mut data))
        .ok()?;
    data.truncate(n);
    let is64 = *data.get(4)? == 2;
    let le = *data.get(5)? == 1;
    if !le {
        return None;
    }
    let rd16 = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let rd32 = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let rd64 = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    let (phoff, phentsize, phnum) = if is64 {
        (
            usize::try_from(rd64(0x20)?).ok()?,
            usize::from(rd16(0x36)?),
            usize::from(rd16(0x38)?),
        )
    } else {
        (
            usize::try_from(rd32(0x1c)?).ok()?,
            usize::from(rd16(0x2a)?),
            usize::from(rd16(0x2c)?),
        )
    };
    for i in 0..phnum {
        let h = phoff + i * phentsize;
        if rd32(h)? != 3 {
            continue; // not PT_INTERP
        }
        let (off, size) = if is64 {
            (
                usize::try_from(rd64(h + 8)?).ok()?,
                usize::try_from(rd64(h + 32)?).ok()?,
            )
        } else {
            (
                usize::try_from(rd32(h + 4)?).ok()?,
                usize::try_from(rd32(h + 16)?).ok()?,
            )
        };
        let raw = data.get(off..off + size)?;
        let s = String::from_utf8_lossy(raw)
            .trim_end_matches('\0')
            .to_string();
        return Some(s);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_shebang_is_explained() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.sh");
        fs_err::write(&p, "#!/bin/sh\r\necho hi\r\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = check_runnable(&p).unwrap_err();
        assert!(e.message.contains("Windows line endings"), "{}", e.message);
        assert_eq!(e.status, 127);
    }

    #[test]
    fn missing_program_is_127_and_not_executable_is_126() {
        let e = find_program("surely-not-a-program-xyz", &["PATH=/usr/bin".into()]).unwrap_err();
        assert_eq!(e.status, 127);
        assert!(e.message.contains("executable file not found in $PATH"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tool");
        fs_err::write(&p, "data").unwrap();
        let e = find_program("tool", &[format!("PATH={}", d.path().display())]).unwrap_err();
        assert_eq!(e.status, 126);
    }

    #[test]
    fn host_binary_has_its_interpreter() {
        find_program("sh", &["PATH=/bin:/usr/bin".into()]).unwrap();
        assert!(elf_interpreter(Path::new("/bin/ls")).is_some());
    }
}
