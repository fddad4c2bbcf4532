//! Version history of the Flux kinds: which versions were removed, by which
//! controller release and in which Flux release, and how a document moves
//! from a removed version to the current one.

/// A removed API version of some kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    pub group: &'static str,
    pub kinds: &'static [&'static str],
    pub version: &'static str,
    /// The controller release that removed it, e.g. `source-controller v1.8.0`.
    pub controller: &'static str,
    /// The Flux release that shipped that controller, e.g. `Flux 2.8`, or a
    /// year for pre-GA removals.
    pub flux: &'static str,
}

/// The current version of some kinds and since when it is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Current {
    pub group: &'static str,
    pub kinds: &'static [&'static str],
    pub version: &'static str,
    pub since: &'static str,
}

const SRC: &str = "source.toolkit.fluxcd.io";
const KS: &str = "kustomize.toolkit.fluxcd.io";
const HELM: &str = "helm.toolkit.fluxcd.io";
const NOTIF: &str = "notification.toolkit.fluxcd.io";
const IMG: &str = "image.toolkit.fluxcd.io";

const fn r(
    group: &'static str,
    kinds: &'static [&'static str],
    version: &'static str,
    controller: &'static str,
    flux: &'static str,
) -> Removal {
    Removal { group, kinds, version, controller, flux }
}

pub const REMOVALS: &[Removal] = &[
    r(SRC, &["GitRepository"], "v1alpha1", "source-controller v0.1.0", "2020"),
    r(
        SRC,
        &["GitRepository", "HelmRepository", "HelmChart", "Bucket"],
        "v1beta1",
        "source-controller v1.7.0",
        "Flux 2.7",
    ),
    r(
        SRC,
        &["GitRepository", "HelmRepository", "HelmChart", "Bucket", "OCIRepository"],
        "v1beta2",
        "source-controller v1.8.0",
        "Flux 2.8",
    ),
    r(KS, &["Kustomization"], "v1beta1", "kustomize-controller v1.7.0", "Flux 2.7"),
    r(KS, &["Kustomization"], "v1beta2", "kustomize-controller v1.8.0", "Flux 2.8"),
    r(HELM, &["HelmRelease"], "v2beta1", "helm-controller v1.4.0", "Flux 2.7"),
    r(HELM, &["HelmRelease"], "v2beta2", "helm-controller v1.5.0", "Flux 2.8"),
    r(NOTIF, &["Receiver", "Alert", "Provider"], "v1beta1", "notification-controller v1.7.0", "Flux 2.7"),
    r(NOTIF, &["Receiver", "Alert", "Provider"], "v1beta2", "notification-controller v1.9.0", "Flux 2.9"),
    r(IMG, &["ImageRepository", "ImagePolicy"], "v1alpha1", "image-reflector-controller v0.23.0", "2022"),
    r(IMG, &["ImageRepository", "ImagePolicy"], "v1alpha2", "image-reflector-controller v0.23.0", "2022"),
    r(IMG, &["ImageRepository", "ImagePolicy"], "v1beta1", "image-reflector-controller v1.0.0", "Flux 2.7"),
    r(IMG, &["ImageRepository", "ImagePolicy"], "v1beta2", "image-reflector-controller v1.2.0", "Flux 2.9"),
    r(IMG, &["ImageUpdateAutomation"], "v1alpha1", "image-automation-controller v0.27.0", "2022"),
    r(IMG, &["ImageUpdateAutomation"], "v1alpha2", "image-automation-controller v0.27.0", "2022"),
    r(IMG, &["ImageUpdateAutomation"], "v1beta1", "image-automation-controller v1.0.0", "Flux 2.7"),
    r(IMG, &["ImageUpdateAutomation"], "v1beta2", "image-automation-controller v1.2.0", "Flux 2.9"),
];

