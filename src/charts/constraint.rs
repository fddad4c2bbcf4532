//! Helm's version constraints (Masterminds semver v3, which Helm and the
//! Flux source-controller use to pick a chart version), on top of the
//! `semver` crate's versions.
//!
//! Supported, as Helm reads them: `1.2.3`, `=1.2.3`, `!=`, `>`, `<`, `>=`,
//! `<=` (and `=>`, `=<`), `~1.2` / `~>1.2`, `^1.2`, wildcards `1.2.x`,
//! `1.x`, `*`, partial versions (`1.2` is `1.2.x`), hyphen ranges
//! `1.2 - 1.4.5`, AND by comma or space, OR by `||`. Prereleases only match
//! an OR group that names a prerelease itself. An empty constraint is `*`.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed constraint: OR of AND groups.
#[derive(Clone, Debug)]
pub struct Constraint {
    groups: Vec<Group>,
}

#[derive(Clone, Debug)]
struct Group {
    items: Vec<Item>,
    /// One of the items names a prerelease: prereleases may match.
    pre: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Clone, Debug)]
struct Item {
    op: Op,
    v: Version,
    /// Major was a wildcard or missing (`*`): the whole version is open.
    dirty: bool,
    /// Minor was a wildcard or missing (`1`, `1.x`).
    minor_dirty: bool,
    /// Patch was a wildcard or missing (`1.2`, `1.2.x`).
    patch_dirty: bool,
}

/// Parses a version leniently, as Helm does for chart versions: optional
/// `v`, missing minor/patch are 0. None when it is not a version.
pub fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    if let Ok(v) = Version::parse(s) {
        return Some(v);
    }
    // pad `1` and `1.2` (keeping any -pre / +build suffix)
    let cut = s.find(['-', '+']).unwrap_or(s.len());
    let (core, rest) = s.split_at(cut);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut nums: Vec<String> = parts.iter().map(|p| p.trim_start_matches('0').to_string()).collect();
    for n in &mut nums {
        if n.is_empty() {
            *n = "0".into();
        }
    }
    while nums.len() < 3 {
        nums.push("0".into());
    }
    Version::parse(&format!("{}{rest}", nums.join("."))).ok()
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    /// Parses a constraint; Err says what is wrong.
    pub fn parse(s: &str) -> Result<Constraint, String> {
        let mut groups = Vec::new();
        for or in s.split("||") {
            let items = parse_and(or)?;
            let pre = items.iter().any(|i| !i.v.pre.is_empty());
            groups.push(Group { items, pre });
        }
        Ok(Constraint { groups })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| {
            if !v.pre.is_empty() && !g.pre {
                return false;
            }
            g.items.iter().all(|i| i.matches(v))
        })
    }

    /// The highest of `versions` that satisfies the constraint (Helm picks
    /// the highest match).
    pub fn best<'a, T>(&self, versions: impl IntoIterator<Item = (&'a str, T)>) -> Option<(Version, T)> {
        let mut best: Option<(Version, T)> = None;
        for (s, t) in versions {
            let Some(v) = parse_version(s) else { continue };
            if !self.matches(&v) {
                continue;
            }
            if best.as_ref().is_none_or(|(b, _)| v.cmp_precedence(b) == Ordering::Greater) {
                best = Some((v, t));
            }
        }
        best
    }
}

/// One AND group: `>= 1.2, < 2.0` or `>=1.2 <2.0`, with hyphen ranges.
fn parse_and(s: &str) -> Result<Vec<Item>, String> {
    // tokens: split on commas and whitespace, then glue operators written
    // apart from their version (`>= 1.2`) and hyphen ranges (`1.2 - 1.4`)
    let raw: Vec<&str> = s.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()).collect();
    if raw.is_empty() {
        // an empty constraint (or group) is `*`
        return Ok(vec![wildcard()]);
    }
    let mut items = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let mut tok = raw[i].to_string();
        if tok.chars().all(|c| "=!<>~^".contains(c)) {
            let Some(next) = raw.get(i + 1) else { return Err(format!("operator `{tok}` has no version")) };
            tok.push_str(next);
            i += 1;
        }
        if raw.get(i + 1) == Some(&"-") {
            let Some(hi) = raw.get(i + 2) else { return Err(format!("range `{tok} -` has no upper bound")) };
            items.push(parse_item(&format!(">={tok}"))?);
            items.push(parse_item(&format!("<={hi}"))?);
            i += 3;
            continue;
        }
        items.push(parse_item(&tok)?);
        i += 1;
    }
    Ok(items)
}

