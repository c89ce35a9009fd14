#!/usr/bin/env python3
"""Renders every overlay with `kubectl kustomize` and checks it.

- Core objects are validated against the Kubernetes schemas
  (kubernetes-models, via validate_schemas.js).
- Custom resources (Strimzi, Prometheus Operator, cert-manager), for which
  no schema is available offline, get this file's own checks.
- A kind neither covers fails the test.
- Policies, on every pod template in the output (StatefulSets, Deployments,
  Jobs, CronJobs, ...): resources, locked-down security contexts, the
  binary each container runs is in the image (deploy/docker/Dockerfile);
  long-running workloads have gRPC startup/liveness/readiness probes, all on
  the plaintext health port. Per service: grace period, retained volume,
  Services (the headless one publishing not-ready pods), peers dialled by
  their pod's headless name, ServiceAccount. Every PDB selects a workload
  and sets a budget. Topics match the stores' partitions, are replicated
  (3 replicas, min.insync.replicas 2 where there are three brokers) and keep
  everything. Every Kafka ACL (topics and consumer groups) matches what each
  service's code writes and reads (services/*/main.cc), the auditor's
  matches the audit tool's group (services/audit/kafka_source.cc). The
  required alerts exist with runbooks; NetworkPolicies deny by default, let
  Kafka's own pods work and let every Wangge pod reach Kafka.

It does not deploy anything: it cannot tell whether a flow the
NetworkPolicies allow is the one a CNI enforces, nor whether a PromQL
expression finds the series it expects.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.environ.get("TEST_SRCDIR", "") and os.path.join(
    os.environ["TEST_SRCDIR"], os.environ.get("TEST_WORKSPACE", "wangge"))
ROOT = ROOT or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.environ.get("WANGGE_TOOLS", "/opt/wangge")
SERVICES = ["intake", "supervision", "dispatch", "oversight", "registry"]
HEALTH_PORT = 7180
KAFKA_CLIENT_LABEL = ("wangge.io/kafka-client", "true")
REQUIRED_ALERTS = ["WanggeServiceDown", "WanggeConsumerLag", "WanggeDeadLetters",
                   "WanggeOverdueBacklog", "WanggeAuditVerifyFailed"]
CORE_GROUPS = {"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "batch/v1"}
CUSTOM = {
    ("kafka.strimzi.io/v1beta2", "Kafka"), ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("cert-manager.io/v1", "Issuer"), ("cert-manager.io/v1", "Certificate"),
}
# Kinds whose pod templates the policy checks read, and whether they run
# for good (and so need probes).
LONG_RUNNING = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
BATCH = {"Job", "CronJob"}
failures = []


def fail(msg):
    failures.append(msg)


def kubectl():
    for candidate in [shutil.which("kubectl"), os.path.join(TOOLS, "bin", "kubectl")]:
        if candidate and os.path.exists(candidate):
            out = subprocess.run([candidate, "version", "--client"], capture_output=True,
                                 text=True).stdout
            if "Kustomize Version: v5" in out:
                return candidate
    sys.exit("no kubectl with Kustomize v5 (run bazel/deps.sh)")


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


# Where the services register their Prometheus metrics.
METRIC_SOURCES = [
    "services/common/eventbus/consumer.cc",
    "services/common/eventbus/relay.cc",
    "services/common/metrics/metrics.cc",
    "services/common/server/certificate.cc",
    "services/common/server/chassis.cc",
    "services/dispatch/main.cc",
    "services/oversight/main.cc",
]


def configs_of(by_kind, service):
    return by_kind.get("ConfigMap", {}).get(f"{service}-config", {}).get("data", {})


def flags_by_code():
    """Every flag the services define (ABSL_FLAG(type, name, ...)), as the
    environment variable that sets it."""
    names = set()
    for path in ["services/common/config/config.cc"] + \
            [f"services/{s}/main.cc" for s in SERVICES]:
        names |= {n.upper() for n in
                  re.findall(r'ABSL_FLAG\(\s*[^,]+,\s*([a-z0-9_]+)\s*,', read(path))}
    if "KAFKA_BOOTSTRAP" not in names:
        fail(f"no flags found in the services' code: {sorted(names)[:5]}")
    return names


def check_config_keys(name, by_kind, flags):
    """Every key of a service's ConfigMap is a flag: a misspelt one would be
    ignored without a word (the environment sets only flags that exist)."""
    for s in SERVICES:
        unknown = sorted(set(configs_of(by_kind, s)) - flags)
        if unknown:
            fail(f"{name}: {s}-config sets {unknown}, which no flag of the services reads")


def consumed_by_code():
    """The topics each service's code consumes: FollowSource(context, "x")
    and the sources given to FollowAll,
    and the registry's through FollowRegistry(context). The consumer group
    is the consumer's default, "<service>.<source>"
    (services/common/eventbus/consumer.cc), unless a main.cc sets one."""
    consumed = {}
    for s in SERVICES:
        text = read(os.path.join("services", s, "main.cc"))
        consumed[s] = set(re.findall(r'FollowSource\(\s*context,\s*"([a-z]+)"', text))
        # FollowAll(context, {{"intake", [app](...) {...}, ...}, ...}).
        consumed[s] |= set(re.findall(r'\{\{?"([a-z]+)",\s*\[', text))
        if re.search(r'FollowRegistry\(\s*context\s*\)', text):
            consumed[s].add("registry")
        if "group_id" in text:
            fail(f"services/{s}/main.cc sets a consumer group id: the group ACL check "
                 f"assumes the default <service>.<source>")
    return consumed


def audit_group_by_code():
    """The group id the audit tool's Kafka source assigns partitions under."""
    text = read("services/audit/kafka_source.cc")
    groups = set(re.findall(r'\{\s*"group\.id",\s*"([^"]+)"\s*\}', text))
    if len(groups) != 1:
        fail(f"services/audit/kafka_source.cc: expected one group.id, found {sorted(groups)}")
    return groups


