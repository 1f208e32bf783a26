//! Word expansion as Docker's builder does it (BuildKit's shell lexer): `$VAR`,
//! `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}`, `${VAR?msg}`, `${VAR#glob}`, `${VAR##glob}`, `${VAR%glob}`,
//! `${VAR%%glob}`, `${VAR/glob/repl}`, `${VAR//glob/repl}`, the escape character, single quotes (nothing expands) and double
//! quotes (variables expand, no word splitting). Unset variables expand to nothing.
//!
//! This is not a shell: there is no command substitution, no arithmetic and no
//! globbing; `RUN`, `CMD` and `ENTRYPOINT` are never expanded by the builder.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{Error, Result};
use crate::shell_pattern::Pattern;

/// Where expansion looks variables up.
pub trait Env {
    /// The value of `name`, or `None` when it is not set (set-but-empty is `Some("")`).
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl Env for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// An ordered list of `(name, value)`; the last entry for a name wins, as with `ENV`.
impl Env for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Env for Vec<(String, String)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

/// An environment with nothing set.
impl Env for () {
    fn lookup(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// Expands one word with the default escape character `\`: quotes are removed,
/// variables substituted, no splitting (`ENV`, `LABEL`, `WORKDIR`, `USER`, `COPY` paths).
///
/// ```
/// use std::collections::HashMap;
/// let env = HashMap::from([("name".to_string(), "web".to_string())]);
/// assert_eq!(berth_dockerfile::expand_word("/srv/${name:-x}_1", &env).unwrap(), "/srv/web_1");
/// ```
pub fn expand_word(word: &str, env: &(impl Env + ?Sized)) -> Result<String> {
    Expander::new('\\').word(word, env)
}

/// Expands `text` and splits the result into words on unquoted whitespace, including
/// whitespace that came from a variable's value (`EXPOSE $PORTS`).
pub fn expand_words(text: &str, env: &(impl Env + ?Sized)) -> Result<Vec<String>> {
    Expander::new('\\').words(text, env)
}

/// The names of the variables a word refers to, including those in default and
/// alternative words (`${A:-$B}` uses both `A` and `B`).
pub fn used_vars(word: &str) -> Result<BTreeSet<String>> {
    Expander::new('\\').used_vars(word)
}

/// Word expansion with a chosen escape character (`\` or `` ` `` from `# escape=`).
#[derive(Debug, Clone, Copy)]
pub struct Expander {
    escape: char,
}

impl Expander {
    /// An expander for the given escape character.
    #[must_use]
    pub fn new(escape: char) -> Self {
        Expander { escape }
    }

    /// See [`expand_word`].
    pub fn word(&self, word: &str, env: &(impl Env + ?Sized)) -> Result<String> {
        let mut lx = Lexer::new(word, self.escape, env, false);
        let words = lx.run(false)?;
        Ok(words.into_iter().next().unwrap_or_default())
    }

    /// See [`expand_words`].
    pub fn words(&self, text: &str, env: &(impl Env + ?Sized)) -> Result<Vec<String>> {
        let mut lx = Lexer::new(text, self.escape, env, false);
        lx.run(true)
    }

    /// See [`used_vars`].
    pub fn used_vars(&self, word: &str) -> Result<BTreeSet<String>> {
        let mut lx = Lexer::new(word, self.escape, &(), true);
        lx.run(false)?;
        Ok(lx.used)
    }
}

/// Accumulates output words; `split` decides whether unquoted whitespace separates words.
struct Words {
    split: bool,
    words: Vec<String>,
    current: String,
    in_word: bool,
}

impl Words {
    fn push(&mut self, c: char) {
        if self.split && c.is_whitespace() {
            self.finish();
        } else {
            self.push_raw(c);
        }
    }

    fn push_raw(&mut self, c: char) {
        self.current.push(c);
        self.in_word = true;
    }

    fn push_raw_str(&mut self, s: &str) {
        self.current.push_str(s);
        self.in_word = true;
    }

    fn finish(&mut self) {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.current));
            self.in_word = false;
        }
    }
}

struct Lexer<'a, E: ?Sized> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: &'a E,
    /// In `used_vars` mode `${X?msg}` never fails: only the names matter.
    collecting: bool,
    /// Keep escape characters (in `#`, `%` and `/` patterns, where they matter).
    raw_escapes: bool,
    used: BTreeSet<String>,
}

impl<'a, E: Env + ?Sized> Lexer<'a, E> {
    fn new(src: &'a str, escape: char, env: &'a E, collecting: bool) -> Self {
        Lexer {
            src,
            chars: src.chars().collect(),
            pos: 0,
            escape,
            env,
            collecting,
            raw_escapes: false,
            used: BTreeSet::new(),
        }
    }

