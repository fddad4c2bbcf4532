//! A small evaluator for the CEL subset the Flux CRDs' `x-kubernetes-validations`
//! rules use: `has()`, field selection, `==`/`!=`/`<`/`>`/`<=`/`>=`, `!`,
//! `&&`, `||`, `size()`, `startsWith`/`endsWith`/`contains`/`substring`/
//! `matches`, and the `all`/`exists`/`exists_one` macros.
//!
//! No mature Rust CEL crate covers Kubernetes' CEL library, and these rules
//! need little, so evaluation is three-valued: anything the evaluator does
//! not understand, templated values, missing fields without defaults and
//! transition rules (`oldSelf`) make the result unknown, which is never
//! reported. Only a definite `false` is a violation.

use std::borrow::Cow;

use crate::syntax::{NodeId, NodeKind, ScalarType, Tree};

use super::model::{Schema, Type};
use super::values::is_templated;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Bool(bool),
    Int(i64),
    Str(String),
    Ident(String),
    Select(Box<Expr>, String),
    Call { target: Option<Box<Expr>>, name: String, args: Vec<Expr> },
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Sym(&'static str),
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[st..i].to_string()));
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Int(s[st..i].parse().ok()?));
        } else if c == b'\'' || c == b'"' {
            i += 1;
            let mut v = String::new();
            loop {
                let ch = s[i..].chars().next()?;
                i += ch.len_utf8();
                if ch as u32 == c as u32 {
                    break;
                }
                if ch == '\\' {
                    let e = s[i..].chars().next()?;
                    i += e.len_utf8();
                    v.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                } else {
                    v.push(ch);
                }
            }
            out.push(Tok::Str(v));
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let sym = ["&&", "||", "==", "!=", "<=", ">="].into_iter().find(|x| *x == two);
            if let Some(sym) = sym {
                out.push(Tok::Sym(sym));
                i += 2;
            } else {
                let sym = ["(", ")", ".", ",", "!", "<", ">"].into_iter().find(|x| x.as_bytes()[0] == c)?;
                out.push(Tok::Sym(sym));
                i += 1;
            }
        }
    }
    Some(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self, depth: usize) -> Option<Expr> {
        let mut l = self.and(depth)?;
        while self.eat("||") {
            l = Expr::Bin(BinOp::Or, Box::new(l), Box::new(self.and(depth)?));
        }
        Some(l)
    }
    fn and(&mut self, depth: usize) -> Option<Expr> {
        let mut l = self.rel(depth)?;
        while self.eat("&&") {
            l = Expr::Bin(BinOp::And, Box::new(l), Box::new(self.rel(depth)?));
        }
        Some(l)
    }
    fn rel(&mut self, depth: usize) -> Option<Expr> {
        let l = self.unary(depth)?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => BinOp::Eq,
            Some(Tok::Sym("!=")) => BinOp::Ne,
            Some(Tok::Sym("<")) => BinOp::Lt,
            Some(Tok::Sym("<=")) => BinOp::Le,
            Some(Tok::Sym(">")) => BinOp::Gt,
            Some(Tok::Sym(">=")) => BinOp::Ge,
            _ => return Some(l),
        };
        self.pos += 1;
        Some(Expr::Bin(op, Box::new(l), Box::new(self.unary(depth)?)))
    }
    fn unary(&mut self, depth: usize) -> Option<Expr> {
        if depth > 64 {
            return None;
        }
        if self.eat("!") {
            return Some(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.postfix(depth)
    }
    fn args(&mut self, depth: usize) -> Option<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Some(args);
        }
        loop {
            args.push(self.or(depth + 1)?);
            if self.eat(")") {
                return Some(args);
            }
            if !self.eat(",") {
                return None;
            }
        }
    }
    fn postfix(&mut self, depth: usize) -> Option<Expr> {
        let mut e = match self.toks.get(self.pos).cloned()? {
            Tok::Int(i) => {
                self.pos += 1;
                Expr::Int(i)
            }
            Tok::Str(s) => {
                self.pos += 1;
                Expr::Str(s)
            }
            Tok::Ident(id) => {
                self.pos += 1;
                match id.as_str() {
                    "true" => Expr::Bool(true),
                    "false" => Expr::Bool(false),
                    _ if self.eat("(") => Expr::Call { target: None, name: id, args: self.args(depth)? },
                    _ => Expr::Ident(id),
                }
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.or(depth + 1)?;
                if !self.eat(")") {
                    return None;
                }
                e
            }
            Tok::Sym(_) => return None,
        };
        while self.eat(".") {
            let Some(Tok::Ident(name)) = self.toks.get(self.pos).cloned() else { return None };
            self.pos += 1;
            e = if self.eat("(") {
                Expr::Call { target: Some(Box::new(e)), name, args: self.args(depth)? }
            } else {
                Expr::Select(Box::new(e), name)
            };
        }
        Some(e)
    }
}

