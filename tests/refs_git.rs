//! A GitRepository whose URL is the workspace's git remote (and branch) is
//! this repository: the `spec.path` of Kustomizations using it must exist.

use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::workspace::Workspace;

fn ks(name: &str, source: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  path: {path}\n"
    )
}

fn git(name: &str, url: &str, branch: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {url}\n  ref:\n    branch: {branch}\n"
    )
}

#[test]
fn spec_path_is_checked_for_the_git_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fleet");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("clusters/prod")).unwrap();
    std::fs::create_dir_all(root.join("apps")).unwrap();
    std::fs::write(
        root.join(".git/config"),
        "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:Org/fleet.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
    )
    .unwrap();
    std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(root.join("apps/app.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n").unwrap();
    let sources = [
        git("same", "https://github.com/org/fleet", "main"),
        git("other-branch", "https://github.com/org/fleet", "release"),
        git("other-repo", "https://github.com/org/app", "main"),
    ]
    .join("---\n");
    std::fs::write(root.join("clusters/prod/sources.yaml"), sources).unwrap();
    let ks_text = [
        ks("ok", "same", "./apps"),
        ks("missing", "same", "./app"),
        ks("branch", "other-branch", "./nowhere"),
        ks("repo", "other-repo", "./nowhere"),
    ]
    .join("---\n");
    std::fs::write(root.join("clusters/prod/ks.yaml"), &ks_text).unwrap();

    let mut ws = Workspace::default();
    // a sub-folder opened in the editor: the repository root is above it
    ws.roots = vec![root.join("clusters")];
    ws.load_roots();
    let a = ws.analysis();
    let f = ws.file(&root.join("clusters/prod/ks.yaml")).unwrap();
    let got: Vec<_> = file_diagnostics(&a, f)
        .into_iter()
        .filter(|d| d.code == "missing-path")
        .map(|d| f.text[d.range.start..d.range.end].to_string())
        .collect();
    assert_eq!(got, vec!["./app"]);
}
