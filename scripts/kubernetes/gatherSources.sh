#!/usr/bin/env bash
# Collects the upstream Kubernetes API definitions the schema generator reads (nothing here is committed):
# every group/version's generated.proto and its Go type files (for JSON names, omitempty, pointers, inlining).
#
#   bash scripts/kubernetes/gatherSources.sh <out-dir> [<api.git> <apimachinery.git> <apiextensions.git> <aggregator.git>]
#
# The four arguments are clones (bare or not) of github.com/kubernetes/{api,apimachinery,
# apiextensions-apiserver,kube-aggregator}; without them the script clones them (needs network).
# k8s.io/api is read at its HEAD; a group/version that HEAD no longer has (e.g. autoscaling/v2beta1,
# flowcontrol/v1alpha1) is taken from the newest release tag (v0.N.0) that still had it, so objects an older
# cluster wrote stay readable. Every third release from v1.20 to v1.35 is also kept whole under <out-dir>/older/<tag>/:
# the generator adds the kinds and fields they had that HEAD dropped (PodSecurityPolicy, alpha fields).
# <out-dir>/SOURCES.txt records the repository, commit and tag of every package.
set -euo pipefail
out=${1:?usage: gatherSources.sh <out-dir> [api apimachinery apiextensions-apiserver kube-aggregator]}
shift
repos=(api apimachinery apiextensions-apiserver kube-aggregator)
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  tmp=$(mktemp -d)
  for r in "${repos[@]}"; do
    git clone --quiet --bare "https://github.com/kubernetes/$r" "$tmp/$r.git"
    dirs+=("$tmp/$r.git")
  done
fi
rm -rf "$out" && mkdir -p "$out"
: >"$out/SOURCES.txt"

# Groups whose objects never reach etcd (reviews, discovery documents) are kept too: they are small, and
# their round-trip fixtures then check the decoder as well.
skip='^$'

# extract <git-dir> <ref> <package-dir> <module> [<root>]: the package's generated.proto and non-test Go files.
extract() {
  local git=$1 ref=$2 pkg=$3 module=$4 root=${5:-$out} dest="${5:-$out}/$4/$3"
  mkdir -p "$dest"
  git -C "$git" ls-tree --name-only "$ref" "$pkg/" | grep -E '(generated\.proto|\.go)$' | grep -vE '(_test\.go|generated\.pb\.go|zz_generated\..*\.go)$' |
    while read -r f; do git -C "$git" show "$ref:$f" >"$dest/$(basename "$f")"; done
  echo "$module/$pkg $(git -C "$git" rev-parse "$ref^{commit}") ${ref}" >>"$root/SOURCES.txt"
}

api=${dirs[0]}
declare -A seen=()
for pkg in $(git -C "$api" ls-tree -r --name-only HEAD | grep '/generated.proto$' | sed 's#/generated.proto##' | grep -vE "$skip"); do
  seen[$pkg]=1
  extract "$api" HEAD "$pkg" k8s.io/api
done
for tag in $(git -C "$api" tag --list 'v0.*' | grep -E '^v0\.[0-9]+\.0$' | sort -rV); do
  for pkg in $(git -C "$api" ls-tree -r --name-only "$tag" | grep '/generated.proto$' | sed 's#/generated.proto##' | grep -vE "$skip"); do
    if [ -z "${seen[$pkg]:-}" ]; then
      seen[$pkg]=1
      extract "$api" "$tag" "$pkg" k8s.io/api
    fi
  done
done
for tag in $(git -C "$api" tag --list 'v0.*' | grep -E '^v0\.(35|32|29|26|23|20)\.0$' | sort -rV); do
  mkdir -p "$out/older/$tag"
  for pkg in $(git -C "$api" ls-tree -r --name-only "$tag" | grep '/generated.proto$' | sed 's#/generated.proto##'); do
    extract "$api" "$tag" "$pkg" k8s.io/api "$out/older/$tag"
  done
done
for pkg in pkg/apis/meta/v1 pkg/runtime pkg/runtime/schema pkg/api/resource pkg/util/intstr; do
  extract "${dirs[1]}" HEAD "$pkg" k8s.io/apimachinery
done
for pkg in pkg/apis/apiextensions/v1 pkg/apis/apiextensions/v1beta1; do
  extract "${dirs[2]}" HEAD "$pkg" k8s.io/apiextensions-apiserver
done
for pkg in pkg/apis/apiregistration/v1 pkg/apis/apiregistration/v1beta1; do
  extract "${dirs[3]}" HEAD "$pkg" k8s.io/kube-aggregator
done
echo "gathered $(wc -l <"$out/SOURCES.txt") packages into $out"
