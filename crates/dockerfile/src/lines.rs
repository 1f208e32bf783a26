//! Physical lines to logical instructions: parser directives, comments, line
//! continuations (empty and comment lines inside them are skipped, as BuildKit
//! does) and here-document bodies.

use crate::error::{Error, Location, Result};
use crate::heredoc::{self, Heredoc};

/// The parser directives at the top of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` (a frontend image reference; recorded, not acted upon).
    pub syntax: Option<String>,
    /// `# escape=`: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` (build check configuration; recorded).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// One physical piece of a logical line: where `text[offset..]` came from.
#[derive(Debug, Clone)]
struct Piece {
    offset: usize,
    line: usize,
    column: usize,
}

/// An instruction's text after joining continuation lines, with a map back to the file.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    pub text: String,
    pieces: Vec<Piece>,
    pub start_line: usize,
    pub end_line: usize,
    /// The line ended with a continuation and the file ended.
    pub dangling: bool,
    pub heredocs: Vec<Heredoc>,
}

impl LogicalLine {
    /// The 1-based line and column of byte `offset` of `text`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.offset <= offset)
            .or(self.pieces.first());
        match piece {
            Some(p) => {
                let within = self.text.get(p.offset..offset).unwrap_or("");
                (p.line, p.column + within.chars().count())
            }
            None => (self.start_line, 1),
        }
    }
}

/// Splits the source into lines (LF or CRLF), dropping a UTF-8 byte-order mark.
pub(crate) fn physical_lines(source: &str) -> Vec<&str> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines: Vec<&str> = source
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

/// Reads the parser directives; returns them and the index of the first line after them.
pub(crate) fn directives(file: &str, lines: &[&str]) -> Result<(Directives, usize)> {
    let mut d = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line) else {
            return Ok((d, i));
        };
        let lower = name.to_ascii_lowercase();
        if !matches!(lower.as_str(), "syntax" | "escape" | "check") {
            // An unknown directive is a comment, and ends the directives.
            return Ok((d, i));
        }
        let at = Location {
            file: file.to_string(),
            line: i + 1,
            column: 1 + line.chars().take_while(|c| c.is_whitespace()).count(),
        };
        if seen.contains(&lower) {
            return Err(Error::BadDirective {
                at,
                message: format!("only one {lower} directive can be used"),
            });
        }
        seen.push(lower.clone());
        match lower.as_str() {
            "escape" => {
                d.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(Error::BadDirective {
                            at,
                            message: format!(
                                "invalid escape character \"{other}\": expected \\ or `"
                            ),
                        });
                    }
                }
            }
            "syntax" => d.syntax = Some(value.to_string()),
            _ => d.check = Some(value.to_string()),
        }
    }
    Ok((d, lines.len()))
}

/// `# name = value` with a letter-first alphanumeric name and a non-empty value.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim().strip_prefix('#')?.trim_start();
    let end = rest
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphanumeric() && (*i > 0 || c.is_ascii_alphabetic())))
        .map_or(rest.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &rest[..end];
    let value = rest[end..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Strips a trailing continuation (the escape character, then optional spaces and
/// tabs); returns the remaining text and whether there was one.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// Groups the lines from `start` into logical instruction lines, reading here-document
/// bodies for the instructions that take them.
pub(crate) fn logical_lines(
    file: &str,
    lines: &[&str],
    start: usize,
    escape: char,
) -> Result<Vec<LogicalLine>> {
    let mut out = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) || is_comment(line) {
            i += 1;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let first = &line[indent..];
        let mut ll = LogicalLine {
            text: String::new(),
            pieces: Vec::new(),
            start_line: i + 1,
            end_line: i + 1,
            dangling: false,
            heredocs: Vec::new(),
        };
        let (text, mut continued) = strip_continuation(first, escape);
        ll.pieces.push(Piece {
            offset: 0,
            line: i + 1,
            column: 1 + line[..indent].chars().count(),
        });
        ll.text.push_str(text);
        i += 1;
        while continued {
            let Some(next) = lines.get(i) else {
                ll.dangling = true;
                break;
            };
            i += 1;
            if is_comment(next) || is_blank(next) {
                continue;
            }
            let (text, more) = strip_continuation(next, escape);
            ll.pieces.push(Piece {
                offset: ll.text.len(),
                line: i,
                column: 1,
            });
            ll.text.push_str(text);
            ll.end_line = i;
            continued = more;
        }
        let specs = heredoc::detect(&ll.text, escape);
        for spec in specs {
            let (line_no, column) = ll.position(spec.offset);
            let mut body = String::new();
            let mut closed = false;
            while let Some(raw) = lines.get(i) {
                i += 1;
                let candidate = if spec.strip_tabs {
                    raw.trim_start_matches('\t')
                } else {
                    raw
                };
                if candidate == spec.delimiter {
                    closed = true;
                    break;
                }
                body.push_str(candidate);
                body.push('\n');
            }
            if !closed {
                return Err(Error::UnterminatedHeredoc {
                    at: Location {
                        file: file.to_string(),
                        line: line_no,
                        column,
                    },
                    delimiter: spec.delimiter,
                });
            }
            ll.end_line = i;
            ll.heredocs.push(Heredoc {
                name: spec.delimiter,
                content: body,
                expand: spec.expand,
                strip_tabs: spec.strip_tabs,
            });
        }
        out.push(ll);
    }
    Ok(out)
}
