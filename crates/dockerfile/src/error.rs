//! The crate's one error type and the source location every error carries.

use std::fmt;

/// A position in a Dockerfile (or `.dockerignore`): file name, 1-based line and column.
///
/// Columns count characters, not bytes, so they match what an editor shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file name as given to [`crate::parse`].
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Formats an optional location as a `file:line:col: ` prefix (empty when unknown).
fn prefix(at: &Option<Location>) -> String {
    match at {
        Some(at) => format!("{at}: "),
        None => String::new(),
    }
}

/// Formats an optional "did you mean" suggestion as a `hint:` line.
fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("\nhint: did you mean {s}?"),
        None => String::new(),
    }
}

/// Everything that can go wrong while parsing a Dockerfile, expanding its words,
/// resolving its stages or reading a `.dockerignore`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A line starts with a word that is not a Dockerfile instruction.
    #[error("{at}: unknown instruction \"{name}\"{}", did_you_mean(.suggestion))]
    UnknownInstruction {
        /// Where the word starts.
        at: Location,
        /// The word as written.
        name: String,
        /// The instruction the user probably meant.
        suggestion: Option<String>,
    },
    /// The file ended before the line closing a here-document.
    #[error(
        "{at}: unterminated here-document: no line \"{delimiter}\" before the end of the file\nhint: end the here-document with a line holding only {delimiter}"
    )]
    UnterminatedHeredoc {
        /// Where the `<<` starts.
        at: Location,
        /// The delimiter that was never found.
        delimiter: String,
    },
    /// An instruction that needs a JSON array got something else.
    #[error(
        "{at}: {instruction}: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: {detail}"
    )]
    BadJson {
        /// Where the arguments start.
        at: Location,
        /// The instruction (upper case).
        instruction: String,
        /// What is wrong with the JSON.
        detail: String,
    },
    /// An instruction other than ARG appears before the first FROM.
    #[error(
        "{at}: {instruction} before the first FROM\nhint: a Dockerfile must start with FROM; only ARG and comments may come before it"
    )]
    MissingFrom {
        /// Where the instruction starts.
        at: Location,
        /// The instruction (upper case).
        instruction: String,
    },
    /// The file holds no FROM instruction at all.
    #[error(
        "{file}: no FROM instruction found\nhint: a Dockerfile needs at least one FROM line, like FROM alpine:3.19"
    )]
    NoStages {
        /// The file name.
        file: String,
    },
    /// A stage reference (`--from`, `--target`, `FROM <stage>`) names no stage.
    #[error("{}unknown stage \"{stage}\": {detail}", prefix(.at))]
    UnknownStage {
        /// Where the reference is written, when it comes from the file.
        at: Option<Location>,
        /// The reference as written.
        stage: String,
        /// Why it does not resolve.
        detail: String,
    },
    /// Two stages use the same name.
    #[error(
        "{at}: duplicate stage name \"{name}\": already used by the stage on line {first_line}"
    )]
    DuplicateStage {
        /// Where the second definition is.
        at: Location,
        /// The (lower-cased) stage name.
        name: String,
        /// Line of the first definition.
        first_line: usize,
    },
    /// Stages depend on each other in a circle.
    #[error("circular dependency between stages: {}", .stages.join(" -> "))]
    StageCycle {
        /// The stages in the cycle, the first repeated at the end.
        stages: Vec<String>,
    },
    /// An instruction ends with a line continuation and nothing follows it.
    #[error(
        "{at}: {instruction} ends with a line continuation at the end of the file\nhint: remove the trailing {escape} or write the instruction's arguments"
    )]
    ContinuationAtEof {
        /// Where the instruction starts.
        at: Location,
        /// The instruction (upper case).
        instruction: String,
        /// The escape character in use.
        escape: char,
    },
    /// A `--flag` the instruction does not know.
    #[error("{at}: unknown flag --{flag} for {instruction}{}", did_you_mean(.suggestion))]
    UnknownFlag {
        /// Where the flag is written.
        at: Location,
        /// The instruction (upper case).
        instruction: String,
        /// The flag name without dashes.
        flag: String,
        /// A known flag with a similar name.
        suggestion: Option<String>,
    },
    /// A known flag with a value it cannot take.
    #[error("{at}: bad value for --{flag}: \"{value}\": expected {expected}")]
    BadFlag {
        /// Where the flag is written.
        at: Location,
        /// The flag name without dashes.
        flag: String,
        /// The value as written.
        value: String,
        /// What the flag accepts.
        expected: String,
    },
    /// A HEALTHCHECK duration that Go's `time.ParseDuration` would refuse.
    #[error(
        "{at}: bad duration for --{flag}: \"{value}\": expected a number with a unit, like 30s, 1m30s or 500ms"
    )]
    BadDuration {
        /// Where the flag is written.
        at: Location,
        /// The flag name without dashes.
        flag: String,
        /// The value as written.
        value: String,
    },
    /// A malformed instruction; the message says what was expected.
    #[error("{at}: {instruction}: {message}")]
    Syntax {
        /// Where the problem is.
        at: Location,
        /// The instruction (upper case).
        instruction: String,
        /// What was expected.
        message: String,
    },
    /// A malformed parser directive (`# escape=x`, a directive given twice).
    #[error("{at}: bad parser directive: {message}")]
    BadDirective {
        /// Where the directive is.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// Word expansion failed (unterminated quote, `${VAR?msg}` with VAR unset, …).
    #[error("{}failed to expand {word:?}: {message}", prefix(.at))]
    Expand {
        /// Where the word is, when known.
        at: Option<Location>,
        /// The word being expanded.
        word: String,
        /// What went wrong.
        message: String,
    },
    /// A `.dockerignore` pattern that cannot be compiled.
    #[error("{file}:{line}: bad .dockerignore pattern \"{pattern}\": {message}")]
    BadIgnorePattern {
        /// The ignore file's name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Attaches a location to an error that has none yet (expansion errors).
    #[must_use]
    pub fn at(self, location: &Location) -> Self {
        match self {
            Error::Expand {
                at: None,
                word,
                message,
            } => Error::Expand {
                at: Some(location.clone()),
                word,
                message,
            },
            Error::UnknownStage {
                at: None,
                stage,
                detail,
            } => Error::UnknownStage {
                at: Some(location.clone()),
                stage,
                detail,
            },
            other => other,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
