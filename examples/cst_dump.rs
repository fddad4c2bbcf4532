fn dump(n: tree_sitter::Node, src: &str, depth: usize) {
    let t = &src[n.byte_range()];
    let t = if t.len() > 30 { &t[..30] } else { t };
    println!("{}{}{} {:?} {:?}", "  ".repeat(depth), if n.is_named() {""} else {"'"}, n.kind(), t, n.start_position());
    let mut c = n.walk();
    for (i, ch) in n.children(&mut c).enumerate() {
        if let Some(f) = n.field_name_for_child(i as u32) { print!("{}[{}]", "  ".repeat(depth+1), f); println!(); }
        dump(ch, src, depth + 1);
    }
}
fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let mut p = tree_sitter::Parser::new();
    p.set_language(&tree_sitter_yaml::LANGUAGE.into()).unwrap();
    let t = p.parse(&src, None).unwrap();
    dump(t.root_node(), &src, 0);
}
