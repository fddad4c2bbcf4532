//! The reference model is patched in place when one file's objects or
//! references change (issue #7): after every edit of these scripts the
//! patched model must answer exactly as a model built from scratch, and the
//! edits that can be patched must have been.

use std::path::PathBuf;

use flux_lsp::workspace::Workspace;

const SOURCES: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 5m
  url: https://github.com/example/app
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: apps
spec:
  interval: 1h
  url: https://charts.example.com
";

fn release(name: &str, depends: &[&str]) -> String {
    let mut s = format!(
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n"
    );
    if !depends.is_empty() {
        s.push_str("  dependsOn:\n");
        for d in depends {
            s.push_str(&format!("    - name: {d}\n"));
        }
    }
    s
}

const POLICY: &str = "\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: pol
  namespace: apps
spec:
  imageRepositoryRef:
    name: repo
  policy:
    semver:
      range: 1.x
";

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0 # {\"$imagepolicy\": \"apps:pol\"}
";

const SYNC: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: app
";

/// A Flux Kustomization (a document of its own) applying `path` from the
/// `source` GitRepository (`flux-system`: the bootstrap one, this
/// repository), depending on `depends`.
fn flux_ks(name: &str, path: &str, source: &str, depends: &[&str]) -> String {
    let mut s = format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n"
    );
    if !depends.is_empty() {
        s.push_str("  dependsOn:\n");
        for d in depends {
            s.push_str(&format!("    - name: {d}\n"));
        }
    }
    s
}

fn releases(names: &[(&str, &[&str])]) -> String {
    names.iter().map(|(n, d)| release(n, d)).collect()
}

struct Script {
    ws: Workspace,
    version: i32,
    checked: usize,
    /// Edits that changed what other files see (the model had to follow).
    changed: usize,
    /// Of those, the ones absorbed by a patch (the rest rebuilt the model).
    patched: usize,
}

impl Script {
    fn new(files: &[(&str, String)]) -> Script {
        let mut ws = Workspace::default();
        ws.roots = vec![PathBuf::from("/ws")];
        for (p, text) in files {
            ws.set_file(PathBuf::from(p), text.clone(), Some(1));
        }
        // built once; later edits patch it
        ws.ref_model();
        Script { ws, version: 1, checked: 0, changed: 0, patched: 0 }
    }

    /// Sets a file's text (as an editor would) and compares the model
    /// with a fresh build.
    fn set(&mut self, path: &str, text: &str) {
        self.version += 1;
        let before = self.patches();
        if self.ws.set_file(PathBuf::from(path), text.to_string(), Some(self.version)) {
            self.changed += 1;
        }
        let got = self.ws.ref_model().canonical();
        let mut fresh = Workspace::default();
        fresh.roots = self.ws.roots.clone();
        for f in self.ws.files() {
            fresh.set_file(f.path.clone(), f.text.to_string(), None);
        }
        let want = fresh.ref_model().canonical();
        if got != want {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .take(6)
                .map(|(a, b)| format!("  fresh:   {a}\n  patched: {b}"))
                .collect();
            panic!("after setting {path} (edit {}):\n{}\n{text}", self.version, diff.join("\n"));
        }
        self.checked += 1;
        if self.patches() == before + 1 {
            self.patched += 1;
        }
    }

    fn patches(&self) -> usize {
        self.ws.ref_model().patches
    }

    /// Types `text` character by character between `head` and `tail` (the
    /// text of `path` around the cursor), then erases it the same way.
    fn type_and_erase(&mut self, path: &str, head: &str, tail: &str, text: &str) {
        let mut typed = String::new();
        for ch in text.chars() {
            typed.push(ch);
            self.set(path, &format!("{head}{typed}{tail}"));
        }
        while typed.pop().is_some() {
            self.set(path, &format!("{head}{typed}{tail}"));
        }
    }

    /// Types `text` character by character at the end of `path`'s text.
    fn type_at_end(&mut self, path: &str, base: &str, text: &str) -> String {
        let mut cur = base.to_string();
        for ch in text.chars() {
            cur.push(ch);
            self.set(path, &cur);
        }
        cur
    }
}

fn start() -> Script {
    Script::new(&[
        ("/ws/sources.yaml", SOURCES.to_string()),
        ("/ws/apps/releases.yaml", releases(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &[])])),
        ("/ws/apps/policy.yaml", POLICY.to_string()),
        ("/ws/apps/deploy.yaml", DEPLOY.to_string()),
        ("/ws/clusters/sync.yaml", SYNC.to_string()),
    ])
}