pub const CURRENT: &[Current] = &[
    Current { group: SRC, kinds: &["GitRepository"], version: "v1", since: "source-controller v1.0.0 (Flux 2.0)" },
    Current {
        group: SRC,
        kinds: &["HelmRepository", "HelmChart"],
        version: "v1",
        since: "source-controller v1.3.0 (Flux 2.3)",
    },
    Current { group: SRC, kinds: &["Bucket"], version: "v1", since: "source-controller v1.4.0 (Flux 2.4)" },
    Current { group: SRC, kinds: &["OCIRepository"], version: "v1", since: "source-controller v1.6.0 (Flux 2.6)" },
    Current { group: SRC, kinds: &["ExternalArtifact"], version: "v1", since: "source-controller v1.7.0 (Flux 2.7)" },
    Current { group: KS, kinds: &["Kustomization"], version: "v1", since: "kustomize-controller v1.0.0 (Flux 2.0)" },
    Current { group: HELM, kinds: &["HelmRelease"], version: "v2", since: "helm-controller v1.0.0 (Flux 2.3)" },
    Current { group: NOTIF, kinds: &["Receiver"], version: "v1", since: "notification-controller v1.0.0 (Flux 2.0)" },
    Current {
        group: NOTIF,
        kinds: &["Alert", "Provider"],
        version: "v1beta3",
        since: "notification-controller v1.2.0 (Flux 2.2)",
    },
    Current {
        group: IMG,
        kinds: &["ImageRepository", "ImagePolicy"],
        version: "v1",
        since: "image-reflector-controller v1.0.0 (Flux 2.7)",
    },
    Current {
        group: IMG,
        kinds: &["ImageUpdateAutomation"],
        version: "v1",
        since: "image-automation-controller v1.0.0 (Flux 2.7)",
    },
    Current {
        group: "source.extensions.fluxcd.io",
        kinds: &["ArtifactGenerator"],
        version: "v1beta1",
        since: "source-watcher v2.0.0 (Flux 2.7)",
    },
];

/// The removal of `group/version` for `kind`, if that version was removed.
pub fn removed(group: &str, version: &str, kind: &str) -> Option<&'static Removal> {
    REMOVALS.iter().find(|r| r.group == group && r.version == version && r.kinds.contains(&kind))
}

pub fn current(group: &str, kind: &str) -> Option<&'static Current> {
    CURRENT.iter().find(|c| c.group == group && c.kinds.contains(&kind))
}

/// Every removed version of a kind, oldest first.
pub fn removed_versions(group: &str, kind: &str) -> impl Iterator<Item = &'static Removal> {
    let (group, kind) = (group.to_string(), kind.to_string());
    REMOVALS.iter().filter(move |r| r.group == group && r.kinds.contains(&kind.as_str()))
}

/// One change a migration makes below the object root. Paths are keys; `*`
/// stands for every item of a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `from: x` → `to: [x]` (a scalar becomes a one-item list).
    ToList { at: &'static [&'static str], from: &'static str, to: &'static str },
    /// `patchesStrategicMerge` / `patchesJson6902` under `at` → `patches`.
    Patches { at: &'static [&'static str] },
    /// A field the new version no longer has.
    Drop { at: &'static [&'static str], key: &'static str },
}

/// The field changes that moving `kind` to its current version implies.
pub fn changes(group: &str, kind: &str) -> &'static [Change] {
    match (group, kind) {
        (KS, "Kustomization") => {
            &[Change::Patches { at: &["spec"] }, Change::Drop { at: &["spec"], key: "validation" }]
        }
        (HELM, "HelmRelease") => &[
            Change::ToList { at: &["spec", "chart", "spec"], from: "valuesFile", to: "valuesFiles" },
            Change::Patches { at: &["spec", "postRenderers", "*", "kustomize"] },
        ],
        (SRC, "HelmChart") => &[Change::ToList { at: &["spec"], from: "valuesFile", to: "valuesFiles" }],
        (SRC, "GitRepository") => &[
            Change::Drop { at: &["spec"], key: "gitImplementation" },
            Change::Drop { at: &["spec"], key: "accessFrom" },
        ],
        (SRC, "Bucket") => &[Change::Drop { at: &["spec"], key: "accessFrom" }],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_name_the_flux_release() {
        let r = removed("source.toolkit.fluxcd.io", "v1beta2", "OCIRepository").unwrap();
        assert_eq!((r.controller, r.flux), ("source-controller v1.8.0", "Flux 2.8"));
        assert_eq!(removed("helm.toolkit.fluxcd.io", "v2beta1", "HelmRelease").unwrap().flux, "Flux 2.7");
        assert!(removed("notification.toolkit.fluxcd.io", "v1beta3", "Alert").is_none());
        assert_eq!(removed_versions("source.toolkit.fluxcd.io", "GitRepository").count(), 3);
        assert_eq!(current("notification.toolkit.fluxcd.io", "Provider").unwrap().version, "v1beta3");
    }
}
