#!/usr/bin/env bash
# End-to-end on a real cluster, for machines with Docker and kind (not part of .ci/run):
# builds the image, creates a kind cluster of its own, deploys the operator and the simulator,
# applies the samples and waits for every NodePool to become Ready. Every kubectl command names
# that cluster's context, so whatever context is current is never touched; the cluster is
# deleted on exit (KEEP_CLUSTER=1 keeps it for a look).
set -euo pipefail
cd "$(dirname "$0")/../.."
cluster="${KIND_CLUSTER:-nodepool-e2e}"
context="kind-$cluster"
image=nodepool-operator:dev

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind e2e: $tool is not installed" >&2; exit 2; }
done
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  echo "kind e2e: a kind cluster named $cluster exists already; delete it (kind delete cluster --name $cluster) or set KIND_CLUSTER" >&2
  exit 2
fi

cleanup() {
  status=$?
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    echo "kind e2e: keeping cluster $cluster (context $context)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

k() { kubectl --context "$context" "$@"; }

docker build -f deploy/Dockerfile -t "$image" .
kind create cluster --name "$cluster" --wait 120s
kind load docker-image "$image" --name "$cluster"
k apply -k deploy/
k apply -f deploy/sim/nodepool-sim.yaml
k -n nodepool-system rollout status deployment/nodepool-sim --timeout=120s
k -n nodepool-system rollout status deployment/nodepool-operator --timeout=120s
for f in deploy/samples/*.yaml; do
  sed 's|http://127.0.0.1:8787|http://nodepool-sim.nodepool-system.svc:8787|' "$f" | k -n default apply -f -
done
k -n default wait --for=condition=Ready nodepool --all --timeout=300s
k -n default get nodepools
echo "kind e2e passed"