def image_binaries():
    """The paths deploy/docker/Dockerfile puts in the image: what its build
    stage copies out of bazel-bin (after expanding shell for-loops) into
    /out/bin, which the runtime stage copies to /usr/local/bin; and the Bazel
    targets it builds, each of which must produce one of them."""
    text = read("deploy/docker/Dockerfile").replace("\\\n", " ")
    if not re.search(r"^COPY --from=build /out/bin/ /usr/local/bin/\s*$", text, re.M):
        fail("Dockerfile: the runtime stage must COPY --from=build /out/bin/ /usr/local/bin/")
    built = set()
    for target in re.findall(r"//(services/[\w/]+(?::\w+)?)",
                             " ".join(re.findall(r"bazel build [^\n]*", text))):
        package, _, name = target.partition(":")
        built.add(f"{package}/{name or package.rsplit('/', 1)[-1]}")

    def expand(m):
        var, values, body = m.group(1), m.group(2).split(), m.group(3)
        return " ; ".join(body.replace(f"${var}", v).replace(f"${{{var}}}", v) for v in values)

    text = re.sub(r"for (\w+) in ([^;]+); do (.*?); done", expand, text)
    copied = set()
    for cp in re.findall(r"\bcp ([^;&\n]+)", text):
        args = cp.split()
        if args[-1].rstrip("/") != "/out/bin":
            continue
        for src in args[:-1]:
            m = re.fullmatch(r"bazel-bin/([\w/]+)", src)
            if not m:
                fail(f"Dockerfile: cannot tell what {src} is")
                continue
            if m.group(1) not in built:
                fail(f"Dockerfile copies bazel-bin/{m.group(1)} but does not build it")
            copied.add("/usr/local/bin/" + m.group(1).rsplit("/", 1)[-1])
    if not copied:
        fail("Dockerfile: found no binaries copied into the image")
    return copied


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    return int(m.group(1)) if m else None


def listen_port(addr):
    m = re.fullmatch(r"[\w.\-]*:(\d+)", addr or "")
    return int(m.group(1)) if m else None


def pod_template(d):
    """(pod metadata, pod spec) of a workload, or None for other kinds."""
    kind, spec = d["kind"], d.get("spec", {})
    if kind == "Pod":
        return d.get("metadata", {}), spec
    if kind in LONG_RUNNING or kind == "Job":
        return spec["template"].get("metadata", {}), spec["template"]["spec"]
    if kind == "CronJob":
        t = spec["jobTemplate"]["spec"]["template"]
        return t.get("metadata", {}), t["spec"]
    return None


def matches(selector_labels, labels):
    return all(labels.get(k) == v for k, v in (selector_labels or {}).items())


def probe_port(probe, container):
    """The port a probe dials, as a number (named ports resolved)."""
    for handler in ("grpc", "httpGet", "tcpSocket"):
        if handler in probe:
            port = probe[handler].get("port")
            if isinstance(port, str):
                named = [p["containerPort"] for p in container.get("ports", [])
                         if p.get("name") == port]
                return named[0] if named else None
            return port
    return None  # exec probes dial nothing


