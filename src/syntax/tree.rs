//! The YAML syntax tree: an arena of nodes built from tree-sitter's CST.
//!
//! Ranges are byte offsets relative to the document's own text, so a parsed
//! document can be reused unchanged when only its position in the file moves.
//! The arena (not boxed children) keeps drops and walks free of recursion on
//! hostile nesting; building stops at [`MAX_DEPTH`] with an error.

use super::scalar::{self, ScalarStyle, ScalarType};
use crate::text::TextRange;

pub type NodeId = u32;

/// Nesting beyond this is not built (and reported once).
pub const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// The node's own text, without anchor and tag.
    pub range: TextRange,
    /// Anchor and tag, rare in Flux manifests: boxed, so a node costs 64
    /// bytes instead of 112 (a 1,000-file workspace holds ~40,000 nodes).
    props: Option<Box<Props>>,
    pub parent: Option<NodeId>,
}

// every document of the workspace is made of these: keep them small
const _: () = assert!(std::mem::size_of::<Node>() <= 64);

#[derive(Clone, Debug, Default)]
struct Props {
    anchor: Option<(Box<str>, TextRange)>,
    tag: Option<Box<str>>,
}

impl Node {
    /// The anchor's name and range (`&name`).
    pub fn anchor(&self) -> Option<&(Box<str>, TextRange)> {
        self.props.as_ref()?.anchor.as_ref()
    }
    /// The tag (`!!str`, `!custom`).
    pub fn tag(&self) -> Option<&str> {
        self.props.as_ref()?.tag.as_deref()
    }
    fn set_props(&mut self, anchor: Option<(Box<str>, TextRange)>, tag: Option<Box<str>>) {
        self.props = (anchor.is_some() || tag.is_some()).then(|| Box::new(Props { anchor, tag }));
    }
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Map {
        entries: Vec<Entry>,
        flow: bool,
    },
    Seq {
        items: Vec<NodeId>,
        flow: bool,
    },
    /// The decoded value: inline up to 23 bytes (most keys and values), so
    /// a scalar needs no allocation of its own.
    Scalar {
        value: smol_str::SmolStr,
        style: ScalarStyle,
    },
    Alias {
        name: Box<str>,
    },
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub key: NodeId,
    pub value: Option<NodeId>,
    /// From the key's start to the value's end (or the colon).
    pub range: TextRange,
    /// The `:` indicator, when present.
    pub colon: Option<TextRange>,
}

#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub root: Option<NodeId>,
}

impl Tree {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The text of a scalar (decoded), or None for other nodes.
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.node(id).kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The resolved type of a scalar node.
    pub fn scalar_type(&self, id: NodeId) -> Option<ScalarType> {
        let n = self.node(id);
        match &n.kind {
            NodeKind::Scalar { value, style } => Some(match (style, n.tag()) {
                (_, Some("!!str")) => ScalarType::Str,
                (_, Some("!!int")) => ScalarType::Int,
                (_, Some("!!float")) => ScalarType::Float,
                (_, Some("!!bool")) => ScalarType::Bool,
                (_, Some("!!null")) => ScalarType::Null,
                (ScalarStyle::Plain, _) => scalar::resolve_plain(value),
                _ => ScalarType::Str,
            }),
            _ => None,
        }
    }

    pub fn entries(&self, id: NodeId) -> &[Entry] {
        match &self.node(id).kind {
            NodeKind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match &self.node(id).kind {
            NodeKind::Seq { items, .. } => items,
            _ => &[],
        }
    }

    /// The entry of a mapping whose key is `key` (the first, if duplicated).
    pub fn get_entry(&self, map: NodeId, key: &str) -> Option<&Entry> {
        self.entries(map).iter().find(|e| self.scalar(e.key) == Some(key))
    }

    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.get_entry(map, key).and_then(|e| e.value)
    }

