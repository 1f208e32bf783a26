//! `.dockerignore` tables following Docker's documentation of the file (Go
//! `filepath.Match` rules, `**`, `!` exceptions, last match wins, comments,
//! cleaning) and moby's matcher where the docs are silent.

use berth_dockerfile::IgnoreMatcher;

/// (ignore file, path relative to the context, ignored?)
const TABLE: &[(&str, &str, bool)] = &[
    // The documentation's examples.
    ("# comment\n*/temp*", "somedir/temporary.txt", true),
    ("*/temp*", "somedir/temp", true),
    ("*/temp*", "somedir/temp/inner.txt", true),
    ("*/temp*", "temporary.txt", false),
    ("*/temp*", "a/b/temporary.txt", false),
    ("*/*/temp*", "somedir/subdir/temporary.txt", true),
    ("*/*/temp*", "somedir/temporary.txt", false),
    ("temp?", "tempa", true),
    ("temp?", "temp", false),
    ("temp?", "tempab", false),
    ("temp?", "dir/tempa", false),
    ("**/*.go", "main.go", true),
    ("**/*.go", "cmd/app/main.go", true),
    ("**/*.go", "main.gox", false),
    ("*.md\n!README.md", "README.md", false),
    ("*.md\n!README.md", "CHANGES.md", true),
    ("*.md\n!README.md", "docs/x.md", false),
    (
        "*.md\n!README*.md\nREADME-secret.md",
        "README-secret.md",
        true,
    ),
    (
        "*.md\n!README*.md\nREADME-secret.md",
        "README-public.md",
        false,
    ),
    (
        "*.md\nREADME-secret.md\n!README*.md",
        "README-secret.md",
        false,
    ),
    (".", "anything", false),
    // Directories match everything below them.
    ("node_modules", "node_modules/express/index.js", true),
    ("node_modules", "src/node_modules/x", false),
    ("**/node_modules", "src/node_modules/x", true),
    // Cleaning: leading / and ./, trailing /, `..`.
    ("/node_modules", "node_modules/a", true),
    ("./build", "build/out", true),
    ("build/", "build/out", true),
    ("a/../b", "b/x", true),
    ("build", "./build/x", true),
    ("build", "/build/x", true),
    ("build", "build/../src/x", false),
    // Comments only at the very start of a line; whitespace trimmed.
    ("# comment", "# comment", false),
    (" # not a comment", "# not a comment", true),
    ("*.log   ", "app.log", true),
    ("\t *.log", "app.log", true),
    ("\n\n*.log\n\n", "app.log", true),
    // `*` never crosses `/`, but matches a top-level directory and so its contents.
    ("*", "anything", true),
    ("*", "dir/file", true),
    ("*\n!keep", "keep", false),
    ("*\n!keep", "keep/inner", false),
    ("*\n!keep", "other", true),
    ("temp*\n!temp/keep", "temp/keep", false),
    ("temp*\n!temp/keep", "temp/other", true),
    ("!*.md", "a.md", false),
    // `**` forms.
    ("**", "a/b/c", true),
    ("dir/**", "dir/a/b", true),
    ("dir/**", "dir", false),
    ("dir/**/*.txt", "dir/x.txt", true),
    ("dir/**/*.txt", "dir/a/b/x.txt", true),
    ("dir/**/*.txt", "other/x.txt", false),
    ("**/.env", ".env", true),
    ("**/.env", "config/.env", true),
    ("*.pyc\n__pycache__", "pkg/__pycache__/m.pyc", false),
    ("**/__pycache__", "pkg/__pycache__/m.pyc", true),
    // Classes and escapes.
    ("[abc].txt", "b.txt", true),
    ("[abc].txt", "d.txt", false),
    ("[^abc].txt", "d.txt", true),
    ("[^abc].txt", "a.txt", false),
    ("[a-c]?.txt", "bz.txt", true),
    ("\\*.txt", "*.txt", true),
    ("\\*.txt", "a.txt", false),
    // Exceptions inside an ignored directory.
    (".git\n!.git/HEAD", ".git/HEAD", false),
    (".git\n!.git/HEAD", ".git/config", true),
    // The Dockerfile itself can be listed (the builder still reads it).
    ("Dockerfile\n.dockerignore", "Dockerfile", true),
    // A byte-order mark does not stick to the first pattern.
    ("\u{feff}secret.txt", "secret.txt", true),
    // CRLF ignore files.
    ("a.txt\r\nb.txt\r\n", "b.txt", true),
];

#[test]
fn ignore_table() {
    assert!(TABLE.len() >= 40);
    for (file, path, want) in TABLE {
        let m = IgnoreMatcher::parse(file).unwrap();
        assert_eq!(m.matches(path), *want, "patterns {file:?}, path {path:?}");
    }
}

/// (patterns, directory, can be skipped?)
const SKIP_TABLE: &[(&[&str], &str, bool)] = &[
    (&["node_modules"], "node_modules", true),
    (
        &["node_modules", "!node_modules/keep.js"],
        "node_modules",
        false,
    ),
    (&["*", "!src"], "docs", true),
    (&["*", "!src"], "src", false),
    (&["vendor", "!**/*.go"], "vendor", false),
    (&["vendor", "!*.go"], "vendor", true),
    (&["build"], "src", false),
    (&["a", "!a/b/c"], "a/x", true),
    (&["a", "!a/b/c"], "a/b", false),
    (&["*", "!*/keep"], "dir", false),
    (&["*", "!d?r/keep"], "dir", false),
    (&["*", "!d?r/keep"], "dxx", true),
];

#[test]
fn skip_dir_table() {
    for (patterns, dir, want) in SKIP_TABLE {
        let m = IgnoreMatcher::from_patterns(patterns).unwrap();
        assert_eq!(
            m.can_skip_dir(dir),
            *want,
            "patterns {patterns:?}, dir {dir:?}"
        );
    }
}

#[test]
fn patterns_are_reported_cleaned() {
    let m = IgnoreMatcher::parse("# c\n/a/b/\n! ./c\n.\n\n").unwrap();
    assert_eq!(m.patterns(), vec!["a/b".to_string(), "!c".to_string()]);
    assert!(!m.is_empty());
    assert!(
        IgnoreMatcher::parse("# only a comment\n")
            .unwrap()
            .is_empty()
    );
}
