//! A typed model of a CRD's `openAPIV3Schema` (the subset Kubernetes
//! structural schemas use), serialisable so the built-in catalog can be
//! generated once and compiled in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `type` of a schema node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    pub fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }
}

/// One `x-kubernetes-validations` entry (a CEL rule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One node of an openAPIV3Schema. Missing keywords are `None`/empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<Type>,
    /// In schema order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<(String, Schema)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    /// `additionalProperties` with a schema (a map); `true` is stored as an
    /// empty schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Box<Schema>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve_unknown_fields: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub int_or_string: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<Rule>,
    /// Upstream description: kept for run-time CRDs, never in the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The Go duration pattern the Flux CRDs put on interval/timeout fields.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

impl Schema {
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties.iter().find(|(k, _)| k == name).map(|(_, s)| s)
    }

    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }

    /// The schema of a child key: a declared property, else the map's value
    /// schema.
    pub fn child(&self, key: &str) -> Option<&Schema> {
        self.property(key).or(self.additional_properties.as_deref())
    }

    /// The schema of a key of an object's root: `metadata` gets the standard
    /// ObjectMeta fields when the CRD leaves it open (CRDs always do).
    pub fn root_child(&self, key: &str) -> Option<&Schema> {
        match self.child(key) {
            Some(m) if key == "metadata" && m.properties.is_empty() => Some(object_meta()),
            None if key == "metadata" => Some(object_meta()),
            other => other,
        }
    }

    /// True when any key is accepted below this node (free-form objects).
    pub fn is_free_form(&self) -> bool {
        self.preserve_unknown_fields
            || (self.ty.is_none() && self.properties.is_empty() && self.items.is_none())
            || (self.ty == Some(Type::Object) && self.properties.is_empty() && self.additional_properties.is_none())
    }

    /// A string field holding a Go duration.
    pub fn is_duration(&self) -> bool {
        self.pattern.as_deref() == Some(DURATION_PATTERN)
    }

    /// A short type label for hover and completion details.
    pub fn type_label(&self) -> String {
        if self.int_or_string {
            return "integer | string".into();
        }
        match self.ty {
            Some(Type::Array) => match self.items.as_deref() {
                Some(i) => format!("{}[]", i.type_label()),
                None => "array".into(),
            },
            Some(Type::Object) if self.properties.is_empty() => match self.additional_properties.as_deref() {
                Some(v) if v.ty.is_some() => format!("map[string]{}", v.type_label()),
                _ => "object".into(),
            },
            Some(Type::String) if self.is_duration() => "duration".into(),
            Some(t) => t.as_str().into(),
            None => "any".into(),
        }
    }

    /// Drops every description (the generator writes facts only).
    pub fn strip_descriptions(&mut self) {
        let mut stack: Vec<&mut Schema> = vec![self];
        while let Some(s) = stack.pop() {
            s.description = None;
            for (_, p) in &mut s.properties {
                stack.push(p);
            }
            if let Some(i) = s.items.as_deref_mut() {
                stack.push(i);
            }
            if let Some(a) = s.additional_properties.as_deref_mut() {
                stack.push(a);
            }
        }
    }

    /// Builds the model from JSON (a CRD's `openAPIV3Schema`). Unknown
    /// keywords are ignored; nesting is bounded.
    pub fn from_json(v: &Value) -> Schema {
        Self::from_json_depth(v, 0)
    }

    fn from_json_depth(v: &Value, depth: usize) -> Schema {
        let mut s = Schema::default();
        let Some(o) = v.as_object() else { return s };
        if depth > 64 {
            s.preserve_unknown_fields = true;
            return s;
        }
        let str_of = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let u64_of = |k: &str| o.get(k).and_then(Value::as_u64);
        s.ty = o.get("type").and_then(Value::as_str).and_then(Type::parse);
        if let Some(props) = o.get("properties").and_then(Value::as_object) {
            s.properties = props.iter().map(|(k, p)| (k.clone(), Self::from_json_depth(p, depth + 1))).collect();
        }
        if let Some(req) = o.get("required").and_then(Value::as_array) {
            s.required = req.iter().filter_map(Value::as_str).map(str::to_string).collect();
        }
        if let Some(e) = o.get("enum").and_then(Value::as_array) {
            s.enum_values = e.clone();
        }
        s.default = o.get("default").cloned();
        s.format = str_of("format");
        s.pattern = str_of("pattern");
        s.minimum = o.get("minimum").and_then(Value::as_f64);
        s.maximum = o.get("maximum").and_then(Value::as_f64);
        s.min_length = u64_of("minLength");
        s.max_length = u64_of("maxLength");
        s.min_items = u64_of("minItems");
        s.max_items = u64_of("maxItems");
        if let Some(i) = o.get("items") {
            s.items = Some(Box::new(Self::from_json_depth(i, depth + 1)));
        }
        match o.get("additionalProperties") {
            Some(Value::Bool(true)) => s.additional_properties = Some(Box::default()),
            Some(a @ Value::Object(_)) => s.additional_properties = Some(Box::new(Self::from_json_depth(a, depth + 1))),
            _ => {}
        }
        s.preserve_unknown_fields =
            o.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
        s.int_or_string = o.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
        if let Some(rules) = o.get("x-kubernetes-validations").and_then(Value::as_array) {
            s.validations = rules
                .iter()
                .filter_map(|r| {
                    Some(Rule {
                        rule: r.get("rule")?.as_str()?.to_string(),
                        message: r.get("message").and_then(Value::as_str).map(str::to_string),
                    })
                })
                .collect();
        }
        s.description = str_of("description");
        s
    }
}

