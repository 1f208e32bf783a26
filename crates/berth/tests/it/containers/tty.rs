//! `run -it` through a real pseudo-terminal: type, read, detach, attach again, exit.

use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{Root, skip};

/// A pty whose slave is the stdio of a berth process.
struct Pty {
    master: OwnedFd,
    seen: String,
}

fn spawn_on_pty(r: &Root, args: &[&str]) -> (Pty, Child) {
    let p = nix::pty::openpty(None, None).unwrap();
    let mut cmd = r.cmd(args);
    cmd.stdin(Stdio::from(p.slave.try_clone().unwrap()))
        .stdout(Stdio::from(p.slave.try_clone().unwrap()))
        .stderr(Stdio::from(p.slave));
    let child = cmd.spawn().unwrap();
    (
        Pty {
            master: p.master,
            seen: String::new(),
        },
        child,
    )
}

impl Pty {
    /// Waits until berth has put the terminal in raw mode (it took over the terminal),
    /// as a user sees the container before typing; input typed earlier is handled by
    /// the local line discipline, not by the container.
    fn wait_raw(&self) {
        let start = Instant::now();
        while nix::sys::termios::tcgetattr(self.master.as_fd())
            .map(|t| t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO))
            .unwrap_or(true)
        {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "berth never took the terminal"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn send(&self, text: &[u8]) {
        nix::unistd::write(self.master.as_fd(), text).unwrap();
    }

    /// Reads until `needle` appears (after what was already consumed).
    fn expect(&mut self, needle: &str) {
        let start = Instant::now();
        loop {
            if let Some(pos) = self.seen.find(needle) {
                self.seen.drain(..pos + needle.len());
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no {needle:?} on the terminal; saw {:?}",
                self.seen
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(200u16));
            let mut buf = [0u8; 4096];
            match nix::unistd::read(self.master.as_fd(), &mut buf) {
                Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

fn wait_child(c: &mut Child, secs: u64) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = c.kill();
            panic!("berth did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn interactive_tty_detach_and_attach() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let (mut pty, mut child) =
        spawn_on_pty(&r, &["run", "-it", "--name", "tty", "alpine:test", "sh"]);
    pty.wait_raw();
    // The arithmetic proves a shell in the container ran it (the echo of the typed
    // line does not contain "hi-2").
    pty.send(b"echo hi-$((1+1)); tty\n");
    pty.expect("hi-2");
    pty.expect("/dev/pts/");
    pty.send(b"\x10\x11");
    assert_eq!(wait_child(&mut child, 10), 0, "detaching exits 0");
    assert_eq!(
        r.inspect("tty", "{{.State.Status}}"),
        "running",
        "the container runs on after detaching"
    );
    let (mut pty, mut child) = spawn_on_pty(&r, &["attach", "tty"]);
    pty.wait_raw();
    pty.send(b"echo again-$((2+2))\n");
    pty.expect("again-4");
    pty.send(b"exit 5\n");
    assert_eq!(
        wait_child(&mut child, 10),
        5,
        "attach returns the container's exit code"
    );
    assert_eq!(
        r.inspect("tty", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 5"
    );
    // The terminal output was logged too.
    assert!(r.ok(&["logs", "tty"]).contains("again-4"));
}

#[test]
fn start_attach_and_interactive_stdin() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&[
        "create",
        "--name",
        "cc",
        "-i",
        "alpine:test",
        "sh",
        "-c",
        "read x; echo got-$x; exit 4",
    ]);
    assert_eq!(r.inspect("cc", "{{.State.Status}}"), "created");
    let mut child = r
        .cmd(&["start", "-a", "-i", "cc"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-abc\n");
    assert_eq!(out.status.code(), Some(4));
    // Foreground run -i without a terminal pipes stdin straight through.
    let mut child = r
        .cmd(&["run", "--rm", "-i", "alpine:test", "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SHOUT\n");
}

#[test]
fn start_attach_sees_output_of_a_quick_container() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    // The monitor waits for the attach before starting, so nothing is lost even when
    // the program is done at once.
    for i in 0..3 {
        let id = r.ok(&["create", "alpine:test", "echo", &format!("quick-{i}")]);
        let o = r.run(&["start", "-a", id.trim()]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("quick-{i}\n"));
        assert_eq!(o.status.code(), Some(0));
    }
    assert_eq!(
        r.ok(&["run", "-t", "--rm", "alpine:test", "sh", "-c", "exit 0"]),
        ""
    );
    let o = r.run(&[
        "run",
        "-t",
        "--rm",
        "alpine:test",
        "sh",
        "-c",
        "echo tty; exit 3",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "tty\r\n");
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn exec_tty_detaches_and_leaves_the_process_running() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    r.ok(&["run", "-d", "--name", "ex", "alpine:test", "sleep", "300"]);
    let (mut pty, mut child) = spawn_on_pty(&r, &["exec", "-it", "ex", "sh"]);
    pty.wait_raw();
    pty.send(b"echo $$ > /tmp/sh.pid; echo in-$((3+4))\n");
    pty.expect("in-7");
    pty.send(b"\x10\x11");
    assert_eq!(
        wait_child(&mut child, 10),
        1,
        "Docker's exit status after detaching"
    );
    pty.expect("read escape sequence");
    assert_eq!(r.inspect("ex", "{{.State.Status}}"), "running");
    let alive = r.ok(&[
        "exec",
        "ex",
        "sh",
        "-c",
        "kill -0 $(cat /tmp/sh.pid) && echo alive",
    ]);
    assert_eq!(alive, "alive\n", "the exec'd shell runs on after detaching");

    // --detach-keys: ctrl-p ctrl-q now reach the shell; ctrl-x x detaches.
    let (mut pty, mut child) = spawn_on_pty(
        &r,
        &["exec", "-it", "--detach-keys", "ctrl-x,x", "ex", "sh"],
    );
    pty.wait_raw();
    pty.send(b"echo $$ > /tmp/sh2.pid; echo two-$((2*3))\n");
    pty.expect("two-6");
    pty.send(b"\x10\x11");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ctrl-p ctrl-q must not detach"
    );
    pty.send(b"\x18x");
    assert_eq!(wait_child(&mut child, 10), 1);
    let alive = r.ok(&[
        "exec",
        "ex",
        "sh",
        "-c",
        "kill -0 $(cat /tmp/sh2.pid) && echo alive",
    ]);
    assert_eq!(alive, "alive\n");

    // Without detaching, the session ends with the command's own status.
    let (mut pty, mut child) = spawn_on_pty(&r, &["exec", "-it", "ex", "sh"]);
    pty.wait_raw();
    pty.send(b"echo three; exit 3\n");
    pty.expect("three");
    assert_eq!(wait_child(&mut child, 10), 3);
}
