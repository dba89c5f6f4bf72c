#!/usr/bin/env bash
# Vendor, once, vega, vega-lite and vega-embed (the versions dvc-render loads from a CDN)
# and build the HTML template that inlines them, so that `dvc plots show` renders with no
# network:
#   vendor/vega/<package>@<version>/{<package>.min.js,LICENSE}
#   vendor/vega/dvc_plots_template.html   (use: .dvc/config [plots] html_template)
#   vendor/vega/SHA256SUMS
#
# Run from anywhere: scripts/vendor_vega.sh
# Needs npm (only `npm pack`, which downloads a package tarball from the npm registry)
# and python3. The pipeline never runs this: the vendored files are committed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/vendor/vega"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# <package> <version>: keep in step with dvc_render.vega.VegaRenderer.SCRIPTS.
PACKAGES=("vega 5.20.2" "vega-lite 5.2.0" "vega-embed 6.18.2")

mkdir -p "$DEST"
for entry in "${PACKAGES[@]}"; do
    read -r name version <<<"$entry"
    echo "vendoring $name@$version -> vendor/vega/$name@$version" >&2
    tarball="$(cd "$WORK" && npm pack "$name@$version" --silent | tail -n 1)"
    mkdir -p "$WORK/$name"
    tar -xzf "$WORK/$tarball" -C "$WORK/$name"
    rm -rf "${DEST:?}/$name@$version"
    mkdir -p "$DEST/$name@$version"
    cp "$WORK/$name/package/build/$name.min.js" "$WORK/$name/package/LICENSE" "$DEST/$name@$version/"
done

python3 - "$DEST" "${PACKAGES[@]}" <<'PY'
import re
import sys
from pathlib import Path

dest = Path(sys.argv[1])
scripts = []
for entry in sys.argv[2:]:
    name, version = entry.split()
    js = (dest / f"{name}@{version}" / f"{name}.min.js").read_text(encoding="utf-8")
    # No source-map fetches: the page must make no network request at all.
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.M)
    for bad in ("</script", "{plot_divs}", "{scripts}", "{refresh_tag}"):
        if bad in js:
            sys.exit(f"{name}: contains {bad!r}, cannot be inlined in the template")
    scripts.append(f"<!-- {name}@{version} (BSD-3-Clause, see vendor/vega/{name}@{version}/LICENSE) -->\n"
                   f"<script type=\"text/javascript\">\n{js}\n</script>")
# dvc-render replaces {plot_divs} (and {refresh_tag}); there is deliberately no {scripts}
# placeholder, so the CDN <script> tags dvc-render would add are never inserted.
page = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC Plot</title>
%s
<style>
table { border-spacing: 15px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
""" % "\n".join(scripts)
(dest / "dvc_plots_template.html").write_text(page, encoding="utf-8")
PY

(cd "$DEST" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "wrote $DEST" >&2
