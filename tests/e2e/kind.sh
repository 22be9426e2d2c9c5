#!/usr/bin/env bash
# End-to-end on a real cluster, for machines with Docker and kind (not part of .ci/run):
# builds the image, creates a kind cluster, deploys the operator and the simulator, applies the
# samples and waits for every NodePool to become Ready.
set -euo pipefail
cd "$(dirname "$0")/../.."
cluster=nodepool-e2e
docker build -f deploy/Dockerfile -t nodepool-operator:dev .
kind create cluster --name "$cluster" || true
kind load docker-image nodepool-operator:dev --name "$cluster"
kubectl apply -k deploy/
kubectl apply -f deploy/sim/nodepool-sim.yaml
kubectl -n nodepool-system rollout status deployment/nodepool-sim --timeout=120s
kubectl -n nodepool-system rollout status deployment/nodepool-operator --timeout=120s
for f in deploy/samples/*.yaml; do
  sed 's|http://127.0.0.1:8787|http://nodepool-sim.nodepool-system.svc:8787|' "$f" | kubectl -n default apply -f -
done
kubectl -n default wait --for=condition=Ready nodepool --all --timeout=300s
kubectl -n default get nodepools
echo "kind e2e passed"
