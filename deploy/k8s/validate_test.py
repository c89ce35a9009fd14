#!/usr/bin/env python3
"""Renders every overlay with `kubectl kustomize` and checks it.

- Core objects are validated against the Kubernetes schemas
  (kubernetes-models, via validate_schemas.js).
- Custom resources (Strimzi, Prometheus Operator, cert-manager), for which
  no schema is available offline, get this file's own checks.
- A kind neither covers fails the test.
- Policies: every workload has the probes, resources, securityContext,
  grace period and PDB the operations guide promises; topics match the
  stores' partitions; every Kafka ACL matches what each service's code
  writes and reads (services/*/main.cc).
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
CORE_GROUPS = {"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "batch/v1"}
CUSTOM = {
    ("kafka.strimzi.io/v1beta2", "Kafka"), ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("cert-manager.io/v1", "Issuer"), ("cert-manager.io/v1", "Certificate"),
}
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


def consumed_by_code():
    """The topics each service's code consumes: FollowSource(context, "x"),
    and the registry's through FollowRegistry(context)."""
    consumed = {}
    for s in SERVICES:
        text = open(os.path.join(ROOT, "services", s, "main.cc")).read()
        consumed[s] = set(re.findall(r'FollowSource\(\s*context,\s*"([a-z]+)"', text))
        if re.search(r'FollowRegistry\(\s*context\s*\)', text):
            consumed[s].add("registry")
    return consumed


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    return int(m.group(1)) if m else None


