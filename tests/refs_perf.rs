//! References and rename stay fast on a 1,000-file workspace: they use the
//! reference model (built once per summary change), never rescanning texts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::ide::navigation::{goto_definition, references, rename};
use flux_lsp::workspace::Workspace;

const TEAMS: usize = 50;
const RELEASES: usize = 18;

fn workspace() -> Workspace {
    let mut ws = Workspace::default();
    let root = PathBuf::from("/perf");
    ws.roots = vec![root.clone()];
    // one HelmRepository everybody uses
    ws.set_file(
        root.join("infra/charts.yaml"),
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  url: https://charts.example.com\n".into(),
        None,
    );
    for t in 0..TEAMS {
        let dir = root.join(format!("teams/team-{t}"));
        let mut resources = String::new();
        for r in 0..RELEASES {
            resources.push_str(&format!("  - release-{r}.yaml\n"));
            let dep = if r > 0 { format!("  dependsOn:\n    - name: app-{}\n", r - 1) } else { String::new() };
            ws.set_file(
                dir.join(format!("release-{r}.yaml")),
                format!(
                    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app-{r}\nspec:\n  interval: 10m\n{dep}  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n        namespace: flux-system\n  valuesFrom:\n    - kind: ConfigMap\n      name: values\n  values:\n    image: ghcr.io/x/app:1.0 # {{\"$imagepolicy\": \"flux-system:app-{t}\"}}\n"
                ),
                None,
            );
        }
        resources.push_str("  - values.yaml\n");
        ws.set_file(
            dir.join("values.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\ndata:\n  a: b\n".into(),
            None,
        );
        ws.set_file(
            dir.join("kustomization.yaml"),
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-{t}\nresources:\n{resources}"),
            None,
        );
        ws.set_file(
            root.join(format!("policies/app-{t}.yaml")),
            format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app-{t}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app-{t}\n  policy:\n    semver:\n      range: 1.x\n"),
            None,
        );
    }
    ws
}

fn avg(n: u32, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

#[test]
fn references_and_rename_are_fast_on_1000_files() {
    let t = Instant::now();
    let mut ws = workspace();
    let load = t.elapsed();
    assert!(ws.len() >= 1000, "{}", ws.len());
    let t = Instant::now();
    let _ = ws.ref_model();
    let build = t.elapsed();

    let repo = PathBuf::from("/perf/infra/charts.yaml");
    let a = ws.analysis();
    let f = a.file(&repo).unwrap().clone();
    let at = f.text.find("name: charts").unwrap() + 7;
    let refs = references(&a, &f, at, true);
    assert_eq!(refs.len(), 1 + TEAMS * RELEASES);
    let t_refs = avg(20, || {
        let _ = references(&a, &f, at, true);
    });
    let t_rename = avg(20, || {
        let e = rename(&a, &f, at, "shared-charts").unwrap();
        assert_eq!(e.len(), 1 + TEAMS * RELEASES);
    });
    let rel = a.file(&PathBuf::from("/perf/teams/team-7/release-3.yaml")).unwrap().clone();
    let at_ref = rel.text.find("name: app-2").unwrap() + 7;
    let t_def = avg(50, || {
        let d = goto_definition(&a, &rel, at_ref);
        assert_eq!(d.len(), 1);
        assert!(d[0].path.ends_with("team-7/release-2.yaml"));
    });
    let t = Instant::now();
    let mut errors = 0;
    for file in ws.files() {
        errors += file_diagnostics(&a, file).iter().filter(|d| d.severity == flux_lsp::ide::Severity::Error).count();
    }
    let t_diags = t.elapsed();
    assert_eq!(errors, 0);

    // a keystroke that changes no reference keeps the model
    let text = rel.text.replace("interval: 10m", "interval: 11m");
    let t = Instant::now();
    let changed = ws.set_file(rel.path.clone(), text, Some(2));
    let _ = ws.ref_model();
    let t_key_same = t.elapsed();
    assert!(!changed);
    // renaming a dependency rebuilds it
    let text = ws.file(&rel.path).unwrap().text.replace("name: app-2", "name: app-x");
    let t = Instant::now();
    assert!(ws.set_file(rel.path.clone(), text, Some(3)));
    let _ = ws.ref_model();
    let t_rebuild = t.elapsed();

    println!(
        "{} files: load {load:?}, model build {build:?}, rebuild after edit {t_rebuild:?}, edit without summary change {t_key_same:?}; references {t_refs:?}, rename {t_rename:?} ({} edits), definition {t_def:?}; diagnostics of every file {t_diags:?}",
        ws.len(),
        1 + TEAMS * RELEASES
    );
    // generous bounds: debug builds on a loaded 2-core machine
    assert!(t_refs < Duration::from_millis(100), "{t_refs:?}");
    assert!(t_rename < Duration::from_millis(200), "{t_rename:?}");
    assert!(t_def < Duration::from_millis(20), "{t_def:?}");
    assert!(build < Duration::from_secs(5), "{build:?}");
}
