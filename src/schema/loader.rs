//! Turns CustomResourceDefinition YAML into [`KindDef`]s. Used at run time
//! for CRDs found in the workspace and by the catalog generator.

use serde_json::Value;

use super::model::{KindDef, Schema, VersionDef};

/// Every CRD in a (multi-document) YAML text. Documents that are not
/// `apiextensions.k8s.io` CRDs, or fail to parse, are skipped.
pub fn kinds_from_yaml(text: &str) -> Vec<KindDef> {
    if !text.contains("CustomResourceDefinition") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for doc in crate::syntax::split_documents(text) {
        let t = &text[doc.range.start..doc.range.end];
        if !t.contains("CustomResourceDefinition") {
            continue;
        }
        let Ok(v) = serde_saphyr::from_str::<Value>(t) else { continue };
        if let Some(k) = kind_from_crd(&v) {
            out.push(k);
        }
    }
    out
}

/// One CRD object (as JSON) to a kind.
pub fn kind_from_crd(v: &Value) -> Option<KindDef> {
    if v.get("kind")?.as_str()? != "CustomResourceDefinition" {
        return None;
    }
    if !v.get("apiVersion")?.as_str()?.starts_with("apiextensions.k8s.io/") {
        return None;
    }
    let spec = v.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let kind = names.get("kind")?.as_str()?.to_string();
    let plural = names.get("plural").and_then(Value::as_str).unwrap_or("").to_string();
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    // apiextensions v1beta1 had a top-level validation schema
    let top = spec.get("validation").and_then(|x| x.get("openAPIV3Schema"));
    let versions = spec
        .get("versions")?
        .as_array()?
        .iter()
        .filter_map(|ver| {
            let name = ver.get("name")?.as_str()?.to_string();
            let schema = ver.get("schema").and_then(|s| s.get("openAPIV3Schema")).or(top);
            Some(VersionDef {
                name,
                served: ver.get("served").and_then(Value::as_bool).unwrap_or(true),
                storage: ver.get("storage").and_then(Value::as_bool).unwrap_or(false),
                deprecated: ver.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
                schema: schema
                    .map(Schema::from_json)
                    .unwrap_or_else(|| Schema { preserve_unknown_fields: true, ..Schema::default() }),
            })
        })
        .collect();
    Some(KindDef { group, kind, plural, namespaced, versions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::Type;

    const CRD: &str = r#"---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: The widget's wishes.
            required: [size]
            x-kubernetes-validations:
            - rule: has(self.size)
              message: size please
            properties:
              size:
                type: integer
                minimum: 1
                maximum: 10
                default: 3
              mode:
                type: string
                enum: [fast, slow]
              labels:
                type: object
                additionalProperties:
                  type: string
              port:
                x-kubernetes-int-or-string: true
              raw:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              items:
                type: array
                items:
                  type: string
                  pattern: ^a
                  minLength: 1
                  maxLength: 5
---
apiVersion: v1
kind: ConfigMap
"#;

    #[test]
    fn loads_crd_schema_keywords() {
        let ks = kinds_from_yaml(CRD);
        assert_eq!(ks.len(), 1);
        let k = &ks[0];
        assert_eq!(
            (k.group.as_str(), k.kind.as_str(), k.plural.as_str(), k.namespaced),
            ("example.com", "Widget", "widgets", true)
        );
        let v = k.version("v1").unwrap();
        assert!(v.storage && v.served);
        let spec = v.schema.property("spec").unwrap();
        assert_eq!(spec.description.as_deref(), Some("The widget's wishes."));
        assert!(spec.is_required("size"));
        assert_eq!(spec.validations[0].message.as_deref(), Some("size please"));
        let size = spec.property("size").unwrap();
        assert_eq!((size.ty, size.minimum, size.maximum), (Some(Type::Integer), Some(1.0), Some(10.0)));
        assert_eq!(size.default, Some(serde_json::json!(3)));
        assert_eq!(spec.property("mode").unwrap().enum_values.len(), 2);
        assert_eq!(spec.property("labels").unwrap().type_label(), "map[string]string");
        assert!(spec.property("port").unwrap().int_or_string);
        assert!(spec.property("raw").unwrap().is_free_form());
        let items = spec.property("items").unwrap().items.as_deref().unwrap();
        assert_eq!((items.pattern.as_deref(), items.min_length, items.max_length), (Some("^a"), Some(1), Some(5)));
        let mut names: Vec<_> = spec.properties.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["items", "labels", "mode", "port", "raw", "size"]);
    }

    #[test]
    fn catalog_round_trip_drops_descriptions() {
        let mut k = kinds_from_yaml(CRD).remove(0);
        for v in &mut k.versions {
            v.schema.strip_descriptions();
        }
        let json = serde_json::to_string(&k).unwrap();
        assert!(!json.contains("wishes"));
        let back: KindDef = serde_json::from_str(&json).unwrap();
        assert_eq!(back, k);
    }
}
