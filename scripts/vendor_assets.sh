#!/usr/bin/env bash
# Vendor, once, the front-end files that Great Expectations Data Docs load from CDNs,
# so that reports/validation/ renders with no network (see vendor/datadocs/assets.json).
#
# Run from anywhere: scripts/vendor_assets.sh
# Needs npm (only `npm pack`, which downloads a package tarball from the npm registry)
# and python3. Rewrites vendor/datadocs/<package>@<version>/ and SHA256SUMS; commit them.
# The pipeline never runs this: the vendored files are committed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/vendor/datadocs"
ASSETS="$DEST/assets.json"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One line per package: <dir>\t<npm spec>\t<space-separated files>
python3 - "$ASSETS" >"$WORK/plan.tsv" <<'PY'
import json, sys
assets = json.load(open(sys.argv[1], encoding="utf-8"))
for name, pkg in assets["packages"].items():
    print(f"{name}\t{pkg['npm']}\t{' '.join(pkg['files'])}")
PY

while IFS=$'\t' read -r dir spec files; do
    echo "vendoring $spec -> vendor/datadocs/$dir" >&2
    mkdir -p "$WORK/$dir"
    tarball="$(cd "$WORK" && npm pack "$spec" --silent | tail -n 1)"
    tar -xzf "$WORK/$tarball" -C "$WORK/$dir"
    rm -rf "${DEST:?}/$dir"
    for file in $files; do
        mkdir -p "$(dirname "$DEST/$dir/$file")"
        cp "$WORK/$dir/package/$file" "$DEST/$dir/$file"
    done
done <"$WORK/plan.tsv"

# Licence notices for packages whose tarball carries no licence file, the
# template's Subresource Integrity hashes, and a checksum list of everything vendored.
python3 - "$ASSETS" "$DEST" <<'PY'
import base64, hashlib, json, pathlib, sys
assets = json.load(open(sys.argv[1], encoding="utf-8"))
dest = pathlib.Path(sys.argv[2])
for name, pkg in assets["packages"].items():
    note = pkg.get("license_note")
    if "license_text" in pkg:
        text = pkg["license_text"]
    elif "license_from" in pkg:
        text = (dest / pkg["license_from"]).read_text(encoding="utf-8")
    else:
        continue
    (dest / name / "LICENSE").write_text(f"{note}\n\n{text}" if note else text, encoding="utf-8")
for path, expected in assets["integrity"].items():
    algo, _, digest = expected.partition("-")
    actual = base64.b64encode(hashlib.new(algo, (dest / path).read_bytes()).digest()).decode()
    if actual != digest:
        sys.exit(f"{path}: {algo} is {actual}, but the Data Docs template expects {digest}")
for url, path in assets["urls"].items():
    if not (dest / path).is_file():
        sys.exit(f"{url} maps to {path}, which was not vendored")
lines = []
for path in sorted(p for p in dest.rglob("*") if p.is_file() and p.name not in {"SHA256SUMS", "assets.json"}):
    lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(dest).as_posix()}")
(dest / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"vendored {len(lines)} files; integrity and URL map checked", file=sys.stderr)
PY
