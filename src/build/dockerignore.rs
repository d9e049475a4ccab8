//! `.dockerignore`, with Docker's own semantics: a port of moby's `ignorefile.ReadAll`
//! and `patternmatcher` (the code `docker build` runs), so a context sends exactly the
//! files `docker build` would send.
//!
//! - Each line is trimmed; a line starting with `#` is a comment; blank lines are skipped.
//! - `!` makes an exception; the last pattern that matches decides.
//! - A pattern is cleaned like Go's `filepath.Clean` (`./a/` is `a`, `a//b` is `a/b`) and a
//!   leading `/` is dropped: every pattern is relative to the context root, and a pattern
//!   without `/` matches at the root only (`*.log` is not `**/*.log`, unlike `.gitignore`).
//! - The glob is Go's `filepath.Match` plus `**`: `*` and `?` stop at `/`, `[...]` is a
//!   class negated by `^`, `\` escapes, `**/` matches any number of directories (none
//!   included) and a trailing `**` matches anything.
//! - A pattern that matches a directory excludes everything under it, unless an exception
//!   re-includes a path under it. The walk only descends into an excluded directory when an
//!   exception's *literal text* starts with that directory's path, so
//!   `!target/*/release/app` does not reach into `target/x86_64…/` (Docker's behaviour too).
//!
//! A no-regex fast path (exact, prefix and suffix patterns) is kept as moby keeps it, because
//! its results differ from the regex in corner cases (`**b` matches `ab`).

use regex::Regex;

/// One parsed line of a `.dockerignore`.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The cleaned pattern, without its `!`.
    text: String,
    exclusion: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    /// `foo/**`: everything that starts with `foo/`.
    Prefix,
    /// `**/foo` and `**foo`: everything that ends with `foo` (and `foo` itself).
    Suffix,
    Regex(Regex),
}

/// A line Docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IgnoreError {
    pub line: usize,
    pub message: String,
}

/// The patterns of one `.dockerignore`, in file order.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses a `.dockerignore` file's text.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            // Comments are recognised before trimming: ` # x` is a pattern.
            if raw.starts_with('#') {
                continue;
            }
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let (exclusion, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if exclusion && body.is_empty() {
                return Err(IgnoreError {
                    line: index + 1,
                    message: "illegal exclusion pattern: \"!\"".into(),
                });
            }
            let mut text = clean(body);
            if text.len() > 1 && text.starts_with('/') {
                text.remove(0);
            }
            let matcher = compile(&text).map_err(|message| IgnoreError {
                line: index + 1,
                message: format!("bad pattern `{line}`: {message}"),
            })?;
            patterns.push(Pattern {
                text,
                exclusion,
                matcher,
            });
        }
        Ok(Self { patterns })
    }

    /// True when there are no patterns: every file is sent.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Adds `!path` when `path` would be excluded: the Dockerfile and the `.dockerignore`
    /// are always sent, as `docker build` does (`TrimBuildFilesFromExcludes`).
    pub fn keep(&mut self, path: &str) {
        if self.excludes(path) {
            self.patterns.push(Pattern {
                text: path.to_string(),
                exclusion: true,
                matcher: compile(path).unwrap_or(Matcher::Exact),
            });
        }
    }

    /// Whether `path` (relative to the context root, `/`-separated, cleaned) is excluded:
    /// the last pattern matching the path or one of its parent directories decides.
    pub fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = match path.rfind('/') {
            Some(end) => {
                let parent = &path[..end];
                parent
                    .match_indices('/')
                    .map(|(i, _)| &parent[..i])
                    .chain(std::iter::once(parent))
                    .collect()
            }
            None => Vec::new(),
        };
        let mut matched = false;
        for p in &self.patterns {
            // An inclusion cannot change an excluded path, nor an exception an included one.
            if p.exclusion != matched {
                continue;
            }
            let hit = p.matches(path) || parents.iter().any(|dir| p.matches(dir));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether the walk must still descend into the excluded directory `dir`, because an
    /// exception's literal text starts with `dir/`. Wildcards in the exception do not count.
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.text).starts_with(&dir_slash))
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Matcher::Suffix => {
                let suffix = &self.text[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|bare| path == bare)
            }
            Matcher::Regex(re) => re.is_match(path),
        }
    }
}

/// Translates a cleaned pattern into a matcher, the way moby's `Pattern.compile` does.
fn compile(pattern: &str) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.next() {
                Some(next) => {
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regex;
                }
                // Go's filepath.Match refuses a trailing backslash.
                None => return Err("a trailing `\\` escapes nothing".into()),
            },
            '[' | ']' => {
                re.push(ch);
                kind = Kind::Regex;
            }
            _ => re.push(ch),
        }
        first = false;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix,
        Kind::Suffix => Matcher::Suffix,
        Kind::Regex => {
            re.push('$');
            Matcher::Regex(Regex::new(&re).map_err(|e| match e {
                regex::Error::Syntax(s) => s.lines().last().unwrap_or("invalid").to_string(),
                other => other.to_string(),
            })?)
        }
    })
}

