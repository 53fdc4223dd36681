//! The scale-out recipe in `deploy/` stays true to the server: the
//! Kubernetes manifest parsed (serde-saphyr, every document) and checked
//! where it matters (probes on the admin port's `/healthz` and `/readyz`,
//! ports matching the server's defaults and flags, non-root, media
//! mounted read-only, a grace period longer than the drain), its flags and
//! embedded configuration accepted by the real binary; and the
//! Containerfile's structure (multi-stage, non-root, the ports exposed,
//! everything cargo needs copied in). No container engine or cluster runs
//! here: this checks what can be checked without one.

mod common;

use std::path::Path;
use std::process::Command;

use common::Bounded;
use mediatool::server::config::{ServerConfig, Settings, DEFAULT_ADMIN};
use mediatool::server::listener::{DEFAULT_PORTS, HTTP_PORTS};
use serde_json::Value;

fn repo(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn documents() -> Vec<Value> {
    serde_saphyr::from_multiple(&repo("deploy/kubernetes.yaml")).expect("valid YAML")
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The value of `--name=VALUE` among `args`.
fn flag<'a>(args: &'a [Value], name: &str) -> &'a str {
    args.iter()
        .find_map(|a| a.as_str()?.strip_prefix(&format!("--{name}=")))
        .unwrap_or_else(|| panic!("no --{name}= in {args:?}"))
}

#[test]
fn the_manifest_parses_and_holds_together() {
    let docs = documents();
    for doc in &docs {
        assert!(
            doc["apiVersion"].is_string() && doc["metadata"]["name"].is_string(),
            "{doc}"
        );
    }
    let deployments = of_kind(&docs, "Deployment");
    assert_eq!(deployments.len(), 1);
    let deployment = deployments[0];
    assert_eq!(deployment["apiVersion"], "apps/v1");
    let spec = &deployment["spec"];
    let labels = &spec["template"]["metadata"]["labels"];
    assert_eq!(&spec["selector"]["matchLabels"], labels);
    assert!(
        spec["replicas"].as_u64().unwrap() >= 2,
        "scale-out means replicas"
    );
    let pod = &spec["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let ports = container["ports"].as_array().unwrap();
    let port_named = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no container port {name}"))["containerPort"]
            .as_u64()
            .unwrap()
    };
    let args = container["args"].as_array().unwrap();

    // The ports: the server's own defaults, and the flags saying so.
    assert_eq!(port_named("rtsp"), u64::from(DEFAULT_PORTS[1]));
    assert_eq!(flag(args, "port"), DEFAULT_PORTS[1].to_string());
    assert!(HTTP_PORTS.contains(&(port_named("rtsp-http") as u16)));
    assert_eq!(flag(args, "http-port"), port_named("rtsp-http").to_string());
    assert_eq!(port_named("admin"), u64::from(DEFAULT_ADMIN.port()));
    assert_eq!(
        flag(args, "admin"),
        format!("0.0.0.0:{}", DEFAULT_ADMIN.port()),
        "the admin listener must leave loopback for the kubelet to probe it"
    );
    for port in ports {
        assert_eq!(port["protocol"], "TCP");
    }

    // Probes on the admin port.
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], "admin", "{probe}");
    }

    // Not root, nothing to escalate to.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_ne!(pod["securityContext"]["runAsUser"], 0);
    let container_security = &container["securityContext"];
    assert_eq!(container_security["allowPrivilegeEscalation"], false);
    assert_eq!(container_security["readOnlyRootFilesystem"], true);

    // The media, read-only both in the mount and in the claim.
    let mounts = container["volumeMounts"].as_array().unwrap();
    let media = mounts.iter().find(|m| m["name"] == "media").unwrap();
    assert_eq!(media["readOnly"], true);
    assert_eq!(media["mountPath"], "/media");
    let volumes = pod["volumes"].as_array().unwrap();
    let claim = &volumes.iter().find(|v| v["name"] == "media").unwrap()["persistentVolumeClaim"];
    assert_eq!(claim["readOnly"], true);
    for mount in mounts {
        assert!(
            volumes.iter().any(|v| v["name"] == mount["name"]),
            "{mount}"
        );
    }

    // The configuration in the ConfigMap is one the server accepts, and
    // the grace period outlasts its drain.
    let config_path = flag(args, "config");
    let (dir, file) = config_path.rsplit_once('/').unwrap();
    let config_mount = mounts.iter().find(|m| m["mountPath"] == dir).unwrap();
    let config_volume = volumes
        .iter()
        .find(|v| v["name"] == config_mount["name"])
        .unwrap();
    let map_name = &config_volume["configMap"]["name"];
    let config_map = of_kind(&docs, "ConfigMap")
        .into_iter()
        .find(|c| &c["metadata"]["name"] == map_name)
        .unwrap();
    let yaml = str_of(&config_map["data"][file]);
    let config = ServerConfig::try_from(Settings::from_yaml(yaml).unwrap()).unwrap();
    assert!(
        !config.drain_timeout.is_zero(),
        "a rolling update wants a drain"
    );
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace > config.drain_timeout.as_secs(), "{grace} s");

    // The flags are the binary's: it gets past them (and the YAML) to the
    // missing directory.
    let scratch = tempfile::tempdir().unwrap();
    let yaml_file = scratch.path().join("serve.yaml");
    std::fs::write(&yaml_file, yaml).unwrap();
    let missing = scratch.path().join("no-media");
    let output = Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .arg("serve")
        .arg(&missing)
        .args(
            args.iter()
                .map(str_of)
                .filter(|a| !a.starts_with("--config=")),
        )
        .arg(format!("--config={}", yaml_file.display()))
        .output_bounded();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no-media"), "{stderr}");

    // Services: RTSP over TCP to the pods' named ports, with client
    // affinity (an HTTP tunnel's two legs meet on one replica); the admin
    // port inside the cluster.
    let services = of_kind(&docs, "Service");
    assert_eq!(services.len(), 2);
    for service in &services {
        let spec = &service["spec"];
        for (key, value) in spec["selector"].as_object().unwrap() {
            assert_eq!(&labels[key], value, "{service}");
        }
        for port in spec["ports"].as_array().unwrap() {
            assert_eq!(port["protocol"], "TCP");
            port_named(str_of(&port["targetPort"]));
        }
    }
    let rtsp = services
        .iter()
        .find(|s| {
            s["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["targetPort"] == "rtsp")
        })
        .expect("a Service for RTSP");
    assert_eq!(rtsp["spec"]["sessionAffinity"], "ClientIP");
    let admin = services
        .iter()
        .find(|s| s["spec"]["ports"][0]["targetPort"] == "admin")
        .expect("a Service for the admin port");
    assert_eq!(admin["spec"]["type"], "ClusterIP");
    assert_eq!(
        admin["metadata"]["annotations"]["prometheus.io/path"],
        "/metrics"
    );
}