def check_overlay(name, docs):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    core = [d for d in docs if d["apiVersion"] in CORE_GROUPS]
    for d in docs:
        if d["apiVersion"] not in CORE_GROUPS and (d["apiVersion"], d["kind"]) not in CUSTOM:
            fail(f"{name}: no schema and no check for {d['apiVersion']} {d['kind']}")
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
    # 2. Workload policies.
    for s in SERVICES:
        sts = by_kind.get("StatefulSet", {}).get(s)
        if sts is None:
            fail(f"{name}: no StatefulSet for {s}")
            continue
        spec = sts["spec"]["template"]["spec"]
        c = spec["containers"][0]
        for probe, svc in [("startupProbe", "liveness"), ("livenessProbe", "liveness"),
                           ("readinessProbe", "readiness")]:
            if c.get(probe, {}).get("grpc", {}).get("service") != svc:
                fail(f"{name}: {s} {probe} is not a gRPC probe on '{svc}'")
        res = c.get("resources", {})
        if not res.get("requests") or not res.get("limits"):
            fail(f"{name}: {s} needs resource requests and limits")
        psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
        if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(f"{name}: {s} pod must run as non-root with seccomp RuntimeDefault")
        if not (csc.get("readOnlyRootFilesystem") and csc.get("allowPrivilegeEscalation") is False
                and csc.get("capabilities", {}).get("drop") == ["ALL"]):
            fail(f"{name}: {s} container securityContext is not locked down")
        config = by_kind.get("ConfigMap", {}).get(f"{s}-config", {}).get("data", {})
        drain = duration_seconds(config.get("DRAIN_TIMEOUT", ""))
        if drain is None or spec.get("terminationGracePeriodSeconds", 0) <= drain + 10:
            fail(f"{name}: {s} grace period must exceed the drain ({drain}s) by more than 10s")
        if sts["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenDeleted") != "Retain":
            fail(f"{name}: {s} must retain its volume")
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
                if p["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]]
        if not pdbs:
            fail(f"{name}: {s} has no PodDisruptionBudget")
        for svc_name in [s, f"{s}-headless"]:
            if svc_name not in by_kind.get("Service", {}):
                fail(f"{name}: {s} has no Service {svc_name}")
        if s not in by_kind.get("ServiceAccount", {}):
            fail(f"{name}: {s} has no ServiceAccount")
        # Topic partitions are the store's partitions.
        topic = by_kind.get("KafkaTopic", {}).get(f"wangge.{s}.events")
        if topic is None:
            fail(f"{name}: no KafkaTopic for {s}")
        else:
            if str(topic["spec"]["partitions"]) != config.get("PARTITIONS"):
                fail(f"{name}: topic of {s} has {topic['spec']['partitions']} partitions, "
                     f"the store {config.get('PARTITIONS')}")
            if topic["spec"]["config"].get("retention.ms") != -1:
                fail(f"{name}: topic of {s} must keep everything (retention.ms -1)")
    # The periodic audit job: locked down like the services, and keeping its
    # state so consecutive runs check consistency.
    cron = by_kind.get("CronJob", {}).get("audit-verify")
    if cron is None:
        fail(f"{name}: no audit-verify CronJob")
    else:
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        c = pod["containers"][0]
        if "--state=/var/lib/audit/state.json" not in c.get("args", []):
            fail(f"{name}: the audit job must keep its last checkpoints (--state)")
        if not pod.get("securityContext", {}).get("runAsNonRoot") or \
                not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
            fail(f"{name}: the audit job is not locked down")
    deny = by_kind.get("NetworkPolicy", {}).get("default-deny")
    if not deny or deny["spec"]["podSelector"] != {} or \
            sorted(deny["spec"]["policyTypes"]) != ["Egress", "Ingress"]:
        fail(f"{name}: no deny-all NetworkPolicy")
    # 3. Kafka ACLs against the code.
    consumed = consumed_by_code()
    users = by_kind.get("KafkaUser", {})
    for s in SERVICES:
        user = users.get(s)
        if user is None:
            fail(f"{name}: no KafkaUser {s}")
            continue
        writes, reads = set(), set()
        for acl in user["spec"]["authorization"]["acls"]:
            r = acl["resource"]
            if r["type"] != "topic":
                continue
            topic = r["name"].removeprefix("wangge.").removesuffix(".events")
            if "Write" in acl["operations"]:
                writes.add(topic)
            if "Read" in acl["operations"] and topic != s:
                reads.add(topic)
        if writes != {s}:
            fail(f"{name}: KafkaUser {s} may write {sorted(writes)}, only its own topic allowed")
        if reads != consumed[s]:
            fail(f"{name}: KafkaUser {s} reads {sorted(reads)}, its code consumes "
                 f"{sorted(consumed[s])}")
    auditor = users.get("auditor")
    if auditor is None or any(op not in ("Read", "Describe")
                              for acl in auditor["spec"]["authorization"]["acls"]
                              for op in acl["operations"]):
        fail(f"{name}: the auditor user must exist and only read")
    # 4. Custom resources' own checks.
    kafka = by_kind.get("Kafka", {}).get("wangge")
    if kafka is None or kafka["metadata"].get("annotations", {}).get("strimzi.io/kraft") != "enabled":
        fail(f"{name}: the Kafka cluster must run in KRaft mode")
    elif not any(l.get("tls") and l.get("authentication", {}).get("type") == "tls"
                 for l in kafka["spec"]["kafka"]["listeners"]) or \
            kafka["spec"]["kafka"].get("authorization", {}).get("type") != "simple":
        fail(f"{name}: Kafka needs a TLS listener with client certificates and simple ACLs")
    for rule_doc in by_kind.get("PrometheusRule", {}).values():
        alerts = {r["alert"] for g in rule_doc["spec"]["groups"] for r in g["rules"]}
        for needed in ["WanggeServiceDown", "WanggeConsumerLag", "WanggeDeadLetters"]:
            if needed not in alerts:
                fail(f"{name}: alert {needed} missing")
    if not by_kind.get("PodMonitor"):
        fail(f"{name}: no PodMonitor")
    print(f"{name}: {len(docs)} objects, {validated} validated against Kubernetes schemas")


def main():
    cmd = kubectl()
    # kustomize does not follow the symlinks of Bazel's runfiles: render a
    # real copy.
    k8s = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "wangge-k8s")
    shutil.rmtree(k8s, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "deploy/k8s"), k8s)
    for overlay in sorted(glob.glob(os.path.join(k8s, "overlays/*"))):
        name = os.path.basename(overlay)
        rendered = subprocess.run([cmd, "kustomize", overlay], capture_output=True, text=True)
        if rendered.returncode != 0:
            fail(f"{name}: kustomize failed: {rendered.stderr}")
            continue
        docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
        check_overlay(name, docs)
    prod = subprocess.run([cmd, "kustomize", os.path.join(k8s, "overlays/prod")],
                          capture_output=True, text=True).stdout
    for s in SERVICES:
        if f"secretName: {s}-tls" not in prod:
            fail(f"prod: {s} does not mount its mTLS certificate")
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
