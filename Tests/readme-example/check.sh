#!/usr/bin/env bash
# Builds and runs README.md's ResilientClient example exactly as written, from a separate package that depends
# on this repository by path, against the endpoint started with the README's own command.
#
# The blocks are the fenced code blocks that follow an HTML comment `<!-- readme-example: FILE -->` in
# README.md; each is written to FILE of a throwaway package (Package.swift, main.swift). The one substitution:
# the dependency's path points at this repository (through a link named as the README's path says).
# The endpoint's flags are taken from the README's `swift run -c release reference-endpoint ...` line; it runs
# from this repository's debug build (`swift build`), which CI has already made for `swift test`.
# Port 8080, as the README says; PORT=NNNN runs both on another port (the only other substitution).
# It also checks what the app can name through `import ResilientClient`: the route vocabulary, not the
# package-internal parts of EndpointSpec (step 3b).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
readme="$repo/README.md"
port="${PORT:-8080}"
work="$(mktemp -d)"
endpoint_pid=""
cleanup() {
  if [ -n "$endpoint_pid" ]; then kill "$endpoint_pid" 2>/dev/null || true; wait "$endpoint_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Extract the marked blocks.
python3 - "$readme" "$work/app" <<'PY'
import os, re, sys
readme, out = sys.argv[1], sys.argv[2]
text = open(readme, encoding="utf-8").read()
blocks = re.findall(r"<!-- readme-example: ([\w.]+) -->\n```swift\n(.*?)\n```", text, re.S)
names = [name for name, _ in blocks]
if sorted(names) != ["Package.swift", "main.swift"]:
    sys.exit(f"README.md: expected marked blocks Package.swift and main.swift, found {names}")
os.makedirs(os.path.join(out, "Sources", "my-app"))
for name, code in blocks:
    path = os.path.join(out, name if name == "Package.swift" else os.path.join("Sources", "my-app", name))
    open(path, "w", encoding="utf-8").write(code + "\n")
print(f"extracted {', '.join(names)} from README.md")
PY

# 2. The README's dependency path, relative to the app, must lead to this repository: link it there.
dep="$(sed -n 's/.*\.package(path: "\([^"]*\)").*/\1/p' "$work/app/Package.swift")"
[ -n "$dep" ] || { echo "check.sh: no .package(path:) in the README's Package.swift" >&2; exit 1; }
ln -s "$repo" "$work/app/$dep"
if [ "$port" != 8080 ]; then sed -i "s#127.0.0.1:8080#127.0.0.1:$port#" "$work/app/Sources/my-app/main.swift"; fi

# 3. Build the example as a consumer would.
echo "== building the README example in $work/app (depends on $dep -> $repo)"
(cd "$work/app" && swift build 2>&1 | tail -n 3)

# 3b. What an application sees through `import ResilientClient` (Sources/ResilientClient/Exports.swift): the
# route vocabulary, and none of the endpoint's internals. Two probes are type-checked as the app's own code is
# (against its build's modules, outside this package): the first uses public names and must pass, so that the
# second fails for the one reason it may, every package-internal name it uses being out of reach.
bin_path="$(cd "$work/app" && swift build --show-bin-path)"
modules="$bin_path/Modules"
# On Linux ResilientClient's modules reach the C shim CLinux (through NetIO), whose module map is in the build.
clinux=()
[ -f "$bin_path/CLinux.build/module.modulemap" ] && clinux=(-Xcc "-fmodule-map-file=$bin_path/CLinux.build/module.modulemap")
typecheck() {
  printf 'import ResilientClient\n%s\n' "$1" >"$work/probe.swift"
  swiftc -typecheck -I "$modules" "${clinux[@]}" "$work/probe.swift" 2>&1
}
visible='var rng = SplitMix64(seed: 1); _ = rng.next()
let spec = RouteSpec(path: "/add", file: "calc", function: "add", body: [BodyParam(name: "a", type: ParamType.int)])
_ = try? JSON.parse(JSON.serialize(spec.jsonValue)); _ = ValidationProblem(details: [])'
typecheck "$visible" >/dev/null || { typecheck "$visible" >&2; echo "check.sh: the public route vocabulary does not type-check" >&2; exit 1; }
hidden=(BodyTemplate ValidatedBody ValidationFailure ValidationErrorDetail EndpointConfig PythonNumber NumberStyle moduleName)
out="$(typecheck '_ = BodyTemplate([]); _ = ValidatedBody.self; _ = ValidationFailure.self; _ = ValidationErrorDetail.self
_ = EndpointConfig.self; _ = PythonNumber.self; _ = JSON.NumberStyle.self
_ = RouteSpec(path: "/add", file: "calc", function: "add").moduleName')" && { echo "check.sh: an application sees package-internal EndpointSpec names" >&2; exit 1; }
for name in "${hidden[@]}"; do
  grep -qE "'$name' is inaccessible due to 'package' protection level|cannot find '$name' in scope" <<<"$out" \
    || { echo "$out" >&2; echo "check.sh: an application can reach $name" >&2; exit 1; }
done
echo "an application sees the route vocabulary, not ${hidden[*]}"

# 4. Start the endpoint with the README's flags.
flags="$(sed -n 's/^swift run -c release reference-endpoint \(.*\)$/\1/p' "$readme" | head -n 1)"
[ -n "$flags" ] || { echo "check.sh: README.md has no 'swift run -c release reference-endpoint' line" >&2; exit 1; }
(cd "$repo" && swift build --product reference-endpoint 2>&1 | tail -n 1)
bin="$(cd "$repo" && swift build --show-bin-path)/reference-endpoint"
echo "== reference-endpoint $flags --port $port"
cd "$repo"
# shellcheck disable=SC2086  # the README's flags are words
"$bin" $flags --port "$port" >"$work/endpoint.out" 2>"$work/endpoint.log" &
endpoint_pid=$!
for _ in $(seq 1 300); do
  grep -q "Endpoint is running at: http://127.0.0.1:$port" "$work/endpoint.out" && break
  kill -0 "$endpoint_pid" 2>/dev/null || { cat "$work/endpoint.log" >&2; echo "check.sh: the endpoint exited" >&2; exit 1; }
  sleep 0.2
done
grep -q "Endpoint is running at" "$work/endpoint.out" || { echo "check.sh: the endpoint did not start" >&2; exit 1; }

# 5. Run the example and check what it prints (the README's comment says `sum: 6.5`).
output="$("$work/app/.build/debug/my-app")"
echo "example printed: $output"
if [ "$output" != "sum: 6.5" ]; then
  echo "check.sh: expected 'sum: 6.5'" >&2
  exit 1
fi
echo "README example: ok"
