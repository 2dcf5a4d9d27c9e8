#!/usr/bin/env bash
# Reproduces palm/models/hand_landmark_lite.onnx from MediaPipe's published Python
# wheel and checks it against the committed copy.
#
#   1. pip download mediapipe==0.10.14 (the cp311 manylinux wheel, ~36 MB, hash-pinned);
#   2. unzip mediapipe/modules/hand_landmark/hand_landmark_lite.tflite (hash-checked);
#   3. pip install tflite2onnx==0.4.1 (dependencies pinned) and convert;
#   4. compare with the committed model: bytes, then the model itself (graph, weights);
#   5. unless --no-numeric: run the original TFLite model (ai-edge-litert) and both ONNX
#      files (onnxruntime) on the same inputs and report the largest differences.
#
# Everything happens in a temporary directory with a private venv (python3 -m venv);
# nothing is installed system-wide. Needs python3 >= 3.11 with the venv module and
# access to PyPI.
#
# Exit status: 0 the committed model is reproduced (byte for byte, or the same model
# serialised in another order — see below); 1 it is not; 2 the script could not run.
#
# Why the bytes differ: tflite2onnx keeps the weight tensors (initializers) and value
# infos in Python sets of objects, which iterate in an order that follows memory
# addresses, so it writes them in a different order on every run (PYTHONHASHSEED does
# not help). Step 4 therefore also compares a canonical form (initializers and value
# infos sorted by name, the nodes in their order): equal canonical forms mean the same
# graph with the same weights, bit for bit.
#
# Usage: scripts/convert-hand-model.sh [--out FILE] [--keep] [--no-numeric]
#   --out FILE     also copy the freshly converted model to FILE
#   --keep         keep the temporary directory (its path is printed)
#   --no-numeric   skip step 5 (saves installing onnxruntime and ai-edge-litert)
set -euo pipefail

MEDIAPIPE_VERSION=0.10.14
WHEEL_SHA256=a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4
TFLITE_MEMBER=mediapipe/modules/hand_landmark/hand_landmark_lite.tflite
TFLITE_SHA256=048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6
# The committed file.
COMMITTED_SHA256=0052bfda2d22e92992243954323d771b56a9b58dd3061d358c03b0738f07c191
# sha256 of the canonical form (see above) of the committed file and of every conversion.
CANONICAL_SHA256=a5b815edd898a86c8e21d4ec299620554f763ee82ca7639d50035ad80236b4db
CONVERTER_PINS=(tflite2onnx==0.4.1 tflite==2.18.0 onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2
    flatbuffers==25.12.19 ml_dtypes==0.6.0 typing_extensions==4.16.0)
NUMERIC_PINS=(onnxruntime==1.32.0 ai-edge-litert==2.3.0)

out="" keep=0 numeric=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="${2:?--out needs a file}"; shift 2 ;;
        --keep) keep=1; shift ;;
        --no-numeric) numeric=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
committed="$root/palm/models/hand_landmark_lite.onnx"
python="${PYTHON:-python3}"

fail() { echo "convert-hand-model: $*" >&2; exit 2; }
step() { echo "==> $*"; }

command -v "$python" >/dev/null || fail "$python not found"
"$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
    || fail "needs Python >= 3.11 (the pinned numpy/onnx need it); set PYTHON=..."
[ -f "$committed" ] || fail "no committed model at $committed"

work="$(mktemp -d "${TMPDIR:-/tmp}/convert-hand-model.XXXXXX")"
if [ "$keep" = 1 ]; then
    echo "working directory (kept): $work"
else
    trap 'rm -rf "$work"' EXIT
fi
cd "$work"

step "creating a private venv"
"$python" -m venv venv || fail "python -m venv failed (on Debian: apt-get install python3-venv)"
py="$work/venv/bin/python"
pip() { "$py" -m pip --disable-pip-version-check --no-input -q "$@"; }
export PIP_NO_PYTHON_VERSION_WARNING=1

