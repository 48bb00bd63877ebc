#!/usr/bin/env bash
# The release build (docs/releasing.md): one version of apisix-session, built from the commit that
# is checked out, into target/release/:
#   apisix-session-runner-VERSION.jar                the runner APISIX starts (ext-plugin.cmd)
#   session-plugin-for-java-runner-VERSION.jar       the filter for apache/apisix-java-plugin-runner
#   apisix-session-runner-VERSION.cdx.json           CycloneDX SBOM of each jar
#   session-plugin-for-java-runner-VERSION.cdx.json
#   LICENSE, NOTICE, SHA256SUMS
#
# usage: bash release/build.sh [VERSION]     (default: the pom's revision without -SNAPSHOT)
#
# The archives carry the commit's time, so two builds of one commit give the same bytes
# (.ci/reproducible-build checks that). Tests do not run here: release a commit whose CI passed.
# The licence check does run (it is bound to verify).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'release: %s\n' "$*" >&2; exit 1; }

snapshot=$(sed -n 's:.*<revision>\(.*\)</revision>.*:\1:p' pom.xml | head -n 1)
version=${1:-${snapshot%-SNAPSHOT}}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([.-][0-9A-Za-z.]+)*$ ]] || die "not a version: '$version'"
[[ $version != *SNAPSHOT* ]] || die "a release version has no -SNAPSHOT: $version"

command -v git >/dev/null && git rev-parse --verify -q HEAD >/dev/null \
  || die "needs git and a commit: a release says which commit it was built from"
if [ -n "$(git status --porcelain)" ] && [ "${RELEASE_ALLOW_DIRTY:-}" != 1 ]; then
  git status --short >&2
  die "uncommitted or untracked files: commit them first (RELEASE_ALLOW_DIRTY=1 for a trial build)"
fi

# clean: a class left in target/ by an earlier build must not end up in a release;
# -Dmdep.skip: the official runner jar is only needed by the adapter's tests
mvn -B -ntp -Prelease -Drevision="$version" -DskipTests -Dmdep.skip=true \
  -pl plugin,plugin/runner-sdk-adapter -am clean verify

# NOTICE must name every library the runner jar bundles, at the version it bundles
third_party=plugin/target/generated-sources/license/THIRD-PARTY.txt
missing=$(sed -n 's/.*(\([^:() ]*\):\([^:() ]*\):\([^:() ]*\) - .*/\1:\2 \3/p' "$third_party" \
  | grep -v '^io\.github\.apisixsession:' | while read -r lib; do
      grep -qF "${lib% *}" NOTICE && grep -F "${lib% *}" NOTICE | grep -qF " ${lib#* }" || echo "  $lib"
    done)
[ -z "$missing" ] || die "NOTICE does not name these bundled libraries (at these versions):
$missing"

out=target/release
rm -rf "$out"
mkdir -p "$out"
cp plugin/target/apisix-session-runner.jar "$out/apisix-session-runner-$version.jar"
cp plugin/target/sbom.cdx.json "$out/apisix-session-runner-$version.cdx.json"
cp plugin/runner-sdk-adapter/target/session-plugin-for-java-runner.jar "$out/session-plugin-for-java-runner-$version.jar"
cp plugin/runner-sdk-adapter/target/sbom.cdx.json "$out/session-plugin-for-java-runner-$version.cdx.json"
cp LICENSE NOTICE "$out/"
(cd "$out" && sha256sum -- *.jar *.json LICENSE NOTICE > SHA256SUMS)

reported=$(java -jar "$out/apisix-session-runner-$version.jar" --version | head -n 1)
[ "$reported" = "apisix-session-runner $version" ] || die "the runner jar reports '$reported'"

printf '\nrelease %s of commit %s in %s:\n' "$version" "$(git rev-parse HEAD)" "$out"
(cd "$out" && ls -l --time-style=+ -- * | awk '{printf "  %10d  %s\n", $5, $NF}')