/// Go's `filepath.Clean` for `/`-separated paths: the shortest equivalent path.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn clean_matches_go_filepath_clean() {
        for (input, want) in [
            ("", "."),
            ("./a/", "a"),
            ("a//b/./c/..", "a/b"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("./", "."),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn a_pattern_without_a_slash_matches_at_the_root_only() {
        let i = ignore("*.log\n");
        assert!(i.excludes("debug.log"));
        assert!(!i.excludes("logs/debug.log"));
    }

    #[test]
    fn double_star_matches_any_depth_including_none() {
        let i = ignore("**/*.log\n");
        assert!(i.excludes("debug.log"));
        assert!(i.excludes("a/b/debug.log"));
        assert!(!i.excludes("a/b/debug.txt"));
        let i = ignore("a/**/b\n");
        assert!(i.excludes("a/b"));
        assert!(i.excludes("a/x/y/b"));
        assert!(!i.excludes("a/xb"));
    }

    #[test]
    fn a_trailing_double_star_matches_everything_below() {
        let i = ignore("build/**\n");
        assert!(i.excludes("build/a"));
        assert!(i.excludes("build/a/b"));
        assert!(!i.excludes("build"));
        assert!(!i.excludes("builder"));
    }

    #[test]
    fn a_leading_double_star_without_slash_is_a_plain_suffix_as_in_docker() {
        let i = ignore("**b\n");
        assert!(i.excludes("b"));
        assert!(i.excludes("ab"));
        assert!(i.excludes("x/ab"));
    }

    #[test]
    fn a_directory_pattern_excludes_everything_under_it() {
        let i = ignore("node_modules\n");
        assert!(i.excludes("node_modules"));
        assert!(i.excludes("node_modules/a/b.js"));
        assert!(!i.excludes("src/node_modules"));
    }

    #[test]
    fn the_last_matching_pattern_decides() {
        let i = ignore("*.md\n!README.md\n");
        assert!(i.excludes("CHANGES.md"));
        assert!(!i.excludes("README.md"));
        let i = ignore("!README.md\n*.md\n");
        assert!(i.excludes("README.md"));
    }

    #[test]
    fn an_exception_reincludes_a_file_inside_an_excluded_directory() {
        let i = ignore("target\n!target/release/app\n");
        assert!(i.excludes("target/debug/app"));
        assert!(!i.excludes("target/release/app"));
        assert!(i.may_reinclude_under("target"));
        assert!(i.may_reinclude_under("target/release"));
        assert!(!i.may_reinclude_under("target/debug"));
    }

    #[test]
    fn a_wildcard_in_an_exception_does_not_reach_into_an_excluded_directory() {
        // The example service's .dockerignore relies on this being Docker's behaviour.
        let i = ignore("*\n!target/*/release/hello\n");
        assert!(i.may_reinclude_under("target"));
        assert!(!i.may_reinclude_under("target/x86_64-unknown-linux-gnu"));
        // The matcher itself would re-include the file; the walk never gets there.
        assert!(!i.excludes("target/x86_64-unknown-linux-gnu/release/hello"));
    }

    #[test]
    fn comments_blank_lines_spaces_slashes_and_dots_are_normalised() {
        let i = ignore("# a comment\n\n  ./secrets/  \n/tmp\n! ./tmp/keep \n #notacomment\n");
        assert!(i.excludes("secrets/key"));
        assert!(i.excludes("tmp/x"));
        assert!(!i.excludes("tmp/keep"));
        assert!(i.excludes("#notacomment"));
        assert!(!i.excludes("a comment"));
    }

    #[test]
    fn character_classes_and_question_marks_stop_at_slashes() {
        let i = ignore("file?.txt\n[a-c].bin\n[^x]y\n");
        assert!(i.excludes("file1.txt"));
        assert!(!i.excludes("file/.txt"));
        assert!(i.excludes("b.bin"));
        assert!(!i.excludes("d.bin"));
        assert!(i.excludes("ay"));
        assert!(!i.excludes("xy"));
    }

    #[test]
    fn escapes_and_regex_metacharacters_are_literal() {
        let i = ignore("a+b(c).txt\n\\*star\n");
        assert!(i.excludes("a+b(c).txt"));
        assert!(!i.excludes("aab(c)xtxt"));
        assert!(i.excludes("*star"));
        assert!(!i.excludes("xstar"));
    }

    #[test]
    fn the_build_files_are_kept_even_when_excluded() {
        let mut i = ignore("*\n");
        i.keep(".dockerignore");
        i.keep("deploy/Dockerfile");
        assert!(!i.excludes(".dockerignore"));
        assert!(!i.excludes("deploy/Dockerfile"));
        assert!(i.may_reinclude_under("deploy"));
        assert!(i.excludes("deploy/other"));
    }

    #[test]
    fn a_bare_exclamation_mark_and_a_broken_class_are_refused_with_their_line() {
        let e = DockerIgnore::parse("a\n!\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = DockerIgnore::parse("# c\n[abc\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(DockerIgnore::parse("trailing\\").is_err());
    }

    #[test]
    fn a_utf8_bom_is_ignored() {
        let i = ignore("\u{feff}secret\n");
        assert!(i.excludes("secret"));
    }
}