/// One version of a kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionDef {
    pub name: String,
    #[serde(default = "yes")]
    pub served: bool,
    #[serde(default)]
    pub storage: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    pub schema: Schema,
}

fn yes() -> bool {
    true
}

/// A kind with its versions, from a CRD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindDef {
    pub group: String,
    pub kind: String,
    #[serde(default)]
    pub plural: String,
    #[serde(default)]
    pub namespaced: bool,
    pub versions: Vec<VersionDef>,
}

impl KindDef {
    pub fn version(&self, v: &str) -> Option<&VersionDef> {
        self.versions.iter().find(|x| x.name == v)
    }
    /// The storage version, else the first served one.
    pub fn preferred(&self) -> Option<&VersionDef> {
        self.versions.iter().find(|v| v.storage).or_else(|| self.versions.iter().find(|v| v.served))
    }
    pub fn api_version(&self, v: &str) -> String {
        format!("{}/{}", self.group, v)
    }
}

/// The standard Kubernetes ObjectMeta fields a manifest may set.
pub fn object_meta() -> &'static Schema {
    static META: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    META.get_or_init(|| {
        let string = || Schema { ty: Some(Type::String), ..Schema::default() };
        let string_map =
            || Schema { ty: Some(Type::Object), additional_properties: Some(Box::new(string())), ..Schema::default() };
        let free = |ty| Schema { ty: Some(ty), preserve_unknown_fields: true, ..Schema::default() };
        let list_of_strings = Schema { ty: Some(Type::Array), items: Some(Box::new(string())), ..Schema::default() };
        Schema {
            ty: Some(Type::Object),
            properties: vec![
                ("name".into(), string()),
                ("namespace".into(), string()),
                ("labels".into(), string_map()),
                ("annotations".into(), string_map()),
                ("generateName".into(), string()),
                ("finalizers".into(), list_of_strings),
                ("ownerReferences".into(), free(Type::Array)),
                ("uid".into(), string()),
                ("resourceVersion".into(), string()),
                ("generation".into(), Schema { ty: Some(Type::Integer), ..Schema::default() }),
                ("creationTimestamp".into(), Schema { ty: None, ..Schema::default() }),
                ("deletionTimestamp".into(), string()),
                ("deletionGracePeriodSeconds".into(), Schema { ty: Some(Type::Integer), ..Schema::default() }),
                ("managedFields".into(), free(Type::Array)),
                ("selfLink".into(), string()),
            ],
            ..Schema::default()
        }
    })
}
