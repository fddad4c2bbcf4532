//! Chart archives (`.tgz`): the sha256 digest, and the files flux-lsp needs
//! from them (Chart.yaml, values.yaml, values.schema.json of the chart and
//! of its subcharts, packaged as directories or as nested archives).
//!
//! Nothing from an archive is ever written under a name it chose: only the
//! three known file names, below `charts/<name>/` for subcharts, where the
//! name is checked to be a plain file name. Sizes are capped against
//! decompression bombs.

use std::io::Read;

use sha2::{Digest, Sha256};

/// The files kept from a chart, by their path relative to the chart.
pub type Files = Vec<(String, Vec<u8>)>;

const KEEP: [&str; 3] = ["Chart.yaml", "values.yaml", "values.schema.json"];
/// Largest kept file.
const MAX_FILE: u64 = 16 << 20;
/// Most bytes read out of one archive (all entries, kept or not).
const MAX_TOTAL: u64 = 256 << 20;
/// Subcharts of subcharts of ... this deep are not read.
const MAX_DEPTH: usize = 3;

/// The hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// A digest as written in an index or a manifest (`sha256:<hex>` or bare
/// hex), as lowercase hex; None for other algorithms.
pub fn normalize_digest(d: &str) -> Option<String> {
    let h = d.trim().strip_prefix("sha256:").unwrap_or(d.trim()).to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}

fn plain_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The values files of a chart archive. Err when it is not a gzip'd tar or
/// holds no `Chart.yaml`.
pub fn extract(tgz: &[u8]) -> Result<Files, String> {
    let mut out = Vec::new();
    let mut budget = MAX_TOTAL;
    extract_into(tgz, "", 0, &mut out, &mut budget)?;
    if !out.iter().any(|(p, _)| p == "Chart.yaml") {
        return Err("the archive has no Chart.yaml at its top".into());
    }
    Ok(out)
}

fn extract_into(tgz: &[u8], prefix: &str, depth: usize, out: &mut Files, budget: &mut u64) -> Result<(), String> {
    let gz = flate2::read::GzDecoder::new(tgz);
    let mut ar = tar::Archive::new(gz);
    let entries = ar.entries().map_err(|e| format!("not a chart archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a chart archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        let path = entry.path().map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
        // `<chart>/rest...`: the first component is the chart's directory
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        if parts.len() < 2 || parts.contains(&"..") {
            continue;
        }
        let rel = &parts[1..];
        // the chart's own files, and subcharts kept as directories
        // (`charts/<sub>/.../<file>`), flattened to `charts/<sub>/<file>`
        // chains up to MAX_DEPTH
        let keep_as = keep_path(rel, depth);
        let nested = matches!(rel, ["charts", f] if f.ends_with(".tgz") && depth < MAX_DEPTH);
        if keep_as.is_none() && !nested {
            continue;
        }
        if size > MAX_FILE || size > *budget {
            return Err(format!("`{path}` in the archive is too large ({size} bytes)"));
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry).take(MAX_FILE + 1).read_to_end(&mut buf).map_err(|e| format!("reading `{path}`: {e}"))?;
        *budget = budget.saturating_sub(buf.len() as u64);
        if let Some(k) = keep_as {
            out.push((format!("{prefix}{k}"), buf));
        } else {
            // a packaged subchart: its files go below charts/<its directory name>/
            let name = subchart_dir(&buf).ok_or_else(|| format!("`{path}` is not a chart archive"))?;
            extract_into(&buf, &format!("{prefix}charts/{name}/"), depth + 1, out, budget)?;
        }
    }
    Ok(())
}

/// Where a file of the archive (path below the chart's directory) is kept.
fn keep_path(rel: &[&str], depth: usize) -> Option<String> {
    match rel {
        [f] if KEEP.contains(f) => Some(f.to_string()),
        ["charts", sub, rest @ ..] if depth < MAX_DEPTH && plain_name(sub) && !rest.is_empty() => {
            keep_path(rest, depth + 1).map(|k| format!("charts/{sub}/{k}"))
        }
        _ => None,
    }
}

/// The top directory of a chart archive (its chart name).
fn subchart_dir(tgz: &[u8]) -> Option<String> {
    let gz = flate2::read::GzDecoder::new(tgz);
    let mut ar = tar::Archive::new(gz);
    let first = ar.entries().ok()?.next()?.ok()?;
    let p = first.path().ok()?.to_string_lossy().to_string();
    let top = p.split('/').find(|s| !s.is_empty() && *s != ".")?.to_string();
    plain_name(&top).then_some(top)
}

/// Builds a chart archive (tests and fixtures): `files` are paths below the
/// chart's directory `name`.
pub fn build(name: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tb = tar::Builder::new(gz);
    for (p, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tb.append_data(&mut h, format!("{name}/{p}"), *data).expect("tar append");
    }
    tb.into_inner().and_then(|gz| gz.finish()).expect("tar finish")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive from a hostile repository: a path climbing out of the
    /// chart, a symbolic link and a hard link named like values files, a
    /// device node. Only the chart's regular values files are kept, under
    /// names the cache chooses.
    #[test]
    fn hostile_entries_are_not_kept() {
        use tar::EntryType;
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, kind: EntryType, data: &[u8], link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            // written raw: `set_path` refuses `..`, an attacker's tool does not
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_entry_type(kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            h.set_cksum();
            b.append(&h, data).unwrap();
        };
        add("evil/Chart.yaml", EntryType::Regular, b"name: evil\nversion: 1.0.0\n", None);
        add("evil/../../values.yaml", EntryType::Regular, b"x: 1\n", None);
        add("evil/charts/../../../values.schema.json", EntryType::Regular, b"{}", None);
        add("evil/values.yaml", EntryType::Symlink, b"", Some("/etc/passwd"));
        add("evil/values.schema.json", EntryType::Link, b"", Some("/etc/shadow"));
        add("evil/charts/sub/values.yaml", EntryType::Char, b"", None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
        let files = extract(&gz.finish().unwrap()).unwrap();
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec!["Chart.yaml"]);
    }

    #[test]
    fn keeps_values_files_of_the_chart_and_its_subcharts() {
        let sub = build("redis", &[("Chart.yaml", b"name: redis\nversion: 1.0.0\n"), ("values.yaml", b"a: 1\n")]);
        let tgz = build(
            "podinfo",
            &[
                ("Chart.yaml", b"name: podinfo\nversion: 6.5.0\n"),
                ("values.yaml", b"replicaCount: 1\n"),
                ("templates/deployment.yaml", b"kind: {{ x }}\n"),
                ("charts/redis-1.0.0.tgz", &sub),
                ("charts/common/Chart.yaml", b"name: common\n"),
                ("charts/common/values.schema.json", b"{}"),
            ],
        );
        let files = extract(&tgz).unwrap();
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "Chart.yaml",
                "values.yaml",
                "charts/redis/Chart.yaml",
                "charts/redis/values.yaml",
                "charts/common/Chart.yaml",
                "charts/common/values.schema.json"
            ]
        );
        assert!(extract(b"not gzip").is_err());
        assert!(extract(&build("x", &[("values.yaml", b"a: 1\n")])).unwrap_err().contains("no Chart.yaml"));
    }

    #[test]
    fn digests() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let h = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(normalize_digest(&format!("sha256:{h}")).unwrap(), h.to_ascii_lowercase());
        assert!(normalize_digest("sha512:abc").is_none());
    }
}