    /// Follows a path of keys from the root.
    pub fn lookup(&self, path: &[&str]) -> Option<NodeId> {
        let mut cur = self.root?;
        for k in path {
            cur = self.get(cur, k)?;
        }
        Some(cur)
    }

    pub fn lookup_str(&self, path: &[&str]) -> Option<(&str, TextRange)> {
        let id = self.lookup(path)?;
        Some((self.scalar(id)?, self.node(id).range))
    }

    pub fn is_null(&self, id: NodeId) -> bool {
        self.scalar_type(id) == Some(ScalarType::Null)
    }

    /// Deepest node whose range contains `offset` (inclusive of the end), with
    /// the chain of ancestors from the root.
    pub fn chain_at(&self, offset: usize) -> Vec<NodeId> {
        let mut chain = Vec::new();
        let Some(mut cur) = self.root else { return chain };
        if !self.span_of(cur).contains_inclusive(offset) {
            return chain;
        }
        chain.push(cur);
        'outer: loop {
            match &self.node(cur).kind {
                NodeKind::Map { entries, .. } => {
                    for e in entries {
                        if self.span_of(e.key).contains_inclusive(offset) {
                            chain.push(e.key);
                            return chain;
                        }
                        if let Some(v) = e.value
                            && self.span_of(v).contains_inclusive(offset)
                        {
                            cur = v;
                            chain.push(v);
                            continue 'outer;
                        }
                    }
                    return chain;
                }
                NodeKind::Seq { items, .. } => {
                    for &i in items {
                        if self.span_of(i).contains_inclusive(offset) {
                            cur = i;
                            chain.push(i);
                            continue 'outer;
                        }
                    }
                    return chain;
                }
                _ => return chain,
            }
        }
    }

    /// Range including anchor and tag.
    pub fn span_of(&self, id: NodeId) -> TextRange {
        let n = self.node(id);
        match n.anchor() {
            Some((_, r)) => r.cover(n.range),
            None => n.range,
        }
    }

    /// The path of a node as segments (keys and indexes) from the root.
    pub fn path_of(&self, id: NodeId) -> Vec<PathSeg> {
        let mut segs = Vec::new();
        let mut cur = id;
        while let Some(p) = self.node(cur).parent {
            match &self.node(p).kind {
                NodeKind::Map { entries, .. } => {
                    if let Some(e) = entries.iter().find(|e| e.value == Some(cur) || e.key == cur) {
                        segs.push(PathSeg::Key(self.scalar(e.key).unwrap_or("").to_string()));
                    }
                }
                NodeKind::Seq { items, .. } => {
                    if let Some(i) = items.iter().position(|&x| x == cur) {
                        segs.push(PathSeg::Index(i));
                    }
                }
                _ => {}
            }
            cur = p;
        }
        segs.reverse();
        segs
    }

    /// True when `id` is the key of an entry of its parent mapping.
    pub fn is_key(&self, id: NodeId) -> bool {
        self.node(id).parent.is_some_and(|p| self.entries(p).iter().any(|e| e.key == id))
    }

    /// The anchored node an alias points to (the last anchor of that name
    /// defined before the alias, as YAML says; duplicate names are legal).
    pub fn resolve_alias(&self, id: NodeId) -> Option<NodeId> {
        let NodeKind::Alias { name } = &self.node(id).kind else { return Some(id) };
        let at = self.node(id).range.start;
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.anchor().is_some_and(|(a, r)| **a == **name && r.start < at))
            .max_by_key(|(_, n)| n.range.start)
            .map(|(i, _)| i as NodeId)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// Renders `spec.values.hosts[0]`.
pub fn path_to_string(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathSeg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// Builds the tree from a tree-sitter CST of one document.
pub(crate) struct Builder<'a> {
    src: &'a str,
    tree: Tree,
    pub too_deep: Option<TextRange>,
}

impl<'a> Builder<'a> {
    pub fn new(src: &'a str) -> Self {
        Self { src, tree: Tree::default(), too_deep: None }
    }

