//! k8s/ against itself, against the code and against the real programs: the rendered
//! manifests (`kubectl kustomize k8s/`) agree on names, ports, keys and labels; they set
//! only variables the code reads, probe only routes the code serves; and pods started with
//! exactly the manifests' commands, environment and users (the example release, and
//! `beamlink join`) form the cluster the manifests describe.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use beamlink_e2e::manifests::{env_names_read_in, PodFacts, Rendered};
use beamlink_e2e::pods::PodNet;
use beamlink_e2e::release::{repo_root, AppRelease, Probe};
use beamlink_e2e::{beamlink_bin, eventually, http_get, random_cookie};
use serde_json::Value;

const APP: &str = "elixir-app";
const BEAMLINK: &str = "beamlink";

fn env_map(env: &[(String, String)]) -> BTreeMap<String, String> {
    env.iter().cloned().collect()
}

fn facts(ip: &str) -> PodFacts {
    PodFacts {
        pod_ip: ip.into(),
        secrets: BTreeMap::new(),
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(selector: &Value, pod_labels: &BTreeMap<String, String>) -> bool {
    labels(selector).iter().all(|(k, v)| pod_labels.get(k) == Some(v))
}

fn pod_labels(m: &Rendered, deployment: &str) -> BTreeMap<String, String> {
    labels(&m.get("Deployment", deployment)["spec"]["template"]["metadata"]["labels"])
}

/// The headless Service the Elixir app clusters through, and its DNS name.
fn headless_service(m: &Rendered) -> (&Value, String) {
    let services = m.of_kind("Service");
    let svc = services
        .iter()
        .find(|s| s["spec"]["clusterIP"] == "None")
        .expect("a headless Service (clusterIP: None)");
    let name = svc["metadata"]["name"].as_str().expect("name");
    let ns = svc["metadata"]["namespace"].as_str().expect("namespace");
    (svc, format!("{name}.{ns}.svc.cluster.local"))
}

#[test]
fn manifests_agree_with_each_other() {
    let m = Rendered::render();
    let ns = m.of_kind("Namespace");
    assert_eq!(ns.len(), 1, "one Namespace");
    let namespace = ns[0]["metadata"]["name"].as_str().expect("namespace name");
    for o in &m.objects {
        if o["kind"] != "Namespace" {
            assert_eq!(
                o["metadata"]["namespace"], namespace,
                "{} in another namespace",
                o["metadata"]["name"]
            );
        }
    }

    // Headless Service: selects the Elixir pods, names EPMD and the distribution port,
    // which are the container's ports of the same names.
    let (svc, _) = headless_service(&m);
    assert!(
        selects(&svc["spec"]["selector"], &pod_labels(&m, APP)),
        "the Service selects the Elixir pods"
    );
    assert!(
        !selects(&svc["spec"]["selector"], &pod_labels(&m, BEAMLINK)),
        "the Service must not select beamlink"
    );
    let svc_ports: BTreeMap<String, (u64, String)> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            let target = p["targetPort"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| p["targetPort"].to_string());
            (
                p["name"].as_str().expect("named port").to_string(),
                (p["port"].as_u64().expect("port"), target),
            )
        })
        .collect();
    assert_eq!(
        svc_ports.keys().cloned().collect::<BTreeSet<_>>(),
        ["dist".to_string(), "epmd".to_string()].into()
    );
    assert_eq!(svc_ports["epmd"].0, 4369);
    for (name, (port, target)) in &svc_ports {
        assert_eq!(
            m.container_port(APP, target).map(u64::from),
            Some(*port),
            "Service port {name} -> container port {target}"
        );
    }

    // Elixir Deployment: 3 replicas, POD_IP from the pod, the node name from it, the
    // distribution pinned to the named dist port, the cookie from the Secret.
    let app = m.get("Deployment", APP);
    assert_eq!(app["spec"]["replicas"], 3);
    assert!(selects(
        &app["spec"]["selector"]["matchLabels"],
        &pod_labels(&m, APP)
    ));
    let (_, fqdn) = headless_service(&m);
    let env = env_map(&m.env(APP, &facts("10.1.2.3")));
    assert_eq!(env["POD_IP"], "10.1.2.3");
    assert_eq!(env["RELEASE_DISTRIBUTION"], "name");
    assert_eq!(
        env["RELEASE_NODE"],
        format!("{}@10.1.2.3", env["CLUSTER_BASENAME"])
    );
    assert_eq!(
        env["DIST_PORT"].parse::<u16>().ok(),
        m.container_port(APP, "dist")
    );
    assert_eq!(env["DIST_PORT"].parse::<u64>().ok(), Some(svc_ports["dist"].0));
    assert_eq!(
        env["CLUSTER_DNS_QUERY"], fqdn,
        "the app polls the headless Service's name"
    );
    let app_env = &m.container(APP)["env"];
    let cookie_ref = app_env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "RELEASE_COOKIE")
        .expect("RELEASE_COOKIE");
    let secret = cookie_ref["valueFrom"]["secretKeyRef"]["name"]
        .as_str()
        .expect("cookie from a Secret");
    let key = cookie_ref["valueFrom"]["secretKeyRef"]["key"]
        .as_str()
        .expect("key");
    assert!(
        m.secret_value(secret, key).is_some(),
        "Secret {secret} has key {key}"
    );

    // beamlink Deployment: joins through the same name and basename, with the same cookie,
    // the same distribution port; probes on its HTTP port; Prometheus scrapes it there.
    let bl = m.get("Deployment", BEAMLINK);
    let (command, args) = m.command_line(BEAMLINK);
    assert!(command.is_empty(), "beamlink uses the image's ENTRYPOINT");
    assert_eq!(args, vec!["join".to_string()]);
    let benv = env_map(&m.env(BEAMLINK, &facts("10.1.2.9")));
    assert_eq!(benv["BEAMLINK_DNS"], fqdn);
    assert_eq!(benv["BEAMLINK_BASENAME"], env["CLUSTER_BASENAME"]);
    assert_eq!(benv["RELEASE_COOKIE"], m.secret_value(secret, key).unwrap());
    assert_eq!(benv["BEAMLINK_DIST_PORT"], env["DIST_PORT"]);
    assert_eq!(
        benv["BEAMLINK_DIST_PORT"].parse::<u16>().ok(),
        m.container_port(BEAMLINK, "dist")
    );
    let http_port = m.container_port(BEAMLINK, "http").expect("an http port");
    let http_addr: SocketAddr = benv["BEAMLINK_HTTP"].parse().expect("BEAMLINK_HTTP is ADDR:PORT");
    assert_eq!(http_addr.port(), http_port);
    assert!(
        http_addr.ip().is_unspecified(),
        "probes come from the kubelet: listen on every address"
    );
    let c = m.container(BEAMLINK);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"]["port"], "http",
            "{probe} on the named http port"
        );
    }
    let ann = &bl["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], http_port.to_string());
    assert_eq!(ann["prometheus.io/path"], "/metrics");

    // NetworkPolicy: selects both kinds of pods; EPMD and dist only from cluster members.
    let np = &m.of_kind("NetworkPolicy")[0];
    for d in [APP, BEAMLINK] {
        assert!(
            selects(&np["spec"]["podSelector"]["matchLabels"], &pod_labels(&m, d)),
            "the policy covers {d}"
        );
    }
    let mut guarded = BTreeSet::new();
    for rule in np["spec"]["ingress"].as_array().expect("ingress rules") {
        let ports: BTreeSet<String> = rule["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["port"].as_str().map(str::to_string))
            .collect();
        if ports.contains("epmd") || ports.contains("dist") {
            let from = rule["from"]
                .as_array()
                .expect("EPMD and dist only from listed peers");
            for peer in from {
                for d in [APP, BEAMLINK] {
                    assert!(
                        selects(&peer["podSelector"]["matchLabels"], &pod_labels(&m, d)),
                        "{d} may reach EPMD/dist"
                    );
                }
            }
            guarded.extend(ports);
        } else {
            assert_eq!(
                ports,
                ["http".to_string()].into(),
                "only the probe/metrics port is open to all"
            );
        }
    }
    assert_eq!(guarded, ["dist".to_string(), "epmd".to_string()].into());

    // Pod security everywhere: non-root, read-only root, no capabilities, no escalation,
    // no service-account token (neither program talks to the API server).
    for d in [APP, BEAMLINK] {
        let spec = &m.get("Deployment", d)["spec"]["template"]["spec"];
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{d}");
        assert_ne!(m.run_as(d).0, 0, "{d} runs as a non-root uid");
        assert_eq!(spec["automountServiceAccountToken"], false, "{d}");
        let sc = &m.container(d)["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{d}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{d}");
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]), "{d}");
    }
}