fn wildcard() -> Item {
    Item { op: Op::Eq, v: Version::new(0, 0, 0), dirty: true, minor_dirty: false, patch_dirty: false }
}

fn parse_item(tok: &str) -> Result<Item, String> {
    let ops: [(&str, Op); 12] = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("~", Op::Tilde),
        ("^", Op::Caret),
        ("=", Op::Eq),
        ("", Op::Eq),
    ];
    let (op, rest) = ops.iter().find_map(|(p, op)| tok.strip_prefix(p).map(|r| (*op, r))).unwrap_or((Op::Eq, tok));
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    if rest.is_empty() {
        return Err(format!("`{tok}` has no version"));
    }
    let cut = rest.find(['-', '+']).unwrap_or(rest.len());
    let (core, suffix) = rest.split_at(cut);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !(is_x(p) || p.bytes().all(|b| b.is_ascii_digit()))) {
        return Err(format!("`{tok}` is not a version constraint"));
    }
    let num = |p: &str| p.parse::<u64>().map_err(|_| format!("`{tok}`: number too large"));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let (major, minor, patch) = if is_x(parts[0]) {
        dirty = true;
        (0, 0, 0)
    } else if parts.len() < 2 || is_x(parts[1]) {
        dirty = true;
        minor_dirty = true;
        (num(parts[0])?, 0, 0)
    } else if parts.len() < 3 || is_x(parts[2]) {
        dirty = true;
        patch_dirty = true;
        (num(parts[0])?, num(parts[1])?, 0)
    } else {
        (num(parts[0])?, num(parts[1])?, num(parts[2])?)
    };
    let mut v = Version::new(major, minor, patch);
    // `-pre` and `+build` as semver reads them
    let (pre, build) = match suffix.split_once('+') {
        Some((p, b)) => (p, b),
        None => (suffix, ""),
    };
    if let Some(p) = pre.strip_prefix('-') {
        v.pre = Prerelease::new(p).map_err(|e| format!("`{tok}`: {e}"))?;
    }
    if !build.is_empty() {
        v.build = BuildMetadata::new(build).map_err(|e| format!("`{tok}`: {e}"))?;
    }
    Ok(Item { op, v, dirty, minor_dirty, patch_dirty })
}

impl Item {
    fn cmp(&self, v: &Version) -> Ordering {
        v.cmp_precedence(&self.v)
    }

