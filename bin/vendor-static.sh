#!/usr/bin/env bash
# Refresh the vendored front-end assets in static/vendor/ from the npm registry.
#
# The portal must run fully offline (no CDN), so Bootstrap, Bootstrap Icons and
# ECharts are committed under static/vendor/. This script reproduces those files
# from pinned npm tarballs. It is a maintainer tool and is NOT run in CI.
#
# Usage:  bin/vendor-static.sh
# Needs:  bash, npm, node, tar, openssl, sha256sum; network access to the npm registry.
#
# To upgrade: change a version below, set its integrity to the value printed by
#   npm view PKG@NEWVERSION dist.integrity
# run the script, and review the diff (especially static/vendor/VERSIONS.txt).
#
# Source maps are deliberately not vendored, and the trailing
# `sourceMappingURL` comment is stripped from every copied .css/.js file:
# whitenoise's CompressedManifestStaticFilesStorage (Django's
# ManifestStaticFilesStorage) rewrites those references during collectstatic
# and fails when the referenced .map file is missing.
set -euo pipefail

# --- pinned versions: name|version|npm dist.integrity -------------------------
PINS=(
  "bootstrap|5.3.9|sha512-20cU0rcfw8WdxtVbmfU+xT2EjvVTw9Ror/h1Qvd7DXCujRg8OO9mdBCsmTHdJFf3BuadmBNJtgIuUXsBqSkk/w=="
  "bootstrap-icons|1.13.2|sha512-fAU1Ly3dH7hwRg+CB8EZ0Vl0fF80zgXHeUVJyfUOKzoURr+TbwISbCW5tKUoQLERaWYG2emTCybcPbD96hdD1A=="
  "echarts|6.1.0|sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${REPO_ROOT}/static/vendor"

die() { echo "vendor-static: $*" >&2; exit 1; }

for tool in npm node tar openssl sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendor-npm.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAGE="${WORK}/stage"
mkdir -p "$STAGE"

# --- 1. fetch + verify + extract each tarball ---------------------------------
declare -A VERSION INTEGRITY PKGDIR
for pin in "${PINS[@]}"; do
  IFS='|' read -r name version integrity <<<"$pin"
  echo "==> ${name}@${version}"

  registry_integrity="$(npm view "${name}@${version}" dist.integrity 2>/dev/null)"
  [[ "$registry_integrity" == "$integrity" ]] \
    || die "${name}@${version}: registry integrity '${registry_integrity}' != pinned '${integrity}'"

  # npm pack of a registry spec only downloads the tarball; no lifecycle scripts run.
  (cd "$WORK" && npm pack "${name}@${version}" --ignore-scripts --silent >/dev/null 2>&1) \
    || die "npm pack ${name}@${version} failed"
  tgz="${WORK}/${name}-${version}.tgz"
  [[ -f "$tgz" ]] || die "expected tarball not found: $tgz"

  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 | tr -d '\n')"
  [[ "$actual" == "$integrity" ]] \
    || die "${name}@${version}: tarball sha512 '${actual}' != pinned '${integrity}'"

  mkdir -p "${WORK}/x/${name}"
  tar -xzf "$tgz" -C "${WORK}/x/${name}"
  pkg="${WORK}/x/${name}/package"
  got_version="$(node -p "require(process.argv[1]).version" "${pkg}/package.json")"
  [[ "$got_version" == "$version" ]] || die "${name}: package.json says ${got_version}, expected ${version}"

  VERSION[$name]="$version"
  INTEGRITY[$name]="$integrity"
  PKGDIR[$name]="$pkg"
done

# --- 2. copy the files we ship into a staging tree ----------------------------
copy() { install -D -m 0644 "$1" "${STAGE}/$2"; }

b="${PKGDIR[bootstrap]}"
copy "${b}/dist/css/bootstrap.min.css"        bootstrap/css/bootstrap.min.css
copy "${b}/dist/js/bootstrap.bundle.min.js"   bootstrap/js/bootstrap.bundle.min.js
copy "${b}/LICENSE"                           bootstrap/LICENSE

