fn main() {
    for src in ["a: 1\n  pru\nb: 2\n", "a: [1, 2\nb: 3\n", "a:\n\t- x\n", "a: 'x\n", "a: 1\na: 2\n", "a: &x 1\nb: &x 2\nc: *x\n", "key: {{ .Values }}\n", "a: b: c\n","- a\nb: 1\n"] {
        let r: Result<serde::de::IgnoredAny, _> = serde_saphyr::from_str(src);
        match r {
            Ok(_) => println!("OK {:?}", src),
            Err(e) => { let l = e.location(); println!("ERR {:?}\n  msg={}\n  loc={:?}", src, e.without_snippet(), l.map(|l| (l.line(), l.column(), l.span().byte_offset()))) }
        }
    }
}
