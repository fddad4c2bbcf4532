//! References on real repositories: the shipped corpora give no errors, and
//! each planted mistake is reported where the user would look, with its
//! quick fix where there is one.

use std::path::{Path, PathBuf};

use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::ide::{Diagnostic, Severity};
use flux_lsp::workspace::Workspace;

/// `../shared/corpora`, or None with a printed reason; a failure under CI=true.
fn corpora() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if p.join("fluxcd__flux2-multi-tenancy").exists() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing; CI must run with ../shared beside the repository", p.display());
    }
    eprintln!("skipping: {} is missing", p.display());
    None
}

fn load(root: &Path) -> Workspace {
    let mut ws = Workspace::default();
    ws.roots = vec![root.to_path_buf()];
    ws.load_roots();
    ws
}

fn all_diagnostics(ws: &Workspace) -> Vec<(PathBuf, Diagnostic, String)> {
    let a = ws.analysis();
    let mut out = Vec::new();
    let mut files: Vec<_> = ws.files().collect();
    files.sort_by(|x, y| x.path.cmp(&y.path));
    for f in files {
        for d in file_diagnostics(&a, f) {
            let text = f.text[d.range.start..d.range.end].to_string();
            out.push((f.path.clone(), d, text));
        }
    }
    out
}

#[test]
fn shipped_corpora_have_no_errors() {
    let Some(root) = corpora() else { return };
    let mut roots: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    roots.sort();
    // each repository on its own, and the folder holding both as one root
    roots.push(root.clone());
    for r in roots {
        let ws = load(&r);
        let diags = all_diagnostics(&ws);
        for (p, d, t) in &diags {
            println!("{}: {:?} {} `{t}`: {}", p.display(), d.severity, d.code, d.message);
        }
        let errors: Vec<_> = diags.iter().filter(|(_, d, _)| d.severity == Severity::Error).collect();
        assert!(errors.is_empty(), "{}: {} errors: {errors:#?}", r.display(), errors.len());
    }
}

/// A writable copy of one corpus.
struct Copy {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Copy {
    fn new(name: &str) -> Option<Copy> {
        let src = corpora()?.join(name);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(name);
        copy_tree(&src, &root);
        Some(Copy { _tmp: tmp, root })
    }
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.root.join(rel);
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(from), "{rel} has no `{from}`");
        std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
    }
    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }
    /// Diagnostics of one file with the text they cover.
    fn diags(&self, rel: &str) -> Vec<(Diagnostic, String)> {
        let ws = load(&self.root);
        let a = ws.analysis();
        let f = ws.file(&self.root.join(rel)).unwrap_or_else(|| panic!("{rel} not loaded"));
        file_diagnostics(&a, f)
            .into_iter()
            .map(|d| {
                let t = f.text[d.range.start..d.range.end].to_string();
                (d, t)
            })
            .collect()
    }
    fn errors_elsewhere(&self, except: &[&str]) -> Vec<String> {
        let ws = load(&self.root);
        all_diagnostics(&ws)
            .into_iter()
            .filter(|(p, d, _)| d.severity == Severity::Error && !except.iter().any(|e| p.ends_with(e)))
            .map(|(p, d, _)| format!("{}: {} {}", p.display(), d.code, d.message))
            .collect()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
            let mut perm = std::fs::metadata(&dst).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dst, perm).unwrap();
        }
    }
}

fn find<'a>(d: &'a [(Diagnostic, String)], code: &str) -> Vec<&'a (Diagnostic, String)> {
    d.iter().filter(|(x, _)| x.code == code).collect()
}

const MT: &str = "fluxcd__flux2-multi-tenancy";
const HE: &str = "fluxcd__flux2-kustomize-helm-example";

#[test]
fn typo_in_source_ref_name() {
    let Some(c) = Copy::new(MT) else { return };
    c.edit("clusters/staging/tenants.yaml", "name: flux-system", "name: flux-sytem");
    let d = c.diags("clusters/staging/tenants.yaml");
    let u = find(&d, "unresolved-reference");
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!((u[0].0.severity, u[0].1.as_str()), (Severity::Error, "flux-sytem"));
    assert_eq!(u[0].0.fixes[0].edits[0].new_text, "flux-system");
    assert!(c.errors_elsewhere(&["clusters/staging/tenants.yaml"]).is_empty());
}

