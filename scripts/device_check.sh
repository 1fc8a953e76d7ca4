#!/usr/bin/env bash
# The GPU check of `--device cuda`: the CUDA tests, then benchmarks/gpu.py (GPU against CPU in the
# same run), on a machine with an NVIDIA GPU whose python3 has a CUDA build of torch.
#
#   scripts/device_check.sh --prepare   here, with network: fill .gpu/ (ignored by git) with the
#                                        published weights and reference outputs ($SEQZOO_WEIGHTS_DIR,
#                                        $SEQZOO_REFERENCE_DIR, else ../shared/...) and wheels of
#                                        seqzoo's dependencies a bare GPU machine lacks (Python 3.12)
#   scripts/device_check.sh [OUT]        there (no network needed): install those wheels into
#                                        /tmp/seqzoo-site where python3 lacks them, run the tests and
#                                        the benchmark; logs and the Markdown table go to OUT
#                                        (default: $OUT, else device_check_output/). ~5 min on an H100.
#
# With the device tool: run(command="bash scripts/device_check.sh $OUT", carry=[".gpu"], timeout_s=600)
# (.gpu/ is ignored by git: it travels only when carried). The run fails (exit 1) when a test fails or
# skips (a skip there means missing weights or reference files) or the benchmark fails.
# DEVICE=cpu runs the same steps with the CPU in the GPU's place (a check of this script and of the
# tests' plumbing, not of CUDA). PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
PACKAGES="pyfaidx pysam cyvcf2 coloredlogs humanfriendly"

if [[ "${1:-}" == "--prepare" ]]; then
    mkdir -p .gpu/weights .gpu/reference .gpu/wheels
    cp "${SEQZOO_WEIGHTS_DIR:-../shared/weights}"/*.h5 .gpu/weights/
    cp "${SEQZOO_REFERENCE_DIR:-../shared/reference}"/*.npz .gpu/reference/
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .gpu/wheels $PACKAGES
    du -sh .gpu
    exit 0
fi

OUT_DIR=${1:-${OUT:-device_check_output}}
mkdir -p "$OUT_DIR"
if ! $PY -c "import pyfaidx, pysam, cyvcf2" 2>/dev/null; then
    ls .gpu/wheels/*.whl >/dev/null 2>&1 || { echo "python3 lacks pyfaidx/pysam/cyvcf2 and .gpu/wheels is empty: run scripts/device_check.sh --prepare first" >&2; exit 2; }
    if $PY -m pip --version >/dev/null 2>&1; then
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/seqzoo-site .gpu/wheels/*.whl
    else  # no pip there: a wheel is a zip of the installed files
        for wheel in .gpu/wheels/*.whl; do $PY -m zipfile -e "$wheel" /tmp/seqzoo-site; done
    fi
    export PYTHONPATH=/tmp/seqzoo-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[[ -d .gpu/weights ]] && export SEQZOO_WEIGHTS_DIR=${SEQZOO_WEIGHTS_DIR:-$PWD/.gpu/weights}
[[ -d .gpu/reference ]] && export SEQZOO_REFERENCE_DIR=${SEQZOO_REFERENCE_DIR:-$PWD/.gpu/reference}

if [[ "$DEVICE" == cuda* ]]; then
    export NVIDIA_TF32_OVERRIDE=0  # TF32 would cost ~1e-3 relative error; seqzoo turns it off in torch too
    $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name(0))" | tee "$OUT_DIR/device.txt"
    TESTS=(tests/test_cuda.py tests/test_cli.py tests/test_framepool_parity.py tests/test_aparent2_parity.py
           tests/test_xpresso_parity.py tests/test_hal.py -k "cuda or gpu")
    QUICK=()
else
    export SEQZOO_TEST_GPU=$DEVICE
    TESTS=(tests/test_cuda.py)
    QUICK=(--quick --repeats 1)
fi
status=0
$PY -m pytest -q -rs -p no:cacheprovider "${TESTS[@]}" 2>&1 | tee "$OUT_DIR/tests.log" || status=1
if grep -q "^SKIPPED" "$OUT_DIR/tests.log"; then
    echo "device_check: tests skipped (see SKIPPED above): the check is incomplete" >&2
    status=1
fi
$PY benchmarks/gpu.py --device "$DEVICE" "${QUICK[@]}" 2>&1 | tee "$OUT_DIR/benchmark.log" || status=1
echo "device_check: tests and benchmark logs in $OUT_DIR (exit $status)"
exit $status
