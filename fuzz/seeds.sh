#!/usr/bin/env bash
# Seeds the fuzz corpora from the documented examples under tests/fixtures/: each target's
# input format is described at the top of its fuzz_targets/<target>.rs. Needs jq.
# Usage: fuzz/seeds.sh   (writes fuzz/corpus/<target>/seed-*; safe to run again)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../tests/fixtures"
corpus="$here/corpus"
project=0123456789abcdef0123456789abcdef
cluster=11111111-2222-3333-4444-555555555555
resource_pool=pool-sim-0000000000000000000000000001

# seed TARGET NAME: stdin becomes corpus/TARGET/seed-NAME.
seed() {
  mkdir -p "$corpus/$1"
  cat >"$corpus/$1/seed-$2"
}

# A selector byte (decimal) followed by a file.
with_byte() {
  printf "\\$(printf '%03o' "$1")"
  cat "$2"
}

# An ENS parameter object (JSON) as a query string.
as_query() {
  jq -r 'to_entries | map("\(.key | @uri)=\(.value | tostring | @uri)") | join("&")' "$1"
}

ens_action_index() {
  case "$1" in
    create-cluster-node-pool-request) echo 0 ;;
    describe-cluster-node-pools-request) echo 1 ;;
    scale-cluster-node-pool-request) echo 2 ;;
    delete-cluster-nodes-request) echo 3 ;;
    describe-cluster-nodes-request) echo 4 ;;
    modify-cluster-node-pool-request) echo 5 ;;
    delete-cluster-node-pool-request) echo 6 ;;
  esac
}

# Simulator request parsing.
for f in "$fixtures"/cce/*-request*.json; do
  name="$(basename "$f" .json)"
  for op in 0 1 2 3 4 5 6; do with_byte "$op" "$f" | seed sim_cce_request "$name-$op"; done
  { printf 'POST /api/v3/projects/%s/clusters/%s/nodepools\ncontent-type: application/json\n\n' "$project" "$cluster"; cat "$f"; } |
    seed sim_route "cce-$name"
done
for f in "$fixtures"/modelarts/*-request.json; do
  name="$(basename "$f" .json)"
  for op in 0 1 2 3 4 5; do with_byte "$op" "$f" | seed sim_modelarts_request "$name-$op"; done
  { printf 'PATCH /v2/%s/pools/%s/nodepools/nodepool-1\ncontent-type: application/merge-patch+json\n\n' "$project" "$resource_pool"; cat "$f"; } |
    seed sim_route "modelarts-$name"
done
for f in "$fixtures"/ens/*-request.json; do
  name="$(basename "$f" .json)"
  action="$(ens_action_index "$name")"
  for flags in 0 8 16; do with_byte $((action | flags)) "$f" | seed sim_ens_request "$name-$flags"; done
  for selector in 0 1 2 3 4 5 6; do with_byte "$selector" "$f" | seed wire_ens_params "$name-$selector"; done
  { printf 'POST /?%s\n\n' "$(as_query "$f")"; } | seed sim_route "ens-$name"
  { printf 'POST /\ncontent-type: application/x-www-form-urlencoded\n\n'; as_query "$f"; } |
    seed alibaba_v1_signature "$name"
done
for f in "$fixtures"/iam/token-request*.json; do
  name="$(basename "$f" .json)"
  seed sim_iam_token "$name" <"$f"
  { printf 'POST /v3/auth/tokens\ncontent-type: application/json\n\n'; cat "$f"; } | seed sim_route "iam-$name"
done

# Signatures: the published vectors as raw requests, with their Authorization headers.
vectors="$fixtures/signing/vectors.json"
count="$(jq '.huawei | length' "$vectors")"
for i in $(seq 0 $((count - 1))); do
  jq -j --argjson i "$i" '.huawei[$i] |
    "\(.method) \(.path)\(if .query == "" then "" else "?" + .query end)\n" +
    (.headers | to_entries | map("\(.key): \(.value)\n") | join("")) +
    "Authorization: SDK-HMAC-SHA256 Access=\(.access_key), SignedHeaders=\(.signed_headers), Signature=\(.signature)\n\n" +
    .body' "$vectors" | seed huawei_signature "vector-$i"
done
count="$(jq '.alibaba_v1 | length' "$vectors")"
for i in $(seq 0 $((count - 1))); do
  jq -j --argjson i "$i" '.alibaba_v1[$i] |
    "\(.method) /?" + ((.params + {Signature: .signature}) | to_entries |
      map("\(.key | @uri)=\(.value | @uri)") | join("&")) + "\n\n"' "$vectors" |
    seed alibaba_v1_signature "vector-$i"
done
count="$(jq '.alibaba_v3 | length' "$vectors")"
for i in $(seq 0 $((count - 1))); do
  jq -j --argjson i "$i" '.alibaba_v3[$i] |
    "\(.method) \(.path)?" + (.query | map("\(.[0] | @uri)=\(.[1] | @uri)") | join("&")) + "\n" +
    (.headers | to_entries | map("\(.key): \(.value)\n") | join("")) +
    "Authorization: ACS3-HMAC-SHA256 Credential=\(.access_key_id),SignedHeaders=\(.signed_headers),Signature=\(.signature)\n\n"' \
    "$vectors" | seed alibaba_v3_signature "vector-$i"
done

# Wire types: each document with the selectors of the types of its API.
for f in "$fixtures"/{cce,modelarts,iam,ens}/*.json; do
  dir="$(basename "$(dirname "$f")")"
  name="$dir-$(basename "$f" .json)"
  case "$dir" in
    cce) selectors="0 1 2 3 4 5" ;;
    modelarts) selectors="6 7" ;;
    iam) selectors="8 5" ;;
    ens) selectors="9 10 11 12 13 14 15 16 17" ;;
  esac
  for s in $selectors; do with_byte "$s" "$f" | seed wire_json_roundtrip "$name-$s"; done
done

# The operator reading answers.
for f in "$fixtures"/cce/*-response*.json; do seed operator_cce_response "$(basename "$f" .json)" <"$f"; done
for f in "$fixtures"/modelarts/*-response*.json; do seed operator_modelarts_response "$(basename "$f" .json)" <"$f"; done
for f in "$fixtures"/ens/*-response.json; do
  for target in 0 1 3; do with_byte "$target" "$f" | seed operator_ens_response "$(basename "$f" .json)-$target"; done
done
for f in "$fixtures"/*/error-*.json; do
  name="$(basename "$(dirname "$f")")-$(basename "$f" .json)"
  for status in 400 404 429 500; do
    { printf '%s\nretry-after: 3\nx-acs-retry-after: 1.5\n\n' "$status"; cat "$f"; } |
      seed operator_error_response "$name-$status"
  done
done

echo "seeded: $(find "$corpus" -name 'seed-*' | wc -l) files in $(find "$corpus" -mindepth 1 -maxdepth 1 -type d | wc -l) corpora"