/// The instructions of a Containerfile, continuation lines joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            pending.push_str(part);
            continue;
        }
        pending.push_str(line);
        let (keyword, rest) = pending.split_once(' ').unwrap_or((&pending, ""));
        out.push((keyword.to_uppercase(), rest.trim().to_owned()));
        pending.clear();
    }
    out
}

#[test]
fn the_containerfile_builds_in_stages_and_runs_as_no_root() {
    let text = repo("deploy/Containerfile");
    let steps = instructions(&text);
    let froms: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(froms.len(), 2, "a build stage and a run stage");
    let build_stage = steps[froms[0]]
        .1
        .rsplit_once(" AS ")
        .expect("a named build stage")
        .1;
    let run = &steps[froms[1]..];
    let get = |keyword: &str| -> Vec<&str> {
        run.iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    // The binary comes from the build stage; nothing else does.
    let copies = get("COPY");
    assert_eq!(copies.len(), 1);
    assert!(
        copies[0].starts_with(&format!("--from={build_stage} ")),
        "{copies:?}"
    );
    // A numeric user that is not root (runAsNonRoot can check a number).
    let user = get("USER");
    assert_eq!(user.len(), 1);
    let uid: u32 = user[0].split(':').next().unwrap().parse().unwrap();
    assert_ne!(uid, 0);
    let manifest: Value = documents()
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    let security = &manifest["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(security["runAsUser"], uid);
    // The ports the manifest names are exposed.
    let exposed: Vec<&str> = get("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .collect();
    for port in manifest["spec"]["template"]["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
    {
        let port = format!("{}/tcp", port["containerPort"]);
        assert!(
            exposed.contains(&port.as_str()),
            "{port} not in {exposed:?}"
        );
    }
    assert!(
        exposed.contains(&"6970/udp"),
        "the RTP/RTCP pair: {exposed:?}"
    );
    let entrypoint = get("ENTRYPOINT");
    assert_eq!(entrypoint.len(), 1);
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint[0]).unwrap();
    assert_eq!(entrypoint[1..], ["serve", "/media"]);
    let cmd: Vec<String> = serde_json::from_str(get("CMD")[0]).unwrap();
    assert!(
        cmd.contains(&format!("0.0.0.0:{}", DEFAULT_ADMIN.port())),
        "{cmd:?}"
    );

    // The build stage copies what cargo reads (every target's path), and
    // the ignore file lets exactly that through.
    let build = &steps[froms[0]..froms[1]];
    let copied: Vec<String> = build
        .iter()
        .filter(|(k, _)| k == "COPY")
        .flat_map(|(_, v)| {
            let mut parts: Vec<&str> = v.split_whitespace().collect();
            parts.pop();
            parts
                .into_iter()
                .map(|p| p.trim_end_matches('/').to_owned())
        })
        .collect();
    let manifest_toml = repo("Cargo.toml");
    let mut needed = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    for line in manifest_toml.lines() {
        if let Some(path) = line.strip_prefix("path = ") {
            needed.push(path.trim_matches('"').split('/').next().unwrap().to_owned());
        }
        if let Some(name) = line.strip_prefix("name = ") {
            let bench = format!("benches/{}.rs", name.trim_matches('"'));
            if Path::new(env!("CARGO_MANIFEST_DIR")).join(&bench).exists() {
                needed.push("benches".to_owned());
            }
        }
    }
    needed.sort();
    needed.dedup();
    for path in &needed {
        assert!(copied.contains(path), "{path} is not copied: {copied:?}");
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(path).exists(),
            "{path}"
        );
    }
    let ignore = repo("deploy/Containerfile.dockerignore");
    let allowed: Vec<&str> = ignore
        .lines()
        .filter_map(|l| l.strip_prefix('!'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    let mut copied_sorted = copied.clone();
    copied_sorted.sort();
    let mut allowed_sorted: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
    allowed_sorted.sort();
    assert_eq!(copied_sorted, allowed_sorted);
}
