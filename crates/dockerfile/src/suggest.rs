//! "Did you mean" suggestions by edit distance.

/// The candidate closest to `word` (case-insensitive), if it is close enough to be
/// a plausible typo: one edit for short words, two for longer ones.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let limit = if w.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["RUN", "COPY", "ENTRYPOINT", "WORKDIR"];
        assert_eq!(closest("RUNN", &known), Some("RUN"));
        assert_eq!(closest("cpy", &known), Some("COPY"));
        assert_eq!(closest("ENTRYPONT", &known), Some("ENTRYPOINT"));
        assert_eq!(closest("FOOBAR", &known), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