def check_workloads(name, docs, by_kind, binaries):
    workloads = []
    for d in docs:
        pt = pod_template(d)
        if pt is None:
            if "containers" in json.dumps(d.get("spec", {})):
                fail(f"{name}: {d['kind']}/{d['metadata']['name']} has containers the "
                     f"policy checks do not read")
            continue
        workloads.append((d, *pt))
    for d, meta, spec in workloads:
        where = f"{name}: {d['kind']}/{d['metadata']['name']}"
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(f"{where}: the pod must run as non-root with seccomp RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{where}: the pod must not mount a ServiceAccount token")
        containers = spec.get("containers", []) + spec.get("initContainers", [])
        for c in containers:
            cw = f"{where} container {c['name']}"
            res = c.get("resources", {})
            if not all(res.get(k, {}).get(r) for k in ("requests", "limits")
                       for r in ("cpu", "memory")):
                fail(f"{cw}: needs cpu and memory requests and limits")
            csc = c.get("securityContext", {})
            if not (csc.get("readOnlyRootFilesystem") is True
                    and csc.get("allowPrivilegeEscalation") is False
                    and csc.get("capabilities", {}).get("drop") == ["ALL"]
                    and not csc.get("capabilities", {}).get("add")
                    and csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True
                    and not csc.get("privileged")):
                fail(f"{cw}: securityContext is not locked down (read-only root, no "
                     f"privilege escalation, drop ALL capabilities, non-root)")
            if csc.get("seccompProfile", {}).get("type", "RuntimeDefault") != "RuntimeDefault":
                fail(f"{cw}: seccomp must stay RuntimeDefault")
            if c.get("image", "").split(":")[0].rsplit("/", 1)[-1] == "wangge":
                binary = (c.get("command") or ["/usr/local/bin/wangge"])[0]
                if binary not in binaries:
                    fail(f"{cw}: runs {binary}, which deploy/docker/Dockerfile does not "
                         f"put in the image ({sorted(binaries)})")
            health = [p["containerPort"] for p in c.get("ports", [])
                      if p.get("name") == "health"]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in c and probe_port(c[probe], c) not in (health or [HEALTH_PORT]):
                    fail(f"{cw}: {probe} must use the health port ({HEALTH_PORT}, named "
                         f"'health'), not {probe_port(c[probe], c)}")
        if d["kind"] in LONG_RUNNING:
            c = spec["containers"][0]
            health = [p["containerPort"] for p in c.get("ports", [])
                      if p.get("name") == "health"]
            if health != [HEALTH_PORT]:
                fail(f"{where}: needs the container port health: {HEALTH_PORT}")
            for probe, svc in [("startupProbe", "liveness"), ("livenessProbe", "liveness"),
                               ("readinessProbe", "readiness")]:
                grpc = c.get(probe, {}).get("grpc", {})
                if grpc.get("service") != svc or grpc.get("port") != HEALTH_PORT:
                    fail(f"{where}: {probe} is not a gRPC probe on '{svc}' at port "
                         f"{HEALTH_PORT}")
            # The health listener the probes dial is the one the process opens.
            for ref in c.get("envFrom", []):
                cm = by_kind.get("ConfigMap", {}).get(ref.get("configMapRef", {}).get("name"))
                if cm and listen_port(cm.get("data", {}).get("HEALTH_LISTEN")) != HEALTH_PORT:
                    fail(f"{where}: its ConfigMap must set HEALTH_LISTEN to port {HEALTH_PORT}")
        elif d["kind"] not in BATCH:
            fail(f"{where}: kind not covered by the workload checks")
    return workloads


