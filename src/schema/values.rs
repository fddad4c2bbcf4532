//! Checks of value formats that the Flux controllers (not the API server)
//! reject: Go durations, Masterminds semver constraints, Go regexes, DNS-1123
//! names, URL schemes; plus detection of templated values.

/// True when a value is filled in later and cannot be checked now: Flux
/// post-build variables (`${VAR}`, `${VAR:=default}`, `$${VAR}`),
/// ResourceSet inputs (`<< inputs.x >>`) and Go/Helm templates (`{{ }}`).
pub fn is_templated(s: &str) -> bool {
    s.contains("${") || (s.contains("<<") && s.contains(">>")) || s.contains("{{")
}

/// A Go duration as `time.ParseDuration` accepts it (units ns, us, µs, ms,
/// s, m, h; an optional sign; `0`).
pub fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut i = int;
        let mut frac = 0;
        if rest.as_bytes().get(i) == Some(&b'.') {
            i += 1;
            frac = rest[i..].bytes().take_while(u8::is_ascii_digit).count();
            i += frac;
        }
        if int == 0 && frac == 0 {
            return false;
        }
        rest = &rest[i..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"].iter().find(|u| rest.starts_with(**u));
        match unit {
            // "m" must not swallow the "m" of "ms"
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// A duration as the Flux CRD pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
/// accepts it (the API server enforces this one).
pub fn is_flux_duration(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int == 0 {
            return false;
        }
        let mut i = int;
        if rest.as_bytes().get(i) == Some(&b'.') {
            let frac = rest[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            if frac == 0 {
                return false;
            }
            i += 1 + frac;
        }
        rest = &rest[i..];
        let unit = ["ms", "s", "m", "h"].iter().find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Checks a semver constraint as Masterminds/semver v3 (used by Flux for
/// chart versions, `ref.semver` and ImagePolicy ranges) parses it. Returns
/// the reason it is invalid.
pub fn check_semver_range(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty constraint".into());
    }
    for alt in s.split("||") {
        let alt = alt.trim();
        if alt.is_empty() {
            return Err("empty alternative around `||`".into());
        }
        // hyphen ranges `1.2 - 1.4`; an operator may stand apart from its
        // version (`>= 1.0`)
        let raw: Vec<&str> = alt.split([' ', ',']).filter(|t| !t.is_empty()).collect();
        let mut joined: Vec<String> = Vec::new();
        let mut pending: Option<&str> = None;
        for t in raw {
            if let Some(op) = pending.take() {
                joined.push(format!("{op}{t}"));
            } else if t != "-" && t.bytes().all(|b| b"<>=!~^".contains(&b)) {
                pending = Some(t);
            } else {
                joined.push(t.to_string());
            }
        }
        if let Some(op) = pending {
            return Err(format!("operator `{op}` has no version"));
        }
        let mut toks: Vec<&str> = joined.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < toks.len() {
            if toks[i] == "-" {
                if i == 0 || i + 1 >= toks.len() {
                    return Err("a hyphen range needs a version on both sides".into());
                }
                check_version(toks[i - 1], true)?;
                check_version(toks[i + 1], true)?;
                toks.drain(i - 1..=i + 1);
                i = i.saturating_sub(1);
                continue;
            }
            i += 1;
        }
        for t in toks {
            let op_len = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"]
                .iter()
                .find(|op| t.starts_with(**op))
                .map(|op| op.len())
                .unwrap_or(0);
            let v = &t[op_len..];
            if v.is_empty() {
                return Err(format!("operator `{t}` has no version"));
            }
            check_version(v, true)?;
        }
    }
    Ok(())
}

/// A (possibly partial, possibly wildcarded) semantic version.
fn check_version(v: &str, wildcards: bool) -> Result<(), String> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, build) = match v.split_once('+') {
        Some((c, b)) => (c, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core, None),
    };
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if pre.is_some_and(|p| !ident_ok(p)) || build.is_some_and(|b| !ident_ok(b)) {
        return Err(format!("`{v}` has an invalid pre-release or build part"));
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!("`{v}` is not a version"));
    }
    for p in parts {
        let wild = wildcards && matches!(p, "x" | "X" | "*");
        if !wild && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!("`{v}` is not a version"));
        }
    }
    Ok(())
}

/// Checks a regular expression (Go RE2 syntax, which the Rust regex crate
/// follows closely). Returns the parser's message.
pub fn check_regex(s: &str) -> Result<(), String> {
    match regex::Regex::new(s) {
        Ok(_) => Ok(()),
        Err(regex::Error::CompiledTooBig(_)) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            let last = msg.lines().rev().find(|l| l.starts_with("error:")).unwrap_or("invalid regular expression");
            Err(last.trim_start_matches("error:").trim().to_string())
        }
    }
}

