//! Deterministic pseudo-random inputs: the parser, the expander and the ignore
//! matcher must never panic, and every location they report must lie in the input.

use std::collections::HashMap;

use berth_dockerfile::{Error, IgnoreMatcher, expand_word, expand_words, parse};

/// A small linear congruential generator, so the corpus is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

const PIECES: &[&str] = &[
    "FROM ",
    "alpine",
    " AS ",
    "b",
    "RUN ",
    "COPY ",
    "--from=",
    "--mount=",
    "type=cache,target=/x",
    "<<EOF",
    "<<-E",
    "EOF",
    "\tE",
    "\n",
    "\n",
    "\r\n",
    "\\",
    "`",
    "\\\n",
    " ",
    "  ",
    "\t",
    "#",
    "# escape=`\n",
    "\"",
    "'",
    "$",
    "${",
    "}",
    ":-",
    "[",
    "]",
    "\"a\"",
    ",",
    "=",
    "ENV ",
    "ARG ",
    "LABEL ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "CMD ",
    "--interval=",
    "5s",
    "NONE",
    "SHELL ",
    "EXPOSE ",
    "80/tcp",
    "WORKDIR ",
    "é",
    "\u{feff}",
    "USER ",
    "VOLUME ",
    "ADD ",
    "STOPSIGNAL ",
    "1",
    "x",
    "-",
];

fn check_location(e: &Error, lines: usize) {
    let at = match e {
        Error::UnknownInstruction { at, .. }
        | Error::UnterminatedHeredoc { at, .. }
        | Error::BadJson { at, .. }
        | Error::MissingFrom { at, .. }
        | Error::DuplicateStage { at, .. }
        | Error::ContinuationAtEof { at, .. }
        | Error::UnknownFlag { at, .. }
        | Error::BadFlag { at, .. }
        | Error::BadDuration { at, .. }
        | Error::Syntax { at, .. }
        | Error::BadDirective { at, .. } => Some(at),
        Error::UnknownStage { at, .. } | Error::Expand { at, .. } => at.as_ref(),
        _ => None,
    };
    if let Some(at) = at {
        assert!(
            at.line >= 1 && at.line <= lines.max(1),
            "{e} (lines: {lines})"
        );
        assert!(at.column >= 1, "{e}");
    }
}

#[test]
fn random_dockerfiles_never_panic() {
    let mut rng = Lcg(0x5eed);
    let env: HashMap<String, String> = HashMap::from([("x".into(), "1 2".into())]);
    let mut parsed = 0;
    for _ in 0..4000 {
        let mut src = String::from(if rng.next(2) == 0 {
            "FROM alpine\n"
        } else {
            ""
        });
        for _ in 0..rng.next(40) {
            src.push_str(PIECES[rng.next(PIECES.len())]);
        }
        let lines = src.split('\n').count();
        match parse(&src, "Dockerfile") {
            Ok(d) => {
                parsed += 1;
                for inst in d.stages.iter().flat_map(|s| &s.instructions) {
                    assert!(
                        inst.at.line <= inst.end_line && inst.end_line <= lines,
                        "{src:?}"
                    );
                    if let Err(e) = inst.expand(&env) {
                        check_location(&e, lines);
                    }
                }
                let _ = d.stages_for_target(None, &env);
            }
            Err(e) => check_location(&e, lines),
        }
    }
    // The generator must exercise the success path too, not only errors.
    assert!(parsed > 100, "only {parsed} inputs parsed");
}

#[test]
fn random_words_never_panic() {
    let mut rng = Lcg(42);
    let env: HashMap<String, String> = HashMap::from([("x".into(), "a b".into())]);
    let alphabet = [
        "$", "{", "}", ":", "-", "+", "?", "#", "%", "'", "\"", "\\", "x", " ", "*", "é",
    ];
    for _ in 0..5000 {
        let w: String = (0..rng.next(16))
            .map(|_| alphabet[rng.next(alphabet.len())])
            .collect();
        let _ = expand_word(&w, &env);
        let _ = expand_words(&w, &env);
    }
}

#[test]
fn random_ignore_patterns_never_panic() {
    let mut rng = Lcg(7);
    let alphabet = [
        "*", "**", "?", "[", "]", "^", "-", "a", "b", "/", "!", "\\", ".", "..", " ", "\n",
    ];
    let paths = ["a", "a/b", "b/a/b", ".", "ab/ba", "a-b"];
    for _ in 0..3000 {
        let p: String = (0..rng.next(12))
            .map(|_| alphabet[rng.next(alphabet.len())])
            .collect();
        if let Ok(m) = IgnoreMatcher::parse(&p) {
            for path in paths {
                let _ = m.matches(path);
                let _ = m.can_skip_dir(path);
            }
        }
    }
}
