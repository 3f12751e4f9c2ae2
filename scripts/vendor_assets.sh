#!/bin/sh
# Copy the front-end libraries installed by `npm ci` into static/vendor/ (gitignored), so the
# app serves every asset itself: no CDN at run time.
set -eu
cd "$(dirname "$0")/.."
if [ ! -d node_modules/echarts ] || [ ! -d node_modules/sortablejs ]; then
    npm ci --no-audit --no-fund
fi
mkdir -p static/vendor/echarts static/vendor/sortablejs
cp node_modules/echarts/dist/echarts.min.js static/vendor/echarts/echarts.min.js
cp node_modules/echarts/LICENSE static/vendor/echarts/LICENSE
cp node_modules/sortablejs/Sortable.min.js static/vendor/sortablejs/Sortable.min.js
cp node_modules/sortablejs/LICENSE static/vendor/sortablejs/LICENSE
echo "vendored: echarts $(node -p 'require("./node_modules/echarts/package.json").version'),"\
" sortablejs $(node -p 'require("./node_modules/sortablejs/package.json").version')"