/// Typing a new object at the end of a file, one character at a time:
/// its name passes through prefixes of other names (suggestions appear and
/// go), and its references resolve once written. Every step is a patch.
#[test]
fn typing_a_new_object_patches_the_model() {
    let mut s = start();
    let before = s.patches();
    let base = SOURCES.to_string();
    let typed = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: chartz\n  namespace: apps\nspec:\n  url: https://x.example.com\n";
    s.type_at_end("/ws/sources.yaml", &base, typed);
    // and a release typed after the others, with a dependsOn
    let rel = releases(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &[])]);
    s.type_at_end("/ws/apps/releases.yaml", &rel, &release("e", &["d"]));
    assert!(s.checked > 300, "{} edits checked", s.checked);
    // not one rebuild: the model was patched at every summary change
    assert!(s.changed > 100, "{} summary changes", s.changed);
    assert_eq!(s.patched, s.changed, "summary changes patched");
    assert_eq!(s.patches() - before, s.changed);
}

/// Renaming a target that others refer to: the referrers go unresolved
/// (with a suggestion) and come back; a dependsOn cycle closes and opens.
#[test]
fn renames_and_cycles_in_the_middle_of_a_file() {
    let mut s = start();
    let before = s.patches();
    s.set("/ws/sources.yaml", &SOURCES.replace("name: charts", "name: chart"));
    s.set("/ws/sources.yaml", &SOURCES.replace("name: charts", "name: chartsx"));
    s.set("/ws/sources.yaml", SOURCES);
    let rel = |deps_a: &'static [&'static str]| releases(&[("a", deps_a), ("b", &["a"]), ("c", &["b"]), ("d", &[])]);
    // a depends on c: a → c → b → a
    s.set("/ws/apps/releases.yaml", &rel(&["c"]));
    s.set("/ws/apps/releases.yaml", &rel(&["cc"]));
    s.set("/ws/apps/releases.yaml", &rel(&["c"]));
    s.set("/ws/apps/releases.yaml", &rel(&[]));
    // a middle object renamed: b's referrer (c) goes unresolved
    s.set("/ws/apps/releases.yaml", &releases(&[("a", &[]), ("bb", &["a"]), ("c", &["b"]), ("d", &[])]));
    s.set("/ws/apps/releases.yaml", &rel(&[]));
    // the image policy renamed: the marker in another file follows
    s.set("/ws/apps/policy.yaml", &POLICY.replace("name: pol", "name: po"));
    s.set("/ws/apps/policy.yaml", POLICY);
    s.set("/ws/apps/deploy.yaml", &DEPLOY.replace("apps:pol", "apps:pox"));
    assert!(s.patches() - before >= 10, "{} patches", s.patches() - before);
}

/// A cycle across two directories is opened without an edit of either
/// member: a namesake of one member is typed nearer to the other, which
/// then depends on it instead. Only the re-resolved reference shows it.
#[test]
fn a_nearer_namesake_opens_a_cycle() {
    let mut s = Script::new(&[
        ("/ws/sources.yaml", SOURCES.to_string()),
        ("/ws/p/a.yaml", release("a", &["b"])),
        ("/ws/q/b.yaml", release("b", &["a"])),
        ("/ws/p/other.yaml", release("o", &[])),
    ]);
    let cycles = |s: &Script| s.ws.ref_model().cycles_of(std::path::Path::new("/ws/p/a.yaml")).map(|c| c.len());
    assert_eq!(cycles(&s), Some(1), "a → b → a");
    let before = s.patches();
    s.type_at_end("/ws/p/other.yaml", &release("o", &[]), &release("b", &[]));
    assert_eq!(cycles(&s), None, "a now depends on the b next to it");
    assert!(s.patches() > before, "patched");
}

/// A document inserted in the middle of a file and removed again is
/// patched (the later documents and references move to their new
/// indices); changes that move what the model derives from the layout are
/// rebuilt: a Flux Kustomization edited, the source it applies from
/// renamed, a kustomization file giving a namespace. Same answers either way.
#[test]
fn moved_documents_are_patched_layout_changes_rebuilt() {
    let mut s = start();
    let rel = releases(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &[])]);
    let mid = rel.replacen("---\n", &format!("---\n{}---\n", POLICY.replace("name: pol", "name: pol2")), 2);
    s.set("/ws/apps/releases.yaml", &mid);
    assert_eq!(s.patches(), 1, "a document inserted in the middle: patched");
    s.set("/ws/apps/releases.yaml", &rel);
    assert_eq!(s.patches(), 2, "and removed: patched");
    s.set("/ws/clusters/sync.yaml", &SYNC.replace("path: ./apps", "path: ./app"));
    assert_eq!(s.patches(), 3, "a Flux Kustomization edited: patched");
    s.set("/ws/clusters/sync.yaml", &SYNC.replace("  prune: true\n", "  prune: true\n  targetNamespace: apps\n"));
    assert_eq!(s.patches(), 0, "a Flux Kustomization given a targetNamespace: rebuilt");
    s.set("/ws/clusters/sync.yaml", SYNC);
    s.set("/ws/sources.yaml", &SOURCES.replace("name: app", "name: ap"));
    assert_eq!(s.patches(), 0, "a source a Flux Kustomization applies from was renamed: rebuilt");
    s.set("/ws/sources.yaml", SOURCES);
    s.set(
        "/ws/apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources:\n  - releases.yaml\n",
    );
    s.set(
        "/ws/apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: other\nresources:\n  - releases.yaml\n",
    );
    assert_eq!(s.patches(), 0, "a kustomization edited: rebuilt");
}

