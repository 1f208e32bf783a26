//! Random container names like Docker's (`adjective_noun`), from `names.txt`.

const WORDS: &str = include_str!("names.txt");

/// A random `adjective_noun` name; `seed` picks it (callers pass random bits).
pub fn random_name(seed: u64) -> String {
    let mut parts = WORDS.split("---");
    let adjectives: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
    let nouns: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
    if adjectives.is_empty() || nouns.is_empty() {
        return format!("berth_{seed:x}");
    }
    let a = usize::try_from(seed % adjectives.len() as u64).unwrap_or(0);
    let n = usize::try_from((seed / adjectives.len() as u64) % nouns.len() as u64).unwrap_or(0);
    format!("{}_{}", adjectives[a], nouns[n])
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_two_words() {
        let n = super::random_name(12345);
        assert_eq!(n.split('_').count(), 2, "{n}");
        assert_ne!(super::random_name(1), super::random_name(2));
    }
}
