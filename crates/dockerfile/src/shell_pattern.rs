//! The small glob language of `${VAR#pattern}`, `${VAR%pattern}` and
//! `${VAR/pattern/replacement}`: `*` (any run), `?` (any one character), the escape
//! character making the next one literal. No bracket expressions, as in BuildKit.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
}

/// A compiled pattern.
pub(crate) struct Pattern(Vec<Tok>);

impl Pattern {
    /// Compiles a pattern read with escapes kept (`\*` is a literal star).
    pub fn new(raw: &str, escape: char) -> Self {
        let mut toks = Vec::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => Tok::Star,
                '?' => Tok::One,
                c if c == escape => match chars.next() {
                    Some(n) => Tok::Lit(n),
                    None => Tok::Lit(c),
                },
                c => Tok::Lit(c),
            });
        }
        Pattern(toks)
    }

    /// Whether the whole of `s` matches (dynamic programming: no exponential blow-up).
    fn matches(&self, s: &[char]) -> bool {
        let p = &self.0;
        // row[j]: pattern prefix p[..i] matches s[..j].
        let mut row = vec![false; s.len() + 1];
        row[0] = true;
        for tok in p {
            let mut next = vec![false; s.len() + 1];
            match tok {
                Tok::Star => {
                    let mut any = false;
                    for j in 0..=s.len() {
                        any |= row[j];
                        next[j] = any;
                    }
                }
                Tok::One => next[1..].copy_from_slice(&row[..s.len()]),
                Tok::Lit(c) => {
                    for j in 1..=s.len() {
                        next[j] = row[j - 1] && s[j - 1] == *c;
                    }
                }
            }
            row = next;
        }
        row[s.len()]
    }

    /// `${v#p}` / `${v##p}` (prefix) and `${v%p}` / `${v%%p}` (suffix): removes the
    /// shortest (or, `greedy`, the longest) matching prefix or suffix.
    pub fn trim(&self, value: &str, prefix: bool, greedy: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut lens: Vec<usize> = (0..=n).collect();
        if greedy {
            lens.reverse();
        }
        for len in lens {
            let (part, rest) = if prefix {
                (&chars[..len], &chars[len..])
            } else {
                (&chars[n - len..], &chars[..n - len])
            };
            if self.matches(part) {
                return rest.iter().collect();
            }
        }
        value.to_string()
    }

    /// `${v/p/r}` (first match) and `${v//p/r}` (every match): the leftmost,
    /// longest matches are replaced. Empty matches are left alone.
    pub fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut replaced = false;
        while i < chars.len() {
            let found = if replaced && !all {
                None
            } else {
                (i + 1..=chars.len())
                    .rev()
                    .find(|&end| self.matches(&chars[i..end]))
            };
            match found {
                Some(end) => {
                    out.push_str(replacement);
                    i = end;
                    replaced = true;
                }
                None => {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s, '\\')
    }

    #[test]
    fn trimming() {
        assert_eq!(p("*.").trim("a.b.c", true, false), "b.c");
        assert_eq!(p("*.").trim("a.b.c", true, true), "c");
        assert_eq!(p(".*").trim("a.b.c", false, false), "a.b");
        assert_eq!(p(".*").trim("a.b.c", false, true), "a");
        assert_eq!(p("\\*").trim("*x", true, false), "x");
        assert_eq!(p("\\*").trim("ax", true, false), "ax");
        assert_eq!(p("?").trim("ab", false, false), "a");
    }

    #[test]
    fn replacing() {
        assert_eq!(p("o").replace("foo boo", "0", false), "f0o boo");
        assert_eq!(p("o").replace("foo boo", "0", true), "f00 b00");
        assert_eq!(p("b*o").replace("a boo c", "X", false), "a X c");
        assert_eq!(p("x").replace("abc", "y", true), "abc");
    }

    #[test]
    fn many_stars_stay_fast() {
        let long = "a".repeat(500);
        assert_eq!(p("*****************b").trim(&long, true, true), long);
    }
}
