//! The Kubernetes manifests of `k8s/`, rendered by `kubectl kustomize` and read as JSON
//! values, with what a kubelet would give a container: its command and arguments, and its
//! environment with `$(VAR)` references, `fieldRef`s and `secretKeyRef`s resolved. Tests
//! and `make demo` start pods from these, so the manifests themselves are exercised.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::release::repo_root;

/// Every object `kubectl kustomize k8s/` renders.
pub struct Rendered {
    /// The objects, in the order rendered.
    pub objects: Vec<Value>,
}

/// What the kubelet would fill in for one pod.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// `status.podIP`.
    pub pod_ip: String,
    /// Secret values to use instead of the rendered ones: `(secret name, key) -> value`
    /// (tests use a random cookie, never the placeholder).
    pub secrets: BTreeMap<(String, String), String>,
}

impl Rendered {
    /// Runs `kubectl kustomize k8s/` (offline) and parses every document. Panics with
    /// kubectl's message if it fails, or asks for `make deps` when kubectl is missing.
    pub fn render() -> Rendered {
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(repo_root().join("k8s"))
            .output()
            .expect("run kubectl (`make deps` installs it)");
        assert!(
            out.status.success(),
            "kubectl kustomize k8s/ failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Rendered::parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// Parses a multi-document YAML stream.
    pub fn parse(yaml: &str) -> Rendered {
        let mut objects = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(yaml) {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("rendered YAML parses");
            if v.is_null() {
                continue;
            }
            objects.push(serde_json::to_value(&v).expect("YAML as JSON"));
        }
        Rendered { objects }
    }

    /// Every object of `kind`.
    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The object of `kind` named `name`; panics if there is none.
    pub fn get(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("the manifests have no {kind} named {name}"))
    }

    /// The first container of Deployment `deployment`.
    pub fn container(&self, deployment: &str) -> &Value {
        &self.get("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    }

    /// A Secret's value: `stringData.KEY`, or `data.KEY` (base64 is not decoded here:
    /// the manifests use `stringData`).
    pub fn secret_value(&self, secret: &str, key: &str) -> Option<String> {
        let s = self.get("Secret", secret);
        s["stringData"][key].as_str().map(str::to_string)
    }

    /// The environment of Deployment `deployment`'s first container, as the kubelet would
    /// set it for a pod described by `facts`: literal values with `$(VAR)` expanded from
    /// the variables before them, `fieldRef: status.podIP`, and `secretKeyRef`s. Panics on
    /// anything else (the test then needs to learn it).
    pub fn env(&self, deployment: &str, facts: &PodFacts) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let empty = Vec::new();
        for e in self.container(deployment)["env"].as_array().unwrap_or(&empty) {
            let name = e["name"].as_str().expect("env name").to_string();
            let value = if let Some(v) = e["value"].as_str() {
                expand(v, &out)
            } else if let Some(field) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                match field {
                    "status.podIP" => facts.pod_ip.clone(),
                    other => panic!("{deployment}: env {name} from fieldRef {other}: not simulated"),
                }
            } else if e["valueFrom"]["secretKeyRef"].is_object() {
                let r = &e["valueFrom"]["secretKeyRef"];
                let secret = r["name"].as_str().expect("secretKeyRef.name").to_string();
                let key = r["key"].as_str().expect("secretKeyRef.key").to_string();
                let rendered = self.secret_value(&secret, &key).unwrap_or_else(|| {
                    panic!("{deployment}: env {name} needs key {key} of Secret {secret}, which it lacks")
                });
                facts.secrets.get(&(secret, key)).cloned().unwrap_or(rendered)
            } else {
                panic!("{deployment}: env {name}: neither a value, a fieldRef nor a secretKeyRef")
            };
            out.push((name, value));
        }
        out
    }

    /// `command` then `args` of Deployment `deployment`'s first container.
    pub fn command_line(&self, deployment: &str) -> (Vec<String>, Vec<String>) {
        let c = self.container(deployment);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        (strings(&c["command"]), strings(&c["args"]))
    }

    /// The pod's `runAsUser` and `runAsGroup` (pod-level security context).
    pub fn run_as(&self, deployment: &str) -> (u32, u32) {
        let sc = &self.get("Deployment", deployment)["spec"]["template"]["spec"]["securityContext"];
        let id = |k: &str| sc[k].as_u64().unwrap_or_else(|| panic!("{deployment}: no {k}")) as u32;
        (id("runAsUser"), id("runAsGroup"))
    }

    /// The container port named `name` of Deployment `deployment`.
    pub fn container_port(&self, deployment: &str, name: &str) -> Option<u16> {
        self.container(deployment)["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .map(|p| p as u16)
    }
}

/// Kubernetes' `$(VAR)` expansion from the variables defined before (`$$` escapes `$`;
/// an unknown reference stays as written).
pub fn expand(value: &str, before: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("$$") {
            out.push('$');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("$(") {
            match t.find(')') {
                Some(end) => {
                    let var = &t[..end];
                    match before.iter().rev().find(|(k, _)| k == var) {
                        Some((_, v)) => out.push_str(v),
                        None => out.push_str(&tail[..end + 3]),
                    }
                    rest = &t[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The environment variable names the code reads: string literals `"BEAMLINK_..."`,
/// `"RELEASE_..."`, `"POD_IP"` and clap's `env = "..."` in the Rust files under `dir`
/// (recursively). For checking that manifests set only variables someone reads.
pub fn env_names_read_in(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read source dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "rs" | "ex" | "exs" | "eex") {
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("read source");
            for (i, _) in text.match_indices(['"', '{', '$']) {
                let tail = &text[i + 1..];
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let closed = tail[name.len()..].starts_with(['"', '}', ':', '-']);
                if closed && name.len() > 2 && name.contains('_') {
                    names.insert(name);
                }
            }
        }
    }
    names
}