/// A DNS-1123 subdomain (most object names): lowercase alphanumerics, `-`
/// and `.`, starting and ending alphanumeric, at most 253 characters.
pub fn check_dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("a name must not be empty".into());
    }
    if s.len() > 253 {
        return Err(format!("a name must be at most 253 characters (this one has {})", s.len()));
    }
    for label in s.split('.') {
        check_label_chars(label)?;
    }
    Ok(())
}

/// A DNS-1123 label (namespace names): like a subdomain without dots, at
/// most 63 characters.
pub fn check_dns1123_label(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("must be at most 63 characters (this one has {})", s.len()));
    }
    check_label_chars(s)
}

fn check_label_chars(l: &str) -> Result<(), String> {
    let b = l.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !ok(&b[0]) || !ok(&b[b.len() - 1]) || !b.iter().all(|c| ok(c) || *c == b'-') {
        return Err(
            "must consist of lowercase letters, digits and `-`, and start and end with a letter or digit".into()
        );
    }
    Ok(())
}

/// The scheme of a URL (`oci` in `oci://x`), if it has one.
pub fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.').then_some(scheme)
}

/// Optimal-string-alignment distance (edits, with transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `word`, if close enough to be a likely typo
/// (case-insensitive equality always counts).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lw = word.to_ascii_lowercase();
    let len = word.chars().count();
    let limit = match len {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        // the distance is at least the difference in length
        if c.chars().count().abs_diff(len) > limit {
            continue;
        }
        let d = if c.to_ascii_lowercase() == lw { 0 } else { edit_distance(&lw, &c.to_ascii_lowercase()) };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templated_values() {
        for s in ["${CLUSTER}", "x-${VAR:=default}", "$${ESCAPED}", "<< inputs.tag >>", "{{ .Values.x }}"] {
            assert!(is_templated(s), "{s}");
        }
        assert!(!is_templated("5m"));
    }

    #[test]
    fn durations() {
        for s in ["5m", "1h30m", "10s", "1.5h", "500ms", "120m0s"] {
            assert!(is_flux_duration(s), "{s}");
            assert!(is_go_duration(s), "{s}");
        }
        for s in ["5", "5 m", "1d", "m", "1.h", "", "-5m", "1w"] {
            assert!(!is_flux_duration(s), "{s}");
        }
        assert!(is_go_duration("0") && is_go_duration("-5m") && is_go_duration("3us"));
        assert!(!is_go_duration("1d"));
    }

    #[test]
    fn semver_ranges() {
        for s in [
            "*",
            ">=1.0.0",
            ">=1.0.0 <2.0.0",
            ">=1.0.0, <2.0.0",
            "~1.2",
            "^1.2.3",
            "1.x",
            "1.2 - 1.4.5",
            "6.5.*",
            "v1.2.3",
            ">=1.0.0-0",
            "1.0.0 || >=2.0.0",
            "=1.2.3+build.1",
            ">= 1.8.0-rc.0",
        ] {
            assert!(check_semver_range(s).is_ok(), "{s}: {:?}", check_semver_range(s));
        }
        for s in [">=1.0.0 <", "latest", "1.2.3.4", ">= one", "||", "1.0.0 -", "^"] {
            assert!(check_semver_range(s).is_err(), "{s}");
        }
    }

    #[test]
    fn regexes_and_names() {
        assert!(check_regex(r"^main-[a-f0-9]+-(?P<ts>[0-9]+)").is_ok());
        assert!(check_regex("^v(unclosed").is_err());
        assert!(check_dns1123_subdomain("podinfo.v1-2").is_ok());
        assert!(check_dns1123_subdomain("Podinfo").is_err());
        assert!(check_dns1123_subdomain("app_1").is_err());
        assert!(check_dns1123_label("flux.system").is_err());
        assert_eq!(url_scheme("oci://ghcr.io/x"), Some("oci"));
        assert_eq!(url_scheme("git@github.com:x/y"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("intervall", ["interval", "timeout"]), Some("interval"));
        assert_eq!(closest("sourceref", ["sourceRef", "suspend"]), Some("sourceRef"));
        assert_eq!(closest("prnue", ["prune", "path"]), Some("prune"));
        assert_eq!(closest("zzzzzz", ["prune", "path"]), None);
    }
}