/// Parses a rule; None for syntax this evaluator does not know.
pub fn parse(rule: &str) -> Option<Expr> {
    let mut p = Parser { toks: lex(rule)?, pos: 0 };
    let e = p.or(0)?;
    (p.pos == p.toks.len()).then_some(e)
}

#[derive(Clone, Debug)]
enum V<'a> {
    Bool(bool),
    Int(i64),
    Str(Cow<'a, str>),
    /// A YAML mapping or sequence, with its schema when known.
    Node(NodeId, Option<&'a Schema>),
    Null,
}

/// Evaluation failed or depends on unknown data.
struct Unknown;

type R<'a> = Result<V<'a>, Unknown>;

struct Ctx<'a> {
    tree: &'a Tree,
    scope: Vec<(String, V<'a>)>,
}

/// Evaluates a rule with `self` = `node` (described by `schema`). Some(false)
/// means the rule is definitely violated.
pub fn eval(expr: &Expr, tree: &Tree, node: NodeId, schema: &Schema) -> Option<bool> {
    let mut cx = Ctx { tree, scope: Vec::new() };
    let me = cx.value_of(node, Some(schema)).ok()?;
    cx.scope.push(("self".into(), me));
    match cx.eval(expr, 0) {
        Ok(V::Bool(b)) => Some(b),
        _ => None,
    }
}

fn json_to_v<'a>(v: &serde_json::Value) -> Result<V<'a>, Unknown> {
    Ok(match v {
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Number(n) => V::Int(n.as_i64().ok_or(Unknown)?),
        serde_json::Value::String(s) => V::Str(Cow::Owned(s.clone())),
        _ => return Err(Unknown),
    })
}

impl<'a> Ctx<'a> {
    fn value_of(&self, id: NodeId, schema: Option<&'a Schema>) -> R<'a> {
        let t = self.tree;
        let id = t.resolve_alias(id).ok_or(Unknown)?;
        match &t.node(id).kind {
            NodeKind::Map { .. } | NodeKind::Seq { .. } => Ok(V::Node(id, schema)),
            NodeKind::Alias { .. } => Err(Unknown),
            NodeKind::Scalar { value, .. } => {
                if is_templated(value) {
                    return Err(Unknown);
                }
                let st = t.scalar_type(id);
                let want = schema.and_then(|s| s.ty);
                Ok(match (want, st) {
                    (_, Some(ScalarType::Null)) => V::Null,
                    (Some(Type::String), _) => V::Str(Cow::Borrowed(value)),
                    (_, Some(ScalarType::Bool)) => V::Bool(value.eq_ignore_ascii_case("true")),
                    (_, Some(ScalarType::Int)) => V::Int(value.parse().map_err(|_| Unknown)?),
                    (_, Some(ScalarType::Str)) => V::Str(Cow::Borrowed(value)),
                    _ => return Err(Unknown),
                })
            }
        }
    }

    /// `x.f`: the field's value, its default, or Unknown.
    fn select(&self, base: &V<'a>, field: &str) -> R<'a> {
        let V::Node(id, schema) = base else { return Err(Unknown) };
        let sub = schema.and_then(|s| s.child(field));
        match self.tree.get_entry(*id, field) {
            Some(e) => match e.value {
                Some(v) => self.value_of(v, sub),
                None => Ok(V::Null),
            },
            None => {
                if self.has_merge_key(*id) {
                    return Err(Unknown);
                }
                match sub.and_then(|s| s.default.as_ref()) {
                    Some(d) => json_to_v(d),
                    None => Err(Unknown),
                }
            }
        }
    }

    fn has_merge_key(&self, id: NodeId) -> bool {
        self.tree.get_entry(id, "<<").is_some()
    }

    fn has(&mut self, e: &Expr, depth: usize) -> R<'a> {
        let Expr::Select(base, field) = e else { return Err(Unknown) };
        let b = self.eval(base, depth + 1)?;
        let V::Node(id, _) = b else { return Err(Unknown) };
        if !matches!(self.tree.node(id).kind, NodeKind::Map { .. }) {
            return Err(Unknown);
        }
        match self.tree.get_entry(id, field) {
            // `field:` with a null value is dropped by the API server
            Some(en) => Ok(V::Bool(en.value.is_some_and(|v| !self.tree.is_null(v)))),
            None if self.has_merge_key(id) => Err(Unknown),
            None => Ok(V::Bool(false)),
        }
    }

    fn items(&self, v: &V<'a>) -> Result<Vec<V<'a>>, Unknown> {
        let V::Node(id, schema) = v else { return Err(Unknown) };
        let item_schema = schema.and_then(|s| s.items.as_deref());
        match &self.tree.node(*id).kind {
            NodeKind::Seq { items, .. } => items.iter().map(|&i| self.value_of(i, item_schema)).collect(),
            _ => Err(Unknown),
        }
    }

    fn eval(&mut self, e: &Expr, depth: usize) -> R<'a> {
        if depth > 128 {
            return Err(Unknown);
        }
        match e {
            Expr::Bool(b) => Ok(V::Bool(*b)),
            Expr::Int(i) => Ok(V::Int(*i)),
            Expr::Str(s) => Ok(V::Str(Cow::Owned(s.clone()))),
            Expr::Ident(id) => self.scope.iter().rev().find(|(n, _)| n == id).map(|(_, v)| v.clone()).ok_or(Unknown),
            Expr::Select(base, f) => {
                let b = self.eval(base, depth + 1)?;
                self.select(&b, f)
            }
            Expr::Not(x) => match self.eval(x, depth + 1)? {
                V::Bool(b) => Ok(V::Bool(!b)),
                _ => Err(Unknown),
            },
            Expr::Bin(BinOp::Or, l, r) => {
                let l = self.eval(l, depth + 1);
                if matches!(l, Ok(V::Bool(true))) {
                    return Ok(V::Bool(true));
                }
                let r = self.eval(r, depth + 1);
                match (l, r) {
                    (_, Ok(V::Bool(true))) => Ok(V::Bool(true)),
                    (Ok(V::Bool(false)), Ok(V::Bool(false))) => Ok(V::Bool(false)),
                    _ => Err(Unknown),
                }
            }
            Expr::Bin(BinOp::And, l, r) => {
                let l = self.eval(l, depth + 1);
                if matches!(l, Ok(V::Bool(false))) {
                    return Ok(V::Bool(false));
                }
                let r = self.eval(r, depth + 1);
                match (l, r) {
                    (_, Ok(V::Bool(false))) => Ok(V::Bool(false)),
                    (Ok(V::Bool(true)), Ok(V::Bool(true))) => Ok(V::Bool(true)),
                    _ => Err(Unknown),
                }
            }
            Expr::Bin(op, l, r) => {
                let l = self.eval(l, depth + 1)?;
                let r = self.eval(r, depth + 1)?;
                compare(*op, &l, &r)
            }
            Expr::Call { target, name, args } => self.call(target.as_deref(), name, args, depth),
        }
    }

    fn call(&mut self, target: Option<&Expr>, name: &str, args: &[Expr], depth: usize) -> R<'a> {
        if target.is_none() && name == "has" && args.len() == 1 {
            return self.has(&args[0], depth);
        }
        // macros bind a variable
        if let (Some(t), "all" | "exists" | "exists_one", [Expr::Ident(var), body]) = (target, name, args) {
            let list = self.eval(t, depth + 1)?;
            let items = self.items(&list)?;
            let mut count = 0;
            let mut unknown = false;
            for it in items {
                self.scope.push((var.clone(), it));
                let r = self.eval(body, depth + 1);
                self.scope.pop();
                match r {
                    Ok(V::Bool(true)) => count += 1,
                    Ok(V::Bool(false)) => {
                        if name == "all" {
                            return Ok(V::Bool(false));
                        }
                    }
                    _ => unknown = true,
                }
                if name == "exists" && count > 0 {
                    return Ok(V::Bool(true));
                }
            }
            if unknown {
                return Err(Unknown);
            }
            return Ok(V::Bool(match name {
                "all" => true,
                "exists" => count > 0,
                _ => count == 1,
            }));
        }
        let recv = match target {
            Some(t) => Some(self.eval(t, depth + 1)?),
            None => None,
        };
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.eval(a, depth + 1)?);
        }
        let s = |v: &V<'a>| match v {
            V::Str(s) => Ok(s.to_string()),
            _ => Err(Unknown),
        };
        let recv = match (name, recv, vals.len()) {
            ("size", None, 1) => Some(vals.remove(0)),
            (_, r, _) => r,
        };
        match (name, recv, vals.as_slice()) {
            ("size", Some(v), []) => match &v {
                V::Str(x) => Ok(V::Int(x.chars().count() as i64)),
                V::Node(id, _) => Ok(V::Int(match &self.tree.node(*id).kind {
                    NodeKind::Seq { items, .. } => items.len() as i64,
                    NodeKind::Map { entries, .. } => entries.len() as i64,
                    _ => return Err(Unknown),
                })),
                _ => Err(Unknown),
            },
            ("startsWith", Some(r), [a]) => Ok(V::Bool(s(&r)?.starts_with(&s(a)?))),
            ("endsWith", Some(r), [a]) => Ok(V::Bool(s(&r)?.ends_with(&s(a)?))),
            ("contains", Some(r), [a]) => Ok(V::Bool(s(&r)?.contains(&s(a)?))),
            ("substring", Some(r), [V::Int(i)]) => {
                let st = s(&r)?;
                let i = usize::try_from(*i).map_err(|_| Unknown)?;
                let cs: String = st.chars().skip(i).collect();
                if i > st.chars().count() {
                    return Err(Unknown);
                }
                Ok(V::Str(Cow::Owned(cs)))
            }
            ("matches", Some(r), [a]) => {
                let re = regex::Regex::new(&s(a)?).map_err(|_| Unknown)?;
                Ok(V::Bool(re.is_match(&s(&r)?)))
            }
            _ => Err(Unknown),
        }
    }
}