#[test]
fn reference_to_the_wrong_kind() {
    let Some(c) = Copy::new(HE) else { return };
    c.edit(
        "infrastructure/controllers/cert-manager.yaml",
        "    kind: OCIRepository\n    name: cert-manager",
        "    kind: HelmRepository\n    name: cert-manager",
    );
    let d = c.diags("infrastructure/controllers/cert-manager.yaml");
    let k = find(&d, "invalid-reference-kind");
    assert_eq!(k.len(), 1, "{d:?}");
    assert_eq!((k[0].0.severity, k[0].1.as_str()), (Severity::Error, "HelmRepository"));
    assert_eq!(k[0].0.fixes[0].edits[0].new_text, "OCIRepository");
}

#[test]
fn missing_helm_repository() {
    let Some(c) = Copy::new(HE) else { return };
    std::fs::remove_file(c.root.join("apps/base/podinfo/repository.yaml")).unwrap();
    c.edit("apps/base/podinfo/kustomization.yaml", "  - repository.yaml\n", "");
    let d = c.diags("apps/base/podinfo/release.yaml");
    let u = find(&d, "unresolved-reference");
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!((u[0].0.severity, u[0].1.as_str()), (Severity::Warning, "podinfo"));
    assert!(u[0].0.message.contains("HelmRepository `podinfo` in namespace `podinfo`"), "{}", u[0].0.message);
    // a one-letter typo of an existing repository is an error with a fix
    let Some(c) = Copy::new(HE) else { return };
    c.edit("apps/base/podinfo/release.yaml", "        name: podinfo", "        name: podinf0");
    let d = c.diags("apps/base/podinfo/release.yaml");
    let u = find(&d, "unresolved-reference");
    assert_eq!((u[0].0.severity, u[0].0.fixes[0].edits[0].new_text.as_str()), (Severity::Error, "podinfo"));
}

#[test]
fn depends_on_cycles_of_two_and_three() {
    let Some(c) = Copy::new(MT) else { return };
    // kyverno ⇄ kyverno-policies
    c.edit(
        "clusters/staging/infrastructure.yaml",
        "  interval: 720m0s\n",
        "  dependsOn:\n    - name: kyverno-policies\n  interval: 720m0s\n",
    );
    let d = c.diags("clusters/staging/infrastructure.yaml");
    let cy = find(&d, "dependency-cycle");
    assert_eq!(cy.len(), 2, "{d:?}");
    for (x, t) in &cy {
        assert_eq!(x.severity, Severity::Error);
        assert!(x.message.contains("kyverno-policies") && x.message.contains("flux-system/kyverno "), "{}", x.message);
        assert!(t == "kyverno" || t == "kyverno-policies");
    }
    // the production cluster's copies are not part of it
    assert!(find(&c.diags("clusters/production/infrastructure.yaml"), "dependency-cycle").is_empty());

    let Some(c) = Copy::new(MT) else { return };
    // tenants → kyverno-policies → kyverno → tenants
    c.edit(
        "clusters/staging/infrastructure.yaml",
        "  interval: 720m0s\n",
        "  dependsOn:\n    - name: tenants\n  interval: 720m0s\n",
    );
    let infra = c.diags("clusters/staging/infrastructure.yaml");
    let tenants = c.diags("clusters/staging/tenants.yaml");
    let all: Vec<_> = find(&infra, "dependency-cycle").into_iter().chain(find(&tenants, "dependency-cycle")).collect();
    assert_eq!(all.len(), 3, "{infra:?} {tenants:?}");
    for (x, _) in all {
        for m in ["/tenants", "/kyverno-policies", "/kyverno "] {
            assert!(x.message.contains(m), "{}", x.message);
        }
    }
}

#[test]
fn missing_kustomization_resource_path() {
    let Some(c) = Copy::new(MT) else { return };
    c.edit("infrastructure/kyverno/kustomization.yaml", "  - sync.yaml", "  - synk.yaml");
    let d = c.diags("infrastructure/kyverno/kustomization.yaml");
    let m = find(&d, "missing-path");
    assert_eq!(m.len(), 1, "{d:?}");
    assert_eq!((m[0].0.severity, m[0].1.as_str()), (Severity::Error, "synk.yaml"));
    assert_eq!(m[0].0.fixes[0].edits[0].new_text, "sync.yaml");
}

