//! Runs generated device programs through a tiny interpreter of the instructions we emit.

use super::*;
use oci_spec::runtime::LinuxDeviceCgroupBuilder;

fn rule(
    allow: bool,
    ty: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    acc: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(ty)
        .access(acc);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().unwrap()
}

/// Executes `p` for one access; panics on anything the generator should never emit.
fn run(p: &[Insn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | dev_type, major, minor];
    let mut r = [0u64; 11];
    let mut r1_is_ctx = true;
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        pc += 1;
        let imm = i.imm as i64 as u64;
        match i.code {
            0x61 => {
                assert!(
                    r1_is_ctx && i.src() == 1,
                    "load from a non-context register"
                );
                r[usize::from(i.dst())] = u64::from(ctx[usize::try_from(i.off / 4).unwrap()]);
            }
            0x57 => r[usize::from(i.dst())] &= imm,
            0x77 => r[usize::from(i.dst())] >>= imm,
            0xb7 => r[usize::from(i.dst())] = imm,
            0xbf => {
                if i.dst() == 1 {
                    r1_is_ctx = false;
                }
                r[usize::from(i.dst())] = r[usize::from(i.src())];
            }
            0x55 | 0x15 => {
                let eq = r[usize::from(i.dst())] == imm;
                if eq == (i.code == 0x15) {
                    pc += usize::try_from(i.off).unwrap();
                }
            }
            0x95 => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

/// Every instruction must be reachable (the verifier refuses dead code) and the last one an exit.
fn assert_all_reachable(p: &[Insn]) {
    let mut seen = vec![false; p.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        if pc >= p.len() {
            panic!("falls off the end at {pc}");
        }
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match p[pc].code {
            0x95 => {}
            0x55 | 0x15 => {
                todo.push(pc + 1);
                todo.push(pc + 1 + usize::try_from(p[pc].off).unwrap());
            }
            _ => todo.push(pc + 1),
        }
    }
    assert!(
        seen.iter().all(|s| *s),
        "unreachable instructions: {seen:?}"
    );
}

const C: u32 = 2;
const B: u32 = 1;
const R: u32 = 2;
const W: u32 = 4;
const M: u32 = 1;

#[test]
fn default_rules_allow_only_listed_devices() {
    let rules = [
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(9), "r"),
        rule(true, LinuxDeviceType::C, Some(136), None, "rw"),
    ];
    let p = program(&rules).unwrap();
    assert_all_reachable(&p);
    assert_eq!(run(&p, C, R | W, 1, 3), 1);
    assert_eq!(run(&p, C, M, 1, 3), 1);
    assert_eq!(run(&p, C, R, 1, 9), 1);
    assert_eq!(run(&p, C, R | W, 1, 9), 0, "write was not granted");
    assert_eq!(run(&p, C, R | W, 136, 7), 1, "wildcard minor");
    assert_eq!(run(&p, C, M, 136, 7), 0, "mknod was not granted");
    assert_eq!(run(&p, B, R, 1, 3), 0, "block 1:3 is not char 1:3");
    assert_eq!(run(&p, C, R, 5, 1), 0, "unlisted device");
}

#[test]
fn later_deny_overrides_earlier_allow() {
    let rules = [
        rule(true, LinuxDeviceType::A, None, None, "rwm"),
        rule(false, LinuxDeviceType::C, Some(1), Some(9), "w"),
    ];
    let p = program(&rules).unwrap();
    assert_all_reachable(&p);
    assert_eq!(run(&p, C, R, 1, 9), 1);
    assert_eq!(run(&p, C, W, 1, 9), 0);
    assert_eq!(run(&p, C, R | W, 1, 9), 0, "a deny of w also stops rw");
    assert_eq!(run(&p, B, R | W, 8, 0), 1);
}

#[test]
fn unconditional_rule_ends_the_program() {
    let rules = [
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::A, None, None, ""),
        rule(false, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
    ];
    let p = program(&rules).unwrap();
    assert_all_reachable(&p);
    assert_eq!(run(&p, C, R, 1, 3), 0);
    assert_eq!(run(&p, C, R, 1, 5), 1);
    assert_eq!(p.last().unwrap().code, 0x95);
}

#[test]
fn no_rules_and_fifo_rules_deny_everything() {
    for rules in [
        vec![],
        vec![rule(true, LinuxDeviceType::P, None, None, "rwm")],
    ] {
        let p = program(&rules).unwrap();
        assert_all_reachable(&p);
        assert_eq!(p.len(), 8);
        assert_eq!(run(&p, C, R, 1, 3), 0);
    }
}

#[test]
fn encoding_of_known_instructions() {
    // r2 = *(u32 *)(r1 + 0): class LDX, size W, mode MEM; dst r2, src r1.
    let i = Insn::ldx_w(2, 1, 0);
    assert_eq!((i.code, i.regs), (0x61, 0x12));
    assert_eq!(Insn::exit().code, 0x95);
    assert_eq!(Insn::alu_k(ALU_MOV, 0, 1).code, 0xb7);
    assert_eq!(Insn::jmp_k(JMP_JNE, 4, 1).code, 0x55);
    assert_eq!(std::mem::size_of::<Insn>(), 8);
    assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
    assert_eq!(std::mem::size_of::<QueryAttr>(), 32);
}

#[test]
fn oversized_device_numbers_are_refused() {
    let r = rule(true, LinuxDeviceType::C, Some(1 << 40), None, "r");
    assert!(
        program(&[r])
            .unwrap_err()
            .to_string()
            .contains("linux.resources.devices.major")
    );
    let r = rule(true, LinuxDeviceType::C, Some(-1), Some(-1), "r");
    let p = program(&[r]).unwrap();
    assert_eq!(run(&p, C, R, 42, 42), 1, "-1 is a wildcard");
}
