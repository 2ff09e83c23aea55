#!/usr/bin/env bash
# One command to rebuild src/etcd/kubernetes/schema/kubernetes.json from upstream:
#   npm run k8s:schema [-- <api.git> <apimachinery.git> <apiextensions-apiserver.git> <kube-aggregator.git>]
# Without arguments the four kubernetes/* repositories are cloned from GitHub. Sources go to a temp dir.
set -euo pipefail
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
bash "$(dirname "$0")/gatherSources.sh" "$src/k8s" "$@"
npx tsc -p tsconfig.json
node out/scripts/kubernetes/generateSchema.js "$src/k8s" src/etcd/kubernetes/schema/kubernetes.json