#[test]
fn manifests_agree_with_the_code_and_the_images() {
    let m = Rendered::render();
    let root = repo_root();

    // Every variable the manifests set is one the program reads.
    let beamlink_reads = env_names_read_in(&root.join("crates/cli/src"));
    for (name, _) in m.env(BEAMLINK, &facts("10.1.2.9")) {
        assert!(
            beamlink_reads.contains(&name),
            "the beamlink Deployment sets {name}, which beamlink never reads"
        );
    }
    let app_reads = env_names_read_in(&root.join("examples/elixir_app"));
    // Read by the release's own start script, not by the app's sources.
    let release_script = [
        "RELEASE_COOKIE",
        "RELEASE_TMP",
        "RELEASE_DISTRIBUTION",
        "RELEASE_NODE",
    ];
    for (name, _) in m.env(APP, &facts("10.1.2.3")) {
        assert!(
            app_reads.contains(&name) || release_script.contains(&name.as_str()),
            "the Elixir Deployment sets {name}, which the app never reads"
        );
    }
    // The pinned distribution port reaches the VM: env.sh.eex turns DIST_PORT into
    // inet_dist_listen_min/max.
    let env_sh =
        std::fs::read_to_string(root.join("examples/elixir_app/rel/env.sh.eex")).expect("env.sh.eex");
    assert!(
        env_sh.contains("inet_dist_listen_min ${DIST_PORT}")
            && env_sh.contains("inet_dist_listen_max ${DIST_PORT}")
    );

    // Probe and scrape paths are routes beamlink serves.
    let http = std::fs::read_to_string(root.join("crates/cluster/src/http.rs")).expect("http.rs");
    let c = m.container(BEAMLINK);
    for path in [
        c["livenessProbe"]["httpGet"]["path"].as_str().unwrap(),
        c["readinessProbe"]["httpGet"]["path"].as_str().unwrap(),
        m.get("Deployment", BEAMLINK)["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
            .as_str()
            .unwrap(),
    ] {
        assert!(
            http.contains(&format!(".route(\"{path}\"")),
            "beamlink serves no route {path}"
        );
    }

    // Images: names as the Dockerfiles' build lines tag them, users as their USER lines,
    // ports as their EXPOSE lines, the Elixir command where the image puts the release.
    let dockerfile = std::fs::read_to_string(root.join("docker/Dockerfile")).unwrap();
    let elixir_dockerfile = std::fs::read_to_string(root.join("docker/elixir.Dockerfile")).unwrap();
    for (d, text) in [(BEAMLINK, &dockerfile), (APP, &elixir_dockerfile)] {
        let image = m.container(d)["image"].as_str().expect("image");
        let repo = image.split(':').next().unwrap();
        assert!(
            text.contains(&format!("-t {repo} ")),
            "{d}: image {repo} is not what the Dockerfile's build line tags"
        );
        let (uid, gid) = m.run_as(d);
        assert!(
            text.contains(&format!("USER {uid}:{gid}")),
            "{d}: runAsUser {uid}:{gid} differs from the image's USER"
        );
        let expose: BTreeSet<u16> = text
            .lines()
            .filter_map(|l| l.strip_prefix("EXPOSE "))
            .flat_map(|l| l.split_whitespace().filter_map(|p| p.parse().ok()))
            .collect();
        let ports: BTreeSet<u16> = m.container(d)["ports"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["containerPort"].as_u64().map(|p| p as u16))
            .collect();
        assert_eq!(
            ports, expose,
            "{d}: container ports and the image's EXPOSE differ"
        );
    }
    let (command, _) = m.command_line(APP);
    assert_eq!(command.first().map(String::as_str), Some("/app/bin/app"));
    assert!(
        elixir_dockerfile.contains("/app/_build/prod/rel/app /app"),
        "the image puts the release at /app"
    );
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn pods_started_from_the_manifests_form_the_cluster() {
    let m = Rendered::render();
    let release = AppRelease::get();
    let cookie = random_cookie();
    let app_cookie_ref = m.container(APP)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "RELEASE_COOKIE")
        .map(|e| e["valueFrom"]["secretKeyRef"].clone())
        .expect("RELEASE_COOKIE from a Secret");
    let secret_key = (
        app_cookie_ref["name"].as_str().unwrap().to_string(),
        app_cookie_ref["key"].as_str().unwrap().to_string(),
    );
    let replicas = m.get("Deployment", APP)["spec"]["replicas"].as_u64().unwrap() as usize;
    let (_, fqdn) = headless_service(&m);
    let namespace = m.of_kind("Namespace")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();

    // One pod per replica, one for beamlink; a Kubernetes-like resolv.conf and DNS.
    let mut net = PodNet::new(replicas + 1);
    let search = [
        format!("{namespace}.svc.cluster.local"),
        "svc.cluster.local".into(),
        "cluster.local".into(),
    ];
    net.pod_resolv_conf(&search.iter().map(String::as_str).collect::<Vec<_>>());
    let mut dns = net.start_dns();
    for i in 0..replicas {
        dns.add(&fqdn, net.pod(i).ipv4.into());
    }
    let epmds: Vec<_> = (0..replicas).map(|i| net.pod(i).start_epmd()).collect();
    let mut probe = Probe::start(net.pod(0), &epmds[0], &cookie);

    // The Elixir pods: the manifest's command (the image's /app is the built release),
    // environment and user.
    let (command, args) = m.command_line(APP);
    assert_eq!(command, vec!["/app/bin/app".to_string(), "start".to_string()]);
    assert!(args.is_empty());
    let user = m.run_as(APP);
    let mut apps = Vec::new();
    let mut app_envs = Vec::new();
    for i in 0..replicas {
        let pod = net.pod(i).clone();
        let mut f = facts(&pod.ipv4.to_string());
        f.secrets.insert(secret_key.clone(), cookie.clone());
        let env = m.env(APP, &f);
        apps.push(release.start_as(&pod, &env, Some(user), &mut probe));
        app_envs.push(env);
    }
    // `kubectl exec ... -- /app/bin/app rpc EXPR` works with the pod's environment (its own
    // short-lived node does not take the pinned distribution port).
    let out = net
        .pod(0)
        .command(release.bin().to_str().unwrap())
        .args(["rpc", "IO.puts(node())"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(app_envs[0].iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run bin/app rpc");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        apps[0].node,
        "bin/app rpc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app_names: BTreeSet<String> = apps.iter().map(|a| a.node.clone()).collect();

    // The beamlink pod: the manifest's args, environment and user; its own EPMD inside.
    let pod = net.pod(replicas).clone();
    let mut f = facts(&pod.ipv4.to_string());
    f.secrets.insert(secret_key.clone(), cookie.clone());
    let env = m.env(BEAMLINK, &f);
    let (_, args) = m.command_line(BEAMLINK);
    let (uid, gid) = m.run_as(BEAMLINK);
    let mut cmd = pod.command("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={gid}"),
        "--clear-groups",
        "--",
    ])
    .arg(beamlink_bin())
    .args(&args)
    .env_clear()
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let _join = Killed(cmd.spawn().expect("start beamlink join"));
    let beamlink_node = format!("beamlink@{}", pod.ipv4);

    // The kubelet's probes, on the manifest's port and paths.
    let http_port = m.container_port(BEAMLINK, "http").unwrap();
    let addr = SocketAddr::new(pod.ipv4.into(), http_port);
    let c = m.container(BEAMLINK);
    let live = c["livenessProbe"]["httpGet"]["path"].as_str().unwrap();
    let ready = c["readinessProbe"]["httpGet"]["path"].as_str().unwrap();
    assert!(
        eventually(Duration::from_secs(20), || matches!(
            http_get(addr, live),
            Ok((200, _))
        )),
        "liveness probe {live} on {addr} never answered 200"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http_get(addr, ready);
        if matches!(r, Ok((200, _))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readiness probe {ready} is still {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let path = m.get("Deployment", BEAMLINK)["spec"]["template"]["metadata"]["annotations"]
        ["prometheus.io/path"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, metrics) = http_get(addr, &path).expect("scrape");
    assert_eq!(code, 200);
    assert!(metrics.contains("# TYPE"), "{path} is Prometheus text: {metrics}");

    // The cluster the manifests describe: the Elixir nodes see each other (visible) and
    // beamlink (hidden), and nothing else.
    for app in &apps {
        let mut others = app_names.clone();
        others.remove(&app.node);
        assert!(
            eventually(Duration::from_secs(15), || probe.visible_nodes(&app.node)
                == others),
            "{} sees {:?}, want {others:?}",
            app.node,
            probe.visible_nodes(&app.node)
        );
        let want: BTreeSet<String> = [beamlink_node.clone()].into();
        assert!(
            eventually(Duration::from_secs(15), || probe.hidden_nodes(&app.node) == want),
            "{} lists {:?} as hidden, want {want:?}",
            app.node,
            probe.hidden_nodes(&app.node)
        );
        // The pinned distribution port is the one the VM listens on.
        let port = probe.eval(
            &app.node,
            "{ok, Names} = erl_epmd:names(), proplists:get_value(\"app\", Names).",
        );
        let dist = m.container_port(APP, "dist").unwrap();
        assert_eq!(port, dist.to_string(), "{} listens on the dist port", app.node);
    }
}
