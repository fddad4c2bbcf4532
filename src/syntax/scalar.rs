//! Scalar decoding and YAML 1.2 core-schema typing.

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// The type a scalar resolves to (YAML 1.2 core schema; quoted and block
/// scalars are always strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

pub fn resolve_plain(s: &str) -> ScalarType {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarType::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarType::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => return ScalarType::Float,
        _ => {}
    }
    let b = s.as_bytes();
    let digits = |t: &[u8], f: fn(&u8) -> bool| !t.is_empty() && t.iter().all(f);
    let unsigned = match b[0] {
        b'+' | b'-' => &b[1..],
        _ => b,
    };
    if digits(unsigned, u8::is_ascii_digit) {
        return ScalarType::Int;
    }
    if let Some(rest) = s.strip_prefix("0o")
        && digits(rest.as_bytes(), |c| (b'0'..=b'7').contains(c))
    {
        return ScalarType::Int;
    }
    if let Some(rest) = s.strip_prefix("0x")
        && digits(rest.as_bytes(), u8::is_ascii_hexdigit)
    {
        return ScalarType::Int;
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let t = unsigned;
    let mut i = 0;
    let int_digits = t.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac = 0;
    if t.get(i) == Some(&b'.') {
        i += 1;
        frac = t[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    } else if int_digits == 0 {
        return ScalarType::Str;
    }
    if int_digits == 0 && frac == 0 {
        return ScalarType::Str;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = t[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return ScalarType::Str;
        }
        i += e;
    }
    if i == t.len() { ScalarType::Float } else { ScalarType::Str }
}

/// Decodes a flow scalar's raw source text into its value.
pub fn decode(raw: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::Plain => fold_lines(raw.trim()),
        ScalarStyle::SingleQuoted => {
            let inner = raw.strip_prefix('\'').unwrap_or(raw);
            let inner = inner.strip_suffix('\'').unwrap_or(inner);
            fold_lines(inner).replace("''", "'")
        }
        ScalarStyle::DoubleQuoted => {
            let inner = raw.strip_prefix('"').unwrap_or(raw);
            let inner = inner.strip_suffix('"').unwrap_or(inner);
            unescape_double(&fold_lines(inner))
        }
        ScalarStyle::Literal | ScalarStyle::Folded => decode_block(raw, style),
    }
}

/// [`decode`] into a [`smol_str::SmolStr`]: a one-line scalar with nothing
/// to unescape is taken from the text as it is, with no intermediate string.
pub fn decode_small(raw: &str, style: ScalarStyle) -> smol_str::SmolStr {
    let one_line = !raw.contains(['\n', '\r']);
    let inner = |q: char| {
        let inner = raw.strip_prefix(q).unwrap_or(raw);
        inner.strip_suffix(q).unwrap_or(inner)
    };
    match style {
        ScalarStyle::Plain if one_line => smol_str::SmolStr::new(raw.trim()),
        ScalarStyle::SingleQuoted if one_line && !inner('\'').contains('\'') => smol_str::SmolStr::new(inner('\'')),
        ScalarStyle::DoubleQuoted if one_line && !inner('"').contains('\\') => smol_str::SmolStr::new(inner('"')),
        _ => decode(raw, style).into(),
    }
}

/// Multi-line flow scalars: line breaks become spaces, empty lines newlines.
fn fold_lines(s: &str) -> String {
    if !s.contains(['\n', '\r']) {
        return s.to_string();
    }
    let mut out = String::new();
    let mut pending_empty = 0;
    for (i, line) in s.lines().enumerate() {
        let line = if i == 0 { line.trim_end() } else { line.trim() };
        if i > 0 && line.is_empty() {
            pending_empty += 1;
            continue;
        }
        if i > 0 {
            if pending_empty > 0 {
                out.extend(std::iter::repeat_n('\n', pending_empty));
            } else {
                out.push(' ');
            }
        }
        pending_empty = 0;
        out.push_str(line);
    }
    out
}

fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some(' ') => out.push(' '),
            Some('x') => push_hex(&mut out, &mut it, 2),
            Some('u') => push_hex(&mut out, &mut it, 4),
            Some('U') => push_hex(&mut out, &mut it, 8),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn push_hex(out: &mut String, it: &mut std::str::Chars, n: usize) {
    let hex: String = it.by_ref().take(n).collect();
    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
        out.push(c);
    }
}

/// Block scalars (`|`, `>`): strips the header and the common indentation,
/// applies chomping. Good enough for values users write in manifests.
fn decode_block(raw: &str, style: ScalarStyle) -> String {
    let mut lines = raw.lines();
    let header = lines.next().unwrap_or("");
    let keep = header.contains('+');
    let strip = header.contains('-');
    let body: Vec<&str> = lines.collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let stripped: Vec<&str> = body.iter().map(|l| if l.len() >= indent { &l[indent..] } else { "" }).collect();
    let mut out = if style == ScalarStyle::Literal {
        stripped.join("\n")
    } else {
        let mut s = String::new();
        for (i, l) in stripped.iter().enumerate() {
            if i > 0 {
                let prev_empty = stripped[i - 1].is_empty();
                s.push(if l.is_empty() || prev_empty || l.starts_with(' ') { '\n' } else { ' ' });
            }
            s.push_str(l);
        }
        s
    };
    let trimmed_len = out.trim_end_matches('\n').len();
    if strip {
        out.truncate(trimmed_len);
    } else if !keep {
        out.truncate(trimmed_len);
        if !out.is_empty() {
            out.push('\n');
        }
    } else {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_small_unescapes_what_needs_it() {
        for (raw, style) in [
            (r#""a\nb""#, ScalarStyle::DoubleQuoted),
            (r#""plain""#, ScalarStyle::DoubleQuoted),
            ("'it''s'", ScalarStyle::SingleQuoted),
            ("'plain'", ScalarStyle::SingleQuoted),
            ("  spaced  ", ScalarStyle::Plain),
            ("two\n  lines", ScalarStyle::Plain),
        ] {
            assert_eq!(decode_small(raw, style).as_str(), decode(raw, style).as_str(), "{raw}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The short path decodes exactly as the general one, for every
        /// style, with quotes, escapes and line breaks about.
        #[test]
        fn decode_small_equals_decode(raw in "[ a-z'\"\\\\\n\r#:-]{0,30}", style in 0usize..5) {
            let style = [ScalarStyle::Plain, ScalarStyle::SingleQuoted, ScalarStyle::DoubleQuoted, ScalarStyle::Literal, ScalarStyle::Folded][style];
            let (small, general) = (decode_small(&raw, style), decode(&raw, style));
            proptest::prop_assert_eq!(small.as_str(), general.as_str());
        }
    }

    #[test]
    fn core_schema_types() {
        use ScalarType::*;
        for (s, t) in [
            ("", Null),
            ("~", Null),
            ("true", Bool),
            ("False", Bool),
            ("yes", Str),
            ("12", Int),
            ("-3", Int),
            ("0x1F", Int),
            ("0o17", Int),
            ("1.5", Float),
            ("1e3", Float),
            (".5", Float),
            ("1.", Float),
            (".inf", Float),
            ("1h", Str),
            ("1.2.3", Str),
            (".", Str),
            ("v1", Str),
            ("1e", Str),
        ] {
            assert_eq!(resolve_plain(s), t, "{s}");
        }
    }

    #[test]
    fn decodes_quoted_and_block() {
        assert_eq!(decode("'it''s'", ScalarStyle::SingleQuoted), "it's");
        assert_eq!(decode(r#""a\tb\u00e9""#, ScalarStyle::DoubleQuoted), "a\tbé");
        assert_eq!(decode("a\n  b\n\n  c", ScalarStyle::Plain), "a b\nc");
        assert_eq!(decode("|\n  x\n  y\n", ScalarStyle::Literal), "x\ny\n");
        assert_eq!(decode("|-\n  x\n", ScalarStyle::Literal), "x");
        assert_eq!(decode(">\n  x\n  y\n", ScalarStyle::Folded), "x y\n");
    }
}