#[test]
fn missing_spec_path() {
    let Some(c) = Copy::new(MT) else { return };
    c.edit(
        "clusters/staging/infrastructure.yaml",
        "path: ./infrastructure/kyverno\n",
        "path: ./infrastructure/kyvern\n",
    );
    let d = c.diags("clusters/staging/infrastructure.yaml");
    let m = find(&d, "missing-path");
    assert_eq!(m.len(), 1, "{d:?}");
    assert_eq!((m[0].0.severity, m[0].1.as_str()), (Severity::Error, "./infrastructure/kyvern"));
    assert_eq!(m[0].0.fixes[0].edits[0].new_text, "./infrastructure/kyverno");
}

#[test]
fn undefined_substitution_variable() {
    let Some(c) = Copy::new(MT) else { return };
    c.edit(
        "clusters/staging/infrastructure.yaml",
        "  path: ./infrastructure/kyverno-policies\n",
        "  path: ./infrastructure/kyverno-policies\n  postBuild:\n    substitute:\n      cluster_env: staging\n",
    );
    c.edit(
        "infrastructure/kyverno-policies/verify-flux-images.yaml",
        "webhookTimeoutSeconds: 30",
        "webhookTimeoutSeconds: ${timeout}",
    );
    c.edit(
        "infrastructure/kyverno-policies/verify-git-repositories.yaml",
        "validationFailureAction: Audit",
        "validationFailureAction: ${action:=Audit} # ${cluster_env}",
    );
    let d = c.diags("infrastructure/kyverno-policies/verify-flux-images.yaml");
    let u = find(&d, "undefined-variable");
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!((u[0].0.severity, u[0].1.as_str()), (Severity::Warning, "${timeout}"));
    assert!(u[0].0.message.contains("kyverno-policies"), "{}", u[0].0.message);
    assert!(
        find(&c.diags("infrastructure/kyverno-policies/verify-git-repositories.yaml"), "undefined-variable").is_empty()
    );
}

#[test]
fn marker_naming_a_missing_image_policy() {
    let Some(c) = Copy::new(HE) else { return };
    c.edit(
        "apps/base/podinfo/release.yaml",
        "      tag: 8.6.2",
        "      tag: 8.6.2 # {\"$imagepolicy\": \"flux-system:redis:tag\"}",
    );
    let d = c.diags("apps/base/podinfo/release.yaml");
    let u = find(&d, "unresolved-image-policy");
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!((u[0].0.severity, u[0].1.as_str()), (Severity::Warning, "redis"));
    // with a policy one letter away: an error with a fix
    c.write(
        "apps/base/podinfo/policy.yaml",
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: rediss\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: redis\n  policy:\n    semver:\n      range: 8.x\n",
    );
    let d = c.diags("apps/base/podinfo/release.yaml");
    let u = find(&d, "unresolved-image-policy");
    assert_eq!((u[0].0.severity, u[0].0.fixes[0].edits[0].new_text.as_str()), (Severity::Error, "rediss"));
}

#[test]
fn undefined_variable_through_an_artifact_generator() {
    let Some(c) = Copy::new(HE) else { return };
    // apps (staging) reads ExternalArtifact `apps`, copied from apps/staging and apps/base
    c.edit(
        "clusters/staging/apps.yaml",
        "  path: ./staging\n",
        "  path: ./staging\n  postBuild:\n    substitute:\n      domain: staging.example.com\n",
    );
    c.edit(
        "apps/base/podinfo/release.yaml",
        "        - podinfo.local",
        "        - podinfo.${domain}\n        - ${cluster_name}.local",
    );
    let d = c.diags("apps/base/podinfo/release.yaml");
    let u = find(&d, "undefined-variable");
    assert_eq!(u.len(), 1, "{d:?}");
    assert_eq!(u[0].1, "${cluster_name}");
    assert!(c.errors_elsewhere(&[]).is_empty());
}