def check_overlay(name, docs):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    core = [d for d in docs if d["apiVersion"] in CORE_GROUPS]
    for d in docs:
        if d["apiVersion"] not in CORE_GROUPS and (d["apiVersion"], d["kind"]) not in CUSTOM:
            fail(f"{name}: no schema and no check for {d['apiVersion']} {d['kind']}")
    namespaces = list(by_kind.get("Namespace", {}))
    if len(namespaces) != 1:
        fail(f"{name}: expected one Namespace, found {namespaces}")
    namespace = namespaces[0] if namespaces else None
    # 1. Schemas.
    result = subprocess.run(["node", os.path.join(ROOT, "deploy/k8s/validate_schemas.js")],
                            input=json.dumps(core), capture_output=True, text=True,
                            env={**os.environ, "WANGGE_TOOLS": TOOLS})
    for line in result.stdout.splitlines():
        if not line.startswith("ok "):
            fail(f"{name}: {line}")
    if result.returncode != 0 and not failures:
        fail(f"{name}: schema validation failed: {result.stderr[-500:]}")
    validated = sum(1 for l in result.stdout.splitlines() if l.startswith("ok "))
    # 2. Workload policies: every pod template, then each service's own.
    workloads = check_workloads(name, docs, by_kind, image_binaries())
    consumed = consumed_by_code()
    configs = {s: by_kind.get("ConfigMap", {}).get(f"{s}-config", {}).get("data", {})
               for s in SERVICES}
    for s in SERVICES:
        sts = by_kind.get("StatefulSet", {}).get(s)
        if sts is None:
            fail(f"{name}: no StatefulSet for {s}")
            continue
        spec = sts["spec"]["template"]["spec"]
        c = spec["containers"][0]
        config = configs[s]
        drain = duration_seconds(config.get("DRAIN_TIMEOUT", ""))
        if drain is None or spec.get("terminationGracePeriodSeconds", 0) <= drain + 10:
            fail(f"{name}: {s} grace period must exceed the drain ({drain}s) by more than 10s")
        if sts["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenDeleted") != "Retain":
            fail(f"{name}: {s} must retain its volume")
        for svc_name in [s, f"{s}-headless"]:
            if svc_name not in by_kind.get("Service", {}):
                fail(f"{name}: {s} has no Service {svc_name}")
        headless = by_kind.get("Service", {}).get(f"{s}-headless", {}).get("spec", {})
        if sts["spec"].get("serviceName") != f"{s}-headless" or \
                headless.get("clusterIP") != "None" or \
                headless.get("publishNotReadyAddresses") is not True:
            fail(f"{name}: {s} needs its headless Service {s}-headless as serviceName, "
                 f"publishing not-ready pods (peers catch up before they are Ready)")
        # Peers are dialled at their pod's name on the headless Service: the
        # client Service routes only to Ready pods, and each service is Ready
        # only once caught up with its peers.
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for peer in consumed[s]:
            want = f"{peer}-0.{peer}-headless:{listen_port(configs[peer].get('LISTEN'))}"
            if env.get(f"{peer.upper()}_ADDR") != want:
                fail(f"{name}: {s} consumes {peer}: {peer.upper()}_ADDR must be {want}, "
                     f"not {env.get(peer.upper() + '_ADDR')}")
        for var in env:
            if var.endswith("_ADDR") and var[:-5].lower() not in consumed[s]:
                fail(f"{name}: {s} sets {var} but its code does not follow "
                     f"{var[:-5].lower()}")
        if s not in by_kind.get("ServiceAccount", {}):
            fail(f"{name}: {s} has no ServiceAccount")
    # Every PDB selects a workload's pods and sets a budget; every StatefulSet
    # has one.
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        sel = pdb["spec"].get("selector", {}).get("matchLabels")
        if not sel or not any(matches(sel, meta.get("labels", {}))
                              for d, meta, _ in workloads if d["kind"] in LONG_RUNNING):
            fail(f"{name}: PodDisruptionBudget {pdb['metadata']['name']} selects no workload")
        if "minAvailable" not in pdb["spec"] and "maxUnavailable" not in pdb["spec"]:
            fail(f"{name}: PodDisruptionBudget {pdb['metadata']['name']} sets no budget")
    for sts in by_kind.get("StatefulSet", {}).values():
        labels = sts["spec"]["template"]["metadata"].get("labels", {})
        if not any(matches(p["spec"].get("selector", {}).get("matchLabels"), labels)
                   for p in by_kind.get("PodDisruptionBudget", {}).values()):
            fail(f"{name}: StatefulSet {sts['metadata']['name']} has no PodDisruptionBudget")
    # The periodic audit job keeps its state so consecutive runs check
    # consistency.
    cron = by_kind.get("CronJob", {}).get("audit-verify")
    if cron is None:
        fail(f"{name}: no audit-verify CronJob")
    else:
        c = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        if "--state=/var/lib/audit/state.json" not in c.get("args", []):
            fail(f"{name}: the audit job must keep its last checkpoints (--state)")
    # 3. Kafka: topics replicated and kept forever, ACLs against the code.
    kafka = by_kind.get("Kafka", {})
    brokers = sum(p["spec"].get("replicas", 0) for p in by_kind.get("KafkaNodePool", {}).values()
                  if "broker" in p["spec"].get("roles", []))
    if name == "prod" and brokers < 3:
        fail(f"{name}: production needs three Kafka brokers, has {brokers}")
    want_replicas, want_isr = (3, 2) if brokers >= 3 else (brokers, 1)
    for tname, topic in by_kind.get("KafkaTopic", {}).items():
        tspec = topic["spec"]
        cfg = tspec.get("config", {})
        if tspec.get("replicas") != want_replicas or cfg.get("min.insync.replicas") != want_isr:
            fail(f"{name}: topic {tname} needs replicas {want_replicas} and "
                 f"min.insync.replicas {want_isr} ({brokers} brokers)")
        if cfg.get("retention.ms") != -1 or cfg.get("retention.bytes") != -1 or \
                cfg.get("cleanup.policy") != "delete":
            fail(f"{name}: topic {tname} must keep everything (retention.ms -1, "
                 f"retention.bytes -1, cleanup.policy delete)")
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") not in kafka:
            fail(f"{name}: topic {tname} names no Kafka cluster of this overlay")
    for s in SERVICES:
        topic = by_kind.get("KafkaTopic", {}).get(f"wangge.{s}.events")
        if topic is None:
            fail(f"{name}: no KafkaTopic for {s}")
        elif str(topic["spec"]["partitions"]) != configs[s].get("PARTITIONS"):
            fail(f"{name}: topic of {s} has {topic['spec']['partitions']} partitions, "
                 f"the store {configs[s].get('PARTITIONS')}")
    users = by_kind.get("KafkaUser", {})
    for s in SERVICES:
        user = users.get(s)
        if user is None:
            fail(f"{name}: no KafkaUser {s}")
            continue
        writes, reads, groups = set(), set(), set()
        for acl in user["spec"]["authorization"]["acls"]:
            r, ops = acl["resource"], set(acl["operations"])
            if r["type"] == "topic":
                if r.get("patternType") != "literal":
                    fail(f"{name}: KafkaUser {s} has a non-literal topic ACL {r['name']}")
                topic = r["name"].removeprefix("wangge.").removesuffix(".events")
                if topic == s:
                    # Its relay writes and reads the watermarks (Describe);
                    # it never consumes its own topic.
                    if ops != {"Write", "Describe"}:
                        fail(f"{name}: KafkaUser {s} needs exactly [Write, Describe] on its "
                             f"own topic, has {sorted(ops)}")
                    writes.add(topic)
                else:
                    if "Write" in ops:
                        writes.add(topic)
                    if ops != {"Read", "Describe"}:
                        fail(f"{name}: KafkaUser {s} needs exactly [Read, Describe] on "
                             f"{r['name']}, has {sorted(ops)}")
                    reads.add(topic)
            elif r["type"] == "group":
                if r.get("patternType") != "literal" or ops != {"Read"}:
                    fail(f"{name}: KafkaUser {s} group {r['name']} must be literal, Read only")
                groups.add(r["name"])
            elif r["type"] == "cluster":
                if ops != {"IdempotentWrite"}:
                    fail(f"{name}: KafkaUser {s} may only IdempotentWrite on the cluster")
            else:
                fail(f"{name}: KafkaUser {s} has an ACL on a {r['type']}")
        if writes != {s}:
            fail(f"{name}: KafkaUser {s} may write {sorted(writes)}, only its own topic allowed")
        if reads != consumed[s]:
            fail(f"{name}: KafkaUser {s} reads {sorted(reads)}, its code consumes "
                 f"{sorted(consumed[s])}")
        want_groups = {f"{s}.{src}" for src in consumed[s]}
        if groups != want_groups:
            fail(f"{name}: KafkaUser {s} has groups {sorted(groups)}, its consumers use "
                 f"{sorted(want_groups)}")
    auditor = users.get("auditor")
    if auditor is None:
        fail(f"{name}: no KafkaUser auditor")
    else:
        acls = auditor["spec"]["authorization"]["acls"]
        if any(op not in ("Read", "Describe") for acl in acls for op in acl["operations"]):
            fail(f"{name}: the auditor user may only read")
        topics = [a["resource"] for a in acls if a["resource"]["type"] == "topic"]
        for s in SERVICES:
            t = f"wangge.{s}.events"
            if not any(r["name"] == t or (r.get("patternType") == "prefix" and
                                          t.startswith(r["name"])) for r in topics):
                fail(f"{name}: the auditor cannot read {t}")
        groups = {(a["resource"]["name"], a["resource"].get("patternType")) for a in acls
                  if a["resource"]["type"] == "group"}
        want = {(g, "literal") for g in audit_group_by_code()}
        if groups != want:
            fail(f"{name}: the auditor's groups are {sorted(groups)}, the audit tool uses "
                 f"{sorted(want)}")
        if any(a["resource"]["type"] not in ("topic", "group") for a in acls):
            fail(f"{name}: the auditor has ACLs beyond topics and its group")
    # 4. Custom resources' own checks.
    cluster = kafka.get("wangge")
    if cluster is None or cluster["metadata"].get("annotations", {}).get("strimzi.io/kraft") != "enabled":
        fail(f"{name}: the Kafka cluster must run in KRaft mode")
    else:
        kspec = cluster["spec"]["kafka"]
        if not any(l.get("tls") and l.get("authentication", {}).get("type") == "tls"
                   for l in kspec["listeners"]) or \
                kspec.get("authorization", {}).get("type") != "simple":
            fail(f"{name}: Kafka needs a TLS listener with client certificates and simple ACLs")
        plain = any(not l.get("tls") for l in kspec["listeners"])
        supers = kspec.get("authorization", {}).get("superUsers", [])
        if name == "prod" and (plain or supers):
            fail(f"{name}: production Kafka must have no plaintext listener and no super users")
        if plain and "ANONYMOUS" not in supers:
            fail(f"{name}: a plaintext listener without authentication needs ANONYMOUS "
                 f"as a super user (simple authorisation denies it everything)")
    rules = [r for doc in by_kind.get("PrometheusRule", {}).values()
             for g in doc["spec"]["groups"] for r in g["rules"]]
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    for needed in REQUIRED_ALERTS:
        if needed not in alerts:
            fail(f"{name}: alert {needed} missing")
    ops_doc = os.path.join(ROOT, "docs/operations.md")
    anchors = None
    if os.path.exists(ops_doc):  # not among the Bazel test's inputs
        anchors = {re.sub(r"[^a-z0-9\- ]", "", h.strip().lower()).replace(" ", "-")
                   for h in re.findall(r"^#+ (.+)$", read("docs/operations.md"), re.M)}
    for alert, r in alerts.items():
        runbook = r.get("annotations", {}).get("runbook", "")
        if not runbook.startswith("docs/operations.md#"):
            fail(f"{name}: alert {alert} has no runbook in docs/operations.md")
        elif anchors is not None and runbook.split("#", 1)[1] not in anchors:
            fail(f"{name}: alert {alert}'s runbook {runbook} names no section")
        for ns in re.findall(r'namespace="([^"]*)"', r["expr"]):
            if ns != namespace:
                fail(f"{name}: alert {alert} looks at namespace {ns}, the overlay's is "
                     f"{namespace}")
    # Every Wangge metric an alert reads is one the code registers.
    defined = set()
    for src in METRIC_SOURCES:
        defined |= set(re.findall(r'Name\("(wangge_[a-z_]+)"\)', read(src)))
        # Families built when scraped (prometheus::Collectable).
        defined |= set(re.findall(r'\.name = "(wangge_[a-z_]+)"', read(src)))
    for alert, r in alerts.items():
        for metric in re.findall(r"\b(wangge_[a-z_]+?)(?:_bucket|_sum|_count)?\b", r["expr"]):
            if metric not in defined:
                fail(f"{name}: alert {alert} reads {metric}, which no service registers")
    down = alerts.get("WanggeServiceDown", {}).get("expr", "")
    for s in SERVICES:
        if not re.search(rf'absent\([^)]*pod="{s}-0"', down):
            fail(f"{name}: WanggeServiceDown does not fire when {s} has no target")
    if "namespace=" not in alerts.get("WanggeAuditVerifyFailed", {}).get("expr", ""):
        fail(f"{name}: WanggeAuditVerifyFailed must be scoped to the namespace")
    if not by_kind.get("PodMonitor"):
        fail(f"{name}: no PodMonitor")
    # 5. NetworkPolicies.
    policies = by_kind.get("NetworkPolicy", {})
    deny = policies.get("default-deny")
    if not deny or deny["spec"]["podSelector"] != {} or \
            sorted(deny["spec"]["policyTypes"]) != ["Egress", "Ingress"]:
        fail(f"{name}: no deny-all NetworkPolicy")
    for cname in kafka:
        own = {"strimzi.io/cluster": cname}
        strimzi = [p for p in policies.values()
                   if p["spec"]["podSelector"].get("matchLabels") == own
                   and "Egress" in p["spec"].get("policyTypes", [])]
        ok = False
        for p in strimzi:
            egress = p["spec"].get("egress", [])
            to_own = any(matches(own, peer.get("podSelector", {}).get("matchLabels"))
                         and not peer.get("namespaceSelector")
                         for e in egress for peer in e.get("to", []))
            api = {443, 6443} <= {pt.get("port") for e in egress if not e.get("to")
                                  for pt in e.get("ports", [])}
            ingress_own = any(peer.get("podSelector", {}).get("matchLabels") == own
                              for i in p["spec"].get("ingress", []) for peer in i.get("from", []))
            ok = ok or (to_own and api and ingress_own)
        if not ok:
            fail(f"{name}: no NetworkPolicy lets Kafka cluster {cname}'s pods reach each "
                 f"other and the Kubernetes API (443, 6443)")
    # Each service's egress reaches exactly the peers its code follows (their
    # gRPC ports), and Kafka; the audit job every service.
    consumed = consumed_by_code()
    port_of = {svc: listen_port(configs_of(by_kind, svc).get("LISTEN", "")) for svc in SERVICES}
    for who in SERVICES + ["audit"]:
        p = policies.get(f"{who}-egress")
        if p is None or p["spec"]["podSelector"].get("matchLabels") != \
                {"app.kubernetes.io/name": who}:
            fail(f"{name}: no egress NetworkPolicy {who}-egress for {who}'s pods")
            continue
        peers, ports = set(), set()
        for e in p["spec"].get("egress", []):
            for peer in e.get("to", []):
                for expr in peer.get("podSelector", {}).get("matchExpressions", []):
                    if expr.get("key") == "app.kubernetes.io/name" and expr.get("operator") == "In":
                        peers |= set(expr.get("values", []))
                        ports |= {pt.get("port") for pt in e.get("ports", [])}
        expected = set(SERVICES) if who == "audit" else consumed[who]
        if peers != expected or ports != {port_of[x] for x in expected}:
            fail(f"{name}: {who}-egress reaches {sorted(peers)} on {sorted(ports)}; "
                 f"the code follows {sorted(expected)}")
    for p in policies.values():
        if "Egress" in p["spec"].get("policyTypes", []) and \
                p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/part-of"):
            fail(f"{name}: {p['metadata']['name']} opens egress for every Wangge pod")
    kafka_clients = policies.get("kafka-clients", {}).get("spec", {})
    client_selectors = [peer.get("podSelector", {}).get("matchLabels", {})
                        for i in kafka_clients.get("ingress", []) for peer in i.get("from", [])
                        if "podSelector" in peer and "namespaceSelector" not in peer]
    for d, meta, _ in workloads:
        labels = meta.get("labels", {})
        if labels.get("app.kubernetes.io/part-of") == "wangge" and \
                not any(sel and matches(sel, labels) for sel in client_selectors):
            fail(f"{name}: {d['kind']}/{d['metadata']['name']} pods may not reach Kafka "
                 f"(label {KAFKA_CLIENT_LABEL[0]}: \"{KAFKA_CLIENT_LABEL[1]}\")")
    print(f"{name}: {len(docs)} objects, {validated} validated against Kubernetes schemas")
    return by_kind