i="${PKGDIR[bootstrap-icons]}"
copy "${i}/font/bootstrap-icons.min.css"          bootstrap-icons/font/bootstrap-icons.min.css
copy "${i}/font/fonts/bootstrap-icons.woff2"      bootstrap-icons/font/fonts/bootstrap-icons.woff2
copy "${i}/font/fonts/bootstrap-icons.woff"       bootstrap-icons/font/fonts/bootstrap-icons.woff
copy "${i}/LICENSE"                               bootstrap-icons/LICENSE

e="${PKGDIR[echarts]}"
copy "${e}/dist/echarts.min.js"   echarts/echarts.min.js
copy "${e}/LICENSE"               echarts/LICENSE
[[ -f "${e}/NOTICE" ]] && copy "${e}/NOTICE" echarts/NOTICE
# echarts.min.js embeds d3-derived code; its LICENSE points at licenses/LICENSE-d3.
[[ -f "${e}/licenses/LICENSE-d3" ]] && copy "${e}/licenses/LICENSE-d3" echarts/licenses/LICENSE-d3

# Strip source-map comments: "/*# sourceMappingURL=... */" (css), "//# sourceMappingURL=..." (js).
while IFS= read -r -d '' f; do
  sed -i -E '/^[[:space:]]*(\/\*|\/\/)[#@][[:space:]]*sourceMappingURL=/d' "$f"
done < <(find "$STAGE" -type f \( -name '*.css' -o -name '*.js' \) -print0)

# --- 3. verify the staged tree -------------------------------------------------
if grep -rl 'sourceMappingURL' "$STAGE" --include='*.css' --include='*.js'; then
  die "sourceMappingURL still present in the files listed above"
fi

# Every non-data url(...) in a css file must resolve to a staged file
# (relative to the css file, ignoring ?query and #fragment).
missing=0
while IFS= read -r -d '' css; do
  while IFS= read -r ref; do
    [[ -z "$ref" ]] && continue
    case "$ref" in data:*|\#*) continue ;; esac
    case "$ref" in http:*|https:*|//*) echo "external url in ${css#"$STAGE"/}: $ref" >&2; missing=1; continue ;; esac
    path="${ref%%[?#]*}"
    if [[ ! -f "$(dirname "$css")/${path}" ]]; then
      echo "unresolved url in ${css#"$STAGE"/}: $ref" >&2
      missing=1
    fi
  done < <(grep -oE 'url\([^)]*\)' "$css" | sed -E 's/^url\([[:space:]]*["'\'']?//; s/["'\'']?[[:space:]]*\)$//')
done < <(find "$STAGE" -type f -name '*.css' -print0)
[[ "$missing" -eq 0 ]] || die "css references files that were not vendored"

# --- 4. VERSIONS.txt -------------------------------------------------------------
{
  echo "# Vendored front-end assets. Generated by bin/vendor-static.sh -- do not edit by hand."
  echo "# Source: npm registry tarballs; integrity = npm dist.integrity of the tarball."
  echo "# Source maps are omitted and sourceMappingURL comments stripped."
  echo "#"
  echo "# package          version   integrity"
  for pin in "${PINS[@]}"; do
    IFS='|' read -r name _ _ <<<"$pin"
    printf '%-18s %-9s %s\n' "$name" "${VERSION[$name]}" "${INTEGRITY[$name]}"
  done
  echo
  echo "# sha256 of the vendored files (after stripping source-map comments)"
  (cd "$STAGE" && find . -type f ! -name VERSIONS.txt -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sed 's#  \./#  #')
} > "${STAGE}/VERSIONS.txt"

# --- 5. install: replace only the directories this script owns ---------------
mkdir -p "$DEST"
for name in bootstrap bootstrap-icons echarts; do
  rm -rf "${DEST:?}/${name}"
  cp -R "${STAGE}/${name}" "${DEST}/${name}"
done
cp "${STAGE}/VERSIONS.txt" "${DEST}/VERSIONS.txt"
find "$DEST/bootstrap" "$DEST/bootstrap-icons" "$DEST/echarts" -type d -exec chmod 0755 {} +
find "$DEST/bootstrap" "$DEST/bootstrap-icons" "$DEST/echarts" "$DEST/VERSIONS.txt" -type f -exec chmod 0644 {} +

echo "==> vendored into ${DEST}:"
(cd "$DEST" && find bootstrap bootstrap-icons echarts VERSIONS.txt -type f | LC_ALL=C sort | xargs ls -l)