sha() { sha256sum "$1" | cut -d' ' -f1; }

step "downloading mediapipe==$MEDIAPIPE_VERSION (cp311 manylinux wheel, ~36 MB, hash-pinned)"
echo "mediapipe==$MEDIAPIPE_VERSION --hash=sha256:$WHEEL_SHA256" > mediapipe-req.txt
pip download --no-deps --only-binary=:all: --require-hashes \
    --platform manylinux_2_17_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
    -r mediapipe-req.txt -d wheel || fail "could not download the mediapipe wheel from PyPI"
wheel="$(ls wheel/mediapipe-"$MEDIAPIPE_VERSION"-*.whl)"

step "extracting $TFLITE_MEMBER"
"$py" - "$wheel" "$TFLITE_MEMBER" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read(sys.argv[2])
open("hand_landmark_lite.tflite", "wb").write(data)
EOF
[ "$(sha hand_landmark_lite.tflite)" = "$TFLITE_SHA256" ] \
    || fail "the extracted .tflite has an unexpected sha256 $(sha hand_landmark_lite.tflite)"
echo "    hand_landmark_lite.tflite sha256 $TFLITE_SHA256 (as expected)"

step "installing ${CONVERTER_PINS[*]}"
pip install "${CONVERTER_PINS[@]}" || fail "could not install tflite2onnx and its dependencies"

step "converting with tflite2onnx"
# It warns once per float16 tensor ("Data type float16 not supported/tested yet"): the
# model's weights are stored as float16 and dequantized to float32, which converts fine
# (step 5 checks the outputs).
"$work/venv/bin/tflite2onnx" hand_landmark_lite.tflite hand_landmark_lite.onnx \
    > tflite2onnx.log 2>&1 || { cat tflite2onnx.log >&2; fail "tflite2onnx failed"; }
converted="$work/hand_landmark_lite.onnx"
if [ -n "$out" ]; then
    cp "$converted" "$out"
    echo "    copied to $out"
fi

step "comparing with the committed $committed"
new_sha="$(sha "$converted")" old_sha="$(sha "$committed")"
echo "    converted: sha256 $new_sha, $(stat -c %s "$converted") bytes"
echo "    committed: sha256 $old_sha, $(stat -c %s "$committed") bytes"
[ "$old_sha" = "$COMMITTED_SHA256" ] \
    || echo "    note: the committed file is not the one documented (sha256 $COMMITTED_SHA256)"
verdict=1
if [ "$new_sha" = "$old_sha" ]; then
    echo "    MATCH: byte-identical"
    verdict=0
else
    echo "    bytes differ (expected: tflite2onnx's output order varies from run to run);"
    echo "    comparing the models themselves (initializers sorted by name)"
    if "$py" - "$converted" "$committed" "$CANONICAL_SHA256" <<'EOF'
import hashlib, sys
import onnx

def canonical(path):
    m = onnx.load(path)
    for field in (m.graph.initializer, m.graph.value_info):
        items = sorted(field, key=lambda t: t.name)
        del field[:]
        field.extend(items)
    return m

a, b = canonical(sys.argv[1]), canonical(sys.argv[2])
ha = hashlib.sha256(a.SerializeToString(deterministic=True)).hexdigest()
hb = hashlib.sha256(b.SerializeToString(deterministic=True)).hexdigest()
print(f"    canonical sha256: converted {ha}")
print(f"    canonical sha256: committed {hb}")
if ha == hb:
    if ha != sys.argv[3]:
        print(f"    note: documented canonical sha256 is {sys.argv[3]}")
    print("    MATCH: same graph and weights; only the serialisation order differs")
    sys.exit(0)
# Say what differs.
ga, gb = a.graph, b.graph
print(f"    nodes: {len(ga.node)} vs {len(gb.node)}; initializers: "
      f"{len(ga.initializer)} vs {len(gb.initializer)}; opset: "
      f"{[o.version for o in a.opset_import]} vs {[o.version for o in b.opset_import]}")
