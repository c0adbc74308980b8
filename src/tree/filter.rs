//! [`TreeFilter`]: which entries of a tree take part, by the AWS CLI's `--include` /
//! `--exclude` rules (in order, the last rule that matches decides, everything is
//! included when none does) and an optional caller predicate.

use std::fmt;
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};

use super::entry::TreeEntry;
use crate::error::TransferError;

/// A caller's own test of an entry: `false` leaves it out (after the glob rules).
pub(crate) type Predicate = Arc<dyn Fn(&TreeEntry) -> bool + Send + Sync>;

/// Include/exclude rules matched against each entry's path relative to the root
/// ([`TreeEntry::relative`]), as `aws s3 cp/sync --include/--exclude` match them:
///
/// * every entry is included until a rule says otherwise;
/// * the rules are tried in the order given and the **last** one that matches wins
///   (`--exclude '*' --include '*.txt'` keeps only `.txt` files;
///   `--include '*.txt' --exclude '*'` keeps nothing);
/// * patterns are Python's `fnmatch`: `*` matches any run of characters **including
///   `/`** (`--exclude 'logs/*'` excludes everything under `logs/`), `?` one
///   character, `[abc]`/`[!abc]` a set; matching is case-sensitive.
///
/// The patterns are compiled by the `globset` crate with `*` allowed to cross `/`;
/// it also understands `{a,b}` alternatives and `**`, which `fnmatch` takes literally.
#[derive(Clone, Default)]
pub struct TreeFilter {
    rules: Vec<Rule>,
    predicate: Option<Predicate>,
}

#[derive(Clone)]
struct Rule {
    include: bool,
    pattern: String,
    matcher: GlobMatcher,
}

impl TreeFilter {
    /// A filter that includes everything.
    pub fn new() -> TreeFilter {
        TreeFilter::default()
    }

    /// Add `--include pattern`. [`TransferError::InvalidArgument`] for a pattern that
    /// cannot be compiled (an unclosed `[`).
    pub fn include(self, pattern: &str) -> Result<TreeFilter, TransferError> {
        self.rule(true, pattern)
    }

    /// Add `--exclude pattern`.
    pub fn exclude(self, pattern: &str) -> Result<TreeFilter, TransferError> {
        self.rule(false, pattern)
    }

    /// Also require `predicate` to accept an entry (checked after the rules).
    pub fn predicate(
        mut self,
        predicate: impl Fn(&TreeEntry) -> bool + Send + Sync + 'static,
    ) -> TreeFilter {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    fn rule(mut self, include: bool, pattern: &str) -> Result<TreeFilter, TransferError> {
        // fnmatch's `[!a]` is globset's `[!a]` too; `*` crosses `/` unless
        // `literal_separator` is set, which it is not.
        let glob = GlobBuilder::new(pattern)
            .literal_separator(false)
            .backslash_escape(false)
            .build()
            .map_err(|e| TransferError::InvalidArgument(format!("bad pattern {pattern:?}: {e}")))?;
        self.rules.push(Rule {
            include,
            pattern: pattern.to_owned(),
            matcher: glob.compile_matcher(),
        });
        Ok(self)
    }

    /// Whether the rules keep the path `relative` (the predicate is not consulted).
    pub fn matches_path(&self, relative: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|rule| rule.matcher.is_match(relative))
            .is_none_or(|rule| rule.include)
    }

    /// Whether `entry` takes part: kept by the rules and by the predicate.
    pub fn accepts(&self, entry: &TreeEntry) -> bool {
        self.matches_path(&entry.relative) && self.predicate.as_ref().is_none_or(|p| p(entry))
    }

    /// Whether no rule and no predicate was given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.predicate.is_none()
    }
}

impl fmt::Debug for TreeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for rule in &self.rules {
            let flag = if rule.include {
                "--include"
            } else {
                "--exclude"
            };
            list.entry(&format_args!("{flag} {:?}", rule.pattern));
        }
        if self.predicate.is_some() {
            list.entry(&format_args!("predicate"));
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_rule_wins() {
        let only_txt = TreeFilter::new()
            .exclude("*")
            .unwrap()
            .include("*.txt")
            .unwrap();
        assert!(only_txt.matches_path("a.txt"));
        assert!(only_txt.matches_path("deep/dir/b.txt"));
        assert!(!only_txt.matches_path("a.jpg"));
        let nothing = TreeFilter::new()
            .include("*.txt")
            .unwrap()
            .exclude("*")
            .unwrap();
        assert!(!nothing.matches_path("a.txt"));
        assert!(TreeFilter::new().matches_path("anything/at/all"));
    }

    #[test]
    fn star_crosses_slashes_as_in_fnmatch() {
        let f = TreeFilter::new().exclude("logs/*").unwrap();
        assert!(!f.matches_path("logs/a"));
        assert!(!f.matches_path("logs/2024/01/a.log"));
        assert!(f.matches_path("mylogs/a"));
        let f = TreeFilter::new().exclude("*.tmp").unwrap();
        assert!(!f.matches_path("a/b/c.tmp"));
        let f = TreeFilter::new()
            .exclude("?.bin")
            .unwrap()
            .exclude("[!x]y")
            .unwrap();
        assert!(!f.matches_path("a.bin") && f.matches_path("ab.bin"));
        assert!(!f.matches_path("zy") && f.matches_path("xy"));
        assert!(
            TreeFilter::new()
                .exclude("*.TXT")
                .unwrap()
                .matches_path("a.txt")
        );
    }

    #[test]
    fn a_bad_pattern_is_a_typed_error() {
        let err = TreeFilter::new().include("[abc").unwrap_err();
        assert!(matches!(err, TransferError::InvalidArgument(_)), "{err}");
    }
}
