//! Reporters: text (rustc style), json, sarif (2.1.0) and github annotations.

use serde_json::json;

use super::{FileResult, Summary};
use crate::ide::{Diagnostic, Severity};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

/// 1-based line and character column of both ends of a diagnostic.
struct Pos {
    line: usize,
    col: usize,
    end_line: usize,
    end_col: usize,
}

fn pos(r: &FileResult, d: &Diagnostic) -> Pos {
    let f = &r.file;
    let line = f.index.line_of(d.range.start) + 1;
    let end_line = f.index.line_of(d.range.end) + 1;
    Pos {
        line,
        col: f.index.char_col(&f.text, d.range.start),
        end_line,
        end_col: f.index.char_col(&f.text, d.range.end),
    }
}

pub fn render(format: Format, results: &[FileResult], s: &Summary) -> String {
    match format {
        Format::Text => text(results, s),
        Format::Json => json_report(results, s),
        Format::Sarif => sarif(results),
        Format::Github => github(results, s),
    }
}

fn text(results: &[FileResult], s: &Summary) -> String {
    let mut out = String::new();
    for r in results {
        for d in &r.diagnostics {
            let p = pos(r, d);
            out.push_str(&format!(
                "{}:{}:{}: {}[{}]: {}\n",
                r.display,
                p.line,
                p.col,
                d.severity.as_str(),
                d.code,
                d.message
            ));
            let f = &r.file;
            let lr = f.index.line_range(&f.text, p.line - 1);
            let src = &f.text[lr.start..lr.end];
            let gutter = p.line.to_string();
            let pad = " ".repeat(gutter.len());
            let width = if p.end_line == p.line {
                (p.end_col - p.col).max(1)
            } else {
                src.chars().count().saturating_sub(p.col - 1).max(1)
            };
            // keep tabs so the caret lines up under them
            let lead: String = src.chars().take(p.col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out.push_str(&format!(" {gutter} | {src}\n {pad} | {lead}{}\n", "^".repeat(width)));
        }
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "{} checked, {}: {}, {}\n",
        plural(s.files, "file"),
        plural(s.flux_objects, "Flux object"),
        plural(s.errors, "error"),
        plural(s.warnings, "warning")
    ));
    out
}

fn json_report(results: &[FileResult], s: &Summary) -> String {
    let diags: Vec<_> = results
        .iter()
        .flat_map(|r| {
            r.diagnostics.iter().map(move |d| {
                let p = pos(r, d);
                json!({
                    "path": r.display, "line": p.line, "column": p.col, "end_line": p.end_line, "end_column": p.end_col,
                    "severity": d.severity.as_str(), "code": d.code, "message": d.message,
                })
            })
        })
        .collect();
    let v = json!({
        "version": 1,
        "diagnostics": diags,
        "summary": {"files": s.files, "flux_objects": s.flux_objects, "errors": s.errors, "warnings": s.warnings},
    });
    let mut out = serde_json::to_string_pretty(&v).unwrap_or_default();
    out.push('\n');
    out
}

fn sarif(results: &[FileResult]) -> String {
    let mut rules: Vec<&str> = results.iter().flat_map(|r| r.diagnostics.iter().map(|d| d.code)).collect();
    rules.sort();
    rules.dedup();
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information | Severity::Hint => "note",
    };
    let res: Vec<_> = results
        .iter()
        .flat_map(|r| {
            let rules = &rules;
            r.diagnostics.iter().map(move |d| {
                let p = pos(r, d);
                json!({
                    "ruleId": d.code,
                    "ruleIndex": rules.iter().position(|x| *x == d.code),
                    "level": level(d.severity),
                    "message": {"text": d.message},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": {"uri": r.display.replace('\\', "/")},
                        "region": {"startLine": p.line, "startColumn": p.col, "endLine": p.end_line, "endColumn": p.end_col.max(p.col + usize::from(p.end_line == p.line && p.end_col == p.col))}
                    }}]
                })
            })
        })
        .collect();
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "flux-lsp",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/flux-lsp/flux-lsp",
                "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": r}})).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": res,
        }]
    });
    let mut out = serde_json::to_string_pretty(&v).unwrap_or_default();
    out.push('\n');
    out
}

/// Escapes a workflow command's data (`%`, CR, LF) and properties (also `:` and `,`).
fn gh_escape(s: &str, property: bool) -> String {
    let mut o = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        o = o.replace(':', "%3A").replace(',', "%2C");
    }
    o
}

fn github(results: &[FileResult], s: &Summary) -> String {
    let mut out = String::new();
    for r in results {
        for d in &r.diagnostics {
            let p = pos(r, d);
            let cmd = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                _ => "notice",
            };
            out.push_str(&format!(
                "::{cmd} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                gh_escape(&r.display, true),
                p.line,
                p.col,
                p.end_line,
                p.end_col,
                gh_escape(&format!("flux-lsp {}", d.code), true),
                gh_escape(&d.message, false)
            ));
        }
    }
    out.push_str(&format!("flux-lsp: {} files, {} errors, {} warnings\n", s.files, s.errors, s.warnings));
    out
}
