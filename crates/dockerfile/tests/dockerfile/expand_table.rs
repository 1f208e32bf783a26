//! Word expansion tables following Docker's documented "Environment replacement"
//! behaviour (and BuildKit's shell lexer where the docs are silent).

use std::collections::BTreeSet;

use berth_dockerfile::{Expander, expand_word, expand_words, used_vars};

fn env() -> Vec<(String, String)> {
    [
        ("HOME", "/root"),
        ("name", "web"),
        ("empty", ""),
        ("PORTS", "80 443"),
        ("spaced", "a  b"),
        ("path", "/usr/bin:/bin"),
        ("file", "archive.tar.gz"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect()
}

/// (input, Ok(expected) | Err(expected message after `failed to expand "...": `)).
const WORD_TABLE: &[(&str, Result<&str, &str>)] = &[
    ("$HOME", Ok("/root")),
    ("${HOME}", Ok("/root")),
    ("${HOME}_bar", Ok("/root_bar")),
    ("$HOME_bar", Ok("")),
    ("$name/x", Ok("web/x")),
    ("\\$HOME", Ok("$HOME")),
    ("\\${HOME}", Ok("${HOME}")),
    ("'$HOME'", Ok("$HOME")),
    ("\"$HOME\"", Ok("/root")),
    ("\"\\$HOME\"", Ok("$HOME")),
    ("'a'\"b\"c", Ok("abc")),
    ("$UNSET", Ok("")),
    ("${UNSET}", Ok("")),
    ("${UNSET:-default}", Ok("default")),
    ("${empty:-default}", Ok("default")),
    ("${empty-default}", Ok("")),
    ("${UNSET-default}", Ok("default")),
    ("${name:-default}", Ok("web")),
    ("${name:+alt}", Ok("alt")),
    ("${empty:+alt}", Ok("")),
    ("${empty+alt}", Ok("alt")),
    ("${UNSET+alt}", Ok("")),
    ("${UNSET:+alt}", Ok("")),
    ("${UNSET:-$HOME}", Ok("/root")),
    ("${UNSET:-${name:-x}/y}", Ok("web/y")),
    ("${UNSET:-a b}", Ok("a b")),
    ("${UNSET:-\"quoted } brace\"}", Ok("quoted } brace")),
    ("${UNSET:-\\}}", Ok("}")),
    ("${name?err}", Ok("web")),
    ("${empty?err}", Ok("")),
    ("${empty:?err}", Err("empty: err")),
    ("${UNSET?no way}", Err("UNSET: no way")),
    ("${UNSET?}", Err("UNSET: is not allowed to be unset")),
    ("${empty:?}", Err("empty: is not allowed to be empty")),
    ("${UNSET:?}", Err("UNSET: is not allowed to be unset")),
    ("$", Ok("$")),
    ("a$", Ok("a$")),
    ("$1", Ok("")),
    ("$-x", Ok("x")),
    ("$$", Ok("")),
    ("pid$$.log", Ok("pid.log")),
    ("$%", Ok("$%")),
    ("100%", Ok("100%")),
    ("\"a\\\"b\"", Ok("a\"b")),
    ("\"a\\\\b\"", Ok("a\\b")),
    ("\"a\\b\"", Ok("a\\b")),
    ("a\\ b", Ok("a b")),
    ("\\\\", Ok("\\")),
    ("abc\\", Ok("abc")),
    (
        "'unterminated",
        Err("unexpected end of text while looking for matching single quote"),
    ),
    (
        "\"unterminated",
        Err("unexpected end of text while looking for matching double quote"),
    ),
    (
        "${}",
        Err("bad substitution: expected a variable name after ${"),
    ),
    ("${name", Err("missing '}' after ${name")),
    ("${name:-x", Err("missing '}' in ${name...}")),
    (
        "${name:=x}",
        Err("unsupported modifier \":=\" in ${name...}: expected :-, :+ or :?"),
    ),
    ("${file%.gz}", Ok("archive.tar")),
    ("${file%%.*}", Ok("archive")),
    ("${file#*.}", Ok("tar.gz")),
    ("${file##*.}", Ok("gz")),
    ("${file%.zip}", Ok("archive.tar.gz")),
    ("${file/tar/zip}", Ok("archive.zip.gz")),
    ("${file//a/A}", Ok("Archive.tAr.gz")),
    ("${file/*./x.}", Ok("x.gz")),
    ("${name#\\*}", Ok("web")),
    ("${name#w}", Ok("eb")),
    ("${HOME#\\/}", Ok("root")),
    ("${file/tar", Err("missing '/' in ${file...}")),
    ("${file/tar/x", Err("missing '}' in ${file...}")),
    ("${path}", Ok("/usr/bin:/bin")),
    ("\"${spaced}\"", Ok("a  b")),
    ("$spaced", Ok("a  b")),
    ("${name}${name}", Ok("webweb")),
    ("\"$name's\"", Ok("web's")),
    ("'\"'", Ok("\"")),
    ("\"'\"", Ok("'")),
    ("$HOME/'$HOME'/\"$HOME\"", Ok("/root/$HOME//root")),
    ("", Ok("")),
];

#[test]
fn word_table() {
    assert!(WORD_TABLE.len() >= 50);
    let env = env();
    for (input, want) in WORD_TABLE {
        let got = expand_word(input, &env);
        match (want, got) {
            (Ok(w), Ok(g)) => assert_eq!(&g, w, "input {input:?}"),
            (Err(w), Err(e)) => {
                assert_eq!(
                    e.to_string(),
                    format!("failed to expand {input:?}: {w}"),
                    "input {input:?}"
                );
            }
            (w, g) => panic!("input {input:?}: wanted {w:?}, got {g:?}"),
        }
    }
}

const WORDS_TABLE: &[(&str, &[&str])] = &[
    ("80 443", &["80", "443"]),
    ("$PORTS", &["80", "443"]),
    ("\"$PORTS\"", &["80 443"]),
    ("a  b\tc", &["a", "b", "c"]),
    ("'a b' c", &["a b", "c"]),
    ("a\\ b c", &["a b", "c"]),
    ("${UNSET:-x y}", &["x", "y"]),
    ("$UNSET", &[]),
    ("   ", &[]),
    ("$spaced z", &["a", "b", "z"]),
    ("pre$name post", &["preweb", "post"]),
    ("\"\" x", &["", "x"]),
];

#[test]
fn words_table() {
    let env = env();
    for (input, want) in WORDS_TABLE {
        let got = expand_words(input, &env).unwrap();
        assert_eq!(
            got,
            want.iter().map(|s| (*s).to_string()).collect::<Vec<_>>(),
            "input {input:?}"
        );
    }
}

#[test]
fn backtick_escape_table() {
    let x = Expander::new('`');
    let env = env();
    for (input, want) in [
        ("C:\\path\\to", "C:\\path\\to"),
        ("`$HOME", "$HOME"),
        ("\"a`\"b\"", "a\"b"),
        ("\"C:\\$name\"", "C:\\web"),
        ("a` b", "a b"),
    ] {
        assert_eq!(x.word(input, &env).unwrap(), want, "input {input:?}");
    }
}

#[test]
fn used_vars_table() {
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<BTreeSet<_>>();
    for (input, want) in [
        ("$A ${B:-$C} '$D' \\$E \"${F}\"", set(&["A", "B", "C", "F"])),
        ("${X:+${Y}}", set(&["X", "Y"])),
        ("${Z?must be set}", set(&["Z"])),
        ("plain text", set(&[])),
        ("${P%%.*}", set(&["P"])),
    ] {
        assert_eq!(used_vars(input).unwrap(), want, "input {input:?}");
    }
}

#[test]
fn environment_lookup_last_entry_wins() {
    let env = vec![
        ("A".to_string(), "1".to_string()),
        ("A".to_string(), "2".to_string()),
    ];
    assert_eq!(expand_word("$A", &env).unwrap(), "2");
    assert_eq!(expand_word("$A", &()).unwrap(), "");
}