    pub fn finish(self) -> Tree {
        let mut tree = self.tree;
        // trees live as long as their file: no growth slack (measured: the
        // arena's spare capacity was a fifth of a workspace's heap)
        tree.nodes.shrink_to_fit();
        tree
    }

    pub fn build_document(&mut self, doc: tree_sitter::Node) {
        let mut c = doc.walk();
        let mut root = None;
        let mut tag = None;
        for ch in doc.named_children(&mut c) {
            match ch.kind() {
                "block_node" | "flow_node" if root.is_none() => root = self.build(ch, None, 0),
                "tag" => tag = Some(self.text(ch).into()),
                _ => {}
            }
        }
        if let (Some(r), Some(t)) = (root, tag) {
            let n = &mut self.tree.nodes[r as usize];
            if n.tag().is_none() {
                let anchor = n.anchor().cloned();
                n.set_props(anchor, Some(t));
            }
        }
        self.tree.root = root;
    }

    fn text(&self, n: tree_sitter::Node) -> &'a str {
        &self.src[n.byte_range()]
    }

    fn range(n: tree_sitter::Node) -> TextRange {
        TextRange::new(n.start_byte(), n.end_byte())
    }

    fn push(&mut self, kind: NodeKind, range: TextRange, parent: Option<NodeId>) -> NodeId {
        let id = self.tree.nodes.len() as NodeId;
        self.tree.nodes.push(Node { kind, range, props: None, parent });
        id
    }

    /// Builds a node from a `block_node`/`flow_node` wrapper or a bare content node.
    fn build(&mut self, n: tree_sitter::Node, parent: Option<NodeId>, depth: usize) -> Option<NodeId> {
        if depth > MAX_DEPTH {
            if self.too_deep.is_none() {
                self.too_deep = Some(Self::range(n));
            }
            return None;
        }
        let mut anchor = None;
        let mut tag = None;
        let mut content = None;
        if matches!(n.kind(), "block_node" | "flow_node") {
            let mut c = n.walk();
            for ch in n.named_children(&mut c) {
                match ch.kind() {
                    "anchor" => {
                        let name = ch.named_child(0).map(|a| self.text(a)).unwrap_or("");
                        anchor = Some((Box::<str>::from(name), Self::range(ch)));
                    }
                    "tag" => tag = Some(Box::<str>::from(self.text(ch))),
                    "comment" => {}
                    _ if content.is_none() => content = Some(ch),
                    _ => {}
                }
            }
        } else {
            content = Some(n);
        }
        let id = match content {
            Some(content) => self.build_content(content, parent, depth)?,
            None => {
                // `&a` or `!tag` with no content: an empty scalar after them
                let at = n.end_byte();
                self.push(
                    NodeKind::Scalar { value: "".into(), style: ScalarStyle::Plain },
                    TextRange::empty(at),
                    parent,
                )
            }
        };
        self.tree.nodes[id as usize].set_props(anchor, tag);
        Some(id)
    }

    fn build_content(&mut self, n: tree_sitter::Node, parent: Option<NodeId>, depth: usize) -> Option<NodeId> {
        let range = Self::range(n);
        let scalar = |style| NodeKind::Scalar { value: scalar::decode_small(self.text(n), style), style };
        let id = match n.kind() {
            "plain_scalar" => self.push(scalar(ScalarStyle::Plain), range, parent),
            "single_quote_scalar" => self.push(scalar(ScalarStyle::SingleQuoted), range, parent),
            "double_quote_scalar" => self.push(scalar(ScalarStyle::DoubleQuoted), range, parent),
            "block_scalar" => {
                let style = if self.text(n).starts_with('>') { ScalarStyle::Folded } else { ScalarStyle::Literal };
                self.push(scalar(style), range, parent)
            }
            "alias" => {
                let name = n.named_child(0).map(|a| self.text(a)).unwrap_or("");
                self.push(NodeKind::Alias { name: name.into() }, range, parent)
            }
            "block_mapping" | "flow_mapping" => {
                let flow = n.kind() == "flow_mapping";
                let id = self.push(NodeKind::Map { entries: Vec::new(), flow }, range, parent);
                let mut entries = Vec::new();
                let mut c = n.walk();
                for ch in n.named_children(&mut c) {
                    match ch.kind() {
                        "block_mapping_pair" | "flow_pair" => {
                            if let Some(e) = self.build_pair(ch, id, depth) {
                                entries.push(e);
                            }
                        }
                        // `{a, b}`: keys with null values
                        "flow_node" => {
                            if let Some(k) = self.build(ch, Some(id), depth + 1) {
                                let r = self.tree.nodes[k as usize].range;
                                entries.push(Entry { key: k, value: None, range: r, colon: None });
                            }
                        }
                        _ => {}
                    }
                }
                entries.shrink_to_fit();
                if let NodeKind::Map { entries: e, .. } = &mut self.tree.nodes[id as usize].kind {
                    *e = entries;
                }
                id
            }
            "block_sequence" | "flow_sequence" => {
                let flow = n.kind() == "flow_sequence";
                let id = self.push(NodeKind::Seq { items: Vec::new(), flow }, range, parent);
                let mut items = Vec::new();
                let mut c = n.walk();
                for ch in n.named_children(&mut c) {
                    match ch.kind() {
                        "block_sequence_item" => {
                            let inner = {
                                let mut c2 = ch.walk();
                                ch.named_children(&mut c2).find(|x| x.kind() != "comment")
                            };
                            let item = match inner {
                                Some(inner) => self.build(inner, Some(id), depth + 1),
                                None => {
                                    // "- " with nothing after it: an empty item
                                    let at = ch.end_byte();
                                    Some(self.push(
                                        NodeKind::Scalar { value: "".into(), style: ScalarStyle::Plain },
                                        TextRange::empty(at),
                                        Some(id),
                                    ))
                                }
                            };
                            items.extend(item);
                        }
                        "flow_node" => items.extend(self.build(ch, Some(id), depth + 1)),
                        "flow_pair" => {
                            // `[a: b]` is a one-entry mapping
                            let m =
                                self.push(NodeKind::Map { entries: Vec::new(), flow: true }, Self::range(ch), Some(id));
                            if let Some(e) = self.build_pair(ch, m, depth + 1)
                                && let NodeKind::Map { entries, .. } = &mut self.tree.nodes[m as usize].kind
                            {
                                entries.push(e);
                            }
                            items.push(m);
                        }
                        _ => {}
                    }
                }
                items.shrink_to_fit();
                if let NodeKind::Seq { items: i, .. } = &mut self.tree.nodes[id as usize].kind {
                    *i = items;
                }
                id
            }
            "block_node" | "flow_node" => return self.build(n, parent, depth + 1),
            _ => return None,
        };
        Some(id)
    }

    fn build_pair(&mut self, pair: tree_sitter::Node, map: NodeId, depth: usize) -> Option<Entry> {
        let key_n = pair.child_by_field_name("key");
        let val_n = pair.child_by_field_name("value");
        let mut colon = None;
        let mut c = pair.walk();
        for ch in pair.children(&mut c) {
            if !ch.is_named() && ch.kind() == ":" {
                colon = Some(Self::range(ch));
                break;
            }
        }
        let key = match key_n {
            Some(k) => self.build(k, Some(map), depth + 1)?,
            None => {
                // `: value` (empty key)
                let at = pair.start_byte();
                self.push(
                    NodeKind::Scalar { value: "".into(), style: ScalarStyle::Plain },
                    TextRange::empty(at),
                    Some(map),
                )
            }
        };
        let value = match val_n {
            Some(v) => self.build(v, Some(map), depth + 1),
            None => None,
        };
        Some(Entry { key, value, range: Self::range(pair), colon })
    }
}
