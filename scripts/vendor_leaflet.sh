#!/usr/bin/env bash
# Vendor Leaflet's dist files into static/leaflet/ so the map works offline.
#
# 把 Leaflet 的发布文件放入 static/leaflet/，地图无需访问外网即可显示。
# Streamlit serves static/ at /app/static/ (server.enableStaticServing = true);
# gislib.maps points folium's default_js / default_css there.
#
# Usage: bash scripts/vendor_leaflet.sh   (needs npm and the npm registry)
set -euo pipefail

LEAFLET_VERSION="1.9.4"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ROOT}/static/leaflet"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

(cd "${WORK}" && npm pack --silent "leaflet@${LEAFLET_VERSION}" >/dev/null)
tar -xzf "${WORK}/leaflet-${LEAFLET_VERSION}.tgz" -C "${WORK}"

# Only what the map needs: the script, the stylesheet, the marker and layer images.
STAGE="${WORK}/stage"
mkdir -p "${STAGE}/images"
cp "${WORK}/package/dist/leaflet.js" "${WORK}/package/dist/leaflet.css" "${STAGE}/"
cp "${WORK}/package/dist/images/"*.png "${STAGE}/images/"
cp "${WORK}/package/LICENSE" "${STAGE}/LICENSE"
echo "leaflet ${LEAFLET_VERSION} (npm package dist/)" > "${STAGE}/VERSION"

rm -rf "${DEST}"
mkdir -p "$(dirname "${DEST}")"
mv "${STAGE}" "${DEST}"
echo "Leaflet ${LEAFLET_VERSION} vendored into ${DEST}"