    fn matches(&self, v: &Version) -> bool {
        let c = &self.v;
        match self.op {
            Op::Eq if self.dirty => self.tilde(v),
            Op::Eq => self.cmp(v) == Ordering::Equal,
            Op::Ne => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return !v.pre.is_empty() && v.pre != c.pre;
                    }
                }
                self.cmp(v) != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return self.cmp(v) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                self.cmp(v) == Ordering::Greater
            }
            Op::Lt => self.cmp(v) == Ordering::Less,
            Op::Ge => self.cmp(v) != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return self.cmp(v) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if self.cmp(v) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    /// `~1.2.3` is `>=1.2.3 <1.3.0`; `~1` is `>=1.0.0 <2.0.0`; `~*` is any.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.v;
        if self.cmp(v) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        self.minor_dirty || v.minor == c.minor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c).unwrap().matches(&parse_version(v).unwrap())
    }

    #[test]
    fn operators_as_helm_reads_them() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("1.2.3", &["1.2.3", "v1.2.3", "1.2.3+build"], &["1.2.4", "1.2.3-rc.1"]),
            ("=1.2.3", &["1.2.3"], &["1.2.2"]),
            ("1.2", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.9"]),
            ("1", &["1.0.0", "1.9.9"], &["2.0.0"]),
            ("1.2.x", &["1.2.0", "1.2.7"], &["1.3.0"]),
            ("1.x", &["1.0.0", "1.5.0"], &["2.0.0", "0.9.0"]),
            ("*", &["0.0.1", "9.9.9"], &["1.0.0-alpha"]),
            ("", &["3.1.4"], &["3.1.4-rc.1"]),
            ("~1.2.3", &["1.2.3", "1.2.9"], &["1.3.0", "1.2.2"]),
            ("~1.2", &["1.2.0", "1.2.5"], &["1.3.0"]),
            ("~>1.2", &["1.2.5"], &["1.3.0"]),
            ("~1", &["1.0.0", "1.9.0"], &["2.0.0"]),
            ("^1.2.3", &["1.2.3", "1.9.0"], &["2.0.0", "1.2.2"]),
            ("^1.2", &["1.2.0", "1.9.9"], &["2.0.0", "1.1.0"]),
            ("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0"]),
            ("^0.0.3", &["0.0.3"], &["0.0.4"]),
            ("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]),
            ("^0", &["0.0.1", "0.9.0"], &["1.0.0"]),
            (">=1.2 <2.0", &["1.2.0", "1.9.9"], &["2.0.0", "1.1.9"]),
            (">= 1.2, < 2.0", &["1.5.0"], &["2.0.0"]),
            (">1.2.3", &["1.2.4"], &["1.2.3"]),
            (">1.2", &["1.3.0"], &["1.2.9"]),
            (">1", &["2.0.0"], &["1.9.9"]),
            ("<=1.2", &["1.2.9", "0.1.0"], &["1.3.0"]),
            ("<1.2", &["1.1.9"], &["1.2.0"]),
            ("!=1.2.3", &["1.2.4"], &["1.2.3"]),
            ("!=1.2.x", &["1.3.0"], &["1.2.5"]),
            ("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6", "1.1.0"]),
            ("1.x || >=3.0.0 <3.2", &["1.5.0", "3.1.0"], &["2.0.0", "3.2.0"]),
            (">=1.0.0-0", &["1.0.0-rc.1", "2.0.0"], &["0.9.0"]),
            (">=1.0.0-rc.1 <2", &["1.0.0-rc.2", "1.5.0-beta"], &["1.0.0-alpha"]),
        ];
        for (c, yes, no) in cases {
            for v in *yes {
                assert!(ok(c, v), "`{c}` should match {v}");
            }
            for v in *no {
                assert!(!ok(c, v), "`{c}` should not match {v}");
            }
        }
    }

    #[test]
    fn best_picks_the_highest_match_and_skips_prereleases() {
        let versions = ["1.0.0", "1.2.0", "1.2.5", "1.3.0-rc.1", "1.3.0", "2.0.0", "not-a-version", "v2.1"];
        let pick =
            |c: &str| Constraint::parse(c).unwrap().best(versions.iter().map(|v| (*v, *v))).map(|(_, s)| s.to_string());
        assert_eq!(pick("*").as_deref(), Some("v2.1"));
        assert_eq!(pick("~1.2").as_deref(), Some("1.2.5"));
        assert_eq!(pick("^1.0").as_deref(), Some("1.3.0"));
        assert_eq!(pick(">=1.0 <1.3").as_deref(), Some("1.2.5"));
        assert_eq!(pick("1.3.0-rc.1").as_deref(), Some("1.3.0-rc.1"));
        assert_eq!(pick("3.x"), None);
    }

    #[test]
    fn bad_constraints_say_why() {
        assert!(Constraint::parse(">=").unwrap_err().contains("no version"));
        assert!(Constraint::parse("1.2.3.4").is_err());
        assert!(Constraint::parse("latest").is_err());
        assert!(Constraint::parse("1.2 -").is_err());
        assert_eq!(parse_version("1.2").unwrap(), Version::new(1, 2, 0));
        assert_eq!(parse_version("v3").unwrap(), Version::new(3, 0, 0));
        assert!(parse_version("abc").is_none());
    }
}