/// Typing a Flux Kustomization between two others of a file, then erasing
/// it: its path passes through `.` (the whole repository), `./apps` and
/// directories that do not exist, its source through names that are not
/// this repository, its dependsOn through names that do not resolve; the
/// Kustomization after it moves to a new index and back. The files each
/// one applies (which decide the substitution variables of those files)
/// and where they come from must equal a fresh build at every step, and
/// every step is a patch.
#[test]
fn typing_a_flux_kustomization_patches_the_model() {
    let mut s = start();
    s.set(
        "/ws/infra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n",
    );
    s.set(
        "/ws/infra/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: infra\ndata:\n  a: ${VAR}\n",
    );
    s.set("/ws/infra/unused.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n  namespace: infra\n");
    let head = format!("{SYNC}{}", flux_ks("infra", "./infra", "flux-system", &[]));
    // typed on an empty line of its own, as after pressing Enter
    let tail = format!("\n{}", flux_ks("last", "./apps", "flux-system", &["infra"]));
    s.set("/ws/clusters/sync.yaml", &format!("{head}{tail}"));
    let model = s.ws.ref_model();
    let infra = model.applied_by.get(std::path::Path::new("/ws/infra/cm.yaml")).cloned().unwrap_or_default();
    assert_eq!(infra, vec![(PathBuf::from("/ws/clusters/sync.yaml"), 1)], "cm.yaml is applied by `infra`");
    assert!(!model.applied_by.contains_key(std::path::Path::new("/ws/infra/unused.yaml")), "not in the kustomization");
    let before = s.patches();
    let changed = s.changed;
    let typed = flux_ks("typed", "./apps/../infra", "flux-system", &["last", "infra"]);
    s.type_and_erase("/ws/clusters/sync.yaml", &head, &tail, &typed);
    assert!(s.changed - changed > 50, "{} summary changes", s.changed - changed);
    assert_eq!(s.patches() - before, s.changed - changed, "every summary change patched");
}

/// Random edits of a file of releases, policies and marked deployments:
/// objects renamed among a few names (so names collide, go missing and
/// come back), dependsOn entries added and removed (cycles), documents
/// inserted and deleted anywhere (Git sources among them, one of which a
/// Flux Kustomization applies from), namespaces changed. 400 steps, each
/// compared with a fresh build.
#[test]
fn random_edits_match_a_fresh_build() {
    let names = ["a", "b", "c", "ab", "pol", "charts", "chart", "app"];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut docs: Vec<String> = vec![release("a", &[]), release("b", &["a"]), release("c", &["b"])];
    let mut s = start();
    for _ in 0..400 {
        let at = next(docs.len() + 1);
        let name = names[next(names.len())];
        match next(6) {
            0 | 1 if !docs.is_empty() => {
                // rename an object (its first `name:`)
                let i = at.min(docs.len() - 1);
                let d = &docs[i];
                let start = d.find("  name: ").unwrap() + 8;
                let end = start + d[start..].find('\n').unwrap();
                docs[i] = format!("{}{name}{}", &d[..start], &d[end..]);
            }
            2 => {
                let deps: Vec<&str> = (0..next(3)).map(|_| names[next(names.len())]).collect();
                docs.insert(at, release(name, &deps));
            }
            3 if next(3) == 0 => {
                // a Flux Kustomization applying from this repository or not,
                // sometimes into a namespace (rebuilt)
                let path = ["./apps", "./", "./clusters", "./nope"][next(4)];
                let source = ["flux-system", "app"][next(2)];
                let deps: Vec<&str> = (0..next(2)).map(|_| names[next(names.len())]).collect();
                let mut doc = flux_ks(name, path, source, &deps);
                if next(4) == 0 {
                    doc = doc.replace("  prune: true\n", "  prune: true\n  targetNamespace: apps\n");
                }
                docs.insert(at, doc);
            }
            3 => {
                let doc = match next(3) {
                    0 => POLICY.replace("name: pol", &format!("name: {name}")),
                    1 => DEPLOY.replace("apps:pol", &format!("apps:{name}")),
                    // a Git source: named `app`, it is what a Flux Kustomization applies
                    _ => SOURCES.split("---\n").next().unwrap().replace("name: app", &format!("name: {name}")),
                };
                docs.insert(at, format!("---\n{doc}"));
            }
            4 if !docs.is_empty() => {
                docs.remove(at.min(docs.len() - 1));
            }
            _ if !docs.is_empty() => {
                let i = at.min(docs.len() - 1);
                docs[i] = docs[i].replacen("namespace: apps", "namespace: other", 1);
            }
            _ => {}
        }
        s.set("/ws/apps/releases.yaml", &docs.concat());
    }
    assert!(s.patched > 300, "{} of 400 edits patched", s.patched);
}