ia = {t.name: t.SerializeToString() for t in ga.initializer}
ib = {t.name: t.SerializeToString() for t in gb.initializer}
names = sorted(set(ia) | set(ib))
diff = [n for n in names if ia.get(n) != ib.get(n)]
print(f"    initializers that differ: {len(diff)} {diff[:5]}")
nd = sum(x.SerializeToString() != y.SerializeToString() for x, y in zip(ga.node, gb.node))
print(f"    nodes that differ (in order): {nd}")
print("    MISMATCH: the models differ")
sys.exit(1)
EOF
    then verdict=0; fi
fi

if [ "$numeric" = 1 ]; then
    step "numeric check: installing ${NUMERIC_PINS[*]}"
    if pip install "${NUMERIC_PINS[@]}"; then
        step "running the TFLite original and both ONNX files on the same inputs"
        if ! "$py" - hand_landmark_lite.tflite "$committed" "$converted" <<'EOF'
import sys
import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

tflite, committed, converted = sys.argv[1:]
it = Interpreter(model_path=tflite)
it.allocate_tensors()
tin = it.get_input_details()[0]
touts = {d["name"]: d["index"] for d in it.get_output_details()}
names = ["Identity", "Identity_1", "Identity_2", "Identity_3"]
sessions = {p: ort.InferenceSession(p, providers=["CPUExecutionProvider"])
            for p in (committed, converted)}

rng = np.random.default_rng(0)
inputs = [np.full((1, 224, 224, 3), 0.5, np.float32), np.zeros((1, 224, 224, 3), np.float32)]
yy, xx = np.mgrid[0:224, 0:224].astype(np.float32) / 223
inputs.append(np.stack([xx, yy, (xx + yy) / 2], -1)[None])
inputs += [rng.random((1, 224, 224, 3), dtype=np.float32) for _ in range(5)]

worst = {(p, n): 0.0 for p in sessions for n in names}
worst_between = {n: 0.0 for n in names}
for x in inputs:                      # TFLite is NHWC, the ONNX model NCHW
    it.set_tensor(tin["index"], x)
    it.invoke()
    ref = {n: it.get_tensor(touts[n]) for n in names}
    got = {}
    for p, s in sessions.items():
        outs = s.run(names, {s.get_inputs()[0].name: x.transpose(0, 3, 1, 2).copy()})
        got[p] = dict(zip(names, outs))
        for n in names:
            worst[(p, n)] = max(worst[(p, n)], float(np.abs(got[p][n] - ref[n]).max()))
    for n in names:
        worst_between[n] = max(worst_between[n],
                               float(np.abs(got[committed][n] - got[converted][n]).max()))

what = {"Identity": "landmarks, px of 224", "Identity_1": "presence",
        "Identity_2": "handedness", "Identity_3": "world landmarks, m"}
ok = True
for p, label in ((committed, "committed"), (converted, "converted")):
    for n in names:
        d = worst[(p, n)]
        print(f"    {label} ONNX vs TFLite, {n} ({what[n]}): max |diff| {d:.2e}")
        ok &= d < (1e-2 if n == "Identity" else 1e-4)
for n in names:
    print(f"    committed vs converted ONNX, {n}: max |diff| {worst_between[n]:.2e}")
print(f"    over {len(inputs)} inputs (uniform grey, black, a gradient, 5 random)")
print("    numeric check: " + ("OK (landmarks within 0.01 px, scores within 1e-4)" if ok
                             else "FAILED: outputs differ more than expected"))
sys.exit(0 if ok else 1)
EOF
        then verdict=1; fi
    else
        echo "    numeric check SKIPPED: could not install ${NUMERIC_PINS[*]} (not an error)"
    fi
fi

if [ "$verdict" = 0 ]; then
    echo "RESULT: the committed model is reproduced from MediaPipe $MEDIAPIPE_VERSION"
else
    echo "RESULT: MISMATCH: the committed model is NOT what this conversion gives"
fi
exit "$verdict"