    fn fail(&self, message: impl Into<String>) -> Error {
        Error::Expand {
            at: None,
            word: self.src.to_string(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn run(&mut self, split: bool) -> Result<Vec<String>> {
        let mut words = Words {
            split,
            words: Vec::new(),
            current: String::new(),
            in_word: false,
        };
        self.process(&mut words, None)?;
        words.finish();
        if !split && words.words.is_empty() {
            words.words.push(String::new());
        }
        Ok(words.words)
    }

    /// Processes input until `stop` (consumed) or the end; returns whether `stop` was seen.
    fn process(&mut self, out: &mut Words, stop: Option<char>) -> Result<bool> {
        while let Some(c) = self.next() {
            if Some(c) == stop {
                return Ok(true);
            }
            if c == self.escape {
                // The escape character takes the next character literally; a
                // trailing one is dropped, as BuildKit does.
                if let Some(n) = self.next() {
                    if self.raw_escapes {
                        out.push_raw(c);
                    }
                    out.push_raw(n);
                }
                continue;
            }
            match c {
                '\'' => {
                    let s = self.single_quoted()?;
                    out.push_raw_str(&s);
                }
                '"' => {
                    let s = self.double_quoted()?;
                    out.push_raw_str(&s);
                }
                '$' => {
                    let value = self.dollar()?;
                    for v in value.chars() {
                        out.push(v);
                    }
                }
                _ => out.push(c),
            }
        }
        Ok(false)
    }

    fn single_quoted(&mut self) -> Result<String> {
        let mut s = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
                None => {
                    return Err(
                        self.fail("unexpected end of text while looking for matching single quote")
                    );
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String> {
        let mut s = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(s),
                Some('$') => {
                    let v = self.dollar()?;
                    s.push_str(&v);
                }
                Some(c) if c == self.escape => match self.peek() {
                    // Inside double quotes only `"`, `$` and the escape character
                    // itself are escapes; elsewhere the escape character stays.
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        s.push(n);
                    }
                    Some(_) => s.push(c),
                    None => {}
                },
                Some(c) => s.push(c),
                None => {
                    return Err(
                        self.fail("unexpected end of text while looking for matching double quote")
                    );
                }
            }
        }
    }

    /// A variable name: a run of digits (positional), one special parameter
    /// (`@ * # ? - $ !`, which BuildKit looks up like any name, so normally empty),
    /// or a letter or `_` followed by letters, digits and `_`.
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                    name.push(c);
                    self.pos += 1;
                }
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                name.push(c);
                self.pos += 1;
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.pos += 1;
                }
            }
            _ => {}
        }
        name
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        self.used.insert(name.to_string());
        self.env.lookup(name).map(str::to_string)
    }

    /// Called after a `$`; returns the substituted text.
    fn dollar(&mut self) -> Result<String> {
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                // A `$` not followed by a name is literal.
                return Ok("$".to_string());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err(self.fail("bad substitution: expected a variable name after ${"));
        }
        let Some(c) = self.next() else {
            return Err(self.fail(format!("missing '}}' after ${{{name}")));
        };
        let value = self.lookup(&name);
        match c {
            '}' => Ok(value.unwrap_or_default()),
            ':' => {
                let Some(m) = self.next() else {
                    return Err(self.fail(format!("missing '}}' after ${{{name}:")));
                };
                if !matches!(m, '-' | '+' | '?') {
                    return Err(self.fail(format!(
                        "unsupported modifier \":{m}\" in ${{{name}...}}: expected :-, :+ or :?"
                    )));
                }
                let word = self.modifier_word(&name)?;
                let set_non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
                self.apply(&name, m, word, value, set_non_empty, true)
            }
            '-' | '+' | '?' => {
                let word = self.modifier_word(&name)?;
                let set = value.is_some();
                self.apply(&name, c, word, value, set, false)
            }
            '#' | '%' => {
                let greedy = self.peek() == Some(c);
                if greedy {
                    self.pos += 1;
                }
                let pattern = self.raw_word(&name, '}')?;
                let value = value.unwrap_or_default();
                Ok(Pattern::new(&pattern, self.escape).trim(&value, c == '#', greedy))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = self.raw_word(&name, '/')?;
                let replacement = self.modifier_word(&name)?;
                let value = value.unwrap_or_default();
                Ok(Pattern::new(&pattern, self.escape).replace(&value, &replacement, all))
            }
            other => Err(self.fail(format!(
                "unsupported modifier \"{other}\" in ${{{name}...}}: expected }}, :-, -, :+, +, :?, ?, #, ##, %, %%, / or //"
            ))),
        }
    }

    /// Reads the word after a modifier, up to the closing brace, expanding it.
    fn modifier_word(&mut self, name: &str) -> Result<String> {
        let mut w = Words {
            split: false,
            words: Vec::new(),
            current: String::new(),
            in_word: false,
        };
        if !self.process(&mut w, Some('}'))? {
            return Err(self.fail(format!("missing '}}' in ${{{name}...}}")));
        }
        w.finish();
        Ok(w.words.into_iter().next().unwrap_or_default())
    }

    /// Reads a pattern up to `stop`, expanding variables and removing quotes but
    /// keeping escape characters, so that `\\*` stays a literal star.
    fn raw_word(&mut self, name: &str, stop: char) -> Result<String> {
        let saved = self.raw_escapes;
        self.raw_escapes = true;
        let mut w = Words {
            split: false,
            words: Vec::new(),
            current: String::new(),
            in_word: false,
        };
        let found = self.process(&mut w, Some(stop));
        self.raw_escapes = saved;
        if !found? {
            return Err(self.fail(format!("missing '{stop}' in ${{{name}...}}")));
        }
        w.finish();
        Ok(w.words.into_iter().next().unwrap_or_default())
    }

    fn apply(
        &self,
        name: &str,
        modifier: char,
        word: String,
        value: Option<String>,
        present: bool,
        colon: bool,
    ) -> Result<String> {
        Ok(match modifier {
            '-' if present => value.unwrap_or_default(),
            '-' => word,
            '+' if present => word,
            '+' => String::new(),
            _ if present || self.collecting => value.unwrap_or_default(),
            _ => {
                let message = if !word.is_empty() {
                    word
                } else if colon && value.is_some() {
                    "is not allowed to be empty".to_string()
                } else {
                    "is not allowed to be unset".to_string()
                };
                return Err(self.fail(format!("{name}: {message}")));
            }
        })
    }
}