def check_patch_targets(name, overlay, docs):
    """Every patch of the overlay names objects the render contains:
    kustomize applies a patch whose target matches nothing to nothing,
    silently (a renamed base object once left dev without Kafka)."""
    with open(os.path.join(overlay, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    for patch in kust.get("patches", []):
        target = patch.get("target", {})
        kind, pattern = target.get("kind"), target.get("name")
        found = [d for d in docs if (not kind or d["kind"] == kind) and
                 (not pattern or re.fullmatch(pattern, d["metadata"]["name"]))]
        if not found:
            fail(f"{name}: a patch targets {kind}/{pattern or '*'}, which the render lacks")


def check_kafka_reachable(name, by_kind):
    """Each service's pods may open a connection to the port its
    KAFKA_BOOTSTRAP names: an egress policy selecting them allows it to
    Kafka's pods, and Kafka's ingress allows it from them."""
    policies = by_kind.get("NetworkPolicy", {}).values()
    for s in SERVICES:
        bootstrap = configs_of(by_kind, s).get("KAFKA_BOOTSTRAP", "")
        if ":" not in bootstrap:
            fail(f"{name}: {s} has no KAFKA_BOOTSTRAP host:port")
            continue
        port = int(bootstrap.rsplit(":", 1)[1])
        sts = by_kind.get("StatefulSet", {}).get(s, {})
        labels = sts.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        egress = any(
            matches(p["spec"]["podSelector"].get("matchLabels", {}), labels) and
            any(any("strimzi.io/cluster" in peer.get("podSelector", {}).get("matchLabels", {})
                    for peer in e.get("to", [])) and
                port in {pt.get("port") for pt in e.get("ports", [])}
                for e in p["spec"].get("egress", []))
            for p in policies if "Egress" in p["spec"].get("policyTypes", []))
        ingress = any(
            any(any(peer.get("podSelector", {}).get("matchLabels") and
                    matches(peer["podSelector"]["matchLabels"], labels)
                    for peer in i.get("from", [])) and
                port in {pt.get("port") for pt in i.get("ports", [])}
                for i in p["spec"].get("ingress", []))
            for p in policies
            if "strimzi.io/cluster" in p["spec"]["podSelector"].get("matchLabels", {}))
        if not (egress and ingress):
            fail(f"{name}: {s}'s pods cannot reach Kafka on {port} ({bootstrap}): "
                 f"egress {'ok' if egress else 'missing'}, ingress {'ok' if ingress else 'missing'}")


def check_crypto_suite(name, by_kind):
    """One suite for the deployment, and the audit job hashes with it (an
    audit hashing SM3 records with SHA-256 reports every event)."""
    suites = {s: configs_of(by_kind, s).get("CRYPTO_SUITE") for s in SERVICES}
    if len(set(suites.values())) != 1:
        fail(f"{name}: the services' CRYPTO_SUITE differ: {suites}")
    job = by_kind.get("CronJob", {}).get("audit-verify", {})
    container = job.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get(
        "template", {}).get("spec", {}).get("containers", [{}])[0]
    if "--crypto_suite=$(CRYPTO_SUITE)" not in container.get("args", []):
        fail(f"{name}: audit-verify does not pass --crypto_suite=$(CRYPTO_SUITE)")
    ref = next((e.get("valueFrom", {}).get("configMapKeyRef", {})
                for e in container.get("env", []) if e.get("name") == "CRYPTO_SUITE"), {})
    if ref.get("key") != "CRYPTO_SUITE" or \
            ref.get("name") not in {f"{s}-config" for s in SERVICES}:
        fail(f"{name}: audit-verify's CRYPTO_SUITE does not come from a service's ConfigMap")


def check_prod_tls(by_kind):
    """mTLS in prod: every service mounts its certificate, which names the
    headless pod name its peers dial; the audit job has a client
    certificate from the same issuer and passes it to the tool."""
    certs = by_kind.get("Certificate", {})
    for s in SERVICES:
        sts = by_kind.get("StatefulSet", {}).get(s, {})
        secrets = {v.get("secret", {}).get("secretName")
                   for v in sts.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])}
        if f"{s}-tls" not in secrets:
            fail(f"prod: {s} does not mount its mTLS certificate")
        cert = certs.get(f"{s}-tls", {}).get("spec", {})
        if f"{s}-0.{s}-headless" not in cert.get("dnsNames", []):
            fail(f"prod: the certificate of {s} does not name {s}-0.{s}-headless (what its "
                 f"peers dial)")
        reflection = configs_of(by_kind, s).get("REFLECTION")
        if reflection != "false":
            fail(f"prod: {s} serves gRPC reflection (REFLECTION={reflection!r}); it answers "
                 f"without a token")
    issuers = {c["spec"]["issuerRef"]["name"] for n, c in certs.items()
               if n.removesuffix("-tls") in SERVICES}
    cron = by_kind.get("CronJob", {}).get("audit-verify")
    if cron is None:
        return
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    args = pod["containers"][0].get("args", [])
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0].get("volumeMounts", [])}
    secret_dirs = {mounts.get(v["name"]): v["secret"]["secretName"]
                   for v in pod.get("volumes", []) if "secret" in v}
    for flag in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        value = next((a.split("=", 1)[1] for a in args if a.startswith(f"--{flag}=")), None)
        secret = secret_dirs.get(os.path.dirname(value or ""))
        cert = next((c for c in certs.values() if c["spec"].get("secretName") == secret), None)
        if cert is None:
            fail(f"prod: the audit job's --{flag} is not in a mounted cert-manager certificate")
        elif cert["spec"]["issuerRef"]["name"] not in issuers or \
                "client auth" not in cert["spec"].get("usages", []):
            fail(f"prod: the audit job's certificate must be a client certificate from the "
                 f"services' issuer {sorted(issuers)}")