fn compare<'a>(op: BinOp, l: &V<'a>, r: &V<'a>) -> R<'a> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (l, r) {
        (V::Int(a), V::Int(b)) => Some(a.cmp(b)),
        (V::Str(a), V::Str(b)) => Some(a.cmp(b)),
        (V::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
        (V::Null, V::Null) => Some(Ordering::Equal),
        _ => None,
    };
    let Some(o) = ord else {
        // comparing values of different types is an error in CEL, except
        // (in)equality with null
        return match (op, l, r) {
            (BinOp::Eq, V::Null, _) | (BinOp::Eq, _, V::Null) => Ok(V::Bool(false)),
            (BinOp::Ne, V::Null, _) | (BinOp::Ne, _, V::Null) => Ok(V::Bool(true)),
            _ => Err(Unknown),
        };
    };
    Ok(V::Bool(match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Ge => o != Ordering::Less,
        BinOp::Or | BinOp::And => return Err(Unknown),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::catalog::builtin_kind;
    use crate::syntax::parse_document;

    fn check(kind: (&str, &str), path: &[&str], yaml: &str) -> Vec<Option<bool>> {
        let k = builtin_kind(kind.0, kind.1).unwrap();
        let mut schema = &k.preferred().unwrap().schema;
        for p in path {
            schema = schema.property(p).unwrap();
        }
        let d = parse_document(yaml);
        let node = d.tree.lookup(path).unwrap();
        schema.validations.iter().map(|r| eval(&parse(&r.rule).unwrap(), &d.tree, node, schema)).collect()
    }

    #[test]
    fn parses_every_builtin_rule() {
        for k in crate::schema::catalog::builtin() {
            for v in &k.versions {
                let mut stack = vec![&v.schema];
                while let Some(s) = stack.pop() {
                    for r in &s.validations {
                        assert!(parse(&r.rule).is_some(), "{}: {}", k.kind, r.rule);
                    }
                    stack.extend(s.properties.iter().map(|(_, p)| p));
                    stack.extend(s.items.as_deref());
                    stack.extend(s.additional_properties.as_deref());
                }
            }
        }
    }

    #[test]
    fn helmrelease_chart_xor_chart_ref() {
        let hr = ("helm.toolkit.fluxcd.io", "HelmRelease");
        let both = "spec:\n  chart: {spec: {chart: x}}\n  chartRef: {kind: OCIRepository, name: x}\n";
        assert_eq!(check(hr, &["spec"], both), vec![Some(false)]);
        assert_eq!(check(hr, &["spec"], "spec:\n  chart: {spec: {chart: x}}\n"), vec![Some(true)]);
        assert_eq!(check(hr, &["spec"], "spec:\n  interval: 5m\n"), vec![Some(false)]);
        // a merge key may bring the missing field
        assert_eq!(check(hr, &["spec"], "base: &b {chart: {}}\nspec:\n  <<: *b\n"), vec![None]);
    }

    #[test]
    fn receiver_secret_ref_unless_generic_oidc() {
        let rc = ("notification.toolkit.fluxcd.io", "Receiver");
        let r = check(rc, &["spec"], "spec:\n  type: github\n  resources: []\n");
        assert!(r.contains(&Some(false)), "{r:?}");
        let r = check(rc, &["spec"], "spec:\n  type: github\n  secretRef: {name: t}\n");
        assert!(!r.contains(&Some(false)), "{r:?}");
        // a templated type is never reported
        let r = check(rc, &["spec"], "spec:\n  type: ${TYPE}\n");
        assert!(!r.contains(&Some(false)), "{r:?}");
    }

    #[test]
    fn defaults_macros_and_string_functions() {
        // Bucket provider defaults to generic: sts.provider must be ldap
        let b = ("source.toolkit.fluxcd.io", "Bucket");
        let r = check(b, &["spec"], "spec:\n  sts: {provider: aws, endpoint: x}\n");
        assert!(r.contains(&Some(false)), "{r:?}");
        let ag = ("source.extensions.fluxcd.io", "ArtifactGenerator");
        let r = check(ag, &["spec"], "spec:\n  artifacts:\n  - name: Bad_Name\n");
        assert_eq!(r, vec![Some(false)]);
        let r = check(ag, &["spec"], "spec:\n  artifacts:\n  - name: good\n");
        assert_eq!(r, vec![Some(true)]);
        let rsip = ("fluxcd.controlplane.io", "ResourceSetInputProvider");
        let r = check(rsip, &["spec"], "spec:\n  type: GitHubBranch\n  url: ftp://x\n");
        assert!(r.contains(&Some(false)), "{r:?}");
        let r = check(rsip, &["spec"], "spec:\n  type: GitHubBranch\n  url: https://github.com/x/y\n");
        assert!(!r.contains(&Some(false)), "{r:?}");
    }
}