def check_validator_is_strict():
    """The schema validator itself: a misspelt field and a wrong type fail."""
    bad = [{"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "typo", "labelz": {}}, "data": {"a": "b"}},
           {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "wrong-type"}, "data": "not a map"}]
    result = subprocess.run(["node", os.path.join(ROOT, "deploy/k8s/validate_schemas.js")],
                            input=json.dumps(bad), capture_output=True, text=True,
                            env={**os.environ, "WANGGE_TOOLS": TOOLS})
    lines = result.stdout.splitlines()
    if result.returncode == 0 or len(lines) != 2 or any(l.startswith("ok ") for l in lines) \
            or "metadata.labelz" not in lines[0]:
        fail(f"the schema validator accepted broken objects: {lines} {result.stderr[-300:]}")


def main():
    check_validator_is_strict()
    cmd = kubectl()
    # kustomize does not follow the symlinks of Bazel's runfiles: render a
    # real copy.
    k8s = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "wangge-k8s")
    shutil.rmtree(k8s, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "deploy/k8s"), k8s)
    rendered_rules = {}
    flags = flags_by_code()
    for overlay in sorted(glob.glob(os.path.join(k8s, "overlays/*"))):
        name = os.path.basename(overlay)
        rendered = subprocess.run([cmd, "kustomize", overlay], capture_output=True, text=True)
        if rendered.returncode != 0:
            fail(f"{name}: kustomize failed: {rendered.stderr}")
            continue
        docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
        by_kind = check_overlay(name, docs)
        check_patch_targets(name, overlay, docs)
        check_kafka_reachable(name, by_kind)
        check_crypto_suite(name, by_kind)
        check_config_keys(name, by_kind, flags)
        if name == "prod":
            check_prod_tls(by_kind)
        # The alerts, with the overlay's namespace taken out and whitespace
        # normalised, must be the same everywhere (overlays/dev patches the
        # expressions that name its namespace).
        ns = next(iter(by_kind.get("Namespace", {})), "")
        rendered_rules[name] = re.sub(
            r"\s+", " ", json.dumps([r["spec"] for r in by_kind.get("PrometheusRule", {}).values()],
                                    sort_keys=True).replace(f'\\"{ns}\\"', '\\"NS\\"'))
    if len(set(rendered_rules.values())) > 1:
        fail(f"the overlays' alerts differ beyond their namespace: {sorted(rendered_rules)}")
    if "prod" not in rendered_rules:
        fail("no prod overlay rendered")
    if not os.path.exists(os.path.join(ROOT, "docs/operations.md")):
        print("note: docs/operations.md is not among the inputs: runbook sections not checked")
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
